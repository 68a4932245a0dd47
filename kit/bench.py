"""``make bench``: the kit's speed, measured side by side in one run on the same prompts and data.

(a) evaluation: the kit's batched llama.cpp engine vs llama-cpp-python's one-at-a-time
``create_chat_completion`` vs transformers ``generate`` at batch 1 and batched: generated tokens/s
and whether the answers agree; (b) training: the ``hf`` backend's tokens/s on SmolLM2-135M with the
stock settings, length grouping and packing, beside TRL's defaults (gradient checkpointing on);
(c) on CUDA only, the ``unsloth`` backend against plain transformers+peft+bitsandbytes QLoRA on a
random-init model of a 7B Llama config (tokens/s, peak VRAM, MFU); (d) the engine's own rates on the same
GGUF in one run: prefill tokens/s, dense (gold vs distractor) items/s batched with the prompt's KV cache
copied vs one ``loglik`` call per candidate, and generated items/s; (e) the code sandbox's cost at each isolation
level that works here (namespaces vs guards only): per trivial program, and for HumanEval's 164 canonical
solutions. Results: results/bench/.
Measurements that need their own process are in kit.bench_worker. Over 400 lines: one section per family of
measurement, each with its own table in the markdown.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from kit import env, runs

log = logging.getLogger(__name__)

EVAL_PROMPTS = 16
EVAL_MAX_TOKENS = 48
EVAL_BATCH = 8
TRAIN_ROWS = 48
DENSE_ITEMS = 24
TRAIN_STEPS = 10


def main(out_dir: Path, skip_train: bool = False) -> dict:
    started = time.time()
    hw = env.choose("auto", "auto", "none")
    base = _base_model()
    result = {"machine": _machine(hw), "eval": eval_bench(base), "engine": engine_bench(base["q8"])}
    result["phases"] = phases_bench(base)
    result["sandbox"] = sandbox_bench()
    result["train"] = None if skip_train else train_bench(base, hw)
    result["gpu"] = gpu_bench() if hw.device == "cuda" else {"skipped": "no CUDA GPU on this machine"}
    result["wall_seconds"] = round(time.time() - started, 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs.write_json(out_dir / "bench.json", result)
    (out_dir / "bench.md").write_text(markdown(result))
    return result


def _base_model() -> dict:
    """SmolLM2-135M as an HF folder and as Q8_0 / F16 GGUFs (made once, cached)."""
    from kit.export.gguf import convert, quantize
    from kit.export.merge import merge
    from kit.models import resolve_base

    path = resolve_base("smollm2-135m")
    out = runs.kit_home() / "bench" / "smollm2-135m"
    if not runs.is_done(out):
        with runs.staging(out) as tmp:
            merge(path, None, tmp / "hf", "smollm2")
            convert(tmp / "hf", tmp / "model-F16.gguf", "f16")
            quantize(tmp / "model-F16.gguf", tmp / "model-Q8_0.gguf", "Q8_0", env.n_threads(None))
            runs.mark_done(tmp, {})
    return {"hf": out / "hf", "q8": out / "model-Q8_0.gguf", "f16": out / "model-F16.gguf", "base": path}


def _prompts() -> list[list[dict]]:
    from kit.data.builtin import get_generator

    return [it["messages"] for it in get_generator("math").generate_eval(EVAL_PROMPTS, 1)]


# --- (a) evaluation ------------------------------------------------------------------------------


def eval_bench(model: dict) -> dict:
    prompts, threads = _prompts(), env.n_threads(None)
    rows = {
        "llama.cpp batched (kit engine, batch 8)": _kit_engine(model["q8"], prompts, threads, EVAL_BATCH),
        "llama.cpp one at a time (kit engine, batch 1)": _kit_engine(model["q8"], prompts, threads, 1),
        "llama-cpp-python create_chat_completion": _chat_completion(model["q8"], prompts, threads),
        "transformers generate, batch 1": _hf_generate(model["hf"], prompts, 1),
        f"transformers generate, batch {EVAL_BATCH}": _hf_generate(model["hf"], prompts, EVAL_BATCH),
    }
    reference = rows["llama-cpp-python create_chat_completion"]["texts"]
    hf_reference = rows["transformers generate, batch 1"]["texts"]
    for row in rows.values():
        row["agree_with_chat_completion"] = _agreement(row["texts"], reference)
        row["agree_with_transformers_b1"] = _agreement(row["texts"], hf_reference)
        row.pop("texts")
    base = rows["llama-cpp-python create_chat_completion"]["tokens_per_s"]
    hf1 = rows["transformers generate, batch 1"]["tokens_per_s"]
    for row in rows.values():
        row["x_vs_chat_completion"] = round(row["tokens_per_s"] / base, 2)
        row["x_vs_transformers_b1"] = round(row["tokens_per_s"] / hf1, 2)
    return {
        "prompts": len(prompts),
        "max_new_tokens": EVAL_MAX_TOKENS,
        "model": "SmolLM2-135M-Instruct, Q8_0 GGUF (llama.cpp) / fp32 (transformers)",
        "threads": threads,
        "rows": rows,
    }


def _timed_texts(fn) -> tuple[list[str], int, float]:
    start = time.perf_counter()
    texts, tokens = fn()
    return texts, tokens, time.perf_counter() - start


def _row(texts: list[str], tokens: int, seconds: float) -> dict:
    return {
        "generated_tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds, 1),
        "texts": texts,
    }


def _kit_engine(gguf: Path, prompts: list[list[dict]], threads: int, batch: int) -> dict:
    from kit.eval.engine import open_engine

    with open_engine(gguf, n_ctx=1024, n_threads=threads, batch_size=batch) as engine:
        ids = [engine.prompt_ids(p) for p in prompts]
        engine.generate_many(ids[:1], 4)  # warm-up: first-call allocations are not throughput

        def run():
            out = engine.generate_many(ids, EVAL_MAX_TOKENS, desc=f"kit engine b{batch}")
            return [engine.text(x) for x in out], sum(map(len, out))

        return _row(*_timed_texts(run))


def _chat_completion(gguf: Path, prompts: list[list[dict]], threads: int) -> dict:
    import llama_cpp

    llm = llama_cpp.Llama(str(gguf), n_ctx=1024, n_threads=threads, n_threads_batch=threads, verbose=False)
    try:
        llm.create_chat_completion(messages=prompts[0], temperature=0.0, max_tokens=4)

        def run():
            outs = [
                llm.create_chat_completion(messages=p, temperature=0.0, max_tokens=EVAL_MAX_TOKENS) for p in prompts
            ]
            return [o["choices"][0]["message"]["content"] for o in outs], sum(
                o["usage"]["completion_tokens"] for o in outs
            )

        return _row(*_timed_texts(run))
    finally:
        llm.close()


def _hf_generate(folder: Path, prompts: list[list[dict]], batch: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    texts_in = [tok.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]

    def run():
        texts, tokens = [], 0
        for start in range(0, len(texts_in), batch):
            enc = tok(texts_in[start : start + batch], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                gen = model.generate(
                    **enc, max_new_tokens=EVAL_MAX_TOKENS, do_sample=False, pad_token_id=tok.pad_token_id
                )
            for row in gen[:, enc["input_ids"].shape[1] :]:
                ids = row.tolist()
                ids = ids[: ids.index(tok.eos_token_id)] if tok.eos_token_id in ids else ids
                tokens += len(ids)
                texts.append(tok.decode(ids, skip_special_tokens=True))
        return texts, tokens

    return _row(*_timed_texts(run))


def _agreement(texts: list[str], reference: list[str]) -> str:
    same = sum(a.strip() == b.strip() for a, b in zip(texts, reference, strict=True))
    return f"{same}/{len(texts)}"


def engine_bench(gguf: Path, n_items: int = DENSE_ITEMS, threads: int | None = None) -> dict:
    """Prefill, dense scoring (batched + KV copy vs per-call) and generation on the same GGUF and prompts.

    Items: the general task's dense items (prompt + gold + two distractors). Prefill tokens/s is
    ``loglik`` on prompt + gold, one sequence a call (the rate that bounds any dense metric).
    """
    from kit.eval.engine import open_engine
    from kit.eval.tasks import builtin_general

    items, threads = builtin_general.dense_items(n_items, 0), threads or env.n_threads(None)
    with open_engine(gguf, n_ctx=1024, n_threads=threads, batch_size=EVAL_BATCH) as engine:
        requests = [(engine.prompt_ids(it["messages"]), [engine.segment_ids(c) for c in it["choices"]]) for it in items]
        flat = [[tok for seg, _ in cand for tok in seg] for _, cands in requests for cand in cands]
        engine.score_many(requests[:1], desc=None)  # warm-up: first-call allocations are not throughput

        def prefill():
            for prompt, cands in requests:
                engine.loglik(prompt, [tok for seg, _ in cands[0] for tok in seg])

        def batched():
            engine.score_many(requests, desc="dense batched")

        def per_call():
            conts = iter(flat)
            for prompt, cands in requests:
                for _ in cands:
                    engine.loglik(prompt, next(conts))

        def generate():
            engine.generate_many([p for p, _ in requests], EVAL_MAX_TOKENS, desc="generating")

        seconds = {
            name: _seconds(fn)
            for name, fn in (("prefill", prefill), ("batched", batched), ("per_call", per_call), ("generate", generate))
        }
    prefill_tokens = sum(len(p) + len(c) for (p, _), c in zip(requests, flat[::3], strict=True))
    n = len(items)
    return {
        "items": n,
        "model": gguf.name,
        "threads": threads,
        "batch_size": EVAL_BATCH,
        "rows": {
            "prefill (loglik, prompt + gold, one sequence a call)": {
                "tokens_per_s": round(prefill_tokens / seconds["prefill"], 1)
            },
            f"dense, batched with KV copy (score_many, batch {EVAL_BATCH})": {
                "items_per_s": round(n / seconds["batched"], 2)
            },
            "dense, one loglik call per candidate": {"items_per_s": round(n / seconds["per_call"], 2)},
            f"generation (generate_many, batch {EVAL_BATCH}, up to {EVAL_MAX_TOKENS} tokens)": {
                "items_per_s": round(n / seconds["generate"], 2)
            },
        },
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- (b) training ---------------------------------------------------------------------------------

# "compact_loss": False trains with TRL's own loss (its fused LM head scores every position off Triton devices).
TRAIN_VARIANTS = {
    "TRL defaults (gradient checkpointing on, TRL's loss), batch 4": {
        "gradient_checkpointing": True,
        "length_grouping": False,
        "compact_loss": False,
    },
    "checkpointing off, TRL's loss, batch 4": {"length_grouping": False, "compact_loss": False},
    "kit: + loss on trained positions only": {"length_grouping": False},
    "kit: + length grouping (the default)": {"length_grouping": True},
    "kit: + packing (best-fit, padding-free)": {"length_grouping": False, "packing": True},
    "kit: + length grouping, batch 8 (the cpu recipes)": {"length_grouping": True, "batch_size": 8},
}
TRAIN_BASELINE = "checkpointing off, TRL's loss, batch 4"


def train_bench(model: dict, hw) -> dict:
    """Each variant trains the same rows for the same number of examples, in this process."""
    import dataclasses
    import tempfile

    from kit.backends.hf_lora import train
    from kit.backends.job import TrainJob
    from kit.data.builtin import get_generator
    from kit.recipe import TrainSpec

    rows = get_generator("general").generate_train(TRAIN_ROWS // 2, 0) + get_generator("math").generate_train(
        TRAIN_ROWS // 2, 0
    )
    out = {}
    for name, variant in TRAIN_VARIANTS.items():
        spec = dataclasses.replace(TrainSpec(), **{k: v for k, v in variant.items() if k != "compact_loss"})
        spec = dataclasses.replace(spec, max_steps=max(1, TRAIN_STEPS * 4 // spec.batch_size))  # the same examples
        job = TrainJob(str(model["base"]), "chatml", 320, spec, hw.backend, hw.dtype, hw.device)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                metrics = train(rows, job, tmp, compact_loss=variant.get("compact_loss", True))
                out[name] = {
                    k: metrics[k]
                    for k in (
                        "tokens_per_second",
                        "train_seconds",
                        "steps",
                        "tokens_seen_approx",
                        "loss_first",
                        "loss_last",
                    )
                }
            except Exception as exc:  # a variant this stack cannot run is a row, not the end of the bench
                out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    base = out[TRAIN_BASELINE].get("tokens_per_second")
    for row in out.values():
        if base and row.get("tokens_per_second"):
            row["x_vs_baseline"] = round(row["tokens_per_second"] / base, 2)
    return {
        "model": "SmolLM2-135M-Instruct, LoRA r16 on all linear layers, fp32",
        "rows": out,
        "examples_per_variant": TRAIN_STEPS * 4,
    }


# --- (c) GPU: unsloth vs plain QLoRA ----------------------------------------------------------------


def gpu_bench() -> dict:
    """Unsloth vs transformers+peft+bitsandbytes QLoRA on a random-init 7B-config Llama (CUDA only), each backend in
    its own process (kit.bench_worker)."""
    import subprocess
    import sys

    folder = runs.kit_home() / "bench" / "llama-7b-config-random"
    if not (folder / "config.json").is_file():
        subprocess.run([sys.executable, "-m", "kit.bench_worker", "make-7b", str(folder)], check=True)
    out = {}
    for backend in ("hf", "unsloth"):
        done = subprocess.run(
            [sys.executable, "-m", "kit.bench_worker", "train-7b", str(folder), backend], capture_output=True, text=True
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("{")), None)
        out[backend] = json.loads(line) if line else {"error": done.stderr[-1500:]}
    return out


def _machine(hw) -> dict:
    return {
        **env.machine(),
        "device": hw.device_name,
        "packages": env.package_versions(),
        "git_commit": env.git_commit(),
    }


def phases_bench(base: dict) -> dict:
    """A run's fixed cost, phase by phase, on the base model: what dominates a 1-16 example run."""
    import subprocess
    import sys
    import tempfile

    from kit.eval.engine import open_engine
    from kit.export.gguf import convert, quantize
    from kit.export.merge import merge
    from kit.export.parity import parity_check

    threads = env.n_threads(None)
    probes = [[{"role": "user", "content": p[0]["content"]}] for p in _prompts()[:2]]
    rows: dict[str, float] = {}
    load = [sys.executable, "-m", "kit.bench_worker", "load-base", str(base["base"])]
    rows["training worker start-up (imports + model load)"] = _seconds(lambda: subprocess.run(load, check=True))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows["merge (save the HF folder)"] = _seconds(lambda: merge(base["base"], None, tmp / "hf", "chatml"))
        rows["convert to f16 GGUF (subprocess)"] = _seconds(lambda: convert(tmp / "hf", tmp / "f16.gguf", "f16"))
        rows["parity (2 probes, 16 tokens)"] = _seconds(
            lambda: parity_check(tmp / "hf", tmp / "f16.gguf", probes, 16, threads)
        )
        rows["quantize Q8_0"] = _seconds(lambda: quantize(tmp / "f16.gguf", tmp / "q8.gguf", "Q8_0", threads))

        def engine_start() -> None:
            with open_engine(tmp / "q8.gguf", n_ctx=2048, n_threads=threads, batch_size=EVAL_BATCH) as engine:
                engine.multi()

        rows["eval engine start (both contexts)"] = _seconds(engine_start)
    return {"rows": {k: round(v, 2) for k, v in rows.items()}, "total_s": round(sum(rows.values()), 1)}


