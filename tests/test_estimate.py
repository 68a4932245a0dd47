"""The gpu profile's plan: tokens, peak training VRAM against published figures, and a stated speed model."""

from __future__ import annotations

import json

import pytest

from kit import estimate
from kit.estimate import GIB, LLAMA_2_7B, LLAMA_3_1_8B
from kit.recipe import load_recipe, shipped_recipes
from tests.conftest import SHARED_DATA

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def test_parameter_counts_match_the_published_models():
    assert LLAMA_2_7B.params() == 6_738_415_616  # transformers' count for meta-llama/Llama-2-7b-hf
    assert LLAMA_3_1_8B.params() == 8_030_261_248  # and for meta-llama/Llama-3.1-8B
    assert LLAMA_2_7B.lora_params(16, ALL_LINEAR) == 39_976_960  # PEFT's "trainable params" at r=16


@pytest.mark.parametrize(("vram_gib", "seq"), estimate.ANCHORS)
def test_memory_model_puts_unsloths_published_longest_contexts_at_the_cards_size(vram_gib, seq):
    a = estimate.ANCHOR
    mem = estimate.train_memory(a["arch"], 1, seq, a["rank"], optimizer_state_bytes=a["optimizer_state_bytes"])
    assert abs(mem.total / GIB - vram_gib) / vram_gib < 0.03, mem.describe()


def test_the_hf_fallback_needs_more_than_unsloth_and_largest_batch_is_the_edge():
    args = dict(arch=LLAMA_2_7B, seq=1024, rank=16)
    for b in (1, 4):
        assert estimate.train_memory(batch=b, backend="hf", **args).total > estimate.train_memory(batch=b, **args).total
    for backend in ("unsloth", "hf"):
        most = estimate.largest_batch(vram_gib=8, most=64, backend=backend, **args)
        assert most >= 1
        assert estimate.train_memory(batch=most, backend=backend, **args).fits(8)
        assert not estimate.train_memory(batch=2 * most, backend=backend, **args).fits(8)
    assert estimate.largest_batch(LLAMA_2_7B, 1024, 16, vram_gib=4, most=64) == 0  # 3.6 GiB of 4-bit weights alone


def test_every_shipped_gpu_profile_trains_within_8_gb_through_unsloth():
    for path in shipped_recipes():
        recipe = load_recipe(path, [], profile="gpu")
        arch = estimate.arch_of(recipe.model.base)
        if arch is None or recipe.train.quantization != "nf4":
            continue
        t = recipe.train
        mem = estimate.train_memory(
            arch, t.batch_size, recipe.model.max_seq_len_tokens, t.lora.rank, modules=tuple(t.lora.target_modules)
        )
        assert mem.fits(8), f"{path.name}: {mem.describe()}"


def test_speed_model_uses_the_kits_own_measurement_once_there_is_one(tmp_path):
    mfu, source = estimate.reference_mfu(tmp_path / "absent.json")
    assert "published" in source and 0.3 < mfu < 0.6
    rows = [
        {"backend": "unsloth", "batch_size": b, "seq_len": 1024, "tokens_per_second": tps, "mfu": m, "device": "H100"}
        for b, tps, m in ((1, 2000.0, 0.1), (2, 3500.0, 0.15), (4, 5000.0, 0.2))
    ] + [{"backend": "hf", "batch_size": 4, "seq_len": 1024, "tokens_per_second": 9e9, "mfu": 0.9, "device": "H100"}]
    measured = tmp_path / "train-7b.json"
    measured.write_text(json.dumps({"rows": rows}))
    assert estimate.reference_mfu(measured, batch=4) == (0.2, pytest.approx(estimate.reference_mfu(measured)[1]))
    mfu, source = estimate.reference_mfu(measured, batch=2)
    assert mfu == 0.15 and "make gpu-check" in source and "batch 2" in source
    laptop = estimate.GPU_CLASSES["laptop-8gb"]
    h100 = estimate.GPU_CLASSES["h100"]
    ratio = estimate.throughput(LLAMA_2_7B, h100, 0.2) / estimate.throughput(LLAMA_2_7B, laptop, 0.2)
    assert ratio == pytest.approx(h100.tflops / laptop.tflops)


