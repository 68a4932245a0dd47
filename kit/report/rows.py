"""The result-row schema every report reads: one row per (run, eval task), written by the pipeline.

A row is a flat dict (JSON-friendly), one per trained run (or the untrained base) and eval task::

    {"recipe": "rq1",            # the recipe that asked for the run
     "arm": "math",              # training data: "math" | "code" | "general" (one source alone),
                                 #   "mixed" (all three at the same fraction) | "base" (no training)
     "fraction": 0.25,           # fraction of each source used; 0.0 for the untrained base
     "n_examples": 5006,         # training rows of the run; 0 for the base
     "task": "builtin_math",     # eval task name (kit.eval.tasks), e.g. gsm8k, humaneval, builtin_general
     "ability": "math",          # the ability that task measures: "math" | "code" | "general"
     "score": 0.41,              # in [0, 1] (fraction correct, constraint rate...); None when failed
     "status": "ok",             # "ok" | "failed"
     "error": None,              # what went wrong when failed (OOM, timeout...), else None
     "run_id": "a1b2c3d4e5f6",   # content-addressed run id (kit.runs)
     "profile": "cpu",           # "cpu" | "gpu": which model/data scale produced it
     "task_version": "1"}        # the task module's VERSION

Scores are on the tasks' own [0, 1] scale; a scorer with another scale (a 1-10 judge) must be
normalised before it becomes a row, so a column never mixes scales. Extra keys (provenance: recipe
hash, git commit, n eval items...) are allowed and kept. Failures are rows, not gaps.
"""

from __future__ import annotations

import math
from typing import Literal, TypedDict

ARMS = ("math", "code", "general", "mixed", "base")
ABILITIES = ("math", "code", "general")
STATUSES = ("ok", "failed")
PROFILES = ("cpu", "gpu")


class ResultRow(TypedDict):
    recipe: str
    arm: Literal["math", "code", "general", "mixed", "base"]
    fraction: float
    n_examples: int
    task: str
    ability: Literal["math", "code", "general"]
    score: float | None
    status: Literal["ok", "failed"]
    error: str | None
    run_id: str
    profile: Literal["cpu", "gpu"]
    task_version: str


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
        if not isinstance(row[name], str) or not row[name]:
            out.append((name, f"must be a non-empty string, got {row[name]!r}"))
    for name, allowed in (("arm", ARMS), ("ability", ABILITIES), ("status", STATUSES), ("profile", PROFILES)):
        if row[name] not in allowed:
            out.append((name, f"must be one of {', '.join(allowed)}; got {row[name]!r}"))
    fraction, n = row["fraction"], row["n_examples"]
    if not _is_number(fraction) or not 0.0 <= fraction <= 1.0:
        out.append(("fraction", f"must be a number in [0, 1], got {fraction!r}"))
    elif (row["arm"] == "base") != (fraction == 0.0):
        out.append(("fraction", f"is 0.0 exactly for arm 'base' and > 0 otherwise; got {fraction!r} for {row['arm']!r}"))
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        out.append(("n_examples", f"must be an int >= 0, got {n!r}"))
    elif row["arm"] == "base" and n != 0:
        out.append(("n_examples", f"must be 0 for the untrained base, got {n}"))
    out += _status_problems(row)
    return out


def _status_problems(row: dict) -> list[tuple[str, str]]:
    score, error = row["score"], row["error"]
    if error is not None and not isinstance(error, str):
        return [("error", f"must be a string or None, got {error!r}")]
    if row["status"] == "failed":
        problems = [("score", f"must be None for a failed run, got {score!r}")] if score is not None else []
        if not error:
            problems.append(("error", "a failed run must say why"))
        return problems
    if not _is_number(score) or not 0.0 <= score <= 1.0:
        return [("score", f"must be a number in [0, 1] when status is 'ok', got {score!r}")]
    return []


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
