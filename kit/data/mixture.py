"""A recipe's mixture -> training rows plus a manifest of what was chosen from where.

A source with ``select:`` keeps only the rows a classifier (kit.data.classify) gives one of its labels, before
``pool_n`` caps the pool.

Subsets nest: an entry's rows are the first n of its pool in a seeded hash order, so the 1/256
subset lies inside the 1/64 one. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from kit.data.builtin import get_generator
from kit.data.classify import LABELS, classify, get_classifier
from kit.data.schema import DataError
from kit.data.subset import fraction_to_n, select_nested
from kit.licences import dataset_licence


def load_pool(entry, seed: int) -> tuple[list[dict], dict]:
    """Every row an entry can draw from (its select's labels only, then capped by ``pool_n``), and a report on how
    it was read."""
    kind, target = entry.kind, entry.target
    if kind == "builtin":
        gen = get_generator(target)
        size = entry.pool_n if entry.pool_n is not None else entry.n
        if entry.select is not None:
            return _selected_builtin(gen, entry, size, seed)
        rows = gen.generate_train(size, seed)
        return rows, {"generator_version": gen.VERSION, "read": len(rows), "kept": len(rows)}
    from kit.data import formats

    layout = {"columns": entry.columns, "roles": entry.roles}
    if kind == "local":
        path = Path(target).expanduser()
        rows, report = formats.read_local(path, entry.format, source_name=entry.source, **layout)
        report = {**report, "path": str(path.resolve())}
    elif entry.file:
        rows, report = formats.load_hub_file(
            target, entry.file, entry.revision, entry.format, source_name=entry.source, **layout
        )
    else:
        files = list(entry.data_files) if isinstance(entry.data_files, tuple) else entry.data_files
        rows, report = formats.load_hub(
            target,
            entry.format,
            entry.split,
            source_name=entry.source,
            config=entry.name,
            revision=entry.revision,
            data_files=files,
            **layout,
        )
    if entry.select is not None:
        labels = [classify(r["messages"], entry.select.classifier) for r in rows]
        rows = [r for r, label in zip(rows, labels, strict=True) if label in entry.select.labels]
        report = {**report, "select": _select_report(entry.select, labels, len(rows))}
    if entry.pool_n is not None:
        rows = select_nested(rows, min(entry.pool_n, len(rows)), seed)
    return rows, report


# How many generated rows a select may read per row it keeps before giving up (the label is then too rare).
MAX_READ_PER_KEPT = 100


def _selected_builtin(gen, entry, size: int, seed: int) -> tuple[list[dict], dict]:
    """The first ``size`` generated rows whose label is selected, in generation order: the generated count grows
    until that many exist, and the rows read end at the last one kept, so the pool (and the counts) are the same
    whatever the growth took, and a smaller pool is a prefix of a larger one."""
    select, labels = entry.select, {}
    want = size
    while True:
        rows = gen.generate_train(want, seed)
        for row in rows[len(labels) :]:
            labels[row["id"]] = classify(row["messages"], select.classifier)
        kept_at = [k for k, row in enumerate(rows) if labels[row["id"]] in select.labels]
        if len(kept_at) >= size:
            break
        if want >= MAX_READ_PER_KEPT * size:
            raise DataError(
                f"{entry.source}: only {len(kept_at)} of {want} generated rows are labelled {'/'.join(select.labels)} "
                f"by {select.classifier}; lower pool_n/n ({size}) or select another label"
            )
        # Grow by the share found so far (with a margin), at least doubling.
        want = min(MAX_READ_PER_KEPT * size, max(2 * want, int(want * size / max(len(kept_at), 1) * 1.1) + 1))
    read = rows[: kept_at[size - 1] + 1]
    pool = [rows[k] for k in kept_at[:size]]
    report = _select_report(select, [labels[r["id"]] for r in read], len(pool))
    return pool, {"generator_version": gen.VERSION, "read": len(read), "kept": len(pool), "select": report}


def _select_report(select, labels: list[str], kept: int) -> dict:
    """What a select did: the classifier and its version, the labels kept, every label's count over the rows read."""
    return {
        "classifier": select.classifier,
        "version": get_classifier(select.classifier).VERSION,
        "labels": list(select.labels),
        "counts": {label: labels.count(label) for label in LABELS},
        "kept": kept,
    }


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
    # Each source's licence as the kit knew it when the rows were drawn (kit.licences); the run's summary leaves it
    # out (kit.pipeline.summary_data), so a stored result does not change with the registry.
    licences = {entry.source: dataset_licence(entry.source).as_dict() for entry in mixture}
    return rows, {"seed": seed, "total": len(rows), "entries": entries, "licences": licences}
