"""What a gpu-profile run will need before anything loads: tokens, peak training VRAM and time, from stated models.

Three pure models, each with its sources written beside its constants, so that a plan's numbers can be checked:

- **tokens per example** (``tokens_per_example``): measured on the real files in ``../shared/data`` with the
  kit's own tokenization (SmolLM2's tokenizer standing in for Llama-2's, which is not available offline), or
  taken from a published table where no representative file is at hand (ShareGPT).
- **training memory** (``train_memory``): 4-bit or 16-bit frozen weights, the LoRA weights with their gradients
  and AdamW states, one layer's recomputed activations per token, the checkpoints that stay on the GPU (Unsloth
  moves them to system RAM), the LM head's logits where they are materialised, and CUDA's own share. Its
  per-token constant is fitted to Unsloth's published maximum context on an 8 GB GPU (``ANCHOR``).
- **training throughput** (``throughput``): tokens/s = MFU x the GPU's dense 16-bit tensor FLOP/s / (6 x params):
  forward, the checkpointed forward again, and the backward pass to the inputs (LoRA leaves the frozen weights
  without gradients). The MFU comes from the kit's own measurement (``results/gpu-check/train-7b.json``, written
  by ``make gpu-check``) once there is one, else from the published figure in ``REFERENCE_SPEED``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

GB = 1e9
GIB = 1024**3
REPO = Path(__file__).resolve().parent.parent
GPU_CHECK_TRAIN = REPO / "results" / "gpu-check" / "train-7b.json"


@dataclass(frozen=True)
class Arch:
    """A decoder's shape: enough to count its parameters and size its activations."""

    name: str
    n_layers: int
    hidden: int
    intermediate: int
    n_heads: int
    n_kv_heads: int
    vocab: int
    tied_embeddings: bool = False

    @property
    def kv_dim(self) -> int:
        return self.hidden * self.n_kv_heads // self.n_heads

    def linear_params(self) -> int:
        """The decoder layers' projections: what 4-bit quantization applies to."""
        attn = 2 * self.hidden * self.hidden + 2 * self.hidden * self.kv_dim
        return self.n_layers * (attn + 3 * self.hidden * self.intermediate)

    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    def params(self) -> int:
        return self.linear_params() + self.embedding_params() + (2 * self.n_layers + 1) * self.hidden

    def lora_params(self, rank: int, modules: tuple[str, ...]) -> int:
        h, kv, i = self.hidden, self.kv_dim, self.intermediate
        shapes = {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }
        return self.n_layers * rank * sum(sum(shapes[m]) for m in modules if m in shapes)


LLAMA_2_7B = Arch("Llama-2-7B", 32, 4096, 11008, 32, 32, 32000)
LLAMA_3_1_8B = Arch("Llama-3.1-8B", 32, 4096, 14336, 32, 8, 128256)
MISTRAL_7B = Arch("Mistral-7B-v0.1", 32, 4096, 14336, 32, 8, 32000)  # its config.json
# Llama-2 shapes with the 55,296-token Chinese vocabulary (hfl's model cards; P3's gpu profile and its size axis)
CHINESE_LLAMA_2_7B = Arch("Chinese-LLaMA-2-7B", 32, 4096, 11008, 32, 32, 55296)
CHINESE_LLAMA_2_13B = Arch("Chinese-LLaMA-2-13B", 40, 5120, 13824, 40, 40, 55296)
# Bases the recipes name, by hub id (no hub is needed to plan).
KNOWN_ARCHS = {
    "unsloth/llama-2-7b": LLAMA_2_7B,
    "meta-llama/Llama-2-7b-hf": LLAMA_2_7B,
    "unsloth/llama-2-7b-bnb-4bit": LLAMA_2_7B,
    "unsloth/Meta-Llama-3.1-8B": LLAMA_3_1_8B,
    "unsloth/mistral-7b": MISTRAL_7B,
    "mistralai/Mistral-7B-v0.1": MISTRAL_7B,
    "hfl/chinese-llama-2-7b": CHINESE_LLAMA_2_7B,
    "hfl/chinese-llama-2-13b": CHINESE_LLAMA_2_13B,
}


