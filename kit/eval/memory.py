"""Where a GGUF and its KV cache go on a GPU: a pure function of free VRAM and the model's shape (``place``).

The engine asks it before loading a model on CUDA; on a CPU nothing changes (every layer stays on the CPU,
f16 KV cache, no flash attention, the recipe's context and batch). On an 8 GB laptop GPU a 7B Q4_K_M model
(3.9 GiB) leaves ~3 GiB for the KV cache, while 8 sequences of 2048 tokens need 8 GiB in f16: the cache is
quantized to q8_0 (flash attention on, which llama.cpp needs for a quantized V cache), then fewer sequences
decode together, and only when one sequence does not fit do layers stay on the CPU. Every choice comes with
its reason, which the engine logs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

GIB = 1024**3
Q8_0_PER_F16 = 34 / 64  # a q8_0 block stores 32 values in 34 bytes, f16 in 64


@dataclass(frozen=True)
class ModelShape:
    file_bytes: int
    n_layers: int
    kv_bytes_per_token: int  # f16 K and V over every layer


@dataclass(frozen=True)
class Placement:
    n_gpu_layers: int  # -1: every layer; 0: none
    n_seq: int  # sequences decoded together (the batched context's slots)
    flash_attn: bool
    kv_type: str  # "f16" or "q8_0"
    reason: str


def reserve_bytes(free_bytes: int) -> int:
    """VRAM kept free for llama.cpp's compute buffers and CUDA's own allocations."""
    return max(GIB // 2, free_bytes // 10)


def place(
    shape: ModelShape | None, free_bytes: int | None, n_ctx_seq: int, n_seq: int, extra_ctx: int = 0
) -> Placement:
    """How to load ``shape`` so that ``n_seq`` sequences of ``n_ctx_seq`` tokens (and ``extra_ctx`` tokens of a
    one-at-a-time context) fit in ``free_bytes`` of VRAM; ``free_bytes=None`` means no CUDA GPU."""
    if free_bytes is None:
        return Placement(0, n_seq, False, "f16", "no CUDA GPU: every layer on the CPU")
    budget = free_bytes - reserve_bytes(free_bytes)
    left = budget - shape.file_bytes

    def fitting(scale: float) -> int:  # how many sequences fit next to the weights and the one-at-a-time context
        fixed = shape.kv_bytes_per_token * scale * extra_ctx
        return int((left - fixed) // (shape.kv_bytes_per_token * scale * n_ctx_seq)) if left > fixed else 0

    weights = f"{_gib(free_bytes)} free, weights {_gib(shape.file_bytes)}"
    for kv_type, scale in (("f16", 1.0), ("q8_0", Q8_0_PER_F16)):
        if fitting(scale) >= n_seq:
            why = f"every layer on the GPU, {kv_type} KV cache for {n_seq} sequences x {n_ctx_seq} tokens ({weights})"
            return Placement(-1, n_seq, True, kv_type, why)
    seqs = fitting(Q8_0_PER_F16)
    if seqs >= 1:
        why = f"every layer on the GPU, q8_0 KV cache; {seqs} of {n_seq} sequences x {n_ctx_seq} tokens fit ({weights})"
        return Placement(-1, seqs, True, "q8_0", why)
    # Not even one sequence with the whole model on the GPU: one sequence, and as many layers as fit with their
    # share of its q8_0 cache (the other layers and their cache stay on the CPU).
    per_layer = (shape.file_bytes + shape.kv_bytes_per_token * Q8_0_PER_F16 * (n_ctx_seq + extra_ctx)) / shape.n_layers
    layers = max(0, min(shape.n_layers - 1, int(budget // per_layer)))
    why = f"{layers} of {shape.n_layers} layers on the GPU, one sequence ({weights}): slower, but it fits"
    return Placement(layers, 1, True, "q8_0", why)


def gpu_bytes(shape: ModelShape, placement: Placement, n_ctx_seq: int, extra_ctx: int = 0) -> float:
    """What ``placement`` puts on the GPU: weights and KV cache of the layers there (the estimate ``place`` uses)."""
    if placement.n_gpu_layers == 0:
        return 0.0
    share = 1.0 if placement.n_gpu_layers == -1 else placement.n_gpu_layers / shape.n_layers
    scale = 1.0 if placement.kv_type == "f16" else Q8_0_PER_F16
    kv = shape.kv_bytes_per_token * scale * (n_ctx_seq * placement.n_seq + extra_ctx)
    return share * (shape.file_bytes + kv)


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.1f} GiB"


def model_shape(gguf_path: Path) -> ModelShape:
    """File size, layers and f16 KV bytes per token, read from the GGUF header (no weights are loaded)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))

    def field(key: str, default=None):
        f = reader.fields.get(key)
        return default if f is None else f.parts[f.data[0]]

    arch = bytes(field("general.architecture")).decode()
    n_layers = int(field(f"{arch}.block_count")[0])
    heads = int(field(f"{arch}.attention.head_count")[0])
    heads_kv = int(field(f"{arch}.attention.head_count_kv", [heads])[0])
    width = int(field(f"{arch}.embedding_length")[0])
    key_len = int(field(f"{arch}.attention.key_length", [width // heads])[0])
    value_len = int(field(f"{arch}.attention.value_length", [width // heads])[0])
    kv = n_layers * heads_kv * (key_len + value_len) * 2  # f16: 2 bytes a value
    return ModelShape(Path(gguf_path).stat().st_size, n_layers, kv)


def free_vram() -> int | None:
    """Free bytes on the first CUDA device, or None without one."""
    from kit.env import cuda_available

    if not cuda_available():
        return None
    import torch

    return int(torch.cuda.mem_get_info(0)[0])
