"""Experiment tracking (train.report_to): kept out of every run id, checked at load, and logging into the run
directory; the end-to-end check trains the tiny random Llama with TensorBoard and reads its event file back."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from kit import runs
from kit.backends import tracking
from kit.backends.job import TrainJob
from kit.env import Hardware
from kit.recipe import RecipeError, load_recipe
from tests.conftest import REPO, write_recipe

HW = Hardware(device="cpu", device_name="test machine", backend="hf", dtype="float32", reason="a test")

TINY = """
name: tiny-tracked
model: {base: tiny-random-llama, chat_template: smollm2, max_seq_len_tokens: 128}
data:
  mixture:
    - {source: "builtin:math_easy", n: 8}
train: {max_steps: 2, batch_size: 4, lora: {rank: 4, alpha: 8}, report_to: tensorboard}
eval:
  tasks: [{task: builtin_math_easy, n: 1}]
"""


def untracked(recipe):
    return dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, report_to=None))


def test_report_to_changes_no_stage_key_and_stays_out_of_recipes_that_do_not_set_it(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path / "t.yaml", TINY), profile="cpu")
    assert recipe.train.trackers == ("tensorboard",)
    plain = untracked(recipe)
    assert "report_to" not in plain.to_dict()["train"]  # so every existing recipe hash is unchanged
    assert recipe.to_dict()["train"]["report_to"] == "tensorboard"  # the summary still says it was tracked
    assert runs.stage_keys(recipe.to_dict(), "hf", "float32") == runs.stage_keys(plain.to_dict(), "hf", "float32")
    rq4 = load_recipe(REPO / "recipes" / "rq4.yaml", profile="cpu")
    for planned in rq4.runs():  # multi-stage runs too
        tracked = dataclasses.replace(planned.recipe, train=dataclasses.replace(rq4.train, report_to=["tensorboard"]))
        assert runs.stage_keys(tracked.to_dict(), "hf", "float32") == runs.stage_keys(
            planned.recipe.to_dict(), "hf", "float32"
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tensorbord", "unknown tracker 'tensorbord' (did you mean 'tensorboard'?)"),
        ("[tensorboard, tensorboard]", "lists a tracker twice"),
        ("[none, tensorboard]", "'none' with trackers is a contradiction"),
    ],
)
def test_a_bad_report_to_fails_at_load_naming_the_key(value, message, tmp_path):
    path = write_recipe(tmp_path / "t.yaml", TINY)
    with pytest.raises(RecipeError, match="train.report_to") as err:
        load_recipe(path, [f"train.report_to={value}"], profile="cpu")
    assert message in str(err.value)


def test_a_tracker_that_is_not_installed_fails_at_load_with_its_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(tracking.TRACKERS, "wandb", (("kit_no_such_module",), "pip install wandb"))
    path = write_recipe(tmp_path / "t.yaml", TINY)
    with pytest.raises(RecipeError, match=r"train.report_to: wandb is not installed .*: pip install wandb"):
        load_recipe(path, ["train.report_to=[tensorboard, wandb]"], profile="cpu")
    assert load_recipe(path, ["train.report_to=none"], profile="cpu").train.trackers == ()


def test_the_tracker_variables_are_the_ones_transformers_reads(tmp_path, monkeypatch):
    source = Path(importlib.util.find_spec("transformers").origin).parent / "integrations" / "integration_utils.py"
    text = source.read_text()
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for name, read_by_transformers in (("tensorboard", True), ("mlflow", True), ("wandb", False), ("trackio", False)):
        (variable, value), *_ = tracking.environment(name, tmp_path / name).items()
        assert str(tmp_path / name) in value
        assert (f'"{variable}"' in text) == read_by_transformers, variable  # the others are read by the tracker
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking.environment("mlflow", tmp_path) == {}  # a user's server wins


def test_a_tracked_job_round_trips_with_its_trackers_and_its_run_id_as_name(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path / "t.yaml", TINY), profile="cpu")
    ((_, key),) = runs.stage_keys(recipe.to_dict(), HW.backend, HW.dtype)
    job = TrainJob.for_stage(key, HW, {"path": "b"}, report_to=recipe.train.trackers)
    assert job.report_to == ("tensorboard",) and job.run_name == runs.run_dir(key).id
    job.write(tmp_path / "job.json")
    assert TrainJob.read(tmp_path / "job.json") == job
    assert TrainJob.for_stage(key, HW, {"path": "b"}).run_name is None


def test_a_tensorboard_run_logs_its_losses_in_the_run_directory_under_the_untracked_run_id(tmp_path, isolated):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from kit.pipeline import train_stages

    recipe = load_recipe(write_recipe(tmp_path / "t.yaml", TINY), profile="cpu")
    ((stage,),) = [train_stages(recipe, HW)]
    run = stage["dir"]
    ((_, plain_key),) = runs.stage_keys(untracked(recipe).to_dict(), HW.backend, HW.dtype)
    assert run.id == runs.run_dir(plain_key).id
    folder = run.logs / "tensorboard"
    assert list(folder.glob("events.out.tfevents.*")), list(run.path.rglob("*"))
    assert not list(run.train.rglob("events.out.tfevents.*"))  # not in the adapter folder (transformers' default)
    events = EventAccumulator(str(folder))
    events.Reload()
    logged = events.Scalars("train/loss")
    curve = stage["metrics"]["loss_curve"]  # (step, loss) from the trainer's own history
    assert [e.step for e in logged] == [step for step, _ in curve] == [1, 2]
    assert [e.value for e in logged] == pytest.approx([loss for _, loss in curve], rel=1e-6)  # stored as float32
    done = (run.train / "DONE.json").stat().st_mtime_ns
    (again,) = train_stages(untracked(recipe), HW)  # the same run, not retrained for (or without) tracking
    assert again["reused"] and again["dir"] == run and (run.train / "DONE.json").stat().st_mtime_ns == done