# --- (e) the code sandbox -------------------------------------------------------------------------

SANDBOX_PROGRAMS = 50


def sandbox_bench(n_programs: int = SANDBOX_PROGRAMS) -> dict:
    """Each isolation level that works here, one after the other on the same programs: ``n_programs`` trivial
    ones (the start-up cost) and HumanEval's 164 canonical solutions (what an eval pays)."""
    from kit.eval import sandbox

    rows = {
        level: {**_trivial_programs(level, n_programs), **_humaneval_canonical(level)}
        for level in sandbox.working_levels()
    }
    base = rows["guards-only"]
    for row in rows.values():
        row["x_vs_guards_only"] = round(row["ms_per_program"] / base["ms_per_program"], 2)
        if "humaneval_s" in row:
            row["humaneval_x_vs_guards_only"] = round(row["humaneval_s"] / base["humaneval_s"], 2)
    return {"programs": n_programs, "isolation": sandbox.isolation(), "rows": rows}


def _trivial_programs(level: str, n_programs: int) -> dict:
    from kit.eval import sandbox

    start = time.perf_counter()
    passed = sum(sandbox.run_program("assert True\n", isolation_level=level).passed for _ in range(n_programs))
    return {"ms_per_program": round(1000 * (time.perf_counter() - start) / n_programs, 1), "passed": passed}


