"""The one statistics module behind every paper claim: a paired, seeded bootstrap over eval items (nested with
training seeds), three outcomes with a CI, a minimum detectable effect and a distinct-run count, the same
machinery on a paper's own numbers, and a check that no single eval item decides a printed outcome.

A claim (``Claim``) is one signed statistic of cell means, positive in the paper's direction, over cells
``(arm, fraction, task, metric)``. ``evaluate(claim, rows)`` resamples our per-item scores;
``evaluate_paper(claim, paper_rows)`` resamples a paper's table cells with binomial standard errors.
scipy is imported inside the function that needs it, so importing the report layer stays light.

Over 400 lines on purpose: the bootstrap, the outcome rules, the MDE and the paper-side test must stay in one
module so that every claim is judged by the same code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from kit.report.rows import fraction_key, fraction_label

REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
OUTCOMES = (REPRODUCED, CONTRADICTED, INCONCLUSIVE)
B_DEFAULT = 2000
SEED_DEFAULT = 0
MIN_TREND_POINTS = 3
WEAK_Z = 2.0  # a claim whose statistic on the paper's own numbers is < 2 SE from 0 is weakly supported by it
FRAGILE_REASON = "one eval item decides it"
# Benchmark sizes behind a paper's numbers, for binomial SEs. MT-Bench is 80 questions x 2 turns = 160 judged
# turns on a 1-10 scale; mapped to [0, 1] by (s - 1) / 9 and given a binomial SE, which bounds the SE of a mean
# of [0, 1] scores from above (a bounded score's variance is at most p(1 - p)), so P1's z there is conservative.
# P3's Tables 2-3 (its cells are named "<benchmark>@<setting>"): AGIEval's ten Chinese multiple-choice subsets that
# DoIT's evaluate/agieval reads (line counts of data/v1 at ruixiangcui/AGIEval 5c77d07: logiqa-zh 651, gaokao-chinese
# 246, -geography 199, -history 235, -biology 210, -chemistry 207, -mathqa 351, -physics 200, jec-qa-kd 1000,
# jec-qa-ca 1000) and CMMLU's 67 test files (rows at haonan-li/CMMLU d6e7b71).
PAPER_ITEMS = {"gsm8k": 1319, "humaneval": 164, "mtbench": 160, "agieval_zh": 4299, "cmmlu": 11582}


@dataclass(frozen=True)
class CellRef:
    """One cell of a claim: the ok runs of an arm at a fraction (None: unswept), scored on a task by a metric."""

    arm: str
    fraction: float | None
    task: str
    metric: str

    def label(self) -> str:
        where = "" if self.fraction is None else f" {fraction_label(self.fraction)}"
        return f"{self.arm}{where} on {self.task} ({self.metric})"


@dataclass(frozen=True)
class Claim:
    """A signed statistic of cell means, positive in the paper's direction.

    ``statistic`` maps an array ``(..., len(cells))`` of cell means to ``(...)``; ``delta`` is the smallest
    effect of interest in the statistic's units (a CI inside ±delta contradicts the claim); ``why`` set means
    the data cannot carry the claim at all (missing or failed runs, too few distinct points): inconclusive.
    """

    claim: str
    kind: str  # trend | difference | plateau | plateau_comparison | k_trend | effects | composite | majority
    test: str  # the statistic in words
    cells: tuple[CellRef, ...]
    statistic: Callable[[np.ndarray], np.ndarray] | None
    delta: float
    why: str = ""
    note: str = ""  # said beside the outcome (e.g. failed runs left out)
    parts: tuple[Claim, ...] = ()  # composite / majority only
    need: int = 0  # majority only: parts that must be reproduced


@dataclass(frozen=True)
class Verdict:
    """A claim's outcome on our runs, beside the same statistic on the paper's own numbers."""

    claim: str
    kind: str
    metric: str
    test: str
    delta: float | None
    statistic: float | None
    ci_low: float | None
    ci_high: float | None
    mde: float | None
    distinct_runs: int
    outcome: str
    reason: str
    paper_statistic: float | None = None
    paper_ci_low: float | None = None
    paper_ci_high: float | None = None
    paper_z: float | None = None
    paper_outcome: str | None = None
    parts: tuple[Verdict, ...] = field(default=(), repr=False)
    # What the paper says where it publishes no numbers to test (P2): its statement, not an outcome.
    paper_basis: str | None = None

    @property
    def weak_in_paper(self) -> bool:
        """The paper's own numbers put the statistic less than 2 SE from 0 (or do not decide it)."""
        if self.paper_z is not None:
            return self.paper_z < WEAK_Z
        return self.paper_outcome is not None and self.paper_outcome != REPRODUCED


