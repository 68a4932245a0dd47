"""A grid recipe as a sweep: the plan first (kit.plan), then the runs in order, each failure a row, then the
report's rows.

Runs are content-addressed (kit.runs), so a run shared with another recipe is reused and a killed
sweep resumes where it stopped: finished phases are skipped, the interrupted one starts again.
"""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

from tqdm import tqdm

from kit import runs
from kit.eval.tasks import ABILITIES
from kit.plan import stage_examples
from kit.recipe import PlannedRun, Recipe

log = logging.getLogger(__name__)


def run_sweep(recipe: Recipe, results_dir: Path | None = None) -> list[dict]:
    """Every planned run in order; a failure becomes a row with its error and the sweep goes on."""
    from kit.pipeline import run_recipe
    from kit.runs import summary_path

    rows: list[dict] = []
    planned_runs = recipe.runs()
    for planned in tqdm(planned_runs, desc=f"{recipe.name} runs", unit="run"):
        try:
            summary = run_recipe(planned.recipe, results_dir, planned)
            _record_timing(summary)
        except Exception as exc:  # one failed run (OOM, timeout, bad data) must not end the sweep
            log.error("run %s failed: %s", planned.tag, exc)
            summary = failed_summary(planned, exc)
            runs.write_json(summary_path(recipe.name, planned.tag, results_dir), summary)
        rows.extend(rows_of(summary))
    return _dedupe_base(rows)


def failed_summary(planned: PlannedRun, exc: BaseException) -> dict:
    return {
        "recipe": planned.recipe.name,
        "grid": {"arm": planned.arm, "fraction": planned.fraction, "seed": planned.seed},
        "status": "failed",
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(limit=8),
        "profile": planned.recipe.profile,
        "tasks": [t.task for t in planned.recipe.eval.tasks],
        "examples": stage_examples(planned.recipe)[-1],
    }


def _record_timing(summary: dict) -> None:
    """Keep what a full (uncached) run cost here, so later plans estimate from this machine."""
    t = summary["timings_s_this_invocation"]
    if t.get("train", 0) < 1 or t.get("export", 0) < 1:
        return  # a cached run says nothing about cost
    items = sum(s["n_items"] for s in summary["scores"].values())
    record = {
        "device": summary.get("provenance", {}).get("device", "cpu"),
        "overhead_s": round(t["export"] + t["train"] - summary["train"]["train_seconds"], 1),
        "eval_s_per_item": round(t["eval"] / items, 3) if items and t["eval"] > 1 else None,
    }
    runs.write_json(runs.timing_path(summary["run_id"]), record)


def rows_of(summary: dict) -> list[dict]:
    """Report rows (kit.report.rows) of one run summary: one per scored (task, metric), plus the base model's.

    A task result without ``metrics`` (an older summary) gives one ``accuracy`` row without per-item scores; a
    failed run gives one failed ``accuracy`` row per task it was to be scored on.
    """
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
    return ABILITIES[task]


def stored_rows(recipe_name: str, results_dir: Path | None = None) -> list[dict]:
    """Rows rebuilt from the run summaries under results/<recipe>/runs (for `make report`)."""
    folder = runs.summaries_dir(recipe_name, results_dir)
    rows: list[dict] = []
    for path in sorted(folder.glob("*.json")):
        rows.extend(rows_of(json.loads(path.read_text())))
    return _dedupe_base(rows)


def _dedupe_base(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = (row["fraction"], row["task"], row.get("metric")) if row["arm"] == "base" else None
        if key is None or key not in seen:
            out.append(row)
            if key:
                seen.add(key)
    return out
