"""Deterministic, nested choice of n items out of N: the rule behind every training subset and eval sample.

Items are ordered by ``sha256(f"{seed}:{id}")`` and the first n are taken, so for one seed the n=10
choice is a prefix of the n=50 choice, and adding rows to a source never reshuffles the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from kit.data.schema import DataError


def _rank(seed: int, item_id: str) -> str:
    return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()


def nested_order(ids: Iterable[str], seed: int) -> list[str]:
    """The ids sorted by their seeded hash; equal ids keep their input order (the sort is stable)."""
    return sorted((str(i) for i in ids), key=lambda i: _rank(seed, i))


def select_nested(rows: list[dict], n: int, seed: int) -> list[dict]:
    """The first ``n`` rows in seeded-hash order of their ``id``; asking for more rows than exist fails."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if n > len(rows):
        raise DataError(f"asked for {n} rows but the source has only {len(rows)}; lower n or fraction")
    # Ranked with the index as tie-breaker so duplicate ids still give one fixed order.
    ranked = sorted(range(len(rows)), key=lambda k: (_rank(seed, str(rows[k]["id"])), k))
    return [rows[k] for k in ranked[:n]]


def fraction_to_n(total: int, fraction: float) -> int:
    """How many rows ``fraction`` of ``total`` means: ``max(1, round(total * fraction))``."""
    if total < 1:
        raise ValueError(f"cannot take a fraction of an empty source (total={total})")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    # Python's round() sends exact halves to the even neighbour; fine as long as it is the only rule used.
    return max(1, round(total * fraction))