def test_tokens_per_example_known_hub_sources_are_capped_at_the_sequence_length():
    assert estimate.tokens_per_example("hf:openai/gsm8k", 1024, 50) == 221
    assert estimate.tokens_per_example("hf:anon8231489123/ShareGPT_Vicuna_unfiltered", 1024, 50) == 1024
    assert estimate.tokens_per_example("builtin:math", 1024, 73.5) == 73.5
    assert estimate.tokens_per_example("hf:someone/else", 64, 120) == 64


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs ../shared/data")
def test_recorded_tokens_per_example_are_what_the_shared_files_measure(isolated):
    measured = estimate.measure_lengths(SHARED_DATA)
    for dataset, m in measured.items():
        assert estimate.TOKENS_PER_EXAMPLE[dataset] == round(m["mean"]), (dataset, m)


def test_gpu_plan_shows_counts_tokens_memory_and_its_speed_model(isolated, tmp_path, monkeypatch):
    from kit.plan import format_plan, measured_speed, plan

    monkeypatch.setattr(estimate, "GPU_CHECK_TRAIN", tmp_path / "no-gpu-check-yet.json")

    recipe = load_recipe("recipes/rq1.yaml", [], profile="gpu")
    speed = measured_speed(recipe.profile, recipe, None)
    lines = plan(recipe, speed)
    first = lines[0].stages[0]
    assert (first.examples, first.tokens) == (4000, 4000 * 221 * 3)  # pool 4000 at fraction 1, 3 epochs
    text = format_plan(recipe, lines, speed)
    assert "?" not in text.split("estimated time")[0]
    assert "6 x 6.74B params" in text and "published" in text
    assert "Unsloth (the gpu path), batch 4 x 1024 tokens (every row full)" in text and ": fits" in text
    assert "hf fallback" in text and "train.batch_size=2 train.grad_accum_steps=8" in text
    t4 = format_plan(recipe, lines, measured_speed(recipe.profile, recipe, "t4"))
    assert "on a t4 (Tesla T4, 16 GB)" in t4 and "of 16 GiB: fits" in t4


def test_a_cpu_plan_ignores_gpu_runs_and_the_reverse(tmp_path, monkeypatch):
    from kit import runs
    from kit.plan import measured_speed

    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))

    for device, tps in (("cuda", 4000.0), ("cpu", 200.0)):
        run = runs.kit_home() / "runs" / f"fake-{device}"
        (run / "train").mkdir(parents=True)
        runs.write_json(run / "hardware.json", {"device": device})
        runs.write_json(run / "train" / "DONE.json", {"tokens_per_second": tps, "train_seconds": 60})
    assert measured_speed("cpu")["tokens_per_s"] == 200.0
    assert measured_speed("gpu")["tokens_per_s"] == 4000.0


def test_plan_total_counts_a_shared_stage_once_and_covers_its_training(isolated, tmp_path, monkeypatch):
    from kit.plan import measured_speed, plan

    monkeypatch.setattr(estimate, "GPU_CHECK_TRAIN", tmp_path / "no-gpu-check-yet.json")
    recipe = load_recipe("recipes/rq4.yaml", [], profile="gpu")
    speed = measured_speed(recipe.profile, recipe, None)
    lines = plan(recipe, speed)
    stages = {st.run_id: st.tokens for ln in lines for st in ln.stages}
    assert len(stages) < sum(len(ln.stages) for ln in lines)  # DMT's stage 1 is shared across k
    total = sum(ln.estimate_s for ln in lines)
    assert total > sum(stages.values()) / speed["tokens_per_s"]


def test_a_gpu_plan_for_a_base_of_unknown_shape_says_so_instead_of_guessing(isolated):
    from kit.plan import format_plan, measured_speed, plan

    recipe = load_recipe("recipes/rq1.yaml", ["model.base=someone/other-7b"], profile="gpu")
    speed = measured_speed(recipe.profile, recipe, None)
    lines = plan(recipe, speed)
    assert all(line.estimate_s is None for line in lines)
    text = format_plan(recipe, lines, speed)
    assert "estimated time: unknown: someone/other-7b's shape is not known offline" in text
    assert text.splitlines()[2].rstrip().endswith("?")
