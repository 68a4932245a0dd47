"""`ls` (kit/listing.py, printed by kit/cli.py) and the global flags every command takes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from kit import cli, listing, runs
from kit.data.builtin import GENERATORS, get_generator
from kit.data.formats import KNOWN_HUB_FORMATS
from kit.eval.tasks import TASKS, get_task
from kit.recipe import PROFILES, load_recipe, shipped_recipes
from tests.conftest import REPO

KEY = {"model": {"base": "tiny-base"}, "data": {"mixture": [{"source": "builtin:math", "n": 8}], "seed": 0}}


def accuracy(score: float, stderr: float, n: int) -> dict:
    return {"accuracy": {"score": score, "stderr": stderr, "n": n, "kind": "generation", "per_item": {}}}


def fake_home(home) -> tuple[str, str]:
    """Two stages of one run (the second names the first as its parent), the first exported and scored: a current
    result, a dense pass, a result from before per-item metrics, a half-written one and an unfinished export."""
    first, second = runs.run_dir(KEY), runs.run_dir({**KEY, "parent": runs.content_hash(KEY)})
    runs.write_json(first.key, KEY)
    runs.write_json(second.key, {**KEY, "parent": runs.content_hash(KEY)})
    runs.mark_done(first.data, {"rows": 8})
    runs.mark_done(first.train, {"steps": 2, "loss_curve": []})
    export = first.path / "export" / "abc"
    runs.mark_done(export, {"quant": "Q8_0"})
    evals = runs.eval_root(export)
    runs.mark_done(evals / "builtin_math-1", {"task": "builtin_math", "metrics": accuracy(0.75, 0.05, 16)})
    dense = {"dense_rank": {"score": 0.6, "stderr": 0.1, "n": 12, "kind": "dense"}}
    runs.mark_done(evals / "builtin_math-dense-2", {"task": "builtin_math", "dense_n": 12, "metrics": dense})
    runs.mark_done(evals / "builtin_general-3", {"task": "builtin_general", "score": 0.5, "n_items": 4})
    (evals / "gsm8k-4").mkdir()
    (evals / "gsm8k-4" / "DONE.json").write_text('{"task": "gsm')  # cut short: skipped, never fatal
    (first.path / "export" / "unfinished").mkdir()
    runs.mark_done(home / "baselines" / "b1" / "export", {"quant": "Q8_0"})
    return first.id, second.id


def test_cached_runs_read_stages_data_training_exports_and_scores_from_done_files(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("KIT_HOME", str(home))
    first, second = fake_home(home)
    records = {r["id"]: r for r in listing.cached_runs()}
    assert records[first]["stage"] == 1 and records[second]["stage"] == 2
    assert records[first]["base"] == "tiny-base" and records[first]["mixture"] == ["builtin:math n=8"]
    assert (records[first]["rows"], records[first]["trained"], records[first]["steps"]) == (8, True, 2)
    assert (records[second]["rows"], records[second]["trained"], records[second]["exports"]) == (None, False, [])
    (export,) = records[first]["exports"]
    assert export["quant"] == "Q8_0"
    assert export["evals"] == [
        {"task": "builtin_general", "pass": "generation", "score": 0.5, "stderr": None, "n": 4},
        {"task": "builtin_math", "pass": "generation", "score": 0.75, "stderr": 0.05, "n": 16},
        {"task": "builtin_math", "pass": "dense", "score": 0.6, "stderr": 0.1, "n": 12},
    ]
    assert records["b1"]["kind"] == "baseline" and records["b1"]["exports"][0]["quant"] == "Q8_0"


def test_a_stage_whose_parent_is_not_cached_counts_the_parent():
    assert listing.stage_number("c", {"c": "b", "b": "a", "a": None}) == 3
    assert listing.stage_number("c", {"c": "gone"}) == 2
    assert listing.stage_number("x", {"x": "y", "y": "z", "z": "y"}) == 3  # a cycle (never written) ends


def ls(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        cli.main(list(argv))
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_ls_runs_prints_each_score_with_its_standard_error_and_n(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("KIT_HOME", str(home))
    first, second = fake_home(home)
    out = ls(capsys, "ls", "runs")
    assert f"{first}  tiny-base  stage 1  8 rows [builtin:math n=8]  trained (2 steps)  Q8_0" in out
    assert f"{second}  tiny-base  stage 2" in out and "not trained  not exported" in out
    assert "builtin_math: 0.750 ± 0.050 (n=16)" in out and "builtin_math dense: 0.600 ± 0.100 (n=12)" in out
    assert "builtin_general: 0.500 (n=4)" in out
    assert json.loads(ls(capsys, "ls", "runs", "--json")) == json.loads(json.dumps(listing.cached_runs()))


def test_ls_tasks_names_every_task_with_its_version_ability_and_subsets(capsys):
    out = ls(capsys, "ls", "tasks")
    for name in TASKS:
        task = get_task(name)
        assert any(line.split()[:2] == [name, task.VERSION] for line in out.splitlines()), name
        for subset in getattr(task, "SUBSETS", ()):
            assert subset in out
    assert any(line.split()[:3] == ["gsm8k", get_task("gsm8k").VERSION, "math"] for line in out.splitlines())


def test_ls_sources_names_every_generator_with_its_version_and_the_known_hub_datasets(capsys):
    out = ls(capsys, "ls", "sources")
    for name in GENERATORS:
        assert any(line.split()[:2] == [f"builtin:{name}", get_generator(name).VERSION] for line in out.splitlines())
    for dataset, (fmt, _) in KNOWN_HUB_FORMATS.items():
        assert any(line.split()[:2] == [f"hf:{dataset}", fmt] for line in out.splitlines())


def test_ls_recipes_counts_each_shipped_recipes_runs_per_profile(capsys):
    out = ls(capsys, "ls", "recipes")
    for path in shipped_recipes():
        counts = []
        for profile in PROFILES:
            recipe = load_recipe(path, profile=profile)
            counts.append(f"{profile}:{len(recipe.runs()) if recipe.grid else 1}")
        assert any(line.split()[: 1 + len(PROFILES)] == [path.stem, *counts] for line in out.splitlines())


def test_ls_imports_no_torch_transformers_or_llama_cpp(tmp_path):
    """`ls` is for a quick look: a fresh process, every listing, and none of the heavy packages loaded."""
    home = tmp_path / "home"
    code = (
        "import sys\nfrom kit.cli import main\n"
        "try:\n    main(['ls'])\nexcept SystemExit as stop:\n    assert not stop.code\n"
        "print(sorted(m for m in ('torch', 'transformers', 'llama_cpp', 'trl', 'peft') if m in sys.modules))"
    )
    env = {**os.environ, "KIT_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"
    assert "tasks (" in proc.stdout and "recipes (" in proc.stdout and "runs: 0 cached stages" in proc.stdout


@pytest.fixture
def root_level():
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


@pytest.mark.parametrize("before", [True, False], ids=["before-the-command", "after-it"])
def test_home_and_results_flags_beat_the_environment(before, tmp_path, monkeypatch, capsys, root_level):
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("KIT_RESULTS", str(tmp_path / "env-results"))
    flags = ["--home", str(tmp_path / "flag-home"), "--results", str(tmp_path / "flag-results")]
    out = ls(capsys, *(flags + ["ls", "runs"] if before else ["ls", "runs", *flags]))
    assert f"no cached runs under {tmp_path / 'flag-home'}" in out
    assert runs.results_root() == tmp_path / "flag-results"


@pytest.mark.parametrize(("flag", "level"), [("-v", logging.DEBUG), ("-q", logging.WARNING), (None, logging.INFO)])
def test_verbose_and_quiet_set_the_log_level_and_quiet_turns_progress_bars_off(
    flag, level, tmp_path, monkeypatch, capsys, root_level
):
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    for var in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(var, raising=False)  # restored after the test: -q sets them for the whole process
    ls(capsys, *([flag] if flag else []), "ls", "runs")
    assert logging.getLogger().level == level
    assert os.environ.get("TQDM_DISABLE") == ("1" if flag == "-q" else None)


def test_verbose_and_quiet_cannot_be_given_together(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["-v", "-q", "ls"])
    assert stop.value.code == 2
