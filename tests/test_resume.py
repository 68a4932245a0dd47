"""A sweep killed mid-training resumes on the next call and ends with exactly what an uninterrupted
sweep produces (same adapter bytes, same completions, same scores)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, write_recipe

RECIPE = """
name: resume
model: {base: tiny-random-llama, max_seq_len_tokens: 160}
sources:
  math: {source: "builtin:math", pool_n: 24}
grid:
  fractions: [1]
  arms: [{name: math, sources: [math], tasks: [builtin_math]}]
train: {epochs: 2, batch_size: 4, lora: {rank: 4, alpha: 8}}
export: {parity_prompts: 1, parity_max_tokens: 8}
eval: {tasks: [{task: builtin_math, n: 3}]}
"""


def sweep(recipe: Path, home: Path, results: Path) -> subprocess.Popen:
    env = {**os.environ, "KIT_HOME": str(home), "KIT_RESULTS": str(results), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "kit", "sweep", str(recipe), "--profile", "cpu"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def link_shared(home: Path, kit_home: Path) -> None:
    home.mkdir()
    for shared in ("downloads", "llama.cpp", "models"):
        if (kit_home / shared).exists():
            (home / shared).symlink_to((kit_home / shared).resolve())


def outcome(home: Path, results: Path) -> dict:
    out = {}
    for summary_path in sorted((results / "resume" / "runs").glob("*.json")):
        summary = json.loads(summary_path.read_text())
        run = Path(summary["run_dir"]).relative_to(home)
        adapter = (home / run / "train" / "adapter_model.safetensors").read_bytes()
        items = sorted((home / run).glob("export/*/eval/*/items.jsonl"))
        out[summary_path.stem] = (
            str(run),
            summary["scores"]["builtin_math"]["score"],
            adapter,
            [json.loads(line)["completion"] for line in items[0].read_text().splitlines()],
        )
    return out


def test_killed_sweep_resumes_to_the_same_result_as_an_uninterrupted_one(tmp_path, kit_home, isolated):
    from kit.models import resolve_base

    resolve_base("tiny-random-llama")  # build the shared test model once, outside the timed processes
    recipe = write_recipe(tmp_path / "resume.yaml", RECIPE)
    link_shared(home_a := tmp_path / "a", kit_home)
    link_shared(home_b := tmp_path / "b", kit_home)

    proc = sweep(recipe, home_a, tmp_path / "res_a")
    deadline = time.time() + 120
    while time.time() < deadline and not any("'loss'" in p.read_text() for p in home_a.glob("runs/*/train.log")):
        time.sleep(0.2)  # wait until the first run's worker has logged a training step: mid-training
    assert proc.poll() is None, "the sweep finished before it could be killed; make the recipe slower"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not any(home_a.glob("runs/*/train/DONE.json")), "killed before any training finished"

    assert sweep(recipe, home_a, tmp_path / "res_a").wait(timeout=300) == 0
    assert sweep(recipe, home_b, tmp_path / "res_b").wait(timeout=300) == 0
    resumed, clean = outcome(home_a, tmp_path / "res_a"), outcome(home_b, tmp_path / "res_b")
    assert set(resumed) == {"math-f1"}
    assert resumed == clean
    assert not list(home_a.glob("runs/*/.*.partial")), "the killed attempt's scratch folder was cleaned up"


def test_two_sweeps_started_at_once_on_one_kit_home_finish_like_one(tmp_path, kit_home, isolated):
    from kit.models import resolve_base

    resolve_base("tiny-random-llama")
    recipe = write_recipe(tmp_path / "resume.yaml", RECIPE)
    link_shared(home_one := tmp_path / "one", kit_home)
    link_shared(home := tmp_path / "shared", kit_home)
    first, second = sweep(recipe, home, tmp_path / "res_1"), sweep(recipe, home, tmp_path / "res_2")
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
    assert sweep(recipe, home_one, tmp_path / "res_one").wait(timeout=300) == 0
    alone = outcome(home_one, tmp_path / "res_one")
    assert outcome(home, tmp_path / "res_1") == alone and outcome(home, tmp_path / "res_2") == alone
    assert len(list(home.glob("runs/*/train/DONE.json"))) == 1  # trained once, by whichever came first
    assert not list(home.glob("runs/**/.*.partial"))