def _humaneval_canonical(level: str) -> dict:
    """Seconds to score the 164 canonical solutions one after the other, and how many passed (164 expected)."""
    from kit.eval import sandbox
    from kit.eval.tasks import humaneval

    try:
        problems = humaneval._problems()
    except ImportError:
        return {}
    programs = [
        humaneval.program(p, f"```python\n{p['prompt']}{p['canonical_solution']}```") for p in problems.values()
    ]
    timeout_s = humaneval.TIMEOUT_S * sandbox.timeout_scale()
    start = time.perf_counter()
    passed = sum(sandbox.run_program(p, timeout_s=timeout_s, isolation_level=level).passed for p in programs)
    return {"humaneval_s": round(time.perf_counter() - start, 1), "humaneval_passed": passed}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# make bench ({m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; commit {m['git_commit']})", ""]
    ev = result["eval"]
    lines += [
        f"## Evaluation: {ev['prompts']} prompts, up to {ev['max_new_tokens']} new tokens, greedy; {ev['model']}",
        "",
        "| engine | tokens/s | x vs create_chat_completion | x vs transformers b1 "
        "| same text as create_chat_completion | same text as transformers b1 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in ev["rows"].items():
        lines.append(
            f"| {name} | {r['tokens_per_s']} | {r['x_vs_chat_completion']} | {r['x_vs_transformers_b1']} | "
            f"{r['agree_with_chat_completion']} | {r['agree_with_transformers_b1']} |"
        )
    if result.get("engine"):
        en = result["engine"]
        lines += [
            "",
            f"## Engine rates: {en['items']} general dense items on {en['model']}, {en['threads']} threads",
            "",
            "| what | rate |",
            "| --- | ---: |",
        ]
        for name, r in en["rows"].items():
            rate = f"{r['tokens_per_s']} tokens/s" if "tokens_per_s" in r else f"{r['items_per_s']} items/s"
            lines.append(f"| {name} | {rate} |")
    if result.get("phases"):
        ph = result["phases"]
        lines += ["", f"## A run's fixed cost by phase (base model; {ph['total_s']} s in all)", ""]
        lines += ["| phase | seconds |", "| --- | ---: |"] + [f"| {k} | {v} |" for k, v in ph["rows"].items()]
    if result.get("sandbox"):
        sb = result["sandbox"]
        lines += ["", f"## Code sandbox cost by isolation level (this machine uses {sb['isolation']})", ""]
        lines += [
            f"| isolation | ms per trivial program ({sb['programs']}) | x vs guards only "
            "| HumanEval 164 canonical, s | x vs guards only | passed |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in sb["rows"].items():
            lines.append(
                f"| {name} | {r['ms_per_program']} | {r['x_vs_guards_only']} | {r.get('humaneval_s', '')} | "
                f"{r.get('humaneval_x_vs_guards_only', '')} | {r.get('humaneval_passed', '')} |"
            )
    if result["train"]:
        tr = result["train"]
        lines += [
            "",
            f"## Training: {tr['model']}, {tr['examples_per_variant']} examples per variant",
            "",
            "| variant | tokens/s | x vs checkpointing off, TRL's loss | train s | loss first -> last |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for name, r in tr["rows"].items():
            if "error" in r:
                lines.append(f"| {name} | failed: {r['error']} | | | |")
            else:
                lines.append(
                    f"| {name} | {r['tokens_per_second']} | {r.get('x_vs_baseline', '')} | {r['train_seconds']} | "
                    f"{r['loss_first']:.3f} -> {r['loss_last']:.3f} |"
                )
    lines += [
        "",
        "## GPU (unsloth vs transformers+peft+bitsandbytes QLoRA, 7B config)",
        "",
        f"`{json.dumps(result['gpu'])}`",
        "",
        f"Whole bench: {result['wall_seconds']} s. Targets: batched GGUF >= 2x one-at-a-time and >= 7x transformers "
        "batch 1; CPU LoRA training >= 150 tokens/s for the 135M model.",
        "",
    ]
    return "\n".join(lines)