JSON_KEYS = (
    "claim",
    "kind",
    "metric",
    "statistic",
    "ci_low",
    "ci_high",
    "mde",
    "distinct_runs",
    "outcome",
    "reason",
    "paper_statistic",
    "paper_ci_low",
    "paper_ci_high",
    "paper_z",
    "paper_outcome",
    "paper_basis",
)


def as_json(verdict: Verdict) -> dict:
    """The verdicts.json object of one verdict: exactly JSON_KEYS."""
    return {key: getattr(verdict, key) for key in JSON_KEYS}


# --- statistics of cell means ---------------------------------------------------------------------


def slope(x: Sequence[float]) -> Callable[[np.ndarray], np.ndarray]:
    """OLS slope of the cell means on ``x`` (one x per cell)."""
    xc = np.asarray(x, dtype=float) - np.mean(x)
    sxx = float(xc @ xc)
    if sxx == 0:
        raise ValueError(f"a slope needs at least two distinct x values, got {list(x)}")
    return lambda m: (m @ xc) / sxx


def difference(weight_b: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """Cell 0 minus ``weight_b`` x cell 1 (1.0: the paired difference a - b; 0.75: "keeps 3/4 of b")."""
    return lambda m: m[..., 0] - weight_b * m[..., 1]


def early_minus_late(m: np.ndarray) -> np.ndarray:
    """Cells (smallest, middle, largest fraction): (early gain - late gain) / 2 = total gain x (early share - 1/2).

    Positive when most of the gain from the smallest to the largest fraction is reached by the middle one. It is
    the early-gain share minus one half, multiplied by the total gain, so it never divides: a share's bootstrap
    distribution explodes when the total gain is near 0, while this one goes to 0 there, as it should.
    """
    low, mid, high = m[..., 0], m[..., 1], m[..., 2]
    return ((mid - low) - (high - mid)) / 2


def early_share(m: np.ndarray) -> np.ndarray:
    """Cells (smallest, middle, largest): (s_mid - s_low) / (s_high - s_low); NaN where there is no gain."""
    low, mid, high = m[..., 0], m[..., 1], m[..., 2]
    gain = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gain > 0, (mid - low) / np.where(gain > 0, gain, 1.0), np.nan)


def share_lead(m: np.ndarray) -> np.ndarray:
    """Nine cells (general, math, code) x (smallest, middle, largest): general's early-gain share minus the larger
    of math's and code's; positive when general saturates first. NaN where an ability has no gain."""
    general, maths, code = (early_share(m[..., i : i + 3]) for i in (0, 3, 6))
    return general - np.maximum(maths, code)


