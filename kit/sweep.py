"""A grid recipe as a sweep: the plan first (kit.plan), then the runs in order, each failure a row, then the
report's rows.

Runs are content-addressed (kit.runs), so a run shared with another recipe is reused and a killed
sweep resumes where it stopped: finished phases are skipped, the interrupted one starts again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tqdm import tqdm

from kit import runs
from kit.recipe import Recipe
from kit.report.summary import dedupe_base, failed_summary, rows_of, validate_summary

log = logging.getLogger(__name__)


def run_sweep(recipe: Recipe, results_dir: Path | None = None, log_samples: bool = False) -> list[dict]:
    """Every planned run in order; a failure becomes a row with its error and the sweep goes on. ``log_samples``:
    each run's per-item logs too (kit.pipeline.samples_phase)."""
    from kit.pipeline import run_recipe
    from kit.runs import summary_path

    rows: list[dict] = []
    planned_runs = recipe.runs()
    for planned in tqdm(planned_runs, desc=f"{recipe.name} runs", unit="run"):
        try:
            summary = run_recipe(planned.recipe, results_dir, planned, log_samples=log_samples)
            _record_timing(summary)
        except Exception as exc:  # one failed run (OOM, timeout, bad data) must not end the sweep
            log.error("run %s failed: %s", planned.tag, exc)
            summary = failed_summary(planned, exc)
            validate_summary(summary)
            runs.write_json(summary_path(recipe.name, planned.tag, results_dir), summary)
        rows.extend(rows_of(summary))
    return dedupe_base(rows)


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
