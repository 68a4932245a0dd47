"""One run, top to bottom: data -> base model -> train (worker process) -> merge + GGUF + parity -> eval.

Each phase writes into the run directory under a content-addressed name and is skipped when its
``DONE.json`` exists, so re-running a recipe redoes nothing and a killed run resumes at the phase
it was in. The run's summary, with its provenance, lands under ``results/``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from kit import env, runs
from kit.backends.job import TrainJob
from kit.data.mixture import build_mixture, ids_sha256
from kit.data.subset import fraction_to_n, select_nested
from kit.data.templates import file_text, identity
from kit.eval.phase import eval_phase
from kit.recipe import PlannedRun, Recipe
from kit.report.summary import validate_summary
from kit.runs import RunDir, RunError, summary_path

log = logging.getLogger(__name__)


def run_recipe(
    recipe: Recipe, results_dir: Path | None = None, planned: PlannedRun | None = None, log_samples: bool = False
) -> dict:
    """Run (or reuse) everything a recipe asks for; return the summary written under results/. ``log_samples``
    also writes every scored item's prompt, completion and score under results/ (``samples_phase``).

    The driver's half: ``compute_run`` does the work and writes only into KIT_HOME, so that it can run on another
    machine (issue 15's engines) and hand back its summary; only this side writes results/."""
    summary = compute_run(recipe, planned)
    tag = planned.tag if planned else summary["run_id"]
    if log_samples:
        samples_phase(recipe, summary, runs.samples_dir(recipe.name, tag, results_dir))
    return write_summary(summary, summary_path(recipe.name, tag, results_dir))


def compute_run(recipe: Recipe, planned: PlannedRun | None = None, hw: env.Hardware | None = None) -> dict:
    """Train, export and score (or reuse) a recipe's run; its summary, written nowhere. ``hw``: the hardware its
    keys were planned for (kit.dag; a cluster's training workers), else this machine's."""
    started = time.time()
    timings: dict[str, float] = {}
    resolved = recipe.to_dict()
    hw = hw or choose_hardware(recipe)
    with runs.timed(timings, "train"):
        stages = train_stages(recipe, hw)
    run = stages[-1]["dir"]
    manifest, metrics = stages[-1]["manifest"], stages[-1]["metrics"]
    with runs.timed(timings, "export"):
        export = export_run(recipe, stages)
    with runs.timed(timings, "eval"):
        scores = eval_phase(Path(export["dir"]), Path(export["gguf"]), recipe)
    with runs.timed(timings, "baseline"):
        baseline = baseline_phase(recipe, hw, stages[0]["base"]["path"], run) if recipe.eval.baseline else None
    summary = {
        "recipe": recipe.name,
        "run_id": run.id,
        "run_dir": str(run.path),
        "profile": recipe.profile,
        "grid": None if planned is None else {"arm": planned.arm, "fraction": planned.fraction, "seed": planned.seed},
        "status": "ok",
        "scores": scores,
        "skipped_tasks": [t.name for t in recipe.eval.tasks if t.name not in scores],
        "baseline_scores": baseline,
        "parity": {k: export["parity"].get(k) for k in ("passed", "matched", "near_ties", "total", "version")},
        "train": {k: v for k, v in metrics.items() if k != "loss_curve"},
        "data": summary_data(manifest),
        "stages": [
            {
                "name": st["name"],
                "run_id": st["dir"].id,
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
            "train_key_hash": run.id,
            "pipeline_version": runs.PIPELINE_VERSION,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds_this_invocation": round(time.time() - started, 1),
        },
    }
    validate_summary(summary)
    return summary


def write_summary(summary: dict, out: Path) -> dict:
    """``summary`` into ``out``, unless the stored one there says the same (then that one, with the record of when
    it was computed, is kept and returned)."""
    earlier = runs.read_json(out) if out.is_file() else None
    if earlier is not None and same_results(earlier, summary):
        log.info("summary unchanged, keeping the record of when it was computed: %s", out)
        return earlier
    runs.write_json(out, summary)
    log.info("summary written to %s", out)
    return summary


def summary_data(manifest: dict) -> dict:
    """The manifest as a summary records it: without the sources' licences (they stay in the run's manifest file
    and the plan), so a summary is the same whether its data phase ran before the licences were recorded or
    after, and a cached rerun keeps results/ as it was."""
    return {k: v for k, v in manifest.items() if k != "licences"}


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


def prepare_run(run: RunDir, key: dict, hw: env.Hardware) -> None:
    # The key records what decides the adapter, hardware.json where it is trained (the plan reads it to keep CPU
    # and GPU speeds apart; the worker reads job.json). A finished stage keeps the record of its machine.
    if not run.key.is_file():
        runs.write_json(run.key, key)
    if not runs.is_done(run.train):
        runs.write_json(run.hardware, hw.__dict__)


def choose_hardware(recipe: Recipe) -> env.Hardware:
    """The backend, device and dtype this machine trains ``recipe`` with (they enter its run keys), logged."""
    hw = env.for_training(recipe.train)
    log.info("hardware: %s on %s, %s (%s)", hw.backend, hw.device_name, hw.dtype, hw.reason)
    return hw


def train_stages(recipe: Recipe, hw: env.Hardware, upto: int | None = None) -> list[dict]:
    """Train (or reuse) every stage in order, or the first ``upto``; each starts from its parent's weights
    (kit.runs.stage_keys)."""
    resolved = recipe.to_dict()
    done: dict[str, dict] = {}
    out: list[dict] = []
    pairs = list(zip(recipe.stage_list(), runs.stage_keys(resolved, hw.backend, hw.dtype), strict=True))
    for stage, (name, key) in pairs[:upto]:
        run = runs.run_dir(key)
        with runs.locked(run.train):  # the stage's data, base and adapter, built by one process at a time
            reused = runs.is_done(run.train)
            log.info("stage %s: %s %s", name, "reusing" if reused else "training", run)
            prepare_run(run, key, hw)
            replay = done[stage.replay_stage] if stage.replay_stage else None
            manifest = data_phase(run, stage, recipe.data.seed, replay)
            base = stage_base(recipe, out[-1] if out else None)
            runs.write_json(run.base, base)
            if not runs.is_done(run.train):
                TrainJob.for_stage(
                    key,
                    hw,
                    base,
                    report_to=recipe.train.trackers,
                    chat_template_text=file_text(recipe.model.chat_template),
                ).write(run.job)
            metrics = train_phase(run)
        entry = {"name": name, "dir": run, "manifest": manifest, "metrics": metrics, "base": base, "reused": reused}
        done[name] = entry
        out.append(entry)
    return out


def data_phase(run: RunDir, stage, seed: int, replay: dict | None) -> dict:
    if runs.is_done(run.data):
        return runs.read_json(run.manifest)
    rows, manifest = (
        build_mixture(stage.mixture, seed) if stage.mixture else ([], {"seed": seed, "total": 0, "entries": []})
    )
    if replay is not None:
        earlier = runs.read_jsonl(replay["dir"].rows)
        chosen = select_nested(earlier, fraction_to_n(len(earlier), stage.replay_fraction), seed)
        rows = rows + chosen
        manifest["replay"] = {
            "stage": replay["name"],
            "stage_run_id": replay["dir"].id,
            "fraction": stage.replay_fraction,
            "of": len(earlier),
            "count": len(chosen),
            "ids_sha256": ids_sha256(chosen),
        }
        manifest["total"] = len(rows)
    with runs.staging(run.data) as tmp:
        runs.write_jsonl(tmp / run.rows.name, rows)
        runs.write_json(tmp / run.manifest.name, manifest)
        runs.mark_done(tmp, {"rows": len(rows)})
    log.info("data: %d rows (%d source(s)%s)", len(rows), len(manifest["entries"]), ", with replay" if replay else "")
    return manifest


def stage_base(recipe: Recipe, parent: dict | None) -> dict:
    """The weights a stage starts from: the base model, or its parent's (merged, or its adapter continued)."""
    from kit.models import resolve_base

    if parent is None:
        return {"path": resolve_base(recipe.model.base), "init_adapter": None}
    if recipe.train.stage_chaining == "continue":
        return {"path": parent["base"]["path"], "init_adapter": str(parent["dir"].train)}
    merged = parent["dir"].merged
    with runs.locked(merged):
        _merge_stage(parent, merged, recipe)
    return {"path": str(merged), "init_adapter": None}


def _merge_stage(parent: dict, merged: Path, recipe: Recipe) -> None:
    if not runs.is_done(merged):
        log.info("merging stage %s into the weights the next stage starts from (worker process)", parent["name"])
        job = {
            "merge_only": True,
            "base_path": parent["base"]["path"],
            "adapter": str(parent["dir"].train),
            **template_fields(recipe, parent["dir"]),
        }
        with runs.staging(merged) as tmp:
            runs.write_json(tmp / runs.EXPORT_JOB, job)
            run_worker("kit.export.worker", tmp, parent["dir"].merge_log, "merging stage " + parent["name"])
            runs.mark_done(tmp, {"base": parent["base"]})


def template_fields(recipe: Recipe, run: RunDir) -> dict:
    """The chat template as an export worker is given it: named as run keys name it, with a file's content, which
    must still be what ``run`` was trained with."""
    spec = recipe.model.chat_template
    text = file_text(spec)
    name = identity(spec, text)
    if name != runs.read_json(run.key)["model"]["chat_template"]:
        raise RunError(f"{spec} changed while its run {run.id} was being made; run the recipe again")
    return {"chat_template": name, "chat_template_text": text}


def train_phase(run: RunDir) -> dict:
    if runs.is_done(run.train):
        return runs.read_done(run.train)
    log.info("training in a worker process (log: %s)", run.train_log)
    started = time.perf_counter()
    run_worker("kit.backends.worker", run.path, run.train_log, "training")
    # The worker's start-up and model load are the part of a small run that is not training steps.
    runs.write_json(run.train_wall, {"worker_wall_seconds": round(time.perf_counter() - started, 2)})
    return runs.read_done(run.train)


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
        wall = st["dir"].train_wall
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


def probe_prompts(run: RunDir, k: int) -> list[list[dict]]:
    """The first ``k`` training prompts, and with ``k >= 2`` one multi-turn probe: the first chat whole, then the
    second's prompt (later turns render differently, e.g. SentencePiece spacing after Vicuna's ``</s>``)."""
    rows = runs.read_jsonl(run.rows)[:k]
    probes = [r["messages"][:-1] for r in rows]
    if len(rows) >= 2:
        system = [m for m in rows[0]["messages"] if m["role"] == "system"]
        first = [m for m in rows[0]["messages"] if m["role"] != "system"]
        second = [m for m in rows[1]["messages"][:-1] if m["role"] != "system"]
        probes.append(system + first + second)
    return probes


def export_phase(out: Path, base_path: str, adapter: Path | None, recipe: Recipe, run: RunDir) -> dict:
    """Merge (or take the base as is), convert to f16 GGUF, check parity, quantize: in a worker process
    (kit.export.worker), so that a 7B merge's memory is handed back and an out-of-memory kill is a failed run."""
    spec = recipe.export
    name = runs.gguf_name(spec.quant)
    with runs.locked(out):
        if not runs.is_done(out):
            job = {
                "base_path": base_path,
                "adapter": str(adapter) if adapter is not None else None,
                **template_fields(recipe, run),
                "quant": spec.quant,
                "parity_prompts": probe_prompts(run, spec.parity_prompts),
                "parity_max_tokens": spec.parity_max_tokens,
                "n_threads": env.n_threads(recipe.eval.n_threads),
                "keep_merged": spec.keep_merged,
            }
            with runs.staging(out) as tmp:
                runs.write_json(tmp / runs.EXPORT_JOB, job)
                started = time.perf_counter()
                run_worker("kit.export.worker", tmp, tmp / runs.EXPORT_LOG, "export")
                seconds = runs.read_json(tmp / runs.PHASE_SECONDS)
                seconds["worker_startup"] = round(time.perf_counter() - started - sum(seconds.values()), 2)
                (tmp / runs.PHASE_SECONDS).unlink()
                done = {
                    "quant": spec.quant,
                    "export": runs.export_key(recipe.to_dict()["export"]),
                    "phase_seconds": seconds,
                }
                runs.mark_done(tmp, done)
    gguf = out / name
    parity = runs.read_json(out / runs.PARITY)
    check_parity(parity, spec.allow_parity_mismatch, out / runs.PARITY)
    return {
        "dir": str(out),
        "gguf": str(gguf),
        "gguf_bytes": gguf.stat().st_size,
        "parity": parity,
        "phase_seconds": runs.read_done(out).get("phase_seconds", {}),
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


def samples_phase(recipe: Recipe, summary: dict, folder: Path) -> None:
    """Per-item logs of every task a run's summary scored (kit.eval.samples), read from the cached eval passes
    without generating: ``folder/<task>.jsonl``, and the untrained base's in ``folder/baseline/``."""
    from kit.eval.samples import write_samples

    gguf = Path(summary["export"]["gguf"])
    write_samples(gguf.parent, gguf, recipe, summary["scores"], folder)
    baseline = summary["baseline_scores"]
    if baseline is not None:
        resolved = recipe.to_dict()
        out = runs.baseline_export_dir(runs.baseline_dir(resolved["model"], resolved["export"]))
        write_samples(out, out / runs.gguf_name(recipe.export.quant), recipe, baseline, folder / "baseline")


def baseline_phase(recipe: Recipe, hw: env.Hardware, base_path: str, run: RunDir) -> dict:
    """The untrained base model, exported and scored the same way (cached per base model)."""
    export = baseline_export(recipe, base_path, run)
    return eval_phase(Path(export["dir"]), Path(export["gguf"]), recipe, label="baseline")


def baseline_export(recipe: Recipe, base_path: str, run: RunDir) -> dict:
    """The untrained base model's GGUF (cached per base model and export settings); its parity probes are the
    first prompts of ``run``, the run that needed it first."""
    resolved = recipe.to_dict()
    out = runs.baseline_dir(resolved["model"], resolved["export"])
    return export_phase(runs.baseline_export_dir(out), base_path, None, recipe, run)


def export_run(recipe: Recipe, stages: list[dict]) -> dict:
    """The last stage's export (``export_phase``): the GGUF that is scored."""
    run = stages[-1]["dir"]
    return export_phase(run.export(recipe.to_dict()["export"]), stages[-1]["base"]["path"], run.train, recipe, run)


# --- a sweep's graph (kit.dag): each node builds one cached thing, the things it depends on already built --------


def build_stage(recipe: Recipe, hw: env.Hardware, index: int) -> None:
    """Stage ``index`` of ``recipe``'s run (its data, and its adapter), on the hardware its key was planned for."""
    check_hardware(recipe, hw)
    train_stages(recipe, hw, upto=index + 1)


def build_merge(recipe: Recipe, hw: env.Hardware, index: int) -> None:
    """The merged weights stage ``index`` starts from: its parent's adapter merged into the parent's base."""
    stage_base(recipe, train_stages(recipe, hw, upto=index)[-1])


def build_export(recipe: Recipe, hw: env.Hardware) -> None:
    export_run(recipe, train_stages(recipe, hw))


def build_baseline_eval(recipe: Recipe, hw: env.Hardware) -> None:
    baseline_phase(recipe, hw, stage_base(recipe, None)["path"], last_stage_dir(recipe, hw))


def build_summaries(planned: list[PlannedRun], hw: env.Hardware) -> list[dict]:
    """Score each planned run's GGUF (one GGUF: they share their last stage) and assemble their summaries, which
    go back to the driver: only the driver writes results/."""
    return [compute_run(p.recipe, p, hw) for p in planned]


def last_stage_dir(recipe: Recipe, hw: env.Hardware) -> RunDir:
    return runs.run_dir(runs.train_key(recipe.to_dict(), hw.backend, hw.dtype))


def check_hardware(recipe: Recipe, hw: env.Hardware) -> None:
    """Refuse to train where the machine would choose other hardware than the plan's keys were made for: its
    adapter would be filed under another machine's run id."""
    here = env.for_training(recipe.train)
    if (here.backend, here.dtype) != (hw.backend, hw.dtype):
        raise RunError(
            f"this worker ({here.device_name}) trains with {here.backend}/{here.dtype}, but the sweep's run ids were "
            f"planned for {hw.backend}/{hw.dtype} ({hw.device_name}): give every training worker the same kind of "
            "device, or set train.backend and train.dtype in the recipe"
        )
