"""The plan of a grid recipe, before anything runs: each run's stages, examples and tokens, what is cached, and the
time left, from this machine's measured throughput (cpu) or kit.estimate's stated models (gpu).

The cached column asks the same keys the phases use (kit.runs.run_dir, kit.eval.phase.eval_done), so a run the plan
calls cached is one the sweep skips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kit import env, runs
from kit.data.subset import fraction_to_n
from kit.licences import dataset_licence, describe, model_licence
from kit.recipe import PlannedRun, Recipe
from kit.runs import RunDir

# Used until this machine has finished runs of its own to measure (cpu: numbers from the CPU profile here; gpu:
# training speed comes from kit.estimate's stated model instead, the rest are assumptions, printed as such).
DEFAULT_TOKENS_PER_S = {"cpu": 95.0}
DEFAULT_TOKENS_PER_EXAMPLE = 120
# worker start, merge, GGUF conversion, parity, quantize; gpu: a 7B merge, f16 conversion and Q4_K_M
# quantization on a laptop's CPU, assumed ~10 min (not measured)
DEFAULT_OVERHEAD_S = {"cpu": 40.0, "gpu": 600.0}
DEFAULT_EVAL_S_PER_ITEM = {"cpu": 0.9, "gpu": 2.0}  # gpu: assumed
DEFAULT_WORKER_S = {"cpu": 10.0, "gpu": 60.0}  # a training worker's start-up and model load, per stage


@dataclass
class StagePlan:
    name: str
    run_id: str
    examples: int | None  # None when the pool size is only known after loading (a local file without pool_n)
    tokens: float | None  # training tokens over every epoch
    trained: bool


@dataclass
class PlanLine:
    planned: PlannedRun
    stages: list[StagePlan]
    scored: bool
    # what is left to do for this run, stages planned by an earlier line excluded; None when no speed is known
    estimate_s: float | None

    @property
    def run_id(self) -> str:
        return self.stages[-1].run_id


def plan(recipe: Recipe, speed: dict, hardware: Callable[[Recipe], env.Hardware] | None = None) -> list[PlanLine]:
    """Each planned run's stages, what is cached, and the time left, at ``speed`` (measured_speed). ``hardware``:
    where a run's stages train (a cluster's workers, kit.cluster), else this machine."""
    hardware = hardware or (lambda r: env.for_training(r.train))
    lines: list[PlanLine] = []
    planned_stages: set[str] = set()
    for planned in recipe.runs():
        r = planned.recipe
        hw = hardware(r)
        resolved = r.to_dict()
        stages = []
        for (name, key), (examples, epoch_tokens), stage in zip(
            runs.stage_keys(resolved, hw.backend, hw.dtype),
            stage_sizes(r, speed["tokens_per_example"]),
            r.stage_list(),
            strict=True,
        ):
            epochs = stage.epochs or r.train.epochs
            per_step = r.train.batch_size * r.train.grad_accum_steps
            if r.train.max_steps is not None:
                tokens = None if not examples else r.train.max_steps * per_step * epoch_tokens / examples
            else:
                tokens = None if epoch_tokens is None else epoch_tokens * epochs
                if tokens is not None and examples and r.train.min_steps:  # the floor on steps (kit.backends.sft)
                    tokens = max(tokens, r.train.min_steps * per_step * epoch_tokens / examples)
            run = runs.run_dir(key)
            stages.append(StagePlan(name, run.id, examples, tokens, runs.is_done(run.train)))
        # run is now the last stage's directory: the one that is exported and scored
        scored = stages[-1].trained and all(_eval_done(run, r, t) for t in r.eval.tasks)
        todo = [st for st in stages if not st.trained and st.run_id not in planned_stages]
        duplicate = stages[-1].run_id in planned_stages  # the same run under another tag: nothing more to do
        planned_stages.update(st.run_id for st in stages)
        estimate = 0.0 if scored or duplicate else _estimate(r, todo, speed)
        lines.append(PlanLine(planned, stages, scored, estimate))
    return lines


def critical_path(recipe: Recipe, lines: list[PlanLine], speed: dict, hardware) -> tuple[float, float, int] | None:
    """(critical path, serial sum, stages in a row) in seconds of what is left, over the sweep's graph (kit.dag):
    the time with a worker for every node as soon as what it needs is built, against one node after another. None
    when no speed is known."""
    from kit import dag

    if speed["tokens_per_s"] is None:
        return None
    tokens = {dag.stage_id(st.run_id): st.tokens or 0 for line in lines for st in line.stages}
    graph = dag.build(recipe, hardware)
    for node in graph.nodes.values():
        items = sum((t.n or 100) for t in node.recipe.eval.tasks) * speed["eval_s_per_item"]
        if node.kind == "stage":
            node.estimate_s = tokens.get(node.id, 0) / speed["tokens_per_s"] + speed["worker_s"]
        elif node.kind == "export":
            node.estimate_s = speed["overhead_s"]
        elif node.kind == "baseline":
            node.estimate_s = speed["overhead_s"] + items
        elif node.kind == "eval":
            node.estimate_s = items
    path, stages = graph.critical_path()
    return path, graph.serial_s(), stages


def stage_examples(recipe: Recipe) -> list[int | None]:
    """Training rows per stage, where knowable before loading any data (replay included)."""
    return [n for n, _ in stage_sizes(recipe, DEFAULT_TOKENS_PER_EXAMPLE)]


def stage_sizes(recipe: Recipe, default_tokens: float) -> list[tuple[int | None, float | None]]:
    """(rows, tokens of one epoch) per stage, where knowable before loading any data (replay included): a
    source's pool is taken as full (``pool_n`` rows; a hub dataset smaller than its ``pool_n`` gives fewer), its
    tokens per row from kit.estimate.tokens_per_example (``default_tokens`` where nothing better is known)."""
    from kit.estimate import tokens_per_example

    max_len = recipe.model.max_seq_len_tokens
    sizes: dict[str, tuple[int | None, float | None]] = {}
    out = []
    for stage in recipe.stage_list():
        n, tokens = 0, 0.0
        for entry in stage.mixture:
            rows = entry_examples(entry)
            if rows is None:
                n, tokens = None, None
                break
            n += rows
            tokens += rows * tokens_per_example(entry.source, max_len, default_tokens)
        if stage.replay_stage is not None:
            earlier_n, earlier_tokens = sizes[stage.replay_stage]
            if n is None or earlier_n is None:
                n, tokens = None, None
            else:
                replayed = fraction_to_n(earlier_n, stage.replay_fraction)
                n, tokens = n + replayed, tokens + replayed * earlier_tokens / earlier_n
        sizes[stage.name] = (n, tokens)
        out.append((n, tokens))
    return out


def entry_examples(entry) -> int | None:
    if entry.n is not None:
        return entry.n
    if entry.pool_n is not None and entry.fraction is not None:
        return fraction_to_n(entry.pool_n, entry.fraction)
    return None


def _eval_done(run: RunDir, recipe: Recipe, task_spec) -> bool:
    from kit.eval.phase import eval_done

    return eval_done(run.export(recipe.to_dict()["export"]), task_spec, recipe)


def _estimate(recipe: Recipe, todo: list[StagePlan], speed: dict) -> float | None:
    if speed["tokens_per_s"] is None:  # a gpu profile whose base has no known shape: no speed model applies
        return None
    items = sum((t.n or 100) for t in recipe.eval.tasks)
    train_s = sum((st.tokens or 0) / speed["tokens_per_s"] + speed["worker_s"] for st in todo)
    return train_s + speed["overhead_s"] + items * speed["eval_s_per_item"]


def measured_speed(profile: str, recipe: Recipe | None = None, gpu_class: str | None = None) -> dict:
    """Throughput measured by this machine's finished runs on the profile's kind of device (their summaries), else
    the defaults; a gpu profile with no GPU run measured here takes its training speed from kit.estimate's model
    (``gpu_class``, the laptop by default) for ``recipe``'s base."""
    device = "cuda" if profile == "gpu" else "cpu"  # cpu-long runs on the same hardware as cpu
    kind = "gpu" if device == "cuda" else "cpu"
    tps, tpe, overhead, per_item = [], [], [], []
    for run in runs.all_runs():
        if not runs.is_done(run.train):
            continue
        if run.hardware.is_file() and runs.read_json(run.hardware).get("device") != device:
            continue
        m = runs.read_done(run.train)
        if m.get("tokens_per_second") and m.get("train_seconds", 0) > 20:  # short runs are all start-up
            tps.append(m["tokens_per_second"])
        if m.get("mean_tokens_per_example"):
            tpe.append(m["mean_tokens_per_example"])
    for path in runs.timings_dir().glob("*.json"):
        t = runs.read_json(path)
        if t.get("device", "cpu") != device:
            continue
        overhead.append(t["overhead_s"])
        if t.get("eval_s_per_item"):
            per_item.append(t["eval_s_per_item"])
    med = lambda xs, default: sorted(xs)[len(xs) // 2] if xs else default  # noqa: E731
    speed = {
        "profile_kind": kind,
        "tokens_per_s": med(tps, DEFAULT_TOKENS_PER_S.get(kind)),
        "tokens_per_example": med(tpe, DEFAULT_TOKENS_PER_EXAMPLE),
        "overhead_s": med(overhead, DEFAULT_OVERHEAD_S[kind]),
        "worker_s": DEFAULT_WORKER_S[kind],
        "eval_s_per_item": med(per_item, DEFAULT_EVAL_S_PER_ITEM[kind]),
        "measured_from_runs": len(tps),
        "measured_overhead": bool(overhead),
    }
    if kind == "gpu":
        speed["gpu"] = gpu_model(recipe, gpu_class)
        if not tps:
            speed["tokens_per_s"] = speed["gpu"]["tokens_per_s"]
    return speed


def gpu_model(recipe: Recipe | None, gpu_class: str | None) -> dict:
    """kit.estimate's numbers for ``recipe`` on ``gpu_class``: training tokens/s (with where the MFU comes from)
    and the peak training memory at the recipe's batch, for the Unsloth path and its hf fallback."""
    from kit import estimate

    name = gpu_class or estimate.DEFAULT_GPU_CLASS
    if name not in estimate.GPU_CLASSES:
        raise ValueError(f"unknown GPU class {name!r}: one of {', '.join(estimate.GPU_CLASSES)}")
    gpu = estimate.GPU_CLASSES[name]
    arch = estimate.arch_of(recipe.model.base) if recipe is not None else None
    out: dict = {"class": name, "gpu": gpu, "arch": arch}
    if arch is None:
        out["tokens_per_s"] = None
        return out
    mfu, source = estimate.reference_mfu(batch=recipe.train.batch_size)
    out.update(mfu=mfu, mfu_source=source, tokens_per_s=estimate.throughput(arch, gpu, mfu))
    out["by_class"] = {k: estimate.throughput(arch, g, mfu) for k, g in estimate.GPU_CLASSES.items()}
    t = recipe.train
    common = dict(
        arch=arch,
        seq=recipe.model.max_seq_len_tokens,
        rank=t.lora.rank,
        modules=tuple(t.lora.target_modules),
        quantization=t.quantization,
        checkpointing=t.gradient_checkpointing,
    )
    out["memory"] = {}
    for backend in ("unsloth", "hf"):
        mem = estimate.train_memory(batch=t.batch_size, backend=backend, **common)
        most = estimate.largest_batch(vram_gib=gpu.vram_gib, most=64, backend=backend, **common)
        out["memory"][backend] = {"memory": mem, "fits": mem.fits(gpu.vram_gib), "largest_batch": most}
    return out


def format_plan(recipe: Recipe, lines: list[PlanLine], speed: dict, cluster=None) -> str:
    """The plan as printed; ``cluster``: the hardware function of a Ray cluster (kit.cluster), which adds the
    critical path a cluster would take beside the serial sum."""
    out = _format_plan(recipe, lines, speed)
    if cluster is None:
        return out
    found = critical_path(recipe, lines, speed, cluster)
    if found is None:
        return out + "\non a cluster (--engine ray): no estimate without a training speed for this base"
    path, serial, stages = found
    line = (
        f"on a cluster (--engine ray): {_hmmss(path)} along the critical path ({stages} stage(s) trained one after "
        f"another), with a worker free for every node whose inputs are built; {_hmmss(serial)} one node after another"
    )
    return out + "\n" + line


def _format_plan(recipe: Recipe, lines: list[PlanLine], speed: dict) -> str:
    owner: dict[str, str] = {}
    out = [
        f"plan for {recipe.name} ({recipe.profile} profile, base {recipe.model.base}): {len(lines)} runs",
        f"{'run':<32} {'run id':<13} {'examples':>8} {'tokens':>8}  {'status':<34} {'est.':>6}",
    ]
    for line in lines:
        tag = line.planned.tag
        for i, st in enumerate(line.stages):
            last = i == len(line.stages) - 1
            label = tag if len(line.stages) == 1 else f"{tag} [{st.name}]"
            if st.run_id in owner:
                status = f"same as {owner[st.run_id]}"
            elif last:
                status = (
                    "cached: trained and scored"
                    if line.scored
                    else ("cached: trained, to score" if st.trained else "to train")
                )
            else:
                status = "cached: trained" if st.trained else "to train"
            owner.setdefault(st.run_id, label)
            examples = "?" if st.examples is None else str(st.examples)
            tokens = "?" if st.tokens is None else f"{st.tokens / 1000:.1f}k"
            est = ("?" if line.estimate_s is None else _hmmss(line.estimate_s)) if last else ""
            out.append(f"{label:<32} {st.run_id:<13} {examples:>8} {tokens:>8}  {status:<34} {est:>7}")
    known = [line.estimate_s for line in lines]
    # a run or stage planned twice is estimated once (plan); None when a run has no estimate
    total = None if None in known else sum(known)
    if speed["profile_kind"] == "gpu":
        out += _gpu_footer(recipe, lines, speed, total)
        return "\n".join(out + licence_lines(recipe, lines))
    src = (
        f"measured on {speed['measured_from_runs']} run(s) here"
        if speed["measured_from_runs"]
        else "defaults, nothing measured here yet"
    )
    out.append(
        f"estimated time: {_hmmss(total)} ({speed['tokens_per_s']:.0f} training tokens/s, "
        f"{speed['overhead_s']:.0f} s per-run overhead, {speed['eval_s_per_item']:.2f} s per eval item: {src})"
    )
    return "\n".join(out + licence_lines(recipe, lines))


def licence_lines(recipe: Recipe, lines: list[PlanLine]) -> list[str]:
    """Each source the planned runs train on and the base, with its licence and note (kit.licences): what a model
    trained by this plan inherits, said before anything is spent."""
    sources = dict.fromkeys(
        entry.source for line in lines for stage in line.planned.recipe.stage_list() for entry in stage.mixture
    )
    out = ["licences (kit/licences.py; check the cards before publishing a model):"]
    out += [f"  data {source}: {describe(dataset_licence(source))}" for source in sources]
    out.append(f"  base {recipe.model.base}: {describe(model_licence(recipe.model.base))}")
    return out


def _gpu_footer(recipe: Recipe, lines: list[PlanLine], speed: dict, total: float | None) -> list[str]:
    from kit.estimate import GIB, flops_per_token

    g = speed["gpu"]
    gpu, arch, t = g["gpu"], g["arch"], recipe.train
    if arch is None:
        return [
            f"estimated time: unknown: {recipe.model.base}'s shape is not known offline (kit.estimate.KNOWN_ARCHS, or "
            "a local folder with config.json); training speed and memory need it"
        ]
    todo = {st.run_id: st.tokens or 0 for ln in lines for st in ln.stages if not st.trained}
    tokens = sum(todo.values())
    out = [
        f"estimated time on a {g['class']} ({gpu.name}): {_hmmss(total)}, of which training "
        f"{_hmmss(tokens / speed['tokens_per_s'])} ({tokens / 1e6:.2f}M tokens)",
    ]
    if speed["measured_from_runs"]:
        n = speed["measured_from_runs"]
        out.append(f"  training speed: {speed['tokens_per_s']:.0f} tokens/s, measured on {n} GPU run(s) here")
    else:
        out.append(
            f"  training speed model: MFU {g['mfu']:.2f} x {gpu.tflops:.0f} dense 16-bit TFLOP/s / "
            f"({flops_per_token(arch.params()) / 1e9:.0f} GFLOP a token = 6 x {arch.params() / 1e9:.2f}B params) "
            f"= {g['tokens_per_s']:.0f} tokens/s; the MFU from {g['mfu_source']}"
        )
        others = ", ".join(f"{k} {_hmmss(tokens / v)}" for k, v in g["by_class"].items() if k != g["class"])
        out.append(f"  training time on other GPU classes (make plan GPU_CLASS=...): {others}")
    rest = "measured here" if speed["measured_overhead"] else "assumed, not measured"
    out.append(
        f"  per run: {speed['worker_s']:.0f} s worker start-up, {speed['overhead_s'] / 60:.0f} min export "
        f"(7B merge, f16 GGUF, parity, {recipe.export.quant}), {speed['eval_s_per_item']:.1f} s per eval item ({rest})"
    )
    seq = recipe.model.max_seq_len_tokens
    for backend, label in (("unsloth", "Unsloth (the gpu path)"), ("hf", "hf fallback (bitsandbytes)")):
        m = g["memory"][backend]
        verdict = "fits" if m["fits"] else "DOES NOT FIT"
        line = (
            f"  peak training VRAM, {label}, batch {t.batch_size} x {seq} tokens (every row full): "
            f"{m['memory'].total / GIB:.1f} GiB of {gpu.vram_gib:g} GiB: {verdict}"
        )
        if not m["fits"] or m["largest_batch"] != t.batch_size:
            most = m["largest_batch"]
            rows = t.batch_size * t.grad_accum_steps
            if most == 0:
                line += "; not even batch 1 fits"
            elif most < t.batch_size:
                line += (
                    f"; batch {most} fits: train.batch_size={most} train.grad_accum_steps={max(1, rows // most)} "
                    f"keeps {rows} rows a step"
                )
            else:
                line += f" (up to batch {most})"
        out.append(line)
    out.append(f"    parts (Unsloth): {g['memory']['unsloth']['memory'].describe()}; model: kit/estimate.py")
    return out


def _hmmss(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"
