"""The whole chain on the tiny random Llama: recipe -> data -> LoRA -> merge -> GGUF -> quantize ->
llama.cpp eval -> result row. Random weights, so scores are ~0; what is checked is that every link
runs for real, records what it did, and is not redone."""

from __future__ import annotations

import json

import pytest

from kit import runs
from tests.conftest import tiny_run

TINY = """
name: tiny-chain
model: {base: tiny-random-llama, chat_template: smollm2, max_seq_len_tokens: 160}
data:
  mixture:
    - {source: "builtin:math", n: 12}
    - {source: "builtin:general", fraction: 0.5, pool_n: 8}
train: {max_steps: 3, batch_size: 4, lora: {rank: 4, alpha: 8}}
export: {quant: Q8_0, parity_prompts: 2, parity_max_tokens: 12}
eval:
  tasks: [{task: builtin_math, n: 3}, {task: builtin_general, n: 2}]
  baseline: true
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory, kit_home):
    with tiny_run(tmp_path_factory, kit_home, TINY) as (_, recipe, summary, results):
        yield recipe, summary, results


def test_run_directory_holds_every_phase(chain):
    _, summary, _ = chain
    run = runs.Path(summary["run_dir"])
    for phase in ("data", "train"):
        assert runs.is_done(run / phase)
    assert (run / "recipe.json").is_file() and (run / "hardware.json").is_file()
    assert (run / "train" / "adapter_model.safetensors").is_file()
    (export,) = (run / "export").iterdir()
    assert (export / "model-Q8_0.gguf").stat().st_size > 0
    assert not (export / "merged").exists(), "the merged folder is dropped unless export.keep_merged"
    assert {p.name.split("-")[0] for p in (export / "eval").iterdir()} == {"builtin_math", "builtin_general"}


def test_parity_check_compares_real_tokens(chain):
    _, summary, _ = chain
    parity = json.loads(next((runs.Path(summary["run_dir"]) / "export").glob("*/parity.json")).read_text())
    assert parity["passed"], parity
    assert all(p["prompt_tokens_match"] and p["generated_tokens"] > 0 for p in parity["probes"])


def test_manifest_records_each_source_and_its_count(chain):
    _, summary, _ = chain
    counts = {e["source"]: e["count"] for e in summary["data"]["entries"]}
    assert counts == {"builtin:math": 12, "builtin:general": 4}
    assert all(len(e["ids_sha256"]) == 64 for e in summary["data"]["entries"])


def test_summary_in_results_carries_scores_and_provenance(chain):
    recipe, summary, results = chain
    (path,) = (results / recipe.name / "runs").glob("*.json")
    saved = json.loads(path.read_text())
    assert set(saved["scores"]) == set(saved["baseline_scores"]) == {"builtin_math", "builtin_general"}
    for score in saved["scores"].values():
        assert 0.0 <= score["score"] <= 1.0 and score["version"] and score["n_items"] > 0
    prov = saved["provenance"]
    assert prov["backend"] == "hf" and "no CUDA" in prov["reason"]
    assert prov["packages"]["llama_cpp_python"] and prov["packages"]["transformers"]
    assert saved["train"]["steps"] == 3 and saved["train"]["tokens_per_second"] > 0


def test_second_invocation_redoes_nothing(chain):
    from kit.pipeline import run_recipe

    recipe, summary, _ = chain
    run = runs.Path(summary["run_dir"])
    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("DONE.json")}
    results = pipeline_results(recipe)
    saved = {p: p.read_bytes() for p in results}
    again = run_recipe(recipe)
    assert again["scores"] == summary["scores"]
    assert {p: p.stat().st_mtime_ns for p in run.rglob("DONE.json")} == stamps
    # the summary keeps the record of the invocation that computed it (its timings, when it finished)
    assert {p: p.read_bytes() for p in pipeline_results(recipe)} == saved


def pipeline_results(recipe) -> list:
    from kit.runs import results_root

    return sorted((results_root() / recipe.name / "runs").glob("*.json"))


def test_a_finished_run_leaves_no_scratch_files(chain):
    _, summary, _ = chain
    run = runs.Path(summary["run_dir"])
    leftovers = [p for p in run.rglob("*") if ".partial" in p.name or p.name.endswith(".tmp")]
    assert leftovers == []


def test_the_plan_calls_a_run_cached_only_while_its_eval_settings_are_unchanged(chain, kit_home, monkeypatch):
    import dataclasses

    from kit.plan import format_plan, measured_speed, plan

    recipe, _, _ = chain
    monkeypatch.setenv("KIT_HOME", str(kit_home))
    speed = measured_speed("cpu")
    (line,) = plan(recipe, speed)
    assert line.scored and line.estimate_s == 0
    first, second = recipe.eval.tasks
    for changed in (
        dataclasses.replace(recipe.eval, tasks=(dataclasses.replace(first, n=first.n + 1), second)),
        dataclasses.replace(recipe.eval, n_ctx_tokens=recipe.eval.n_ctx_tokens // 2),
        dataclasses.replace(recipe.eval, tasks=(first, dataclasses.replace(second, dense_n=2))),
    ):
        other = dataclasses.replace(recipe, eval=changed)
        (line,) = plan(other, speed)
        assert line.stages[-1].trained and not line.scored and line.estimate_s > 0
        assert "cached: trained, to score" in format_plan(other, [line], speed)


def test_a_node_computes_a_run_without_writing_results_and_the_driver_keeps_the_stored_summary(
    chain, tmp_path, monkeypatch
):
    from kit.pipeline import compute_run, same_results, write_summary

    recipe, summary, results = chain
    elsewhere = tmp_path / "node-results"
    monkeypatch.setenv("KIT_RESULTS", str(elsewhere))
    computed = compute_run(recipe)  # every phase cached: what a remote node would hand back
    assert not elsewhere.exists()
    assert same_results(computed, summary)
    (stored,) = (results / recipe.name / "runs").glob("*.json")
    before = stored.read_bytes()
    assert write_summary(computed, stored) == json.loads(before) and stored.read_bytes() == before  # first record kept


def test_threads_follow_the_cpus_this_process_was_given(monkeypatch):
    import os

    from kit import env

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert env.n_threads(None) == 1 and env.n_threads(4) == 4