def arch_of(base: str) -> Arch | None:
    """The shape of a recipe's base: a known hub id, or a local folder's config.json; None when unknown."""
    if base in KNOWN_ARCHS:
        return KNOWN_ARCHS[base]
    config = Path(base) / "config.json"
    if not config.is_file():
        return None
    c = json.loads(config.read_text())
    return Arch(
        c.get("_name_or_path") or Path(base).name,
        c["num_hidden_layers"],
        c["hidden_size"],
        c["intermediate_size"],
        c["num_attention_heads"],
        c.get("num_key_value_heads") or c["num_attention_heads"],
        c["vocab_size"],
        bool(c.get("tie_word_embeddings", False)),
    )


# --- tokens per example --------------------------------------------------------------------------------------

# Measured with `python -m kit.estimate lengths` on 2,000 records of each file in ../shared/data (2026-12-05):
# the kit's own tokenization (kit.backends.sft.tokenize_rows) under the gpu profile's vicuna_v1.1 template,
# SmolLM2's tokenizer standing in for Llama-2's (Llama-2's SentencePiece vocabulary is smaller: expect somewhat
# more tokens). ShareGPT: the file here is FastChat's short dummy set (85 tokens a chat), nothing like the real
# dump; the Tulu paper (Wang et al. 2023, "How Far Can Camels Go?", Table 1) gives 3.2 rounds of 71 + 357.8
# LLaMA tokens, ~1.37k tokens a conversation, so a ShareGPT row fills any max_seq_len_tokens up to 1024.
TOKENS_PER_EXAMPLE = {
    "openai/gsm8k": 221,  # ../shared/data/gsm8k/train.jsonl (median 207, max 574)
    "sahil2801/CodeAlpaca-20k": 125,  # ../shared/data/code_alpaca/code_alpaca_2k.json (median 110, max 607)
    "anon8231489123/ShareGPT_Vicuna_unfiltered": 1373,  # Tulu Table 1: 3.2 x (71.0 + 357.8), plus the template
}
MEASURED_FILES = {
    "openai/gsm8k": ("gsm8k/train.jsonl", "gsm8k"),
    "sahil2801/CodeAlpaca-20k": ("code_alpaca/code_alpaca_2k.json", "alpaca"),
}


def tokens_per_example(source: str, max_seq_len: int, default: float) -> float:
    """Mean training tokens of one row from ``source`` ("hf:<id>", "builtin:...", a file), cut at ``max_seq_len``;
    ``default`` (what this machine's runs measured) where nothing better is known."""
    kind, _, target = source.partition(":")
    known = TOKENS_PER_EXAMPLE.get(target) if kind == "hf" else None
    return min(float(known if known is not None else default), float(max_seq_len))


def measure_lengths(data_dir: Path, n: int = 2000) -> dict[str, dict]:
    """Tokens per row of the files in ``data_dir`` as TOKENS_PER_EXAMPLE records them (see its comment)."""
    import statistics

    from kit.backends.sft import tokenize_rows
    from kit.data.formats import read_local
    from kit.data.templates import training_template
    from kit.models import smollm2_tokenizer

    tokenizer = smollm2_tokenizer()
    tokenizer.chat_template = training_template("vicuna_v1.1")
    out = {}
    for dataset, (rel, fmt) in MEASURED_FILES.items():
        rows, _ = read_local(data_dir / rel, fmt, source_name=dataset)
        lengths = [len(r["input_ids"]) for r in tokenize_rows(tokenizer, rows[:n], 10**6)]
        out[dataset] = {
            "mean": round(statistics.mean(lengths), 1),
            "median": statistics.median(lengths),
            "max": max(lengths),
        }
    return out


# --- training memory -----------------------------------------------------------------------------------------

