"""Claim builders: from result rows to ``stats.Claim`` objects (which cells, which statistic, which δ).

Paper-agnostic: a paper's report module (``kit.report.p1.rq1`` ...) says which arms and fractions a claim
reads; these functions find the cells in the rows, collapse cells that are the same run (1/64 and 1/256 of a
64-row pool are one 1-example run: one point, not two) and say why a claim cannot be carried.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from kit.report import stats
from kit.report.rows import fraction_key, fraction_label, metrics_of, series
from kit.report.stats import CellRef, Claim

FLOOR = 0.1  # generation accuracy below this for the base and the best run: the dense metric decides instead
PRIMARY_DENSE = "dense_rank"


def primary_metric(rows: list[dict], task: str) -> str:
    """The metric verdicts on ``task`` use: ``dense_rank`` when the rows have it and generation accuracy sits on the
    floor (the base's and the best run's accuracy both below FLOOR), else ``accuracy``. On the floor, accuracy
    differences are a handful of items and cannot carry a trend."""
    return PRIMARY_DENSE if PRIMARY_DENSE in metrics_of(rows, task) and _on_floor(rows, task) else "accuracy"


def primary_metrics(rows: list[dict], tasks: dict[str, str]) -> dict[str, str]:
    """Per ability, the primary metric of its task in ``tasks`` (see primary_metric)."""
    return {ability: primary_metric(rows, task) for ability, task in tasks.items()}


def shown_metrics(rows: list[dict], task: str) -> list[str]:
    """What a table shows for ``task``: the primary metric, then generation accuracy when that is not it."""
    return list(dict.fromkeys([primary_metric(rows, task), "accuracy"]))


def _on_floor(rows: list[dict], task: str) -> bool:
    ok = [r for r in rows if r["task"] == task and r.get("metric", "accuracy") == "accuracy" and r["status"] == "ok"]
    base = [r["score"] for r in ok if r["arm"] == "base"]
    best = max((r["score"] for r in ok if r["arm"] != "base"), default=None)
    return best is not None and best < FLOOR and all(s < FLOOR for s in base)


def pick_task(rows: list[dict], ability: str, task: str | None) -> tuple[str | None, str]:
    """``task`` if given, else the only task of ``ability`` in the rows; (None, why) when there is none."""
    if task is not None:
        return task, ""
    tasks = sorted({r["task"] for r in rows if r["ability"] == ability})
    if len(tasks) == 1:
        return tasks[0], ""
    if not tasks:
        return None, f"no rows for ability {ability!r}"
    raise ValueError(f"rows hold several {ability} tasks ({', '.join(tasks)}): pass task= (or tasks=) to choose one")


def distinct_points(
    rows: list[dict], arm: str, task: str, metric: str, low_is_end: bool = True
) -> tuple[list[float | None], str, str]:
    """The fractions (> 0) of ``arm`` whose cells are distinct runs, smallest first; why not enough (a failed run at
    an end of the range: the largest, and the smallest unless ``low_is_end`` is False, as for DMT's k whose low end
    is k = 0); a note on what was left out (failed middles, duplicate runs)."""
    cells = series(rows, arm, task, metric)
    keys = sorted(f for f in cells if f is not None and f > 0)
    seen: dict[frozenset, float | None] = {}
    kept, failed, same = [], [], []
    for f in keys:
        cell = cells.get(f)
        if cell is None:
            continue
        if cell.failed:
            failed.append(f)
            continue
        runs = frozenset(r["run_id"] for r in _cell_rows(rows, arm, f, task, metric))
        if runs in seen:
            same.append(f"{_label(f)} is the same run as {_label(seen[runs])}")
            continue
        seen[runs] = f
        kept.append(f)
    present = [f for f in keys if f in cells]
    why = ""
    if failed and present and ((low_is_end and present[0] in failed) or present[-1] in failed):
        why = f"the run at an end of the range failed ({', '.join(_label(f) for f in failed)})"
    note = "; ".join(
        filter(None, [f"failed runs left out: {', '.join(_label(f) for f in failed)}" if failed else "", *same])
    )
    return kept, why, note


def trend(claim: str, rows: list[dict], arm: str, task: str | None, metric: str, delta: float, sign: int = 1) -> Claim:
    """Slope of score on log2(training examples) over distinct runs of ``arm`` (x ``sign``), >= 3 points."""
    test = f"{'−' if sign < 0 else ''}OLS slope of score on log2(n train) over distinct runs (≥ 3), per doubling"
    if task is None:
        return Claim(claim, "trend", test, (), None, delta, why="no task for this ability")
    kept, why, note = distinct_points(rows, arm, task, metric)
    if not why and len(kept) < stats.MIN_TREND_POINTS:
        why = f"{len(kept)} distinct run(s) with a score (needs {stats.MIN_TREND_POINTS}); {note or 'none failed'}"
    if why:
        return Claim(claim, "trend", test, (), None, delta, why=why, note=note)
    cells = series(rows, arm, task, metric)
    x = [math.log2(max(cells[f].n_examples, 1)) for f in kept]
    if len(set(x)) < 2:
        return Claim(claim, "trend", test, (), None, delta, why="every distinct run has the same n train")
    refs = tuple(CellRef(arm, f, task, metric) for f in kept)
    fit = stats.slope(x)
    return Claim(claim, "trend", test, refs, lambda m: sign * fit(m), delta, note=note)


def k_trend(
    claim: str, rows: list[dict], zero: CellRef, arm: str, task: str | None, metric: str, delta: float, sign: int
) -> Claim:
    """Slope of score on the rank of k (0 for the ``zero`` cell, then each k run, smallest first), x ``sign``."""
    test = f"{'−' if sign < 0 else ''}OLS slope of score on rank(k) over k = 0 and every k run (≥ 3 distinct runs)"
    if task is None:
        return Claim(claim, "k_trend", test, (), None, delta, why="no task for this ability")
    zero = CellRef(zero.arm, zero.fraction, task, metric)
    zero_cell = series(rows, zero.arm, task, metric).get(zero.fraction)
    if zero_cell is None or zero_cell.failed:
        why = f"k = 0 ({zero.arm}) on `{task}` {'failed' if zero_cell else 'missing'}"
        return Claim(claim, "k_trend", test, (), None, delta, why=why)
    kept, why, note = distinct_points(rows, arm, task, metric, low_is_end=False)
    if not why and len(kept) + 1 < stats.MIN_TREND_POINTS:
        why = f"{len(kept) + 1} distinct run(s) with a score (needs {stats.MIN_TREND_POINTS}); {note or 'none failed'}"
    if why:
        return Claim(claim, "k_trend", test, (), None, delta, why=why, note=note)
    refs = (zero, *(CellRef(arm, f, task, metric) for f in kept))
    fit = stats.slope(list(range(len(refs))))
    return Claim(claim, "k_trend", test, refs, lambda m: sign * fit(m), delta, note=note)


def ends_and_middle(rows: list[dict], arm: str, task: str, metric: str) -> tuple[tuple[CellRef, ...], str, str]:
    """(smallest, log-middle, largest) distinct cells of ``arm``, or why not; the note from distinct_points."""
    kept, why, note = distinct_points(rows, arm, task, metric)
    if not why and len(kept) < 3:
        why = f"{len(kept)} distinct run(s) with a score (needs 3); {note or 'none failed'}"
    if why:
        return (), why, note
    low, high = kept[0], kept[-1]
    middle = math.sqrt(low * high)
    mid = min(kept[1:-1], key=lambda f: abs(math.log(f / middle)))
    return tuple(CellRef(arm, f, task, metric) for f in (low, mid, high)), "", note


def fixed(claim: str, kind: str, test: str, refs: list[CellRef], statistic: Callable, delta: float) -> Claim:
    """A claim on named cells (missing or failed ones make it inconclusive when evaluated)."""
    return Claim(claim, kind, test, tuple(refs), statistic, delta)


def composite(claim: str, parts: list[Claim]) -> Claim:
    test = "every part reproduced and none contradicted: " + "; ".join(p.claim for p in parts)
    return Claim(claim, "composite", test, (), None, 0.0, parts=tuple(parts))


def majority(claim: str, parts: list[Claim]) -> Claim:
    need = len(parts) // 2 + 1
    test = f"reproduced for ≥ {need} of {len(parts)} abilities (contradicted when that is out of reach)"
    return Claim(claim, "majority", test, (), None, 0.0, parts=tuple(parts), need=need)


def _cell_rows(rows: list[dict], arm: str, fraction: float | None, task: str, metric: str) -> list[dict]:
    return [
        r
        for r in rows
        if r["arm"] == arm
        and fraction_key(r["fraction"]) == fraction
        and r["task"] == task
        and r.get("metric", "accuracy") == metric
        and r["status"] == "ok"
    ]


def _label(f: float | None) -> str:
    return "—" if f is None else fraction_label(f)
