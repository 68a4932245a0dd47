"""Scoring one GGUF on a recipe's tasks: every task pass (generation, dense) cached by the settings that decide it.

``eval_phase`` loads the engine once for the passes that are not cached; each pass writes its per-item records
(``items.jsonl``) and its result with per-item metrics (``DONE.json``) under ``kit.runs.eval_dir`` / ``dense_dir``.
The plan asks the same keys (``eval_done``), so what it calls cached is what this skips.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from kit import env, runs
from kit.eval.tasks import for_spec
from kit.recipe import Recipe
from kit.runs import RunError

log = logging.getLogger(__name__)


def eval_phase(export_dir: Path, gguf: Path, recipe: Recipe, label: str = "tuned") -> dict:
    """Score every task of the recipe on one GGUF; each task's result is cached by its settings."""
    with runs.locked(runs.eval_root(export_dir)):
        return _eval_phase(export_dir, gguf, recipe, label)


def _eval_phase(export_dir: Path, gguf: Path, recipe: Recipe, label: str) -> dict:
    from kit.eval.engine import open_engine

    scores, todo = {}, []
    planned, skipped = task_passes(export_dir, recipe)
    for name, why in skipped:
        log.warning("skipping optional task %s: %s", name, why)
    for spec, task, settings, out, dense in planned:
        if _all_cached(out, dense):
            scores[spec.name] = with_dense(runs.read_done(out), dense and runs.read_done(dense[1]))
        else:
            todo.append((spec, task, settings, out, dense))
    if todo:
        from kit.eval import cache as completions

        # A task that closes the engine when it is done (MT-Bench frees the answering model for its judge) goes last.
        todo.sort(key=lambda job: getattr(job[1], "RELEASES_ENGINE", False))
        if sum(getattr(job[1], "RELEASES_ENGINE", False) for job in todo) > 1:
            raise RunError("more than one task that closes the engine in one recipe; give each its own recipe")

        cache = completions.for_export(export_dir)
        threads = env.n_threads(recipe.eval.n_threads)
        try:
            with open_engine(
                gguf, n_ctx=recipe.eval.n_ctx_tokens, n_threads=threads, batch_size=recipe.eval.batch_size
            ) as engine:
                for spec, task, settings, out, dense in todo:
                    result = (
                        runs.read_done(out)
                        if _has_metrics(out)
                        else score_task(engine, cache, task, spec, settings, recipe.eval.seed, out, label)
                    )
                    dense_result = None
                    if dense is not None:
                        dense_settings, dense_out = dense
                        dense_result = (
                            runs.read_done(dense_out)
                            if _has_metrics(dense_out)
                            else dense_task(engine, task, spec, dense_settings, dense_out, label)
                        )
                    scores[spec.name] = with_dense(result, dense_result)
        finally:
            cache.close()
    return scores


def eval_key(export_dir: Path, task, spec, recipe: Recipe) -> tuple[dict, Path]:
    """What decides a task's generation score on one GGUF, and the folder it is cached in (the plan asks too)."""
    settings = {
        "task": spec.name,
        "version": task.VERSION,
        "n": spec.n,
        "seed": recipe.eval.seed,
        "n_ctx": recipe.eval.n_ctx_tokens,
        "max_new_tokens": spec.max_new_tokens or task.MAX_NEW_TOKENS,
        "decoding": "greedy",
        "batch_size": recipe.eval.batch_size,
        "n_threads": env.n_threads(recipe.eval.n_threads),
        "results_format": RESULTS_FORMAT,
        **getattr(task, "cache_identity", dict)(),  # e.g. which judge model graded
    }
    return settings, runs.eval_dir(export_dir, spec.name, settings)


def task_passes(export_dir: Path, recipe: Recipe) -> tuple[list[tuple], list[tuple[str, str]]]:
    """The tasks ``eval_phase`` scores on this export, each as (spec, task, generation settings, its folder, the
    dense pass's (settings, folder) or None); and the optional tasks unavailable here, as (name, why)."""
    planned, skipped = [], []
    for spec in recipe.eval.tasks:
        task = for_spec(spec)
        why = spec.optional and getattr(task, "unavailable", lambda: None)()
        if why:
            skipped.append((spec.name, why))
            continue
        settings, out = eval_key(export_dir, task, spec, recipe)
        planned.append((spec, task, settings, out, dense_plan(export_dir, task, spec, recipe)))
    return planned, skipped


