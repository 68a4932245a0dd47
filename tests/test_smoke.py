"""The real chain: SmolLM2-135M trained on built-in math, exported, parity-checked and scored
(`make test-slow`; several minutes on 2 cores). Uses the user's cache, so a finished smoke run is reused."""

from __future__ import annotations

import pytest

from kit.recipe import load_recipe
from tests.conftest import REPO


@pytest.mark.slow
def test_smoke_recipe_learns_the_math_format_and_exports_faithfully(tmp_path, monkeypatch):
    from kit.pipeline import run_recipe

    monkeypatch.setenv("KIT_RESULTS", str(tmp_path))
    summary = run_recipe(load_recipe(REPO / "recipes" / "smoke.yaml", profile="cpu"))
    assert summary["parity"]["passed"]
    after, before = summary["scores"]["builtin_math"]["score"], summary["baseline_scores"]["builtin_math"]["score"]
    assert after > before, (before, after)
    assert summary["train"]["loss_last"] < summary["train"]["loss_first"]


@pytest.mark.gpu
def test_unsloth_backend_trains_the_tiny_model_on_cuda(tmp_path, monkeypatch, kit_home):
    from kit.env import cuda_available

    if not cuda_available():
        pytest.skip("needs a CUDA GPU")
    pytest.importorskip("unsloth")
    from kit.pipeline import run_recipe

    monkeypatch.setenv("KIT_HOME", str(kit_home))
    monkeypatch.setenv("KIT_RESULTS", str(tmp_path))
    recipe = load_recipe(
        REPO / "recipes" / "smoke.yaml",
        ["model.base=tiny-random-llama", "train.backend=unsloth", "train.max_steps=3", "eval.tasks.0.n=2"],
        profile="gpu",
    )
    summary = run_recipe(recipe)
    assert summary["provenance"]["backend"] == "unsloth"
    assert summary["parity"]["passed"]