def minimum(*stats: Callable[[np.ndarray], np.ndarray], widths: Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
    """The smallest of several statistics over consecutive cell groups of ``widths``: positive iff all are."""
    starts = np.cumsum([0, *widths])

    def stat(m: np.ndarray) -> np.ndarray:
        parts = [s(m[..., a:b]) for s, a, b in zip(stats, starts[:-1], starts[1:])]
        return np.min(np.stack(parts), axis=0)

    return stat


# --- the data: one column per distinct (run, task), one item set per task -----------------------


@dataclass
class _Data:
    tasks: dict[str, np.ndarray]  # task -> items x columns matrix
    columns: dict[str, list[tuple[str, str]]]  # task -> [(run_id, task)], the columns' runs
    cells: list[list[tuple[str, int]]]  # per cell: [(task, column index)], its distinct runs
    notes: list[str]

    @property
    def distinct_runs(self) -> int:
        return len({run for cols in self.columns.values() for run, _ in cols})


class MissingData(Exception):
    """The rows cannot carry the claim; the message says why."""


def _gather(cells: Sequence[CellRef], rows: list[dict]) -> _Data:
    by_cell: list[list[dict]] = []
    notes: list[str] = []
    for ref in cells:
        group = [
            r
            for r in rows
            if r["arm"] == ref.arm
            and fraction_key(r["fraction"]) == fraction_key(ref.fraction)
            and r["task"] == ref.task
            and r.get("metric", "accuracy") == ref.metric
        ]
        ok = list({r["run_id"]: r for r in group if r["status"] == "ok"}.values())  # one point per run id
        failed = [r for r in group if r["status"] != "ok"]
        if not ok:
            raise MissingData(f"{ref.label()}: {'failed: ' + failed[0]['error'] if failed else 'missing'}")
        if failed:
            notes.append(f"{ref.label()}: {len(failed)} failed run(s) left out")
        no_items = [r["run_id"] for r in ok if not r.get("items")]
        if no_items:
            raise MissingData(f"{ref.label()}: no per-item scores (run {no_items[0]}), so no paired uncertainty")
        by_cell.append(ok)
    return _matrices(by_cell, notes)


def _matrices(by_cell: list[list[dict]], notes: list[str]) -> _Data:
    runs: dict[str, dict[str, dict]] = {}  # task -> run_id -> row
    for group in by_cell:
        for r in group:
            runs.setdefault(r["task"], {}).setdefault(r["run_id"], r)
    tasks, columns = {}, {}
    for task, by_run in runs.items():
        ids = sorted(set().union(*(r["items"] for r in by_run.values())))
        lacking = [
            f"run {rid} lacks {len(ids) - len(r['items'])} of {len(ids)} item ids, e.g. "
            f"{sorted(set(ids) - set(r['items']))[:3]}"
            for rid, r in by_run.items()
            if len(r["items"]) != len(ids)
        ]
        if lacking:
            raise ValueError(f"runs on task {task!r} were not scored on the same items: " + "; ".join(lacking))
        columns[task] = [(rid, task) for rid in by_run]
        tasks[task] = np.array([[float(r["items"][i]) for r in by_run.values()] for i in ids], dtype=float)
    index = {task: {rid: j for j, (rid, _) in enumerate(cols)} for task, cols in columns.items()}
    cells = [[(r["task"], index[r["task"]][r["run_id"]]) for r in group] for group in by_cell]
    return _Data(tasks, columns, cells, notes)


class _Resampler:
    """B replicates: per task one multinomial draw of item counts (the same for every run on it), and per cell
    with several runs (training seeds) a draw of its runs with replacement."""

    def __init__(self, data: _Data, b: int, seed: int):
        rng = np.random.default_rng(seed)
        self.b = b
        self.counts = {t: _item_weights(rng, len(x), b) for t, x in data.tasks.items()}
        self.picks = [rng.integers(0, len(c), size=(b, len(c))) if len(c) > 1 else None for c in data.cells]

    def run_means(self, data: _Data) -> dict[str, np.ndarray]:
        """Per task, each run's resampled mean: (B, columns)."""
        return {t: self.counts[t] @ x for t, x in data.tasks.items()}

    def cell_means(self, data: _Data, run_means: dict[str, np.ndarray] | None = None) -> np.ndarray:
        run_means = self.run_means(data) if run_means is None else run_means
        out = np.empty((self.b, len(data.cells)))
        for c, (cell, picks) in enumerate(zip(data.cells, self.picks)):
            per_run = np.stack([run_means[t][:, j] for t, j in cell], axis=1)  # (B, runs of the cell)
            out[:, c] = per_run[:, 0] if picks is None else np.take_along_axis(per_run, picks, axis=1).mean(axis=1)
        return out


def _item_weights(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """(b, n): how often each of n items is drawn in each of b resamples of n with replacement, over n. The same
    distribution as a multinomial(n, 1/n) draw, counted with one bincount (~5x faster at n = 400)."""
    picks = rng.integers(0, n, size=(b, n)) + np.arange(b)[:, None] * n
    return np.bincount(picks.ravel(), minlength=b * n).reshape(b, n) / n


def mean_ci(values: Sequence[float], b: int = B_DEFAULT, seed: int = SEED_DEFAULT) -> tuple[float, float]:
    """A 95% percentile-bootstrap interval of one mean over items (a model card's score), resampled as the claims'
    items are."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return float(x.mean()), float(x.mean())
    means = _item_weights(np.random.default_rng(seed), x.size, b) @ x
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _point(data: _Data) -> np.ndarray:
    return np.array([np.mean([data.tasks[t][:, j].mean() for t, j in cell]) for cell in data.cells])


# --- deciding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    statistic: float
    ci_low: float
    ci_high: float
    se: float
    outcome: str
    reason: str


def decide(point: float, samples: np.ndarray, delta: float) -> _Decision:
    """Percentile 95% CI of ``samples``; reproduced / contradicted (the other side, or inside ±delta) / inconclusive.

    Replicates where the statistic is undefined (NaN: e.g. no gain for a share) count against deciding: if more
    than 2.5% of them are NaN the CI's ends are not both defined and the outcome is inconclusive.
    """
    finite = samples[np.isfinite(samples)]
    undefined = 1 - len(finite) / len(samples)
    if not math.isfinite(point) or undefined > 0.025:
        why = (
            "the statistic is undefined on our numbers"
            if not math.isfinite(point)
            else (f"the statistic is undefined in {undefined:.0%} of bootstrap replicates")
        )
        return _Decision(point, math.nan, math.nan, math.nan, INCONCLUSIVE, why + " (no gain to take a share of)")
    low, high = (float(q) for q in np.percentile(finite, [2.5, 97.5]))
    # The SE behind the MDE from the central 68% of replicates (the normal's ±1 SD), not their SD: a ratio
    # statistic (a share of a gain near 0) has replicates far out in its tails that would make the SD, and the
    # MDE with it, astronomically large while the CI itself is finite.
    q16, q84 = np.percentile(finite, [15.865, 84.135])
    se = float((q84 - q16) / 2)
    if low > 0:
        return _Decision(point, low, high, se, REPRODUCED, "95% CI excludes 0 in the paper's direction")
    if high < 0:
        return _Decision(point, low, high, se, CONTRADICTED, "95% CI excludes 0 against the paper's direction")
    if -delta < low and high < delta:
        return _Decision(
            point, low, high, se, CONTRADICTED, f"95% CI inside ±{delta:g}: smaller than the effect claimed"
        )
    return _Decision(point, low, high, se, INCONCLUSIVE, "95% CI includes 0 and reaches beyond ±δ: no power to decide")


def mde(se: float) -> float:
    """Minimum detectable effect at 5% two-sided and 80% power: (z_0.975 + z_0.80) x SE."""
    from scipy.stats import norm

    return float((norm.ppf(0.975) + norm.ppf(0.80)) * se)


def combination_ci(
    cells: Sequence[CellRef], rows: list[dict], weights: Sequence[float], b: int = B_DEFAULT, seed: int = SEED_DEFAULT
) -> tuple[float, float, float] | None:
    """A fixed weighted sum of cell means (a domain's mean over its tasks, a mean gain) with its paired-bootstrap
    95% CI, resampled as a claim is: ``(point, low, high)``, or None when a cell is missing, failed or has no
    per-item scores."""
    try:
        data = _gather(cells, rows)
    except MissingData:
        return None
    w = np.asarray(weights, dtype=float)
    samples = _Resampler(data, b, seed).cell_means(data) @ w
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(_point(data) @ w), float(low), float(high)


def evaluate(
    claim: Claim, rows: list[dict], b: int = B_DEFAULT, seed: int = SEED_DEFAULT, fragile: bool = True
) -> Verdict:
    """The claim on our rows: paired (nested) bootstrap, outcome, MDE, distinct runs, then the fragile check."""
    if claim.kind in ("composite", "majority"):
        return combine(claim, [evaluate(p, rows, b, seed, fragile) for p in claim.parts])
    metric = metric_label(claim.cells)
    if claim.why:
        return _undecided(claim, metric, claim.why)
    try:
        data = _gather(claim.cells, rows)
    except MissingData as exc:
        return _undecided(claim, metric, str(exc))
    sampler = _Resampler(data, b, seed)
    d = _decide_on(claim, data, sampler)
    reason = d.reason
    if fragile and d.outcome != INCONCLUSIVE and _decided_by_one_item(claim, data, sampler, d):
        reason = f"{FRAGILE_REASON} (on our numbers: {d.outcome}, {d.reason})"
        d = replace(d, outcome=INCONCLUSIVE)
    notes = "; ".join(filter(None, [claim.note, *data.notes]))
    return Verdict(
        claim=claim.claim,
        kind=claim.kind,
        metric=metric,
        test=claim.test,
        delta=claim.delta,
        statistic=_r(d.statistic),
        ci_low=_r(d.ci_low),
        ci_high=_r(d.ci_high),
        mde=_r(mde(d.se)) if math.isfinite(d.se) else None,
        distinct_runs=data.distinct_runs,
        outcome=d.outcome,
        reason=reason + (f"; {notes}" if notes else ""),
    )


def _decide_on(claim: Claim, data: _Data, sampler: _Resampler, run_means: dict | None = None) -> _Decision:
    point = float(claim.statistic(_point(data)[None, :])[0])
    return decide(point, claim.statistic(sampler.cell_means(data, run_means)), claim.delta)


def _decided_by_one_item(claim: Claim, data: _Data, sampler: _Resampler, decided: _Decision) -> bool:
    """Flip, in each run, the one item whose flip (x -> 1 - x) moves the statistic most towards 0 (for an outcome
    decided by ±δ, also the one that moves it most away); True when any such flip changes the outcome.

    Only for scores in [0, 1] (a log-prob has no flip); the same resampled ids are reused, so only the data moves.
    A flip of item i in column j moves that column's resampled means by counts[:, i] x (new - old): an O(B) update
    of the cached means, not a new (B x items) @ (items x columns) product per trial.
    """
    base = sampler.run_means(data)
    for task, x in data.tasks.items():
        if x.min() < 0 or x.max() > 1:
            return False
        for j in range(x.shape[1]):
            for i, x_new in _flips(x, j):
                means = base[task].copy()
                means[:, j] += sampler.counts[task][:, i] * (x_new[i, j] - x[i, j])
                trial = _Data({**data.tasks, task: x_new}, data.columns, data.cells, data.notes)
                if _decide_on(claim, trial, sampler, {**base, task: means}).outcome != decided.outcome:
                    return True
    return False


def _flips(x: np.ndarray, j: int) -> list[tuple[int, np.ndarray]]:
    """The two extreme single-item flips of column j (the flipped item's row, the new matrix): the one that raises
    its mean most and the one that lowers it."""
    out = []
    for i in (int(np.argmin(x[:, j])), int(np.argmax(x[:, j]))):
        y = x.copy()
        y[i, j] = 1 - y[i, j]
        out.append((i, y))
    return out


def combine(claim: Claim, parts: list[Verdict]) -> Verdict:
    """A composite is reproduced when every part is (none contradicted), contradicted when any part is, else
    inconclusive. A majority is reproduced when ``need`` parts are, contradicted when too many are contradicted
    for ``need`` to be reachable, else inconclusive."""
    outcome = _combined(claim, [p.outcome for p in parts])
    paper = [p.paper_outcome for p in parts]
    shown = ", ".join(f"{p.claim.split(':')[0]} {p.outcome}" for p in parts)
    return Verdict(
        claim=claim.claim,
        kind=claim.kind,
        metric=_join_metrics([p.metric for p in parts]),
        test=claim.test,
        delta=None,
        statistic=None,
        ci_low=None,
        ci_high=None,
        mde=None,
        distinct_runs=max((p.distinct_runs for p in parts), default=0),
        outcome=outcome,
        reason=f"parts: {shown}",
        paper_outcome=None if None in paper else _combined(claim, paper),
        parts=tuple(parts),
    )


def _combined(claim: Claim, outcomes: list[str]) -> str:
    if claim.kind == "majority":
        hits, against = outcomes.count(REPRODUCED), outcomes.count(CONTRADICTED)
        if hits >= claim.need:
            return REPRODUCED
        return CONTRADICTED if len(outcomes) - against < claim.need else INCONCLUSIVE
    if CONTRADICTED in outcomes:
        return CONTRADICTED
    return REPRODUCED if outcomes and all(o == REPRODUCED for o in outcomes) else INCONCLUSIVE


def _undecided(claim: Claim, metric: str, why: str) -> Verdict:
    return Verdict(
        claim.claim, claim.kind, metric, claim.test, claim.delta, None, None, None, None, 0, INCONCLUSIVE, why
    )


# --- the paper's own numbers --------------------------------------------------------------------


def paper_unit(task: str, score: float) -> float:
    """A paper score in [0, 1]: GSM8K and HumanEval percent / 100, MT-Bench (s - 1) / 9."""
    task = task.split("@", 1)[0]  # P3's "<benchmark>@<setting>"
    if task == "mtbench":
        return (score - 1) / 9
    if task in PAPER_ITEMS:
        return score / 100
    raise ValueError(f"no benchmark size for paper task {task!r}; known: {', '.join(PAPER_ITEMS)}")


def evaluate_paper(claim: Claim, paper_rows: list[dict], b: int = B_DEFAULT, seed: int = SEED_DEFAULT) -> Verdict:
    """The claim on a paper's table cells: a parametric bootstrap, each cell p + SE·N(0, 1) with the binomial
    SE sqrt(p(1 - p) / n) of its benchmark size, independent across cells. ``paper_z`` = statistic / SE."""
    if claim.kind in ("composite", "majority"):
        return combine(claim, [evaluate_paper(p, paper_rows, b, seed) for p in claim.parts])
    if claim.why:
        return _undecided(claim, "paper", claim.why)
    p, n = [], []
    for ref in claim.cells:
        hits = [
            r
            for r in paper_rows
            if (r["arm"], fraction_key(r["fraction"]), r["task"]) == (ref.arm, fraction_key(ref.fraction), ref.task)
        ]
        if not hits:
            return _undecided(claim, "paper", f"{ref.label()}: not in the paper")
        p.append(paper_unit(ref.task, hits[0]["score"]))
        n.append(PAPER_ITEMS[ref.task.split("@", 1)[0]])
    p_arr = np.array(p)
    se = np.sqrt(p_arr * (1 - p_arr) / np.array(n))
    draws = p_arr + se * np.random.default_rng(seed).standard_normal((b, len(p)))
    point = float(claim.statistic(p_arr[None, :])[0])
    d = decide(point, claim.statistic(draws), claim.delta)
    z = point / d.se if math.isfinite(d.se) and d.se > 0 else None
    return Verdict(
        claim.claim,
        claim.kind,
        "paper",
        claim.test,
        claim.delta,
        _r(point),
        _r(d.ci_low),
        _r(d.ci_high),
        _r(mde(d.se)) if math.isfinite(d.se) else None,
        len(p),
        d.outcome,
        d.reason,
        paper_z=None if z is None else round(z, 2),
    )


def with_paper(ours: Verdict, paper: Verdict) -> Verdict:
    """``ours`` with the paper's statistic, CI, z and outcome beside it (parts matched in order)."""
    parts = tuple(with_paper(o, p) for o, p in zip(ours.parts, paper.parts))
    z = paper.paper_z
    return replace(
        ours,
        paper_statistic=paper.statistic,
        paper_ci_low=paper.ci_low,
        paper_ci_high=paper.ci_high,
        paper_z=z,
        paper_outcome=paper.outcome,
        parts=parts,
    )


# --- helpers ------------------------------------------------------------------------------------


def metric_label(cells: Sequence[CellRef]) -> str:
    """The metric a claim used; ``math=dense_rank, general=accuracy`` style when its tasks use different ones."""
    return _join_metrics([f"{c.task}={c.metric}" for c in cells])


def _join_metrics(labels: list[str]) -> str:
    names = list(dict.fromkeys(labels))
    metrics = {n.split("=")[-1] for n in names}
    if len(metrics) == 1:
        return metrics.pop()
    return ", ".join(names)


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)
