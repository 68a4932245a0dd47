"""``make bench``'s measurements that need a process of their own: ``python -m kit.bench_worker COMMAND ...``.

- ``load-base PATH``: a training worker's imports and model load (what a 1-example run pays before its first step);
- ``make-7b FOLDER``: a random-init model of Llama-2-7B's shape, made in fp16 directly on the GPU (made in fp32
  first it would take 27 GB), with SmolLM2's tokenizer (no Llama-2 tokenizer is offline; ids past a 32,000-row
  embedding are a device-side assert), so ~0.1B more parameters than Llama-2-7B;
- ``train-7b FOLDER BACKEND``: the kit's own backend on that model, 4-bit, batch 4 x 512 tokens: 2 warm-up steps
  (Unsloth compiles its kernels on the first ones), then 8 timed ones; one JSON line on stdout. Each backend in its
  own process: Unsloth must be imported first.

``make gpu-check`` (kit.gpucheck) measures the same at batch 1/2/4 x 1024 with a Llama-2-sized vocabulary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile

# Dense bf16 tensor FLOP/s the MFU is computed against (H100/H200 SXM spec); other GPUs get no MFU.
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12}


def load_base(path: str) -> None:
    import peft  # noqa: F401
    import transformers
    import trl  # noqa: F401

    transformers.AutoModelForCausalLM.from_pretrained(path)


def make_7b(folder: str) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from kit.models import resolve_base

    tok = AutoTokenizer.from_pretrained(resolve_base("tiny-random-llama"))
    config = LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=len(tok),
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.set_default_dtype(torch.float16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)


def train_7b(folder: str, backend: str) -> dict:
    if backend == "unsloth":
        import unsloth  # noqa: F401
    import torch

    from kit.backends import get_backend
    from kit.backends.job import TrainJob
    from kit.data.builtin import get_generator
    from kit.env import choose
    from kit.recipe import TrainSpec

    hw = choose(backend, "auto", "nf4")
    rows = get_generator("general").generate_train(64, 0)
    train = get_backend(backend)

    def job(steps: int) -> TrainJob:
        spec = dataclasses.replace(
            TrainSpec(), quantization="nf4", max_steps=steps, gradient_checkpointing=True, batch_size=4
        )
        return TrainJob(folder, "chatml", 512, spec, hw.backend, hw.dtype, hw.device)

    with tempfile.TemporaryDirectory() as tmp:
        warm = train(rows, job(2), tmp)
    torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as tmp:
        m = train(rows, job(8), tmp)
    device = torch.cuda.get_device_properties(0).name
    peak = next((v for k, v in PEAK_FLOPS.items() if k in device), None)
    flops = 6 * m["total_params"] * m["tokens_per_second"]
    return {
        "tokens_per_second": m["tokens_per_second"],
        "warmup_tokens_per_second": warm["tokens_per_second"],
        "peak_vram_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "params": m["total_params"],
        "mfu": round(flops / peak, 3) if peak else None,
        "mfu_formula": "6 x params x tokens/s / peak dense bf16 FLOP/s (989 TFLOP/s on H100/H200)",
        "device": device,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("load-base").add_argument("path")
    sub.add_parser("make-7b").add_argument("folder")
    train = sub.add_parser("train-7b")
    train.add_argument("folder")
    train.add_argument("backend", choices=["hf", "unsloth"])
    args = parser.parse_args()
    if args.command == "load-base":
        load_base(args.path)
    elif args.command == "make-7b":
        make_7b(args.folder)
    else:
        print(json.dumps(train_7b(args.folder, args.backend)))


if __name__ == "__main__":
    main()
