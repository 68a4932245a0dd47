"""One run, top to bottom: data -> base model -> train (worker process) -> merge + GGUF + parity -> eval.

Each phase writes into the run directory under a content-addressed name and is skipped when its
``DONE.json`` exists, so re-running a recipe redoes nothing and a killed run resumes at the phase
it was in. The run's summary, with its provenance, lands under ``results/``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from kit import env, runs
from kit.data.mixture import build_mixture
from kit.eval.tasks import get_task
from kit.recipe import PlannedRun, Recipe

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def results_root() -> Path:
    """Small result files: the repo's results/ unless KIT_RESULTS points elsewhere (tests do)."""
    return Path(os.environ.get("KIT_RESULTS") or REPO / "results")


class RunError(RuntimeError):
    """A phase of a run failed; the message names the phase and where its log is."""


def run_recipe(recipe: Recipe, results_dir: Path | None = None, planned: PlannedRun | None = None) -> dict:
    """Run (or reuse) everything a recipe asks for; return the summary written under results/."""
    started = time.time()
    timings: dict[str, float] = {}
    resolved = recipe.to_dict()
    hw = env.choose(recipe.train.backend, recipe.train.dtype, recipe.train.quantization)
    log.info("hardware: %s on %s, %s (%s)", hw.backend, hw.device_name, hw.dtype, hw.reason)
    key = runs.train_key(resolved, hw.backend, hw.dtype)
    run = runs.run_dir(key)
    log.info("run %s in %s", run.name, run)
    prepare_run(run, key, hw)
    with _timed(timings, "data"):
        manifest = data_phase(run, recipe)
    with _timed(timings, "base_model"):
        base_path = base_phase(run, recipe)
    with _timed(timings, "train"):
        metrics = train_phase(run)
    with _timed(timings, "export"):
        export = export_phase(runs.export_dir(run, resolved["export"]), base_path, run / "train", recipe, hw, run)
    with _timed(timings, "eval"):
        scores = eval_phase(Path(export["dir"]), Path(export["gguf"]), recipe)
    with _timed(timings, "baseline"):
        baseline = baseline_phase(recipe, hw, base_path, run) if recipe.eval.baseline else None
    summary = {
        "recipe": recipe.name,
        "run_id": run.name,
        "run_dir": str(run),
        "profile": recipe.profile,
        "grid": None if planned is None else {"arm": planned.arm, "fraction": planned.fraction},
        "status": "ok",
        "scores": scores,
        "baseline_scores": baseline,
        "parity": {k: export["parity"][k] for k in ("passed", "matched", "total")},
        "train": {k: v for k, v in metrics.items() if k != "loss_curve"},
        "data": manifest,
        "export": {"quant": recipe.export.quant, "gguf": export["gguf"], "gguf_bytes": export["gguf_bytes"]},
        "timings_s_this_invocation": timings,
        "resolved_recipe": resolved,
        "provenance": {
            **env.describe(hw),
            "recipe_hash": runs.content_hash(resolved),
            "train_key_hash": run.name,
            "pipeline_version": runs.PIPELINE_VERSION,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds_this_invocation": round(time.time() - started, 1),
        },
    }
    out = summary_path(recipe.name, planned.tag if planned else run.name, results_dir)
    runs.write_json(out, summary)
    log.info("summary written to %s", out)
    return summary


def summary_path(recipe_name: str, tag: str, results_dir: Path | None = None) -> Path:
    return (results_dir or results_root()) / recipe_name / "runs" / f"{tag}.json"


@contextlib.contextmanager
def _timed(timings: dict, name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 2)


def prepare_run(run: Path, key: dict, hw: env.Hardware) -> None:
    # recipe.json holds what decides the adapter: later phases (and the worker) read it from here.
    if not (run / "recipe.json").is_file():
        runs.write_json(run / "recipe.json", key)
    runs.write_json(run / "hardware.json", hw.__dict__)


def data_phase(run: Path, recipe: Recipe) -> dict:
    out = run / "data"
    if runs.is_done(out):
        return runs.read_json(out / "manifest.json")
    rows, manifest = build_mixture(recipe.data.mixture, recipe.data.seed)
    with runs.staging(out) as tmp:
        runs.write_jsonl(tmp / "train.jsonl", rows)
        runs.write_json(tmp / "manifest.json", manifest)
        runs.mark_done(tmp, {"rows": len(rows)})
    log.info("data: %d rows from %d source(s)", len(rows), len(manifest["entries"]))
    return manifest


def base_phase(run: Path, recipe: Recipe) -> str:
    from kit.models import resolve_base

    path = resolve_base(recipe.model.base)
    runs.write_json(run / "base.json", {"base": recipe.model.base, "path": path})
    return path


