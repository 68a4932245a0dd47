"""The check's phases, each run in its own process by kit.gpucheck.runner (``python -m kit.gpucheck phase NAME``).

Every phase goes through the kit's own code: models are trained by ``kit.backends.get_backend(...)`` on rows
tokenized by the kit (``kit.backends.sft.tokenize_rows``), exported by ``kit.export.worker.export`` and scored by
``kit.eval.engine.open_engine``, whose GPU placement is ``kit.eval.memory.place``. The ``gpu`` profile is the real
check (random-init Llama-2-7B shapes, 1024-token rows); ``dry`` runs the same code on a tiny model on a CPU.

Over 400 lines: each phase of the one-shot GPU check is self-contained and time-boxed; they live together so
the check can be read top to bottom before a scarce GPU window.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kit.backends.job import TrainJob
from kit.gpucheck.runner import REPO, log, record
from kit.recipe import TrainSpec
from kit.runs import read_json, write_json

# 6 x parameters x tokens/s over the chip's peak dense bf16 rate (H100/H200 SXM datasheet). QLoRA computes no
# gradient for the frozen 4-bit weights, so this overstates the work done: compare it across rows, not with
# full fine-tuning MFUs.
PEAK_BF16_FLOPS = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12}
MFU_FORMULA = "6 x params x tokens_per_second / peak_tflops (peak dense bf16; QLoRA, so an upper bound)"


@dataclass(frozen=True)
class Profile:
    name: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    chain_layers: int
    seq_len: int
    steps: dict  # backend -> batch size -> (warm-up steps, timed steps); Unsloth compiles in its first steps
    eval_prompts: int
    eval_tokens: int
    eval_batches: tuple = (1, 8)
    gap_rows: int = 8
    gap_len: int = 512
    work: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "gpu-check")


PROFILES = {
    "gpu": Profile(
        "gpu",
        4096,
        11008,
        32,
        32,
        4,
        1024,
        {"unsloth": {1: (2, 5), 2: (2, 4), 4: (2, 3)}, "hf": {1: (1, 4), 2: (1, 3), 4: (1, 3)}},
        16,
        128,
    ),
    "dry": Profile(
        "dry",
        64,
        128,
        2,
        2,
        2,
        128,
        {"unsloth": {1: (1, 2)}, "hf": {1: (1, 2), 2: (1, 2)}},
        4,
        16,
        gap_rows=2,
        gap_len=96,
    ),
}
CHAT_TEMPLATE = "vicuna_v1.1"  # the gpu profile's


def profile() -> Profile:
    p = PROFILES[os.environ.get("GPU_CHECK_PROFILE", "gpu")]
    work = os.environ.get("GPU_CHECK_WORK")
    return Profile(**{**p.__dict__, "work": Path(work)}) if work else p


def results_dir() -> Path:
    return Path(os.environ.get("GPU_CHECK_RESULTS", REPO / "results" / "gpu-check"))


def tokenizer_dir() -> Path:
    return REPO / ".gpu-check" / "tokenizer"


def model_dir(p: Profile, layers: int) -> Path:
    return p.work / "models" / f"llama-{p.hidden}x{layers}-random"


def chain_dir(p: Profile) -> Path:
    return p.work / "chain"


# --- models and rows ---------------------------------------------------------------------------------


def llama_config(p: Profile, layers: int, vocab: int = 32000):
    """Llama-2-7B's shape (the gpu profile) with ``layers`` layers, and the stand-in tokenizer's special ids."""
    from transformers import LlamaConfig

    return LlamaConfig(
        hidden_size=p.hidden,
        intermediate_size=p.intermediate,
        num_hidden_layers=layers,
        num_attention_heads=p.heads,
        num_key_value_heads=p.heads,
        vocab_size=vocab,
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )


def make_model(p: Profile, layers: int) -> dict:
    """A random-init model in fp16, made on the GPU directly (a 7B made in fp32 first would take 27 GB), saved with
    the stand-in tokenizer; on a CPU (dry) in fp32."""
    import shutil

    import torch
    from transformers import LlamaForCausalLM

    out = model_dir(p, layers)
    cuda = torch.cuda.is_available()
    start = time.time()
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float16 if cuda else torch.float32)
    with torch.device("cuda" if cuda else "cpu"):
        model = LlamaForCausalLM(llama_config(p, layers))
    torch.set_default_dtype(torch.float32)
    params = sum(t.numel() for t in model.parameters())
    made = time.time() - start
    model.save_pretrained(out)
    for f in tokenizer_dir().iterdir():
        shutil.copy(f, out / f.name)
    del model
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    info = {"path": str(out), "layers": layers, "params": params, "make_seconds": round(made, 1)}
    info["save_seconds"] = round(time.time() - start - made, 1)
    write_json(out / "gpu-check-model.json", info)
    return info


def long_rows(tokenizer, n: int, min_tokens: int) -> list[dict]:
    """``n`` multi-turn chats of the kit's built-in rows (general and math, alternating), each at least
    ``min_tokens`` tokens long in the gpu profile's template, so that cutting at the sequence length leaves that
    many real tokens."""
    from kit.data.builtin import get_generator
    from kit.data.templates import training_template

    pool = get_generator("general").generate_train(n * 40, 0) + get_generator("math").generate_train(n * 40, 0)
    pool = [pool[i // 2 + (i % 2) * len(pool) // 2] for i in range(len(pool))]  # interleave the two sources
    tokenizer.chat_template = training_template(CHAT_TEMPLATE)
    rows, it = [], iter(pool)
    for i in range(n):
        messages: list[dict] = []
        while True:
            messages += [m for m in next(it)["messages"] if m["role"] != "system"]
            if len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]) > min_tokens:
                break
        rows.append({"id": f"gpu-check-{i}", "source": "builtin:general+math", "messages": messages})
    return rows


def checked_rows(tokenizer, n: int, seq_len: int) -> tuple[list[dict], dict]:
    """Rows and the check that the kit's tokenization cuts every one to exactly ``seq_len`` tokens, some trained."""
    from kit.backends.sft import tokenize_rows

    rows = long_rows(tokenizer, n, seq_len + 16)
    encoded = tokenize_rows(tokenizer, rows, seq_len)
    lengths = sorted({len(r["input_ids"]) for r in encoded})
    trained = [sum(x != -100 for x in r["labels"]) for r in encoded]
    if len(encoded) != n or lengths != [seq_len] or min(trained) == 0:
        raise RuntimeError(f"rows are not {seq_len} real tokens each: lengths {lengths}, trained {trained}")
    return rows, {"rows": n, "tokens_per_row": seq_len, "trained_tokens_per_row_min": min(trained)}


