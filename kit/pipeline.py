"""One run, top to bottom: data -> base model -> train (worker process) -> merge + GGUF + parity -> eval.

Each phase writes into the run directory under a content-addressed name and is skipped when its
``DONE.json`` exists, so re-running a recipe redoes nothing and a killed run resumes at the phase
it was in. The run's summary, with its provenance, lands under ``results/``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from kit import env, runs
from kit.data.mixture import build_mixture, ids_sha256
from kit.data.subset import fraction_to_n, select_nested
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
    with runs.timed(timings, "train"):
        stages = train_stages(recipe, hw)
    run = stages[-1]["dir"]
    manifest, metrics, base_path = stages[-1]["manifest"], stages[-1]["metrics"], stages[-1]["base"]["path"]
    with runs.timed(timings, "export"):
        export = export_phase(runs.export_dir(run, resolved["export"]), base_path, run / "train", recipe, run)
    with runs.timed(timings, "eval"):
        scores = eval_phase(Path(export["dir"]), Path(export["gguf"]), recipe)
    with runs.timed(timings, "baseline"):
        baseline = baseline_phase(recipe, hw, stages[0]["base"]["path"], run) if recipe.eval.baseline else None
    summary = {
        "recipe": recipe.name,
        "run_id": run.name,
        "run_dir": str(run),
        "profile": recipe.profile,
        "grid": None if planned is None else {"arm": planned.arm, "fraction": planned.fraction, "seed": planned.seed},
        "status": "ok",
        "scores": scores,
        "skipped_tasks": [t.task for t in recipe.eval.tasks if t.task not in scores],
        "baseline_scores": baseline,
        "parity": {k: export["parity"].get(k) for k in ("passed", "matched", "near_ties", "total", "version")},
        "train": {k: v for k, v in metrics.items() if k != "loss_curve"},
        "data": manifest,
        "stages": [
            {
                "name": st["name"],
                "run_id": st["dir"].name,
                "reused": st["reused"],
                "examples": st["manifest"]["total"],
                "train_seconds": st["metrics"]["train_seconds"],
            }
            for st in stages
        ],
        "export": {"quant": recipe.export.quant, "gguf": export["gguf"], "gguf_bytes": export["gguf_bytes"]},
        "timings_s_this_invocation": timings,
        "phase_seconds": phase_seconds(stages, export, scores),
        "resolved_recipe": resolved,
        "provenance": {
            **env.describe(hw),
            "recipe_hash": runs.content_hash(resolved),
            "train_key_hash": run.name,
            "pipeline_version": runs.PIPELINE_VERSION,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds_this_invocation": round(time.time() - started, 1),
        },
    }
    out = summary_path(recipe.name, planned.tag if planned else run.name, results_dir)
    earlier = runs.read_json(out) if out.is_file() else None
    if earlier is not None and same_results(earlier, summary):
        log.info("summary unchanged, keeping the record of when it was computed: %s", out)
        return earlier
    runs.write_json(out, summary)
    log.info("summary written to %s", out)
    return summary


# What a cached rerun recomputes only as bookkeeping: a rerun that changes nothing else keeps the first record.
_BOOKKEEPING = ("timings_s_this_invocation", "provenance", "run_dir")


def same_results(earlier: dict, summary: dict) -> bool:
    """Whether a stored summary says the same as a new one, apart from when and where it was assembled (and
    whether its stages were trained then or reused)."""

    def strip(d: dict) -> dict:
        kept = {k: v for k, v in d.items() if k not in _BOOKKEEPING}
        kept["stages"] = [{k: v for k, v in st.items() if k != "reused"} for st in d.get("stages", [])]
        return kept

    return runs.content_hash(strip(earlier)) == runs.content_hash(strip(summary))


def summary_path(recipe_name: str, tag: str, results_dir: Path | None = None) -> Path:
    return (results_dir or results_root()) / recipe_name / "runs" / f"{tag}.json"


def prepare_run(run: Path, key: dict, hw: env.Hardware) -> None:
    # recipe.json holds what decides the adapter and hardware.json where it is trained: the worker
    # reads both from here. A finished stage keeps the record of the machine that trained it.
    if not (run / "recipe.json").is_file():
        runs.write_json(run / "recipe.json", key)
    if not runs.is_done(run / "train"):
        runs.write_json(run / "hardware.json", hw.__dict__)


def train_stages(recipe: Recipe, hw: env.Hardware) -> list[dict]:
    """Train (or reuse) every stage in order; each starts from its parent's weights (kit.runs.stage_keys)."""
    resolved = recipe.to_dict()
    done: dict[str, dict] = {}
    out: list[dict] = []
    for stage, (name, key) in zip(recipe.stage_list(), runs.stage_keys(resolved, hw.backend, hw.dtype), strict=True):
        run = runs.run_dir(key)
        reused = runs.is_done(run / "train")
        log.info("stage %s: %s %s", name, "reusing" if reused else "training", run)
        prepare_run(run, key, hw)
        replay = done[stage.replay_stage] if stage.replay_stage else None
        manifest = data_phase(run, stage, recipe.data.seed, replay)
        base = stage_base(recipe, out[-1] if out else None)
        runs.write_json(run / "base.json", base)
        metrics = train_phase(run)
        entry = {"name": name, "dir": run, "manifest": manifest, "metrics": metrics, "base": base, "reused": reused}
        done[name] = entry
        out.append(entry)
    return out


