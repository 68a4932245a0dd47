"""A recipe's mixture -> training rows plus a manifest of what was chosen from where.

Subsets nest: an entry's rows are the first n of its pool in a seeded hash order, so the 1/256
subset lies inside the 1/64 one. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from kit.data.builtin import get_generator
from kit.data.schema import DataError
from kit.data.subset import fraction_to_n, select_nested


def load_pool(entry, seed: int) -> tuple[list[dict], dict]:
    """Every row an entry can draw from (capped by ``pool_n``), and a report on how it was read."""
    kind, target = entry.kind, entry.target
    if kind == "builtin":
        gen = get_generator(target)
        size = entry.pool_n if entry.pool_n is not None else entry.n
        rows = gen.generate_train(size, seed)
        return rows, {"generator_version": gen.VERSION, "read": len(rows), "kept": len(rows)}
    from kit.data import formats

    if kind == "local":
        path = Path(target).expanduser()
        rows, report = formats.read_local(path, entry.format, source_name=entry.source)
        report = {**report, "path": str(path.resolve())}
    else:
        rows, report = formats.load_hub(target, entry.format, entry.split, source_name=entry.source)
    if entry.pool_n is not None:
        rows = select_nested(rows, min(entry.pool_n, len(rows)), seed)
    return rows, report


def choose(entry, pool: list[dict], seed: int) -> list[dict]:
    want = entry.n if entry.n is not None else fraction_to_n(len(pool), entry.fraction)
    if want > len(pool):
        raise DataError(
            f"{entry.source}: asked for n={want} rows but the pool has only {len(pool)}; lower 'n:' or raise 'pool_n:'"
        )
    return select_nested(pool, want, seed)


def ids_sha256(rows: list[dict]) -> str:
    """Which rows were chosen, as one hash (order-free): recorded in manifests."""
    return hashlib.sha256("\n".join(sorted(r["id"] for r in rows)).encode()).hexdigest()


def build_mixture(mixture, seed: int) -> tuple[list[dict], dict]:
    """All entries' chosen rows (in a fixed order) and the manifest saved beside the run."""
    rows, entries = [], []
    for entry in sorted(mixture, key=lambda e: json.dumps(dataclasses.asdict(e), sort_keys=True)):  # see runs.canonical
        pool, report = load_pool(entry, seed)
        chosen = choose(entry, pool, seed)
        entries.append(
            {
                "source": entry.source,
                "format": entry.format,
                "pool": len(pool),
                "fraction": entry.fraction,
                "count": len(chosen),
                "ids_sha256": ids_sha256(chosen),
                "report": report,
            }
        )
        rows.extend(chosen)
    seen: set[str] = set()
    dupes = [r["id"] for r in rows if r["id"] in seen or seen.add(r["id"])]
    if dupes:
        raise DataError(f"the mixture lists the same row twice ({dupes[:3]}...): two entries draw from one source")
    return rows, {"seed": seed, "total": len(rows), "entries": entries}