# --- training through the kit's backends --------------------------------------------------------------

STEP_SECONDS: list[float] = []


def install_step_timer() -> None:
    """Time every optimizer step (synchronized on CUDA) through a callback that every trainer's CallbackHandler
    gets, so the kit's backends run unchanged and warm-up steps (Unsloth compiles) can be left out."""
    import torch
    from transformers import TrainerCallback
    from transformers.trainer_callback import CallbackHandler

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            sync()
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            sync()
            STEP_SECONDS.append(time.perf_counter() - self.start)

    if getattr(CallbackHandler, "_gpu_check_timer", False):
        return
    original = CallbackHandler.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.add_callback(StepTimer())

    CallbackHandler.__init__ = init
    CallbackHandler._gpu_check_timer = True


def job(p: Profile, batch_size: int, steps: int, hw, layers: int) -> TrainJob:
    """The kit's own training job (kit.backends.job) for ``steps`` steps at ``batch_size`` rows of the profile's
    length: 4-bit QLoRA with gradient checkpointing, the recipes' LoRA, no length grouping."""
    spec = dataclasses.replace(
        TrainSpec(),
        quantization="nf4",
        max_steps=steps,
        batch_size=batch_size,
        grad_accum_steps=1,
        gradient_checkpointing=True,
        length_grouping=False,
        packing=False,
    )
    return TrainJob(str(model_dir(p, layers)), CHAT_TEMPLATE, p.seq_len, spec, hw.backend, hw.dtype, hw.device)


def peak_flops(device: str) -> float:
    for key in ("H100 PCIe", "H100", "H200"):
        if key in device:
            return PEAK_BF16_FLOPS[key]
    return PEAK_BF16_FLOPS["H100"]


