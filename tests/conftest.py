"""Shared fixtures: a throwaway cache and results folder per test session, offline hub."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: the real SmolLM2 chain (minutes); run with `make test-slow`")
    config.addinivalue_line("markers", "gpu: needs CUDA (Unsloth); run with `make test-gpu`")
    # transformers/trl deprecations are theirs to fix, not ours; they drown the test report
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning")
    config.addinivalue_line("filterwarnings", "ignore::FutureWarning")


@pytest.fixture(scope="session")
def kit_home(tmp_path_factory) -> Path:
    """A session cache; the llama.cpp sdist and converter are shared with the user's cache to save the download."""
    home = tmp_path_factory.mktemp("kit_home")
    user = Path(os.environ.get("KIT_HOME") or Path.home() / ".cache" / "sftkit")
    for shared in ("downloads", "llama.cpp"):
        if (user / shared).is_dir():
            (home / shared).symlink_to(user / shared)
    return home


@pytest.fixture
def isolated(kit_home, tmp_path, monkeypatch) -> Path:
    """KIT_HOME and KIT_RESULTS pointing at throwaway folders; returns the results folder."""
    monkeypatch.setenv("KIT_HOME", str(kit_home))
    results = tmp_path / "results"
    monkeypatch.setenv("KIT_RESULTS", str(results))
    return results


# The training and export of a tiny scored run, shared by the test modules that need one (one cached stage and GGUF
# serve them all in a session); each adds its name and its own eval: section.
TINY_TRAINED = """
model: {base: tiny-random-llama, chat_template: smollm2, max_seq_len_tokens: 160}
data:
  mixture:
    - {source: "builtin:math_easy", n: 8}
train: {max_steps: 2, batch_size: 4, lora: {rank: 4, alpha: 8}}
export: {quant: Q8_0, parity_prompts: 1, parity_max_tokens: 8}
"""


@contextlib.contextmanager
def tiny_run(tmp_path_factory, kit_home: Path, text: str, **run_kwargs):
    """A recipe (YAML ``text``) run for real with the session's cache and a results folder of its own, for a
    module-scoped fixture: yields (recipe file, recipe, summary, results folder)."""
    from kit.pipeline import run_recipe
    from kit.recipe import load_recipe

    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    results = tmp_path_factory.mktemp("results")
    mp.setenv("KIT_RESULTS", str(results))
    try:
        path = write_recipe(tmp_path_factory.mktemp("r") / "tiny.yaml", text)
        recipe = load_recipe(path, profile="cpu")
        yield path, recipe, run_recipe(recipe, **run_kwargs), results
    finally:
        mp.undo()


def write_recipe(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def ok_summary(**fields) -> dict:
    """A complete successful run summary (kit.report.summary.RunSummary) with ``fields`` replaced: tests build
    summaries through this, so a change of the summary's shape fails them (validate_summary)."""
    summary = {
        "recipe": "r",
        "run_id": "abc123",
        "run_dir": "/tmp/runs/abc123",
        "profile": "cpu",
        "grid": None,
        "status": "ok",
        "scores": {},
        "skipped_tasks": [],
        "baseline_scores": None,
        "parity": {"passed": True, "matched": 2, "near_ties": 0, "total": 2, "version": "3"},
        "train": {"train_seconds": 1.0},
        "data": {"total": 3},
        "stages": [{"name": "sft", "run_id": "abc123", "reused": False, "examples": 3, "train_seconds": 1.0}],
        "export": {"quant": "Q8_0", "gguf": "/tmp/model-Q8_0.gguf", "gguf_bytes": 1},
        "timings_s_this_invocation": {},
        "phase_seconds": {},
        "resolved_recipe": {},
        "provenance": {"device": "cpu"},
    }
    unknown = set(fields) - set(summary)
    assert not unknown, f"not summary keys: {unknown}"
    return {**summary, **fields}