def data_phase(run: Path, stage, seed: int, replay: dict | None) -> dict:
    out = run / "data"
    if runs.is_done(out):
        return runs.read_json(out / "manifest.json")
    rows, manifest = (
        build_mixture(stage.mixture, seed) if stage.mixture else ([], {"seed": seed, "total": 0, "entries": []})
    )
    if replay is not None:
        earlier = runs.read_jsonl(replay["dir"] / "data" / "train.jsonl")
        chosen = select_nested(earlier, fraction_to_n(len(earlier), stage.replay_fraction), seed)
        rows = rows + chosen
        manifest["replay"] = {
            "stage": replay["name"],
            "stage_run_id": replay["dir"].name,
            "fraction": stage.replay_fraction,
            "of": len(earlier),
            "count": len(chosen),
            "ids_sha256": ids_sha256(chosen),
        }
        manifest["total"] = len(rows)
    with runs.staging(out) as tmp:
        runs.write_jsonl(tmp / "train.jsonl", rows)
        runs.write_json(tmp / "manifest.json", manifest)
        runs.mark_done(tmp, {"rows": len(rows)})
    log.info("data: %d rows (%d source(s)%s)", len(rows), len(manifest["entries"]), ", with replay" if replay else "")
    return manifest


def stage_base(recipe: Recipe, parent: dict | None) -> dict:
    """The weights a stage starts from: the base model, or its parent's (merged, or its adapter continued)."""
    from kit.models import resolve_base

    if parent is None:
        return {"path": resolve_base(recipe.model.base), "init_adapter": None}
    if recipe.train.stage_chaining == "continue":
        return {"path": parent["base"]["path"], "init_adapter": str(parent["dir"] / "train")}
    merged = parent["dir"] / "merged"
    if not runs.is_done(merged):
        log.info("merging stage %s into the weights the next stage starts from (worker process)", parent["name"])
        job = {
            "merge_only": True,
            "base_path": parent["base"]["path"],
            "adapter": str(parent["dir"] / "train"),
            "chat_template": recipe.model.chat_template,
        }
        with runs.staging(merged) as tmp:
            runs.write_json(tmp / "job.json", job)
            run_worker("kit.export.worker", tmp, parent["dir"] / "merge.log", "merging stage " + parent["name"])
            runs.mark_done(tmp, {"base": parent["base"]})
    return {"path": str(merged), "init_adapter": None}


def train_phase(run: Path) -> dict:
    out = run / "train"
    if runs.is_done(out):
        return runs.read_json(out / "DONE.json")
    log.info("training in a worker process (log: %s)", run / "train.log")
    started = time.perf_counter()
    run_worker("kit.backends.worker", run, run / "train.log", "training")
    # The worker's start-up and model load are the part of a small run that is not training steps.
    runs.write_json(run / "train_wall.json", {"worker_wall_seconds": round(time.perf_counter() - started, 2)})
    return runs.read_json(out / "DONE.json")


