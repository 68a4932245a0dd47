"""The result-row schema every report reads: one row per (run, eval task, metric), written by the pipeline.

A row is a flat dict (JSON-friendly), one per trained run (or the untrained base), eval task and metric::

    {"recipe": "rq1",            # the recipe that asked for the run
     "arm": "math",              # training data: "math" | "code" | "general" (one source alone),
                                 #   "mixed" (all three at the same fraction) | "base" (no training);
                                 #   rq3 and rq4 have arms of their own (RECIPE_ARMS)
     "fraction": 0.25,           # the grid's fraction for the run; 0.0 for the untrained base; None for
                                 #   an arm the grid does not sweep (UNSWEPT_ARMS, e.g. rq4's strategies)
     "n_examples": 5006,         # training rows of the run; 0 for the base
     "task": "builtin_math",     # eval task name (kit.eval.tasks), e.g. gsm8k, humaneval, builtin_general
     "ability": "math",          # the ability that task measures: "math" | "code" | "general", or P2's
                                 #   reasoning domain "symbolic" | "logical" | "arithmetic"
     "score": 0.41,              # in [0, 1] (fraction correct, constraint rate...); None when failed
     "status": "ok",             # "ok" | "failed"
     "error": None,              # what went wrong when failed (OOM, timeout...), else None
     "run_id": "a1b2c3d4e5f6",   # content-addressed run id (kit.runs); "" allowed for a failed run
     "profile": "cpu",           # "cpu" | "gpu": which model/data scale produced it
     "task_version": "1",        # the task module's VERSION; "" allowed for a failed run
     "metric": "accuracy",       # accuracy | assert_frac (generation) | dense_rank | gold_logprob (dense)
     "scale": "unit",            # "unit": score in [0, 1]; "logprob": score <= 0 (nats per scored token)
     "n_eval": 96,               # items the score is the mean of (0 for a failed run)
     "stderr": 0.05,             # sd / sqrt(n) over items (ddof 1); None when unknown (old summaries, failures)
     "items": {"m-0": 1.0, ...}, # per-item scores by item id (the same ids for every run of a recipe), or None
     "parity": True,             # the GGUF's token-level parity check passed (None: unknown, or the base)
     "seed": 0}                  # training seed of the run (several seeds per cell: nested bootstrap)

Unit scores are on the tasks' own [0, 1] scale; a scorer with another scale must be normalised before it
becomes a row (mtbench stores the local judge's 1-10 rating / 10), so a column never mixes scales.
Extra keys (provenance: recipe hash, git commit, n eval items...) are allowed and kept. Failures are
rows, not gaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, TypedDict

ARMS = ("math", "code", "general", "mixed", "base")  # RQ1/RQ2's, and any recipe not in RECIPE_ARMS
RQ3_ARMS = ("setup1", "setup2", "setup3")  # recipes/rq3.yaml: which source k scales (see reference.RQ3_SETUPS)
RQ4_STRATEGIES = ("math_only", "code_only", "general_only", "multi_task", "sequential", "mixed_sequential")
P2_ARMS = ("code_0", "code_25", "code_50", "code_100")  # recipes/p2.yaml: the share of code in the training data
P3_ARMS = ("curated", "synthetic")  # recipes/p3.yaml: every ability's curated data, or generic (synthetic) data
# The arms a recipe's rows may name: a typo in an arm must fail here, not drop a line from a table.
RECIPE_ARMS = {
    "rq3": RQ3_ARMS + ("base",),
    "rq4": RQ4_STRATEGIES + ("dmt", "base"),
    "p2": P2_ARMS + ("base",),
    "p3": P3_ARMS + ("base",),
}
# Arms trained once, not per grid fraction: their rows carry fraction None (rq4's dmt sweeps k, so it has one).
UNSWEPT_ARMS = {"rq4": RQ4_STRATEGIES, "p2": P2_ARMS}
ABILITIES = ("math", "code", "general")  # P1's
P2_DOMAINS = ("symbolic", "logical", "arithmetic")  # P2's reasoning domains
# What a row's ability may be (kit.eval.tasks.ABILITIES says which one a task measures).
# P3's (DoIT's) abilities: its ten, and "ood" for the held-out subjects (C-Eval's three, or the mirrors' family)
P3_ABILITIES = (
    "code", "biology", "history", "understanding", "reasoning", "ethics", "role_play", "creative_writing", "chinese",
    "math", "ood",
)  # fmt: skip
ALL_ABILITIES = tuple(dict.fromkeys(ABILITIES + P2_DOMAINS + P3_ABILITIES))
STATUSES = ("ok", "failed")
PROFILES = ("cpu", "gpu")
SCALES = ("unit", "logprob")
# What scorers write: prose is 1 when a generated answer is not code (P2: code-tuned models still reason in prose).
# chance: what guessing scores on the same items (P3 reports it beside every ability). IFEval's accuracy is
# prompt-level strict; its prompt-level loose and instruction-level strict and loose come as three more.
METRICS = (
    "accuracy", "assert_frac", "dense_rank", "gold_logprob", "prose", "chance",
    "prompt_loose", "inst_strict", "inst_loose",
)  # fmt: skip


class ResultRow(TypedDict):
    recipe: str
    arm: str  # one of arms_of(recipe)
    fraction: float | None
    n_examples: int
    task: str
    ability: str  # one of ALL_ABILITIES
    score: float | None
    status: Literal["ok", "failed"]
    error: str | None
    run_id: str
    profile: Literal["cpu", "gpu"]
    task_version: str
    metric: str
    scale: Literal["unit", "logprob"]
    n_eval: int
    stderr: float | None
    items: dict[str, float] | None
    parity: bool | None
    seed: int


FIELDS = tuple(ResultRow.__annotations__)


def validate_rows(rows: list[dict]) -> None:
    """Raise ValueError listing every bad field, each as ``row <i> (run_id=...): field 'x': why``."""
    if not isinstance(rows, list):
        raise ValueError(f"rows must be a list of dicts, got {type(rows).__name__}")
    problems = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"row {i}: expected a dict, got {type(row).__name__}")
            continue
        where = f"row {i} (run_id={row.get('run_id', '?')}, task={row.get('task', '?')})"
        problems += [f"{where}: field {name!r}: {why}" for name, why in _row_problems(row)]
    if problems:
        raise ValueError(f"{len(problems)} problem(s) in result rows:\n  " + "\n  ".join(problems))


def _row_problems(row: dict) -> list[tuple[str, str]]:
    missing = [(name, "missing") for name in FIELDS if name not in row]
    if missing:
        return missing
    out = []
    for name in ("recipe", "task", "run_id", "task_version"):
        # A run that failed before training or scoring may have no run id or task version yet.
        may_be_empty = row.get("status") == "failed" and name in ("run_id", "task_version")
        if not isinstance(row[name], str) or not (row[name] or may_be_empty):
            out.append((name, f"must be a non-empty string, got {row[name]!r}"))
    recipe = row["recipe"] if isinstance(row["recipe"], str) else ""
    arms = arms_of(recipe)
    for name, allowed in (("arm", arms), ("ability", ALL_ABILITIES), ("status", STATUSES), ("profile", PROFILES)):
        if row[name] not in allowed:
            out.append((name, f"must be one of {', '.join(allowed)}; got {row[name]!r}"))
    fraction, n = row["fraction"], row["n_examples"]
    if row["arm"] in UNSWEPT_ARMS.get(recipe, ()):
        if fraction is not None:
            out.append(
                (
                    "fraction",
                    f"must be None for arm {row['arm']!r} of recipe {recipe!r} (trained once, not "
                    f"swept over the grid's fractions); got {fraction!r}",
                )
            )
    elif not _is_number(fraction) or not 0.0 <= fraction <= 1.0:
        out.append(("fraction", f"must be a number in [0, 1], got {fraction!r}"))
    elif (row["arm"] == "base") != (fraction == 0.0):
        want = "0.0 for arm 'base'" if row["arm"] == "base" else "> 0 for a trained arm"
        out.append(("fraction", f"must be {want}; got {fraction!r} for arm {row['arm']!r}"))
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        out.append(("n_examples", f"must be an int >= 0, got {n!r}"))
    elif row["arm"] == "base" and n != 0:
        out.append(("n_examples", f"must be 0 for the untrained base, got {n}"))
    out += _status_problems(row)
    out += _metric_problems(row)
    return out


def _metric_problems(row: dict) -> list[tuple[str, str]]:
    out = []
    if row["metric"] not in METRICS:
        out.append(("metric", f"must be one of {', '.join(METRICS)}; got {row['metric']!r}"))
    if row["scale"] not in SCALES:
        out.append(("scale", f"must be one of {', '.join(SCALES)}; got {row['scale']!r}"))
    for name in ("n_eval", "seed"):
        if isinstance(row[name], bool) or not isinstance(row[name], int) or row[name] < 0:
            out.append((name, f"must be an int >= 0, got {row[name]!r}"))
    if row["stderr"] is not None and (not _is_number(row["stderr"]) or row["stderr"] < 0):
        out.append(("stderr", f"must be a number >= 0 or None, got {row['stderr']!r}"))
    if row["parity"] not in (True, False, None):
        out.append(("parity", f"must be True, False or None, got {row['parity']!r}"))
    items = row["items"]
    if items is not None:
        bad = [k for k, v in items.items() if not _is_number(v)] if isinstance(items, dict) else None
        if bad is None or bad:
            out.append(("items", f"must be {{item id: number}} or None; bad entries: {bad if bad else type(items)}"))
        elif row["status"] == "ok" and row["n_eval"] != len(items):
            out.append(("items", f"holds {len(items)} items but n_eval is {row['n_eval']}"))
    return out


def arms_of(recipe: str) -> tuple[str, ...]:
    """The arms rows of ``recipe`` may name."""
    return RECIPE_ARMS.get(recipe, ARMS)


def _status_problems(row: dict) -> list[tuple[str, str]]:
    score, error = row["score"], row["error"]
    if error is not None and not isinstance(error, str):
        return [("error", f"must be a string or None, got {error!r}")]
    if row["status"] == "failed":
        problems = [("score", f"must be None for a failed run, got {score!r}")] if score is not None else []
        if not error:
            problems.append(("error", "a failed run must say why"))
        return problems
    if row.get("scale") == "logprob":
        if not _is_number(score) or score > 0.0:
            return [("score", f"must be a number <= 0 for scale 'logprob' when status is 'ok', got {score!r}")]
        return []
    if not _is_number(score) or not 0.0 <= score <= 1.0:
        return [("score", f"must be a number in [0, 1] when status is 'ok', got {score!r}")]
    return []


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# --- selection: the cells the tables, plots and checks read -------------------------------------


@dataclass(frozen=True)
class Cell:
    """What the rows say about one (arm, fraction, task, metric): the mean of its distinct ok runs, or why it failed.

    ``stderr`` is the run's item stderr for one run; for several runs (training seeds) the sd of their scores
    / sqrt(runs), which holds item and seed noise both. ``n_eval`` is the eval items per run.
    """

    score: float | None
    n_examples: int
    n_ok: int
    errors: tuple[str, ...]
    stderr: float | None = None
    n_eval: int = 0
    parity_mismatch: int = 0  # ok runs whose GGUF failed parity (scored under export.allow_parity_mismatch)

    @property
    def failed(self) -> bool:
        return self.n_ok == 0


def series(rows: list[dict], arm: str, task: str, metric: str = "accuracy") -> dict[float | None, Cell]:
    """``{fraction: Cell}`` for one arm on one task and metric; runs of a cell are averaged (ok ones only), rows with
    the same run id counting once. An arm the grid does not sweep has the one key None.
    """
    groups: dict[float | None, list[dict]] = {}
    for row in rows:
        if row["arm"] == arm and row["task"] == task and row.get("metric", "accuracy") == metric:
            groups.setdefault(fraction_key(row["fraction"]), []).append(row)
    return {fraction: _cell(group) for fraction, group in groups.items()}


def _cell(group: list[dict]) -> Cell:
    ok = list({r["run_id"]: r for r in group if r["status"] == "ok"}.values())
    errors = tuple(
        f"run {r['run_id']}: {r['error']}" if r["run_id"] else r["error"] for r in group if r["status"] != "ok"
    )
    scores = [r["score"] for r in ok]
    if len(ok) == 1:
        stderr = ok[0].get("stderr")
    elif ok:
        mean = sum(scores) / len(scores)
        stderr = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1) / len(scores))
    else:
        stderr = None
    return Cell(
        score=sum(scores) / len(scores) if ok else None,
        n_examples=max(r["n_examples"] for r in group),
        n_ok=len(ok),
        errors=errors,
        stderr=stderr,
        n_eval=max((r.get("n_eval", 0) for r in ok), default=0),
        parity_mismatch=sum(r.get("parity") is False for r in ok),
    )


def metrics_of(rows: list[dict], task: str) -> list[str]:
    """The metrics the rows hold for ``task``, in METRICS order."""
    seen = {r.get("metric", "accuracy") for r in rows if r["task"] == task}
    return [m for m in METRICS if m in seen]


def fraction_key(fraction: float | None) -> float | None:
    """Fractions as dict keys: 1/256 computed two ways must land on the same key (None stays None)."""
    return None if fraction is None else round(float(fraction), 12)


def fraction_label(fraction: float) -> str:
    """``0.00390625`` -> ``"1/256"``; the label the paper uses."""
    return str(Fraction(fraction).limit_denominator(1 << 16))


def tasks_by_ability(rows: list[dict]) -> dict[str, list[str]]:
    """The eval tasks seen per ability, built-in tasks first, in ALL_ABILITIES order."""
    seen = {ability: {r["task"] for r in rows if r["ability"] == ability} for ability in ALL_ABILITIES}
    return {a: sorted(ts, key=lambda t: (not t.startswith("builtin_"), t)) for a, ts in seen.items() if ts}


def task_sets(rows: list[dict]) -> list[dict[str, str]]:
    """One ``{ability: task}`` per comparable set: the built-in tasks together, the benchmarks together.

    An ability with fewer tasks than another reuses its last one (e.g. builtin_general next to gsm8k
    and humaneval when no MT-Bench judge ran).
    """
    by_ability = tasks_by_ability(rows)
    width = max((len(ts) for ts in by_ability.values()), default=0)
    return [{a: ts[min(i, len(ts) - 1)] for a, ts in by_ability.items()} for i in range(width)]


def only_profile(rows: list[dict]) -> str:
    """The one profile of a report's rows; mixing profiles would mix models in one column."""
    profiles = sorted({r["profile"] for r in rows})
    if len(profiles) != 1:
        found = ", ".join(profiles) or "none (no rows)"
        raise ValueError(f"a report needs rows of exactly one profile; found {found}: write one report per profile")
    return profiles[0]


def task_versions(rows: list[dict]) -> dict[str, str]:
    """``{task: version}``; several versions of one task are joined with '+' so the reader sees the mix."""
    versions: dict[str, set[str]] = {}
    for row in rows:
        versions.setdefault(row["task"], set()).update([row["task_version"]] if row["task_version"] else [])
    return {task: "+".join(sorted(v)) or "?" for task, v in sorted(versions.items())}
