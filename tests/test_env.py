"""Hardware choices: impossible requests fail loudly, automatic ones say why."""

from __future__ import annotations

import os

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


@pytest.mark.parametrize(
    ("capability", "auto"),
    [
        ((7, 5), "float16"),
        ((7, 0), "float16"),
        ((6, 1), "float16"),
        ((8, 0), "bfloat16"),
        ((8, 6), "bfloat16"),
        ((9, 0), "bfloat16"),
    ],
)
def test_bf16_is_chosen_by_compute_capability_not_by_emulated_support(monkeypatch, capability, auto):
    # Turing/Volta answer torch.cuda.is_bf16_supported() == True through emulation; the kit must not believe it
    monkeypatch.setattr(env, "cuda_available", lambda: True)
    monkeypatch.setattr(env, "cuda_capability", lambda: capability)
    monkeypatch.setattr(env, "_device_name", lambda cuda: "a faked GPU")
    monkeypatch.setattr(env.importlib.util, "find_spec", lambda name: None)  # no unsloth: the hf backend
    hw = env.choose("auto", "auto", "none")
    assert (hw.device, hw.dtype) == ("cuda", auto)
    assert env.choose("hf", "float16", "none").dtype == "float16"
    if auto == "float16":
        with pytest.raises(env.EnvError, match=r"compute capability \d\.\d\) has no native bfloat16"):
            env.choose("hf", "bfloat16", "none")
    else:
        assert env.choose("hf", "bfloat16", "none").dtype == "bfloat16"


def test_unsloth_is_told_not_to_phone_home_and_to_compile_into_the_kit_cache(monkeypatch, tmp_path):
    from kit.backends import worker

    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    for name in ("UNSLOTH_DISABLE_STATISTICS", "UNSLOTH_COMPILE_LOCATION"):
        monkeypatch.setenv(name, "recorded, so that teardown restores it")
        monkeypatch.delenv(name)
    worker.unsloth_environment()
    assert os.environ["UNSLOTH_DISABLE_STATISTICS"] == "1"
    assert os.environ["UNSLOTH_COMPILE_LOCATION"] == str(tmp_path / "unsloth_compiled_cache")