def run_worker(module: str, folder: Path, log_path: Path, what: str) -> None:
    """``python -m module folder``, its output echoed live and kept in ``log_path``; a non-zero exit raises."""
    cmd = [sys.executable, "-m", module, str(folder)]
    with open(log_path, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in proc.stdout:
            sys.stderr.write(line)
            logf.write(line)
            logf.flush()
        rc = proc.wait()
    if rc != 0:
        why = " (killed: out of memory?)" if rc in (-9, 137) else ""
        raise RunError(f"{what} failed (exit {rc}{why}); the worker's output is in {log_path}")


def phase_seconds(stages: list[dict], export: dict, scores: dict) -> dict:
    """What each phase of this run cost when it was computed (cached phases keep their first cost)."""
    out: dict[str, float] = {}
    for st in stages:
        wall = st["dir"] / "train_wall.json"
        steps = st["metrics"].get("train_seconds", 0.0)
        prefix = "" if len(stages) == 1 else f"{st['name']}."
        out[f"{prefix}train_steps"] = steps
        if wall.is_file():
            out[f"{prefix}train_worker_startup"] = round(runs.read_json(wall)["worker_wall_seconds"] - steps, 2)
    out.update({f"export_{k}": v for k, v in export.get("phase_seconds", {}).items()})
    for task, result in scores.items():
        out[f"eval_{task}"] = result.get("seconds")
        out[f"eval_{task}_dense"] = (result.get("dense") or {}).get("seconds")
    return out


def probe_prompts(run: Path, k: int) -> list[list[dict]]:
    """The first ``k`` training prompts, and with ``k >= 2`` one multi-turn probe: the first chat whole, then the
    second's prompt (later turns render differently, e.g. SentencePiece spacing after Vicuna's ``</s>``)."""
    rows = runs.read_jsonl(run / "data" / "train.jsonl")[:k]
    probes = [r["messages"][:-1] for r in rows]
    if len(rows) >= 2:
        system = [m for m in rows[0]["messages"] if m["role"] == "system"]
        first = [m for m in rows[0]["messages"] if m["role"] != "system"]
        second = [m for m in rows[1]["messages"][:-1] if m["role"] != "system"]
        probes.append(system + first + second)
    return probes


def export_phase(out: Path, base_path: str, adapter: Path | None, recipe: Recipe, run: Path) -> dict:
    """Merge (or take the base as is), convert to f16 GGUF, check parity, quantize: in a worker process
    (kit.export.worker), so that a 7B merge's memory is handed back and an out-of-memory kill is a failed run."""
    spec = recipe.export
    name = f"model-{spec.quant}.gguf"
    if not runs.is_done(out):
        job = {
            "base_path": base_path,
            "adapter": str(adapter) if adapter is not None else None,
            "chat_template": recipe.model.chat_template,
            "quant": spec.quant,
            "parity_prompts": probe_prompts(run, spec.parity_prompts),
            "parity_max_tokens": spec.parity_max_tokens,
            "n_threads": env.n_threads(recipe.eval.n_threads),
            "keep_merged": spec.keep_merged,
        }
        with runs.staging(out) as tmp:
            runs.write_json(tmp / "job.json", job)
            started = time.perf_counter()
            run_worker("kit.export.worker", tmp, tmp / "export.log", "export")
            seconds = runs.read_json(tmp / "phase_seconds.json")
            seconds["worker_startup"] = round(time.perf_counter() - started - sum(seconds.values()), 2)
            (tmp / "phase_seconds.json").unlink()
            done = {
                "quant": spec.quant,
                "export": runs.export_key(recipe.to_dict()["export"]),
                "phase_seconds": seconds,
            }
            runs.mark_done(tmp, done)
    gguf = out / name
    parity = runs.read_json(out / "parity.json")
    check_parity(parity, spec.allow_parity_mismatch, out / "parity.json")
    return {
        "dir": str(out),
        "gguf": str(gguf),
        "gguf_bytes": gguf.stat().st_size,
        "parity": parity,
        "phase_seconds": runs.read_json(out / "DONE.json").get("phase_seconds", {}),
    }


def check_parity(parity: dict, allowed: bool, where: Path) -> None:
    """A GGUF that does not answer like its merged model fails the run: its scores would not be the model's."""
    if parity["passed"]:
        return
    what = f"{parity['total'] - parity['matched']}/{parity['total']} parity probes differ between the merged model "
    what += f"and its f16 GGUF ({where})"
    if not allowed:
        raise RunError(
            f"{what}; scores from this GGUF would not be the model's (export.allow_parity_mismatch: true "
            "scores it anyway, marked in every table)"
        )
    log.warning("%s; scored anyway (export.allow_parity_mismatch)", what)


def eval_phase(export_dir: Path, gguf: Path, recipe: Recipe, label: str = "tuned") -> dict:
    """Score every task of the recipe on one GGUF; each task's result is cached by its settings."""
    from kit.eval.engine import open_engine

    scores, todo = {}, []
    for spec in recipe.eval.tasks:
        task = get_task(spec.task)
        why = spec.optional and getattr(task, "unavailable", lambda: None)()
        if why:
            log.warning("skipping optional task %s: %s", spec.task, why)
            continue
        settings, out = eval_key(export_dir, task, spec, recipe)
        dense = dense_plan(export_dir, task, spec, recipe)
        if _all_cached(out, dense):
            scores[spec.task] = with_dense(
                runs.read_json(out / "DONE.json"), dense and runs.read_json(dense[1] / "DONE.json")
            )
        else:
            todo.append((spec, task, settings, out, dense))
    if todo:
        from kit.eval.cache import CompletionCache

        # A task that closes the engine when it is done (MT-Bench frees the answering model for its judge) goes last.
        todo.sort(key=lambda job: getattr(job[1], "RELEASES_ENGINE", False))
        if sum(getattr(job[1], "RELEASES_ENGINE", False) for job in todo) > 1:
            raise RunError("more than one task that closes the engine in one recipe; give each its own recipe")

        cache = CompletionCache()
        threads = env.n_threads(recipe.eval.n_threads)
        try:
            with open_engine(
                gguf, n_ctx=recipe.eval.n_ctx_tokens, n_threads=threads, batch_size=recipe.eval.batch_size
            ) as engine:
                for spec, task, settings, out, dense in todo:
                    result = (
                        runs.read_json(out / "DONE.json")
                        if _has_metrics(out)
                        else score_task(engine, cache, task, spec, settings, recipe.eval.seed, out, label)
                    )
                    dense_result = None
                    if dense is not None:
                        dense_settings, dense_out = dense
                        dense_result = (
                            runs.read_json(dense_out / "DONE.json")
                            if _has_metrics(dense_out)
                            else dense_task(engine, task, spec, dense_settings, dense_out, label)
                        )
                    scores[spec.task] = with_dense(result, dense_result)
        finally:
            cache.close()
    return scores


def eval_key(export_dir: Path, task, spec, recipe: Recipe) -> tuple[dict, Path]:
    """What decides a task's generation score on one GGUF, and the folder it is cached in (the plan asks too)."""
    settings = {
        "task": spec.task,
        "version": task.VERSION,
        "n": spec.n,
        "seed": recipe.eval.seed,
        "n_ctx": recipe.eval.n_ctx_tokens,
        "max_new_tokens": task.MAX_NEW_TOKENS,
        "decoding": "greedy",
        "batch_size": recipe.eval.batch_size,
        "n_threads": env.n_threads(recipe.eval.n_threads),
        "results_format": RESULTS_FORMAT,
        **getattr(task, "cache_identity", dict)(),  # e.g. which judge model graded
    }
    return settings, export_dir / "eval" / f"{spec.task}-{runs.content_hash(settings)}"


def eval_done(export_dir: Path, spec, recipe: Recipe) -> bool:
    """Whether every pass a task spec asks for (generation, dense) is cached for this export."""
    task = get_task(spec.task)
    _, out = eval_key(export_dir, task, spec, recipe)
    return _all_cached(out, dense_plan(export_dir, task, spec, recipe))


def score_task(engine, cache, task, spec, settings: dict, seed: int, out: Path, label: str) -> dict:
    from kit.eval.cache import cached_chat_many

    started = time.perf_counter()
    items = task.load_items(spec.n, seed)
    desc = f"{spec.task} [{label}]"
    generated = None
    if hasattr(task, "evaluate"):  # tasks that need more than one generation per item (multi-turn, a judge)
        records = task.evaluate(engine, items, desc=desc)
    else:
        completions, generated = cached_chat_many(
            engine, cache, [it["messages"] for it in items], task.MAX_NEW_TOKENS, desc
        )
        records = [
            {"id": item["id"], "completion": completion, **task.score(item, completion)}
            for item, completion in zip(items, completions, strict=True)
        ]
    scored = [r["score"] for r in records if r["score"] is not None]  # None: e.g. a judgment without a rating
    if not scored:
        raise RunError(f"{spec.task}: none of the {len(records)} items could be scored (see the task's records)")
    result = {
        "seconds": round(time.perf_counter() - started, 2),
        **settings,
        "score": round(sum(scored) / len(scored), 4),
        "n_items": len(records),
        "n_unscored": len(records) - len(scored),
        "n_generated": generated,  # the rest came from the completion cache
        "gguf": engine.path.name,
        "metrics": generation_metrics(records, task.VERSION),
    }
    with runs.staging(out) as tmp:
        runs.write_jsonl(tmp / "items.jsonl", records)
        runs.mark_done(tmp, result)
    log.info("%s [%s]: %.3f on %d items", spec.task, label, result["score"], len(records))
    return result


# Bumped when the eval result's shape changes (2: "metrics" with per-item values); part of every eval
# cache key, so results written before are recomputed (their completions still come from the cache).
RESULTS_FORMAT = 2


def _has_metrics(out: Path) -> bool:
    return runs.is_done(out) and "metrics" in runs.read_json(out / "DONE.json")


def _all_cached(out: Path, dense: tuple[dict, Path] | None) -> bool:
    """The generation result and, when the spec asks for one, the dense pass are both cached."""
    return _has_metrics(out) and (dense is None or _has_metrics(dense[1]))


def metric(per_item: dict[str, float], kind: str, scale: str, version: str) -> dict:
    """One entry of a result's ``metrics``: mean, its standard error (ddof=1; 0.0 below 2 items), per item."""
    import statistics

    values = list(per_item.values())
    stderr = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return {
        "score": round(statistics.fmean(values), 6),
        "stderr": round(stderr, 6),
        "n": len(values),
        "kind": kind,
        "scale": scale,
        "version": version,
        "per_item": per_item,
    }


def generation_metrics(records: list[dict], version: str) -> dict:
    """``accuracy`` (the task's per-item score) and, when the task reports it, ``assert_frac``."""
    out = {}
    for name, key in (("accuracy", "score"), ("assert_frac", "assert_frac")):
        per_item = {r["id"]: float(r[key]) for r in records if r.get(key) is not None}
        if per_item:
            out[name] = metric(per_item, "generation", "unit", version)
    return out


def dense_plan(export_dir: Path, task, spec, recipe: Recipe) -> tuple[dict, Path] | None:
    """The dense pass's settings and cached output folder, or None when the spec asks for none."""
    n = getattr(spec, "dense_n", None)
    if n is None:
        return None
    from kit.eval import dense
    from kit.eval.engine import ENGINE_VERSION, SCORING_VERSION

    settings = {
        "task": spec.task,
        "dense_version": f"{dense.VERSION}-{task.DENSE_VERSION}",
        "dense_n": n,
        "seed": recipe.eval.seed,
        "engine": ENGINE_VERSION,
        "scoring": SCORING_VERSION,
        "n_ctx": recipe.eval.n_ctx_tokens,
        "batch_size": recipe.eval.batch_size,  # batch composition can move scores slightly
        "n_threads": env.n_threads(recipe.eval.n_threads),
        "results_format": RESULTS_FORMAT,
    }
    return settings, export_dir / "eval" / f"{spec.task}-dense-{runs.content_hash(settings)}"


def dense_task(engine, task, spec, settings: dict, out: Path, label: str) -> dict:
    """Gold vs distractors, teacher-forced (kit.eval.dense); records in the pass's own items.jsonl."""
    from kit.eval.dense import score_dense

    started = time.perf_counter()
    items = task.dense_items(settings["dense_n"], settings["seed"])
    if not items:
        raise RunError(f"{spec.task}: dense_items returned no items")
    records = score_dense(engine, items, desc=f"{spec.task} dense [{label}]")
    version = settings["dense_version"]
    result = {
        **settings,
        "n_items": len(records),
        "seconds": round(time.perf_counter() - started, 2),
        "gguf": engine.path.name,
        "metrics": {
            "dense_rank": metric({r["id"]: r["dense_rank"] for r in records}, "dense", "unit", version),
            "gold_logprob": metric({r["id"]: r["gold_logprob"] for r in records}, "dense", "logprob", version),
        },
    }
    with runs.staging(out) as tmp:
        runs.write_jsonl(tmp / "items.jsonl", records)
        runs.mark_done(tmp, result)
    log.info(
        "%s dense [%s]: rank %.3f, gold log p %.3f on %d items",
        spec.task,
        label,
        result["metrics"]["dense_rank"]["score"],
        result["metrics"]["gold_logprob"]["score"],
        len(records),
    )
    return result


def with_dense(result: dict, dense_result: dict | None) -> dict:
    """The task's result with the dense pass's metrics merged in (and its settings under ``dense``)."""
    if dense_result is None:
        return result
    settings = {k: v for k, v in dense_result.items() if k not in ("metrics", "gguf", "task")}
    return {**result, "metrics": {**result["metrics"], **dense_result["metrics"]}, "dense": settings}


def baseline_phase(recipe: Recipe, hw: env.Hardware, base_path: str, run: Path) -> dict:
    """The untrained base model, exported and scored the same way (cached per base model)."""
    resolved = recipe.to_dict()
    out = runs.baseline_dir(resolved["model"], resolved["export"])
    export = export_phase(out / "export", base_path, None, recipe, run)
    return eval_phase(Path(export["dir"]), Path(export["gguf"]), recipe, label="baseline")