NF4_BYTES = 0.5 + 0.127 / 8  # 4 bits, plus double-quantized absmax (QLoRA paper: 0.127 bits a parameter)
LORA_BYTES = 4 + 4 + 8  # float32 weight and gradient, AdamW's two float32 states (the kit's optimizer)
CUDA_CONTEXT_BYTES = 0.5 * GIB  # the CUDA context and cuBLAS workspaces, outside torch's allocator
FRAGMENTATION = 1.10  # torch's caching allocator holds more than it hands out (for what comes and goes)
# Bytes a token of one decoder layer's recomputed activations takes, as c_h x hidden + c_i x intermediate (16-bit
# values: c = 2 x how many hidden-/intermediate-sized tensors live at once; c_i = 6: gate, up and their product),
# and a fixed workspace (dequantized weight tiles, the chunked loss's buffers, kernels' scratch). c_h and the
# workspace are fitted to Unsloth's published maximum contexts for Llama-3.1-8B, 4-bit QLoRA on every linear
# layer, rank 32, batch 1 (docs.unsloth.ai/basics/unsloth-benchmarks, "Context length benchmarks"; its notebooks
# train with 8-bit AdamW): 2,972 tokens on 8 GB, 21,848 on 12 GB (fitted), 40,724 on 16 GB (a check:
# tests/test_estimate.py). They absorb what the model leaves out, so they hold for this kind of model and setup.
ACT_HIDDEN_BYTES = 30
ACT_INTERMEDIATE_BYTES = 6
WORKSPACE_BYTES = 0.75 * GIB
ANCHORS = [  # (VRAM GiB, the longest sequence that trained at batch 1)
    (8, 2972),
    (12, 21848),
    (16, 40724),
]
ANCHOR = {"arch": LLAMA_3_1_8B, "rank": 32, "optimizer_state_bytes": 2}


@dataclass(frozen=True)
class Memory:
    parts: dict[str, float]  # bytes by what holds them

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def fits(self, vram_gib: float) -> bool:
        return self.total <= vram_gib * GIB

    def describe(self) -> str:
        parts = ", ".join(f"{k} {v / GIB:.2f}" for k, v in self.parts.items())
        return f"{self.total / GIB:.1f} GiB ({parts})"


def train_memory(
    arch: Arch,
    batch: int,
    seq: int,
    rank: int,
    *,
    modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    quantization: str = "nf4",
    backend: str = "unsloth",
    checkpointing: bool = True,
    trained_fraction: float = 1.0,
    optimizer_state_bytes: int = 8,
) -> Memory:
    """Peak VRAM of one training step at ``batch`` rows of ``seq`` tokens (the worst case: every row full).

    ``backend="unsloth"`` moves the layer checkpoints to system RAM and never materialises the whole logits
    (its chunked cross-entropy); ``"hf"`` keeps a checkpoint per layer on the GPU and computes 16-bit logits
    with their float32 copy and gradient for the trained positions (``trained_fraction`` of them: the kit's
    loss, kit.backends.sft.compact_lm_head_loss)."""
    tokens = batch * seq
    weight_bytes = NF4_BYTES if quantization == "nf4" else 2
    lora = arch.lora_params(rank, modules)
    per_token = ACT_HIDDEN_BYTES * arch.hidden + ACT_INTERMEDIATE_BYTES * arch.intermediate
    if not checkpointing:  # every layer's activations are kept for the backward pass
        per_token *= arch.n_layers
    parts = {
        "weights": arch.linear_params() * weight_bytes + arch.embedding_params() * 2,
        "lora+optimizer": lora * (LORA_BYTES - 8 + optimizer_state_bytes),
        "activations": tokens * per_token,
    }
    if backend != "unsloth":
        if checkpointing:
            parts["checkpoints"] = tokens * arch.n_layers * arch.hidden * 2
        parts["logits"] = tokens * trained_fraction * arch.vocab * (2 + 4 + 4)
    transient = ("activations", "checkpoints", "logits")
    parts = {k: v * (FRAGMENTATION if k in transient else 1) for k, v in parts.items()}
    parts["workspace"] = WORKSPACE_BYTES
    parts["cuda context"] = CUDA_CONTEXT_BYTES
    return Memory(parts)


