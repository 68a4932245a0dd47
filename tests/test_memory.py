"""GPU placement of a GGUF and its KV cache: fits the free VRAM, degrades in the stated order, CPU untouched."""

from __future__ import annotations

import pytest

from kit.eval.memory import GIB, ModelShape, gpu_bytes, model_shape, place, reserve_bytes

# Llama-2-7B: 32 layers, 32 KV heads of 128 (no grouped-query attention), f16 K and V
LLAMA2_KV = 32 * 32 * (128 + 128) * 2
Q4_K_M_7B = ModelShape(int(3.8 * GIB), 32, LLAMA2_KV)
F16_7B = ModelShape(int(12.6 * GIB), 32, LLAMA2_KV)


def test_without_cuda_nothing_changes():
    p = place(Q4_K_M_7B, None, 2048, 8, extra_ctx=2048)
    assert (p.n_gpu_layers, p.n_seq, p.flash_attn, p.kv_type) == (0, 8, False, "f16")


def test_a_big_gpu_takes_everything_in_f16():
    p = place(Q4_K_M_7B, 79 * GIB, 2048, 8, extra_ctx=2048)
    assert (p.n_gpu_layers, p.n_seq, p.flash_attn, p.kv_type) == (-1, 8, True, "f16")


def test_an_8gb_laptop_quantizes_the_cache_then_decodes_fewer_sequences_but_keeps_every_layer():
    # 8 sequences of 2048 tokens need 8 GiB of f16 cache beside 3.8 GiB of weights
    p = place(Q4_K_M_7B, int(7.6 * GIB), 2048, 8, extra_ctx=2048)
    assert p.n_gpu_layers == -1 and p.kv_type == "q8_0" and p.flash_attn
    assert 1 <= p.n_seq < 8
    # the task's real length (a 600-token GSM8K prompt + answer) lets all 8 sequences decode together
    assert place(Q4_K_M_7B, int(7.6 * GIB), 768, 8, extra_ctx=768).n_seq == 8


def test_an_f16_7b_on_8gb_keeps_part_of_its_layers_on_the_cpu():
    p = place(F16_7B, int(7.6 * GIB), 2048, 1)
    assert 0 < p.n_gpu_layers < 32 and p.n_seq == 1 and "layers on the GPU" in p.reason


@pytest.mark.parametrize("free_gib", [0.6, 2, 4, 5, 6, 7.6, 11, 16, 24, 40, 80])
@pytest.mark.parametrize("shape", [Q4_K_M_7B, F16_7B])
def test_what_is_placed_on_the_gpu_fits_its_budget(free_gib, shape):
    free = int(free_gib * GIB)
    for n_ctx, n_seq in [(512, 1), (2048, 8), (4096, 8)]:
        p = place(shape, free, n_ctx, n_seq, extra_ctx=n_ctx)
        assert gpu_bytes(shape, p, n_ctx, extra_ctx=n_ctx) <= free - reserve_bytes(free)
        assert p.n_seq >= 1 and p.reason


def test_the_shape_comes_from_the_gguf_header(tmp_path, isolated):
    from kit.export.gguf import convert
    from kit.export.merge import merge
    from kit.models import resolve_base

    merge(resolve_base("tiny-random-llama"), None, tmp_path / "hf", "smollm2")
    convert(tmp_path / "hf", tmp_path / "model.gguf", "f16")
    shape = model_shape(tmp_path / "model.gguf")
    # tiny-random-llama: 2 layers, hidden 64, 2 heads (head dim 32), 1 KV head
    assert (shape.n_layers, shape.kv_bytes_per_token) == (2, 2 * 1 * (32 + 32) * 2)
    assert shape.file_bytes == (tmp_path / "model.gguf").stat().st_size