def measure(backend: str, p: Profile, rows: list[dict], batch_size: int, hw, params: int) -> dict:
    """One row of train-7b.json: the backend trains ``warm + timed`` steps; tokens/s over the timed steps."""
    import torch

    from kit.backends import get_backend

    warm, timed = p.steps[backend][batch_size]
    cuda = torch.cuda.is_available()
    row = {"backend": backend, "batch_size": batch_size, "seq_len": p.seq_len, "params": params}
    row["device"] = torch.cuda.get_device_name(0) if cuda else hw.device_name
    row["peak_tflops"] = peak_flops(row["device"]) / 1e12
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        row["allocated_before_gib"] = round(torch.cuda.memory_allocated() / 2**30, 3)
    STEP_SECONDS.clear()
    n = batch_size * (warm + timed)
    with tempfile.TemporaryDirectory() as tmp:
        metrics = get_backend(backend)(rows[:n], job(p, batch_size, warm + timed, hw, p.layers), tmp)
    steps = STEP_SECONDS[warm:]
    if steps:
        tps, row["timing"] = batch_size * p.seq_len * len(steps) / sum(steps), f"{len(steps)} timed steps after {warm}"
    else:  # no step callback fired: the backend's own rate, warm-up included
        tps, row["timing"] = metrics["tokens_per_second"], "whole run (warm-up included)"
    row |= {
        "tokens_per_second": round(tps, 1),
        "mfu": round(6 * params * tps / (row["peak_tflops"] * 1e12), 4),
        "step_seconds": [round(s, 3) for s in STEP_SECONDS],
        "mean_tokens_per_example": metrics["mean_tokens_per_example"],
        "truncated_examples": metrics["truncated_examples"],
        "loss_first": metrics["loss_first"],
        "loss_last": metrics["loss_last"],
        "peak_vram_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3) if cuda else None,
        "reserved_vram_gib": round(torch.cuda.max_memory_reserved() / 2**30, 3) if cuda else None,
    }
    if cuda:  # what an earlier run in this process left allocated is in the peak too
        row["peak_minus_before_gib"] = round(row["peak_vram_gib"] - row["allocated_before_gib"], 3)
    if metrics["mean_tokens_per_example"] != p.seq_len:
        row["warning"] = f"rows averaged {metrics['mean_tokens_per_example']} tokens, not {p.seq_len}"
    return row


def append_row(path: Path, row: dict, extra: dict | None = None) -> None:
    payload = read_json(path) if path.is_file() else {}
    payload["rows"] = [
        r for r in payload.get("rows", []) if (r["backend"], r["batch_size"]) != (row["backend"], row["batch_size"])
    ]
    payload["rows"].append(row)
    payload["mfu_formula"] = MFU_FORMULA
    payload.update(extra or {})
    record(path, payload)


def train_phase(backend: str) -> None:
    """train-7b.json rows for one backend at every batch size (and, for unsloth, the chain's adapter first)."""
    import torch
    from transformers import AutoTokenizer

    from kit import env

    p = profile()
    out = results_dir() / "train-7b.json"
    hw = env.choose(backend, "auto", "nf4")
    tok = AutoTokenizer.from_pretrained(tokenizer_dir())  # the models' own, and there even if the 7B is not
    n = max(8, *(b * sum(s) for b, s in p.steps[backend].items()))
    rows, rows_check = checked_rows(tok, n, p.seq_len)
    install_step_timer()
    if backend == "unsloth" or not (chain_dir(p) / "adapter" / "adapter_config.json").is_file():
        train_chain_adapter(p, backend, rows, hw)
    for batch_size in p.steps[backend]:
        log(f"train-7b {backend} batch {batch_size} x {p.seq_len}")
        try:
            params = read_json(model_dir(p, p.layers) / "gpu-check-model.json")["params"]
            row = measure(backend, p, rows, batch_size, hw, params)
        except Exception as exc:  # an OOM at one batch size is a row, and the next one is tried
            row = {
                "backend": backend,
                "batch_size": batch_size,
                "seq_len": p.seq_len,
                "error": f"{type(exc).__name__}: {exc}"[-1500:],
            }
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        append_row(out, row, {"rows_check": rows_check, f"hardware_{backend}": hw.__dict__})
        log(f"  -> {row.get('tokens_per_second', row.get('error'))} tokens/s, peak {row.get('peak_vram_gib')} GiB")


