"""What leaves a run: its summary (``results/<recipe>/runs/<tag>.json``, written by kit.pipeline, or by kit.sweep
for a run that failed) and the result rows (kit.report.rows) a report reads from it.

``RunSummary`` and ``FailedSummary`` are the two shapes; ``validate_summary`` checks one before it is written and
before rows are made from it, so a change of shape fails loudly in the pipeline and in the tests alike.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any, TypedDict

from kit import runs
from kit.eval import tasks as eval_tasks
from kit.recipe import PlannedRun


class TaskResult(TypedDict, total=False):
    """One task's result on one GGUF (kit.eval.phase): its settings, the score and per-metric, per-item values."""

    score: float  # required
    version: str  # required: the task's VERSION
    n_items: int
    metrics: dict[str, dict]  # metric -> {score, stderr, n, kind, scale, version, per_item}
    dense: dict


class RunSummary(TypedDict):
    recipe: str
    run_id: str
    run_dir: str
    profile: str
    grid: dict | None  # {"arm", "fraction", "seed"} for a grid's run
    status: str  # "ok"
    scores: dict[str, TaskResult]
    skipped_tasks: list[str]
    baseline_scores: dict[str, TaskResult] | None
    parity: dict  # {"passed", "matched", "near_ties", "total", "version"}
    train: dict  # the last stage's training metrics
    data: dict  # the last stage's data manifest ("total" rows)
    stages: list[dict]  # {"name", "run_id", "reused", "examples", "train_seconds"} per stage
    export: dict  # {"quant", "gguf", "gguf_bytes"}
    timings_s_this_invocation: dict[str, float]
    phase_seconds: dict[str, float | None]
    resolved_recipe: dict
    provenance: dict


class FailedSummary(TypedDict):
    recipe: str
    grid: dict | None
    status: str  # "failed"
    error: str
    traceback: str
    profile: str
    tasks: list[str]
    examples: int | None


_TYPES: dict[str, Any] = {"str": str, "dict": dict, "list": list, "int": int, "float": (int, float)}


def validate_summary(summary: dict) -> None:
    """Raise ValueError naming every missing or mistyped key of a run summary (either shape)."""
    if not isinstance(summary, dict):
        raise ValueError(f"a run summary must be a dict, got {type(summary).__name__}")
    shape = RunSummary if summary.get("status") == "ok" else FailedSummary
    problems = [f"missing key {k!r}" for k in shape.__annotations__ if k not in summary]
    if summary.get("status") not in ("ok", "failed"):
        problems.append(f"status must be 'ok' or 'failed', got {summary.get('status')!r}")
    for key, annotation in shape.__annotations__.items():
        hint = getattr(annotation, "__forward_arg__", annotation)  # a ForwardRef under postponed annotations
        value = summary.get(key)
        kinds = [_TYPES[t.split("[")[0]] for t in hint.replace(" ", "").split("|") if t.split("[")[0] in _TYPES]
        optional = "None" in hint
        if key in summary and kinds and not (value is None and optional) and not isinstance(value, tuple(kinds)):
            problems.append(f"{key!r} must be {hint}, got {type(value).__name__}")
    for task, result in (summary.get("scores") or {}).items() if shape is RunSummary else ():
        problems += [f"scores.{task}: missing {k!r}" for k in ("score", "version") if k not in result]
    if problems:
        where = f"{summary.get('recipe', '?')}/{summary.get('run_id') or (summary.get('grid') or {}).get('arm', '?')}"
        raise ValueError(f"run summary {where}: " + "; ".join(problems))


def failed_summary(planned: PlannedRun, exc: BaseException) -> FailedSummary:
    """What a run that raised leaves behind: a summary that becomes one failed row per task it was to be scored on."""
    from kit.plan import stage_examples

    return {
        "recipe": planned.recipe.name,
        "grid": {"arm": planned.arm, "fraction": planned.fraction, "seed": planned.seed},
        "status": "failed",
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc, limit=8)),
        "profile": planned.recipe.profile,
        "tasks": [t.name for t in planned.recipe.eval.tasks],
        "examples": stage_examples(planned.recipe)[-1],
    }


def rows_of(summary: dict) -> list[dict]:
    """Report rows (kit.report.rows) of one run summary: one per scored (task, metric), plus the base model's.

    A task result without ``metrics`` (an older summary) gives one ``accuracy`` row without per-item scores; a
    failed run gives one failed ``accuracy`` row per task it was to be scored on.
    """
    validate_summary(summary)
    grid = summary.get("grid") or {"arm": "single", "fraction": None}
    common = {
        "recipe": summary["recipe"],
        "arm": grid["arm"],
        "fraction": grid["fraction"],
        "profile": summary["profile"],
        "seed": grid.get("seed") or 0,
    }
    if summary["status"] != "ok":
        failed = {"score": None, "status": "failed", "error": summary["error"], "run_id": "", "task_version": ""}
        return [
            {
                **common,
                **failed,
                **_NO_METRIC,
                "n_examples": summary.get("examples") or 0,
                "task": task,
                "ability": ability_of(task),
                "parity": None,
            }
            for task in summary["tasks"]
        ]
    parity = (summary.get("parity") or {}).get("passed")
    common["base_model"] = (summary["resolved_recipe"].get("model") or {}).get("base")
    run = {**common, "n_examples": summary["data"]["total"], "run_id": summary["run_id"], "parity": parity}
    base = {**common, "arm": "base", "fraction": 0.0, "n_examples": 0, "run_id": "base", "parity": None, "seed": 0}
    rows = [r for task, s in summary["scores"].items() for r in _task_rows(run, task, s)]
    rows += [r for task, s in (summary.get("baseline_scores") or {}).items() for r in _task_rows(base, task, s)]
    return rows


_NO_METRIC = {"metric": "accuracy", "scale": "unit", "n_eval": 0, "stderr": None, "items": None}


def _task_rows(common: dict, task: str, result: dict) -> list[dict]:
    """One row per metric of one task result (its ``metrics``), or one accuracy row when it has none."""
    ok = {"task": task, "ability": ability_of(task), "status": "ok", "error": None, "task_version": result["version"]}
    metrics = result.get("metrics")
    if not metrics:
        n = result.get("n_items") or 0
        return [{**common, **ok, **_NO_METRIC, "score": result["score"], "n_eval": n}]
    return [
        {
            **common,
            **ok,
            "task_version": m.get("version") or result["version"],
            "metric": name,
            "scale": m["scale"],
            "score": m["score"],
            "n_eval": m["n"],
            "stderr": m.get("stderr"),
            "items": m.get("per_item"),
        }
        for name, m in metrics.items()
    ]


def ability_of(task: str) -> str:
    return eval_tasks.ability_of(task)


def stored_rows(recipe_name: str, results_dir: Path | None = None) -> list[dict]:
    """Rows rebuilt from the run summaries under results/<recipe>/runs (for `make report`)."""
    folder = runs.summaries_dir(recipe_name, results_dir)
    rows: list[dict] = []
    for path in sorted(folder.glob("*.json")):
        rows.extend(rows_of(json.loads(path.read_text())))
    return dedupe_base(rows)


def dedupe_base(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = (row["fraction"], row["task"], row.get("metric")) if row["arm"] == "base" else None
        if key is None or key not in seen:
            out.append(row)
            if key:
                seen.add(key)
    return out