def train_phase(run: Path) -> dict:
    out = run / "train"
    if runs.is_done(out):
        return runs.read_json(out / "DONE.json")
    log.info("training in a worker process (log: %s)", run / "train.log")
    cmd = [sys.executable, "-m", "kit.backends.worker", str(run)]
    with open(run / "train.log", "w") as logf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in proc.stdout:  # echo progress live and keep a copy beside the run
            sys.stderr.write(line)
            logf.write(line)
        rc = proc.wait()
    if rc != 0:
        raise RunError(f"training failed (exit {rc}); the worker's output is in {run / 'train.log'}")
    return runs.read_json(out / "DONE.json")


def probe_prompts(run: Path, k: int) -> list[list[dict]]:
    rows = runs.read_jsonl(run / "data" / "train.jsonl")[:k]
    return [r["messages"][:-1] for r in rows]


def export_phase(out: Path, base_path: str, adapter: Path | None, recipe: Recipe, hw: env.Hardware, run: Path) -> dict:
    """Merge (or take the base as is), convert to f16 GGUF, check parity, quantize."""
    from kit.export.gguf import convert, quantize
    from kit.export.merge import merge
    from kit.export.parity import parity_check

    spec = recipe.export
    name = f"model-{spec.quant}.gguf"
    if not runs.is_done(out):
        threads = env.n_threads(recipe.eval.n_threads)
        with runs.staging(out) as tmp:
            merged, f16 = tmp / "merged", tmp / "model-F16.gguf"
            merge(base_path, adapter, merged, recipe.model.chat_template, "float16" if hw.device == "cuda" else "float32")
            convert(merged, f16, "f16")
            parity = parity_check(merged, f16, probe_prompts(run, spec.parity_prompts), spec.parity_max_tokens, threads)
            if not parity["passed"]:
                log.warning("parity check: %d/%d probes differ between transformers and the f16 GGUF",
                            parity["total"] - parity["matched"], parity["total"])
            if spec.quant != "F16":
                quantize(f16, tmp / name, spec.quant, threads)
                f16.unlink()
            if not spec.keep_merged:
                _rmtree(merged)
            runs.write_json(tmp / "parity.json", parity)
            runs.mark_done(tmp, {"quant": spec.quant, "export": recipe.to_dict()["export"]})
    gguf = out / name
    return {"dir": str(out), "gguf": str(gguf), "gguf_bytes": gguf.stat().st_size, "parity": runs.read_json(out / "parity.json")}


def eval_phase(export_dir: Path, gguf: Path, recipe: Recipe, label: str = "tuned") -> dict:
    """Score every task of the recipe on one GGUF; each task's result is cached by its settings."""
    from kit.eval.engine import open_engine

    scores, todo = {}, []
    for spec in recipe.eval.tasks:
        task = get_task(spec.task)
        settings = {"task": spec.task, "version": task.VERSION, "n": spec.n, "seed": recipe.eval.seed,
                    "n_ctx": recipe.eval.n_ctx_tokens, "max_new_tokens": task.MAX_NEW_TOKENS, "decoding": "greedy"}
        out = export_dir / "eval" / f"{spec.task}-{runs.content_hash(settings)}"
        if runs.is_done(out):
            scores[spec.task] = runs.read_json(out / "DONE.json")
        else:
            todo.append((spec, task, settings, out))
    if todo:
        with open_engine(gguf, n_ctx=recipe.eval.n_ctx_tokens, n_threads=env.n_threads(recipe.eval.n_threads)) as engine:
            for spec, task, settings, out in todo:
                scores[spec.task] = score_task(engine, task, spec, settings, recipe.eval.seed, out, label)
    return scores


def score_task(engine, task, spec, settings: dict, seed: int, out: Path, label: str) -> dict:
    items = task.load_items(spec.n, seed)
    completions = engine.chat_many([it["messages"] for it in items], task.MAX_NEW_TOKENS, desc=f"{spec.task} [{label}]")
    records = []
    for item, completion in zip(items, completions, strict=True):
        records.append({"id": item["id"], "completion": completion, **task.score(item, completion)})
    result = {
        **settings,
        "score": round(sum(r["score"] for r in records) / len(records), 4),
        "n_items": len(records),
        "gguf": engine.path.name,
    }
    with runs.staging(out) as tmp:
        runs.write_jsonl(tmp / "items.jsonl", records)
        runs.mark_done(tmp, result)
    log.info("%s [%s]: %.3f on %d items", spec.task, label, result["score"], len(records))
    return result


def baseline_phase(recipe: Recipe, hw: env.Hardware, base_path: str, run: Path) -> dict:
    """The untrained base model, exported and scored the same way (cached per base model)."""
    resolved = recipe.to_dict()
    out = runs.baseline_dir(resolved["model"], resolved["export"])
    export = export_phase(out / "export", base_path, None, recipe, hw, run)
    return eval_phase(Path(export["dir"]), Path(export["gguf"]), recipe, label="baseline")


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)