def largest_batch(arch: Arch, seq: int, rank: int, vram_gib: float, most: int, **kwargs) -> int:
    """The largest power-of-two batch up to ``most`` whose step fits ``vram_gib`` (0 when not even 1 fits)."""
    batch = 0
    b = 1
    while b <= most:
        if train_memory(arch, b, seq, rank, **kwargs).fits(vram_gib):
            batch = b
        b *= 2
    return batch


# --- training throughput -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuClass:
    name: str
    vram_gib: float
    tflops: float  # dense 16-bit tensor-core TFLOP/s with float32 accumulation, from the vendor's spec sheet


# Vendor figures (dense, no sparsity). GeForce Ada cards: the "AI TOPS" NVIDIA lists are FP8 with sparsity; the
# FP16 rate with FP32 accumulation is an eighth of it (the Ada whitepaper's RTX 4090 table: 1,321 AI TOPS, 165
# dense FP16/FP32-accumulate TFLOP/s), at the laptop's highest power limit; a laptop at a lower limit is slower.
GPU_CLASSES = {
    "laptop-8gb": GpuClass("RTX 4060 Laptop GPU, 8 GB (233 AI TOPS)", 8, 233 / 8),
    "laptop-4070": GpuClass("RTX 4070 Laptop GPU, 8 GB (321 AI TOPS)", 8, 321 / 8),
    "t4": GpuClass("Tesla T4, 16 GB", 16, 65),
    "a100": GpuClass("A100 SXM, 80 GB", 80, 312),
    "h100": GpuClass("H100 SXM, 80 GB", 80, 989),
}
DEFAULT_GPU_CLASS = "laptop-8gb"  # the design card's target

# The published figure until the kit has measured its own: Unsloth's Llama-2-7B QLoRA benchmark as issue 9 quotes
# it (A100, batch 4, 1,024 tokens: ~3.7k tokens/s and ~7 GB). Not re-measured here.
REFERENCE_SPEED = {
    "what": "published: Unsloth, Llama-2-7B QLoRA, A100, batch 4 x 1024 tokens, ~3.7k tokens/s (as quoted in issue 9)",
    "tokens_per_second": 3700.0,
    "params": LLAMA_2_7B.params(),
    "tflops": GPU_CLASSES["a100"].tflops,
}


def flops_per_token(params: int) -> float:
    """Forward (2N), the checkpointed forward again (2N) and the backward to the inputs (2N)."""
    return 6.0 * params


def reference_mfu(measured: Path | None = None, batch: int | None = None) -> tuple[float, str]:
    """The model FLOP utilisation the estimates assume, and where it comes from: the kit's own ``make gpu-check``
    row for Unsloth (the batch nearest ``batch``) when there is one, else the published figure."""
    measured = GPU_CHECK_TRAIN if measured is None else measured
    if measured.is_file():
        rows = [
            r
            for r in json.loads(measured.read_text()).get("rows", [])
            if r.get("backend") == "unsloth" and r.get("mfu") and not r.get("error")
        ]
        if rows:
            want = batch or 4
            row = min(rows, key=lambda r: (abs(math.log2(r["batch_size"]) - math.log2(want)), -r["batch_size"]))
            return row["mfu"], (
                f"measured by make gpu-check: {row['device']}, batch {row['batch_size']} x {row['seq_len']}, "
                f"{row['tokens_per_second']:.0f} tokens/s"
            )
    ref = REFERENCE_SPEED
    mfu = ref["tokens_per_second"] * flops_per_token(ref["params"]) / (ref["tflops"] * 1e12)
    return mfu, ref["what"]


def throughput(arch: Arch, gpu: GpuClass, mfu: float) -> float:
    """Training tokens/s of ``arch`` on ``gpu`` at ``mfu``."""
    return mfu * gpu.tflops * 1e12 / flops_per_token(arch.params())


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="re-measure TOKENS_PER_EXAMPLE on ../shared/data")
    parser.add_argument("command", choices=["lengths"])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    print(json.dumps(measure_lengths(args.data), indent=1))


if __name__ == "__main__":
    main()