def train_chain_adapter(p: Profile, backend: str, rows: list[dict], hw) -> None:
    """A few steps on the chain's 4-layer model, the adapter kept for the chain and adapter-gap phases."""
    from kit.backends import get_backend

    folder = chain_dir(p) / "adapter"
    folder.mkdir(parents=True, exist_ok=True)
    log(f"chain adapter: {backend}, 4 steps at batch 2 on the {p.chain_layers}-layer model")
    start = time.time()
    try:
        metrics = get_backend(backend)(rows[:8], job(p, 2, 4, hw, p.chain_layers), str(folder))
        info = {
            "backend": backend,
            "seconds": round(time.time() - start, 1),
            **{k: metrics[k] for k in ("steps", "loss_first", "loss_last", "tokens_per_second")},
        }
    except Exception as exc:
        info = {"backend": backend, "error": f"{type(exc).__name__}: {exc}"[-1500:]}
    write_json(chain_dir(p) / "adapter-train.json", info)
    log(f"  -> {info}")


# --- env and models ---------------------------------------------------------------------------------------

IMPORT_CHECKS = {
    # Unsloth first in its own process, as the kit's training worker does
    "unsloth": "from kit.backends.worker import unsloth_environment; unsloth_environment(); import unsloth; "
    "from unsloth import FastLanguageModel; print(unsloth.__version__)",
    "trl": "import trl; print(trl.__version__)",
    "peft": "import peft; print(peft.__version__)",
    "datasets": "import datasets; print(datasets.__version__)",
    "bitsandbytes": "import torch, bitsandbytes as bnb; lin = bnb.nn.Linear4bit(64, 64, quant_type='nf4', "
    "compute_dtype=torch.bfloat16).cuda(); print(bnb.__version__, tuple(lin(torch.randn(2, 64, device='cuda', "
    "dtype=torch.bfloat16)).shape))",
    "gguf": "import gguf; print(gguf.__file__)",
}


def env_phase() -> None:
    import subprocess

    import torch

    info: dict = {"cuda_available": torch.cuda.is_available()}
    query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,compute_cap", "--format=csv,noheader"]
    smi = subprocess.run(query, capture_output=True, text=True) if _which("nvidia-smi") else None
    info["nvidia_smi"] = (smi.stdout.strip() or smi.stderr.strip()) if smi else None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info |= {
            "capability": list(torch.cuda.get_device_capability(0)),
            "total_gib": round(props.total_memory / 2**30, 1),
        }
        info["multiprocessors"] = props.multi_processor_count
    nvcc = subprocess.run(["nvcc", "--version"], capture_output=True, text=True) if _which("nvcc") else None
    info["nvcc"] = nvcc.stdout.strip().splitlines()[-1] if nvcc and nvcc.returncode == 0 else None
    cuda_only = ("unsloth", "bitsandbytes")
    checks = {k: v for k, v in IMPORT_CHECKS.items() if torch.cuda.is_available() or k not in cuda_only}
    info["imports"] = import_checks(checks, timeout_s=60)
    for name, check in info["imports"].items():
        log(f"import {name}: {'ok' if check['ok'] else 'FAILED'} ({check['seconds']} s)")
    record(results_dir() / "env.json", info)


def import_checks(checks: dict[str, str], timeout_s: float) -> dict:
    """Each snippet in its own interpreter, all at once (the machine has cores to spare and no time)."""
    import subprocess
    import sys

    start = time.time()
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
        )
        for name, code in checks.items()
    }
    out = {}
    for name, proc in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=max(1.0, timeout_s - (time.time() - start)))
            ok, text = proc.returncode == 0, stdout if proc.returncode == 0 else stderr
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            ok, text = False, f"timed out after {timeout_s} s"
        lines = "\n".join(text.strip().splitlines()[-12:])
        out[name] = {"ok": ok, "seconds": round(time.time() - start, 1), "output": lines}
    return out