def passes(export_dir: Path, recipe: Recipe) -> list[Path]:
    """The cache folders of every pass (generation, dense) ``eval_phase`` would score on this export: what names
    an eval node of a sweep's graph (kit.dag)."""
    folders = []
    for *_, out, dense in task_passes(export_dir, recipe)[0]:
        folders += [out] if dense is None else [out, dense[1]]
    return folders


def passes_done(folders: list[Path]) -> bool:
    return all(_has_metrics(folder) for folder in folders)


def eval_done(export_dir: Path, spec, recipe: Recipe) -> bool:
    """Whether every pass a task spec asks for (generation, dense) is cached for this export."""
    task = for_spec(spec)
    _, out = eval_key(export_dir, task, spec, recipe)
    return _all_cached(out, dense_plan(export_dir, task, spec, recipe))


def score_task(engine, cache, task, spec, settings: dict, seed: int, out: Path, label: str) -> dict:
    from kit.eval.cache import cached_chat_many

    started = time.perf_counter()
    items = task.load_items(spec.n, seed)
    desc = f"{spec.name} [{label}]"
    generated = None
    if hasattr(task, "evaluate_items"):  # tasks that score some items without generating (P3's distractors)
        records, generated = task.evaluate_items(engine, cache, items, settings["max_new_tokens"], desc)
    elif hasattr(task, "evaluate"):  # tasks that need more than one generation per item (multi-turn, a judge)
        records = task.evaluate(engine, items, desc=desc)
    else:
        completions, generated = cached_chat_many(
            engine, cache, [it["messages"] for it in items], settings["max_new_tokens"], desc
        )
        records = [
            {"id": item["id"], "completion": completion, **task.score(item, completion)}
            for item, completion in zip(items, completions, strict=True)
        ]
    scored = [r["score"] for r in records if r["score"] is not None]  # None: e.g. a judgment without a rating
    if not scored:
        raise RunError(f"{spec.name}: none of the {len(records)} items could be scored (see the task's records)")
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
        runs.write_jsonl(tmp / runs.ITEMS, records)
        runs.mark_done(tmp, result)
    log.info("%s [%s]: %.3f on %d items", spec.name, label, result["score"], len(records))
    return result


# Bumped when the eval result's shape changes (2: "metrics" with per-item values); part of every eval
# cache key, so results written before are recomputed (their completions still come from the cache).
RESULTS_FORMAT = 2


def _has_metrics(out: Path) -> bool:
    return runs.is_done(out) and "metrics" in runs.read_done(out)


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


# Per-item fields a scorer may report besides ``score`` (metric name = record key); IFEval's are its other three.
EXTRA_METRICS = ("assert_frac", "prose", "chance", "prompt_loose", "inst_strict", "inst_loose")


def generation_metrics(records: list[dict], version: str) -> dict:
    """``accuracy`` (the task's per-item score) and, when the task reports them, ``assert_frac``, ``prose``,
    ``chance`` (what guessing scores on the item: P3 reports it beside every ability) and IFEval's loose and
    instruction-level accuracies."""
    out = {}
    for name, key in (("accuracy", "score"), *((m, m) for m in EXTRA_METRICS)):
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
        "task": spec.name,
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
    return settings, runs.dense_dir(export_dir, spec.name, settings)


def dense_task(engine, task, spec, settings: dict, out: Path, label: str) -> dict:
    """Gold vs distractors, teacher-forced (kit.eval.dense); records in the pass's own items.jsonl."""
    from kit.eval.dense import score_dense

    started = time.perf_counter()
    items = task.dense_items(settings["dense_n"], settings["seed"])
    if not items:
        raise RunError(f"{spec.name}: dense_items returned no items")
    records = score_dense(engine, items, desc=f"{spec.name} dense [{label}]")
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
        runs.write_jsonl(tmp / runs.ITEMS, records)
        runs.mark_done(tmp, result)
    log.info(
        "%s dense [%s]: rank %.3f, gold log p %.3f on %d items",
        spec.name,
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
