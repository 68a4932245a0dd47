"""Hardware choices: impossible requests fail loudly, automatic ones say why."""

from __future__ import annotations

import pytest

from kit import env


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(env, "cuda_available", lambda: False)


def test_unsloth_without_cuda_is_a_clear_error(no_cuda):
    with pytest.raises(env.EnvError, match="needs a CUDA GPU.*train.backend=hf"):
        env.choose("unsloth", "auto", "none")


def test_auto_on_cpu_picks_hf_and_says_why(no_cuda):
    hw = env.choose("auto", "auto", "none")
    assert (hw.backend, hw.device, hw.dtype) == ("hf", "cpu", "float32")
    assert "no CUDA" in hw.reason


def test_float16_training_on_cpu_is_refused(no_cuda):
    with pytest.raises(env.EnvError, match="float16 needs a GPU"):
        env.choose("hf", "float16", "none")


def test_profile_can_be_forced_by_environment(monkeypatch):
    monkeypatch.setenv("KIT_PROFILE", "gpu")
    assert env.detect_profile() == "gpu"
    monkeypatch.setenv("KIT_PROFILE", "tpu")
    with pytest.raises(env.EnvError, match="KIT_PROFILE"):
        env.detect_profile()