def _which(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None


def models_phase() -> None:
    p = profile()
    out = results_dir() / "models.json"
    done = {}
    for layers in dict.fromkeys((p.chain_layers, p.layers)):  # the small one first: the chain needs it, 7B or not
        log(f"making the random {p.hidden}-wide {layers}-layer model")
        done[f"{layers}-layer"] = make_model(p, layers)
        record(out, {"models": done, "tokenizer": str(tokenizer_dir())})


# --- the chain: export, parity, quantize, eval on the GPU -----------------------------------------------------


def probe_prompts(rows: list[dict], k: int) -> list[list[dict]]:
    """The first ``k`` chats without their last answer, and one multi-turn probe (as kit.pipeline.probe_prompts)."""
    probes = [r["messages"][:1] for r in rows[:k]]
    return probes + [rows[0]["messages"][:3]]


def chain_phase() -> None:
    from transformers import AutoTokenizer

    from kit import env
    from kit.export.worker import export

    p = profile()
    out = results_dir() / "chain-4layer.json"
    folder, base = chain_dir(p), model_dir(p, p.chain_layers)
    result: dict = {"model": str(base), "layers": p.chain_layers, "hidden": p.hidden}
    adapter = folder / "adapter"
    result["adapter_train"] = (
        read_json(folder / "adapter-train.json") if (folder / "adapter-train.json").is_file() else None
    )
    if not (adapter / "adapter_config.json").is_file():
        raise RuntimeError(f"no adapter in {adapter}: the training phases did not make one ({result['adapter_train']})")
    rows = long_rows(AutoTokenizer.from_pretrained(base), 4, 64)
    job = {
        "adapter": str(adapter),
        "base_path": str(base),
        "chat_template": CHAT_TEMPLATE,
        "chat_template_text": None,
        "parity_prompts": probe_prompts(rows, 2),
        "parity_max_tokens": 16,
        "n_threads": env.n_threads(None),
        "quant": "Q4_K_M",
        "keep_merged": True,
    }
    export_dir = folder / "export"
    export_dir.mkdir(parents=True, exist_ok=True)
    write_json(export_dir / "job.json", job)
    log("chain: export (merge, f16 GGUF, parity, Q4_K_M) through kit.export.worker.export")
    start = time.time()
    try:
        export(export_dir, job)
    finally:
        result["export_seconds"] = round(time.time() - start, 1)
        for name in ("phase_seconds", "parity"):
            if (export_dir / f"{name}.json").is_file():
                result[name] = read_json(export_dir / f"{name}.json")
        # how far a failed export got (the worker writes its phase seconds only at the end)
        result["export_files"] = sorted(f.name for f in export_dir.iterdir())
        record(out, result)
    gguf = export_dir / "model-Q4_K_M.gguf"
    result["gguf_mib"] = round(gguf.stat().st_size / 2**20, 1)
    prompts = [
        m for r in long_rows(AutoTokenizer.from_pretrained(base), p.eval_prompts, 32) for m in [r["messages"][:1]]
    ]
    result["eval"] = []
    for batch_size in p.eval_batches:
        log(f"chain: eval Q4_K_M at batch {batch_size}")
        try:
            result["eval"].append(eval_row(gguf, prompts, batch_size, p.eval_tokens))
        except Exception as exc:
            result["eval"].append({"batch_size": batch_size, "error": f"{type(exc).__name__}: {exc}"[-1500:]})
        record(out, result)
        log(f"  -> {result['eval'][-1]}")


def _free_bytes() -> int | None:
    from kit.eval.memory import free_vram

    return free_vram()


def eval_row(gguf: Path, prompts: list[list[dict]], batch_size: int, max_tokens: int) -> dict:
    """The kit's engine on the GGUF (placed by kit.eval.memory): load seconds, VRAM it took, generated tokens/s."""
    import torch

    from kit import env
    from kit.eval.engine import open_engine

    gc.collect()
    if torch.cuda.is_available():  # the parity reference's cached blocks are not llama.cpp's
        torch.cuda.empty_cache()
    free_before = _free_bytes()
    start = time.perf_counter()
    with open_engine(gguf, n_ctx=2048, n_threads=env.n_threads(None), batch_size=batch_size) as engine:
        load_s = time.perf_counter() - start
        free_loaded = _free_bytes()
        ids = [engine.prompt_ids(m) for m in prompts]
        engine.generate_many(ids[:1], 4, desc=None)  # warm-up: first-call allocations are not throughput
        start = time.perf_counter()
        outs = engine.generate_many(ids, max_tokens, desc=f"eval b{batch_size}")
        seconds = time.perf_counter() - start
        free_after = _free_bytes()
        placement = engine.placement.__dict__
    tokens = sum(map(len, outs))
    used = lambda free: None if free_before is None or free is None else round((free_before - free) / 2**30, 3)
    return {
        "batch_size": batch_size,
        "placement": placement,
        "load_seconds": round(load_s, 2),
        "prompts": len(ids),
        "prompt_tokens_mean": round(sum(map(len, ids)) / len(ids), 1),
        "generated_tokens": tokens,
        "decode_seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / seconds, 1),
        "vram_gib_after_load": used(free_loaded),
        "vram_gib_after_generate": used(free_after),
    }


# --- the adapter on the 4-bit base vs the merged fp16 model ---------------------------------------------------


def gap_phase() -> None:
    """Teacher-forced on the same rows: the adapter on its nf4 training base vs the merged fp16 model that the
    export turns into a GGUF, and (to tell the two causes apart) the nf4 base vs the fp16 base, both unadapted."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    from kit.backends.sft import tokenize_rows
    from kit.export.merge import merge

    p = profile()
    folder, base = chain_dir(p), model_dir(p, p.chain_layers)
    merged = folder / "export" / "merged"
    if not (merged / "config.json").is_file():
        log("adapter-gap: no merged model from the chain; merging with kit.export.merge")
        merged = folder / "merged-for-gap"
        merge(str(base), folder / "adapter", merged, CHAT_TEMPLATE)
    tok = AutoTokenizer.from_pretrained(base)
    rows = tokenize_rows(tok, long_rows(tok, p.gap_rows, p.gap_len + 16), p.gap_len)
    cuda = torch.cuda.is_available()
    device, half = ("cuda", torch.float16) if cuda else ("cpu", torch.float32)
    nf4 = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
        bnb_4bit_use_double_quant=True,
    )
    kw = {"device_map": device}
    quantized = AutoModelForCausalLM.from_pretrained(base, quantization_config=nf4, dtype=torch.bfloat16, **kw)
    adapted = PeftModel.from_pretrained(quantized, str(folder / "adapter")).eval()
    logits = {"adapter_nf4": _logprobs(adapted, rows, device)}
    with adapted.disable_adapter():
        logits["base_nf4"] = _logprobs(adapted, rows, device)
    del adapted, quantized
    for name, path in (("merged_fp16", merged), ("base_fp16", base)):
        model = AutoModelForCausalLM.from_pretrained(path, dtype=half, **kw).eval()
        logits[name] = _logprobs(model, rows, device)
        del model
    labels = [torch.tensor(r["labels"][1:]) for r in rows]
    result = {
        "rows": len(rows),
        "tokens_per_row": p.gap_len,
        "reference": "merged_fp16 is the model the export converts; adapter_nf4 is what training saw",
        "adapter_nf4_vs_merged_fp16": gap(logits["merged_fp16"], logits["adapter_nf4"], labels),
        "base_nf4_vs_base_fp16": gap(logits["base_fp16"], logits["base_nf4"], labels),
        "merged_fp16_vs_base_fp16": gap(logits["base_fp16"], logits["merged_fp16"], labels),
    }
    record(results_dir() / "adapter-gap.json", result)


def _logprobs(model, rows: list[dict], device: str) -> list:
    import torch

    out = []
    with torch.no_grad():
        for r in rows:
            ids = torch.tensor([r["input_ids"]], device=device)
            out.append(torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1).cpu())
    return out


def gap(ref: list, other: list, labels: list) -> dict:
    """Per position, over all rows: KL(ref || other), |delta log p| of the next token and of the trained tokens,
    and how often the two argmaxes agree."""
    import torch

    ref_lp, oth_lp = torch.cat(ref), torch.cat(other)
    target = torch.cat(labels)
    kl = (ref_lp.exp() * (ref_lp - oth_lp)).sum(-1)
    trained = target != -100
    idx = target.clamp(min=0).unsqueeze(-1)
    delta = (ref_lp.gather(-1, idx) - oth_lp.gather(-1, idx)).squeeze(-1).abs()
    return {
        "positions": int(kl.numel()),
        "trained_positions": int(trained.sum()),
        "mean_kl_nats": round(float(kl.mean()), 6),
        "max_kl_nats": round(float(kl.max()), 6),
        "mean_abs_delta_logprob_trained": round(float(delta[trained].mean()), 6) if trained.any() else None,
        "max_abs_delta_logprob_trained": round(float(delta[trained].max()), 6) if trained.any() else None,
        "top1_agreement": round(float((ref_lp.argmax(-1) == oth_lp.argmax(-1)).float().mean()), 4),
    }


PHASES = {
    "env": env_phase,
    "models": models_phase,
    "train-unsloth": lambda: train_phase("unsloth"),
    "train-hf": lambda: train_phase("hf"),
    "chain-4layer": chain_phase,
    "adapter-gap": gap_phase,
}
