"""The typed job at the training worker's boundary: built from a stage key, written as job.json, read back whole."""

from __future__ import annotations

import pytest

from kit import runs
from kit.backends.job import TrainJob
from kit.env import Hardware
from kit.recipe import RecipeError, load_recipe
from tests.conftest import REPO, write_recipe

HW = Hardware(device="cpu", device_name="test machine", backend="hf", dtype="float32", reason="a test")


def stage_jobs(recipe_name: str, profile: str = "cpu") -> list[tuple[dict, TrainJob]]:
    recipe = load_recipe(REPO / "recipes" / f"{recipe_name}.yaml", profile=profile)
    out = []
    for planned in recipe.runs():
        for _, key in runs.stage_keys(planned.recipe.to_dict(), HW.backend, HW.dtype):
            out.append((key, TrainJob.for_stage(key, HW, {"path": "/models/base", "init_adapter": None})))
    return out


@pytest.mark.parametrize("recipe_name", ["rq1", "rq4"])
def test_a_stage_key_becomes_a_job_that_round_trips_through_job_json(recipe_name, tmp_path):
    for key, job in stage_jobs(recipe_name):
        assert job.train.epochs == key["train"]["epochs"]  # the stage's own epochs applied
        assert job.train.lora.rank == key["train"]["lora"]["rank"]
        assert (job.max_seq_len_tokens, job.chat_template) == (
            key["model"]["max_seq_len_tokens"],
            key["model"]["chat_template"],
        )
        job.write(tmp_path / "job.json")
        assert TrainJob.read(tmp_path / "job.json") == job


STAGED = """
name: staged
model: {base: tiny-random-llama, max_seq_len_tokens: 160}
stages:
  - {name: first, mixture: [{source: "builtin:code", n: 4}], epochs: 2}
  - {name: second, mixture: [{source: "builtin:math", n: 4}]}
train: {epochs: 3}
eval: {tasks: [{task: builtin_math, n: 2}]}
"""


def test_a_stage_with_its_own_epochs_gets_them_and_the_others_the_recipes(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path / "s.yaml", STAGED), profile="cpu")
    keys = runs.stage_keys(recipe.to_dict(), HW.backend, HW.dtype)
    jobs = [TrainJob.for_stage(key, HW, {"path": "b"}) for _, key in keys]
    assert [job.train.epochs for job in jobs] == [2, 3]


def test_a_job_with_a_wrong_training_setting_is_refused_naming_it(tmp_path):
    (_, job), *_ = stage_jobs("rq1")
    data = job.to_dict()
    data["train"]["batch_size"] = "eight"
    runs.write_json(tmp_path / "job.json", data)
    with pytest.raises(RecipeError, match="train.batch_size"):
        TrainJob.read(tmp_path / "job.json")
