"""Content-addressed run ids and atomic phases."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit import runs
from kit.recipe import load_recipe
from tests.conftest import REPO, write_recipe

RECIPE = """
name: {name}
model: {{base: tiny-random-llama}}
data:
  mixture:
    - {{source: "builtin:math", n: 8}}
train: {{learning_rate: {lr}}}
eval: {{tasks: [{{task: {task}, n: 2}}]}}
"""


def key_of(tmp_path, name="a", lr=0.0002, task="builtin_math", backend="hf"):
    path = write_recipe(tmp_path / f"{name}.yaml", RECIPE.format(name=name, lr=lr, task=task))
    return runs.content_hash(runs.train_key(load_recipe(path, profile="cpu").to_dict(), backend, "float32"))


def test_run_id_is_stable_across_loads(tmp_path):
    assert key_of(tmp_path) == key_of(tmp_path)


def test_run_id_ignores_recipe_name_and_eval_settings(tmp_path):
    assert key_of(tmp_path, name="a") == key_of(tmp_path, name="b", task="builtin_general")


def test_run_id_changes_with_training_settings_and_backend(tmp_path):
    base = key_of(tmp_path)
    assert key_of(tmp_path, lr=0.001) != base
    assert key_of(tmp_path, backend="unsloth") != base


def test_content_hash_ignores_key_order():
    assert runs.content_hash({"a": 1, "b": [1, 2]}) == runs.content_hash({"b": [1, 2], "a": 1})


def test_staging_leaves_nothing_behind_when_interrupted(tmp_path):
    final = tmp_path / "phase"
    with pytest.raises(KeyboardInterrupt), runs.staging(final) as tmp:
        (tmp / "half.bin").write_text("x")
        raise KeyboardInterrupt
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


KILLED = """
import os, sys
from pathlib import Path
from kit import runs
with runs.staging(Path(sys.argv[1])) as tmp:
    (tmp / "adapter.bin").write_text("half")
    os._exit(9)  # killed mid-phase: no exception handler, no cleanup
"""


def test_a_half_written_phase_is_not_taken_for_a_finished_one(tmp_path):
    final = tmp_path / "train"
    done = subprocess.run([sys.executable, "-c", KILLED, str(final)], cwd=REPO, timeout=60)
    assert done.returncode == 9
    assert list(tmp_path.glob(".train.*.partial")), "the killed attempt's scratch folder is there"
    assert not final.exists() and not runs.is_done(final)
    final.mkdir()
    (final / "adapter.bin").write_text("half")  # files without DONE.json (an older kit, a hand copy)
    assert not runs.is_done(final)
    with runs.locked(final):
        assert not runs.is_done(final)  # so the next attempt builds it again
        with runs.staging(final) as tmp:
            (tmp / "adapter.bin").write_text("whole")
            runs.mark_done(tmp, {})
    assert runs.is_done(final) and (final / "adapter.bin").read_text() == "whole"
    assert not list(tmp_path.glob(".train.*.partial")), "the next attempt cleared the leftover"


def test_staging_publishes_complete_folder(tmp_path):
    final = tmp_path / "phase"
    with runs.staging(final) as tmp:
        runs.mark_done(tmp, {"ok": 1})
    assert runs.is_done(final)


def test_examples_seen_counts_a_short_last_batch_once():
    from kit.backends.sft import examples_in_steps

    assert examples_in_steps(1, 4, 8) == 4  # 4 rows, batch 8: one short step, not 8 examples
    assert examples_in_steps(32, 256, 8) == 256
    assert examples_in_steps(3, 20, 8) == 20  # steps of 8, 8, 4
    assert examples_in_steps(4, 20, 8) == 28  # and one more into the second epoch


def test_a_built_in_generators_version_is_part_of_the_run_id(monkeypatch):
    from kit.data.builtin import get_generator
    from kit.recipe import DataSpec, Recipe, SourceSpec

    recipe = Recipe(name="r", data=DataSpec((SourceSpec("builtin:math_easy", n=4),)))
    before = runs.content_hash(runs.train_key(recipe.to_dict(), "hf", "float32"))
    monkeypatch.setattr(get_generator("math_easy"), "VERSION", "999")
    assert runs.content_hash(runs.train_key(recipe.to_dict(), "hf", "float32")) != before


def test_a_rerun_with_another_base_lands_beside_the_first(isolated):
    """results/<recipe>/ for the recipe's own base; results/<recipe>/<base>/ when model.base is overridden, and the
    report command finds both folders."""
    from kit import cli

    recipe = load_recipe(REPO / "recipes" / "smoke.yaml", profile="cpu")
    assert cli._results_dir(recipe, ["train.epochs=2"]) == isolated / "smoke"
    other = load_recipe(REPO / "recipes" / "smoke.yaml", ["model.base=mistralai/Mistral-7B-v0.1"], profile="cpu")
    assert cli._results_dir(other, ["model.base=mistralai/Mistral-7B-v0.1"]) == isolated / "smoke" / (
        "mistralai--Mistral-7B-v0.1"
    )
    assert runs.summaries_dir("smoke", cli._results_dir(other, ["model.base=x"])).parent.parent == isolated / "smoke"
    for folder in (isolated / "smoke", isolated / "smoke" / "mistralai--Mistral-7B-v0.1"):
        runs.write_json(folder / "runs" / "single.json", {})
    (isolated / "smoke" / "empty").mkdir()
    assert [p.name for p in cli._result_folders("smoke")] == ["smoke", "mistralai--Mistral-7B-v0.1"]


def test_a_local_file_is_keyed_by_its_content_not_its_path(tmp_path):
    import json

    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}

    def key_with(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(json.dumps(row) + "\n")
        text = RECIPE.format(name="a", lr=0.0002, task="builtin_math").replace(
            '"builtin:math", n: 8', f'"local:{path}", format: chat, n: 1'
        )
        recipe = load_recipe(write_recipe(tmp_path / "l.yaml", text), profile="cpu")
        return runs.content_hash(runs.train_key(recipe.to_dict(), "hf", "float32"))

    here = key_with(tmp_path / "one" / "rows.jsonl")
    assert key_with(tmp_path / "another" / "mount" / "rows.jsonl") == here  # same file, another folder
    (tmp_path / "one" / "rows.jsonl").write_text(json.dumps({**row, "id": "edited"}) + "\n")
    assert key_with(tmp_path / "one" / "rows.jsonl") != here
