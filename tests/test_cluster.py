"""A sweep as a graph (kit.dag) built by the local engine and by the Ray engine (kit.cluster) on a CPU-only Ray
cluster with two logical GPUs: the same run ids, adapters, completions and scores; a stage shared by three runs
trained once; a killed task retried; a failing stage failing only what needs it; a second sweep building nothing."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit import dag, runs
from kit.pipeline import choose_hardware
from kit.recipe import load_recipe
from tests.conftest import REPO, write_recipe

# Three runs share the specialist stage (mixed sequential, DMT at two k); each has a stage 2 of its own, merged
# from the one merge of the specialist; every run compares with one baseline.
DMT = """
name: dmt_tiny
model: {base: tiny-random-llama, chat_template: smollm2, max_seq_len_tokens: 160}
sources:
  math: {source: "builtin:math_easy", pool_n: 8}
  code: {source: "builtin:code_easy", pool_n: 8}
  general: {source: "builtin:general", pool_n: 8}
grid:
  fractions: [1, 0.25]
  arms:
    - name: mixed_sequential
      stages: [{name: specialist, sources: {math: 1.0, code: 1.0}}, {name: general, sources: {general: 1.0}}]
      tasks: [builtin_math]
    - name: dmt
      stages:
        - {name: specialist, sources: {math: 1.0, code: 1.0}}
        - {name: general, sources: {general: 1.0}, replay: {stage: specialist, fraction: grid}}
      tasks: [builtin_math]
train: {max_steps: 2, batch_size: 4, lora: {rank: 4, alpha: 8}}
export: {quant: Q8_0, parity_prompts: 1, parity_max_tokens: 8}
eval: {baseline: true, tasks: [{task: builtin_math, n: 3}]}
"""
TAGS = ["mixed_sequential", "dmt-f1", "dmt-f0.25"]


def load(tmp_path: Path, text: str = DMT):
    return load_recipe(write_recipe(tmp_path / "dmt_tiny.yaml", text), profile="cpu")


def test_the_graph_has_one_node_per_shared_stage_merge_and_baseline(tmp_path, isolated):
    graph = dag.build(load(tmp_path), choose_hardware)
    kinds = [n.kind for n in graph.nodes.values()]
    assert {k: kinds.count(k) for k in dag.KINDS} == {"stage": 4, "merge": 1, "export": 3, "baseline": 1, "eval": 3}
    (specialist,) = [n for n in graph.nodes.values() if n.kind == "stage" and n.index == 0]
    assert len({graph.nodes[e].id for e in graph.dependents(specialist.id) if graph.nodes[e].kind == "eval"}) == 3
    assert [p.tag for p, _ in graph.runs] == TAGS
    # the order a single machine builds them in: every node after what it needs
    seen: set[str] = set()
    for node in graph.nodes.values():
        assert set(node.deps) <= seen
        seen.add(node.id)


def test_the_critical_path_is_the_longest_chain_of_what_is_left(tmp_path, isolated):
    graph = dag.build(load(tmp_path), choose_hardware)
    for node in graph.nodes.values():
        node.estimate_s = {"stage": 100.0, "merge": 10.0, "export": 20.0, "baseline": 50.0, "eval": 5.0}[node.kind]
    # specialist, merge, the first run's stage 2, the baseline (which probes with that stage's prompts), an eval:
    # 100 + 10 + 100 + 50 + 5; serial: every node once
    assert graph.critical_path() == (265.0, 2)
    assert graph.serial_s() == 4 * 100 + 10 + 3 * 20 + 50 + 3 * 5
    for node in graph.nodes.values():
        node.done = node.kind in ("stage", "merge")
    assert graph.critical_path() == (50.0 + 5.0, 0)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"stage": {"num_gpus": 2}, "train": {}}', "unknown node kind 'train'"),
        ('{"eval": {"gpus": 1}}', "eval.gpus: unknown"),
        ('{"eval": {"num_cpus": -1}}', "eval.num_cpus: -1 is not a number >= 0"),
        ("/nowhere/site.yaml", "no such file"),
    ],
)
def test_a_bad_site_resources_file_is_refused_naming_what_is_wrong(text, error):
    from kit.cluster import site_resources

    with pytest.raises(ValueError, match=error):
        site_resources(text)


def test_resources_give_training_a_gpu_scoring_a_share_and_baseline_what_eval_gets(tmp_path):
    from kit.cluster import resources, site_resources

    site = tmp_path / "site.yaml"
    site.write_text("export: {memory_gib: 2}\n")
    gpu = resources(16, 8, site_resources(str(site)))
    assert gpu["stage"] == {"num_gpus": 1, "num_cpus": 2}
    assert gpu["eval"] == gpu["baseline"] == {"num_gpus": 0.25, "num_cpus": 1}
    assert gpu["export"] == {"num_cpus": 2, "memory": 2 * 2**30}
    assert all(r == {"num_cpus": 4} for r in resources(4, 0, {}).values())  # CPU-only: a node per task
    with pytest.raises(ValueError, match="stage asks 1 GPUs and the largest node has 0"):
        resources(4, 0, {"stage": {"num_gpus": 1}})  # Ray would wait for such a node for ever


# --- the Ray engine -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of two CPUs and two logical GPUs for this module (its sockets under a short /tmp path:
    Unix socket paths are capped at 107 bytes)."""
    ray = pytest.importorskip("ray")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # else Ray writes a token into ~/.ray
    temp = Path("/tmp") / f"ray-kit-{os.getpid()}"
    ctx = ray.init(num_cpus=2, num_gpus=2, object_store_memory=100 * 2**20, _temp_dir=str(temp), log_to_driver=False)
    yield ctx
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def summaries(results: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((results / "dmt_tiny" / "runs").glob("*.json"))}


def outputs(home: Path, summary: dict) -> dict:
    """What a run made, by content: its stages' adapters, its completions and its scores."""
    adapters = [
        runs.file_hash(home / "runs" / st["run_id"] / "train" / "adapter_model.safetensors") for st in summary["stages"]
    ]
    export = Path(summary["export"]["gguf"]).parent
    (items,) = (export / "eval").glob("builtin_math-*/items.jsonl")
    completions = [r["completion"] for r in runs.read_jsonl(items)]
    scores = {t: s["score"] for t, s in summary["scores"].items()}
    base = {t: s["score"] for t, s in summary["baseline_scores"].items()}
    return {
        "ids": [st["run_id"] for st in summary["stages"]],
        "adapters": adapters,
        "completions": completions,
        "scores": scores,
        "baseline": base,
    }


def sweep_fresh(root: Path, engine: str, **env) -> dict:
    """The DMT grid swept by ``engine`` on a fresh cache of its own under ``root``."""
    from kit.sweep import run_sweep

    home, results = root / f"home_{engine}", root / f"results_{engine}"
    mp = pytest.MonkeyPatch()
    try:
        for name, value in {"KIT_HOME": str(home), "KIT_RESULTS": str(results), **env}.items():
            mp.setenv(name, value)
        rows = run_sweep(load(root), engine=engine)
    finally:
        mp.undo()
    return {"home": home, "results": results, "rows": rows}


@pytest.fixture(scope="module")
def ray_built(ray_cluster, tmp_path_factory) -> dict:
    """The grid swept by the Ray engine, every stage task's first attempt killed as a dying worker would be. The
    site's resources give scoring both CPUs, as the local engine has (llama.cpp's thread count is in the eval key;
    by default a scoring task here would get one CPU of two per logical GPU, and score again under its own key)."""
    root = tmp_path_factory.mktemp("engines")
    site = root / "site.yaml"
    site.write_text("eval: {num_cpus: 2}\n")
    crash = f"stage:{root / 'crashed'}"
    return {
        **sweep_fresh(root, "ray", KIT_TEST_CRASH_ONCE=crash, KIT_RAY_RESOURCES=str(site)),
        "crashed": root / "crashed",
    }


def test_a_killed_task_is_retried_and_shared_nodes_are_built_once(ray_built):
    home, results = ray_built["home"], ray_built["results"]
    assert all(r["status"] == "ok" for r in ray_built["rows"])
    assert sorted(summaries(results)) == sorted(TAGS)
    assert len(list(ray_built["crashed"].iterdir())) == 4  # four stage tasks, each killed on its first attempt
    ids = {st["run_id"] for s in summaries(results).values() for st in s["stages"]}
    assert len(ids) == 4  # the specialist shared by the three runs, and a stage 2 each
    for run_id in ids:  # trained once each: a second training would have left a second report in its log
        assert (home / "runs" / run_id / "train.log").read_text().count("train_runtime") == 1
    assert len(list(home.glob("runs/*/merged/DONE.json"))) == 1
    assert len(list(home.glob("baselines/*/export/DONE.json"))) == 1
    # what each run's own nodes cost, for later plans: the shared specialist counts for the first run that needs it
    cost = {tag: s["timings_s_this_invocation"] for tag, s in summaries(results).items()}
    assert all(cost[tag]["train"] > 1 and cost[tag]["export"] > 1 for tag in TAGS)
    assert cost["mixed_sequential"]["baseline"] > 1 and cost["dmt-f1"]["baseline"] == 0
    assert len(list((home / "timings").glob("*.json"))) == 3


@pytest.mark.slow
def test_the_ray_engine_makes_what_the_local_engine_makes(ray_built, tmp_path_factory):
    """On fresh caches: the same run ids, adapter bytes, completions and scores (slow: a second full sweep)."""
    local = sweep_fresh(tmp_path_factory.mktemp("local"), "local")
    made = {
        engine: {tag: outputs(built["home"], s) for tag, s in summaries(built["results"]).items()}
        for engine, built in (("local", local), ("ray", ray_built))
    }
    assert sorted(made["local"]) == sorted(TAGS)
    assert made["ray"] == made["local"]


def with_broken_arm(tmp_path: Path) -> str:
    """The grid plus an arm whose stage 2 reads a broken file (its stage 1 is the shared specialist)."""
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"\n')
    return DMT.replace(
        "    - name: dmt\n",
        "    - name: broken\n"
        "      stages: [{name: specialist, sources: {math: 1.0, code: 1.0}}, {name: bad, sources: {bad: 1.0}}]\n"
        "      tasks: [builtin_math]\n"
        "    - name: dmt\n",
    ).replace("sources:\n", f'sources:\n  bad: {{source: "local:{broken}", format: chat, pool_n: 1}}\n', 1)


def test_the_local_engine_finds_the_ray_sweep_cached_and_fails_only_the_broken_arm(
    ray_built, tmp_path, monkeypatch, caplog
):
    """The two engines plan the same ids: on the Ray sweep's cache the local engine builds only the new arm's
    stage 2, which fails; that arm's run gives failed rows naming the node, the others are scored from the cache."""
    import kit.sweep

    monkeypatch.setenv("KIT_HOME", str(ray_built["home"]))
    monkeypatch.setenv("KIT_RESULTS", str(tmp_path / "results"))
    recipe = load_recipe(write_recipe(tmp_path / "dmt_tiny.yaml", with_broken_arm(tmp_path)), profile="cpu")
    with caplog.at_level(logging.INFO, logger="kit.sweep"):
        rows = kit.sweep.run_sweep(recipe)
    assert "dmt_tiny (local engine): built 1 stage; 3 node(s) failed" in caplog.text  # the stage, its export, eval
    status = {r["arm"]: r["status"] for r in rows if r["arm"] != "base"}
    assert status == {"mixed_sequential": "ok", "broken": "failed", "dmt": "ok"}
    (error,) = {r["error"] for r in rows if r["status"] == "failed"}
    assert error.startswith("NodeFailed: stage broken [bad] failed:") and "broken.jsonl" in error
    stored = json.loads(runs.summary_path("dmt_tiny", "broken").read_text())
    assert stored["status"] == "failed" and "NodeFailed" in stored["traceback"]


def test_a_failing_arm_fails_alone_with_exit_1_and_a_second_sweep_submits_nothing(ray_built, tmp_path):
    """Through the command line, connected to the module's cluster and the Ray sweep's cache: an arm whose stage 2
    reads a broken file gives failed rows for it only, and the command exits 1; the grid without it builds nothing."""
    import ray

    with_broken = with_broken_arm(tmp_path)
    env = {**os.environ, "KIT_HOME": str(ray_built["home"]), "KIT_RESULTS": str(tmp_path / "results")}
    env["KIT_RAY_RESOURCES"] = '{"eval": {"num_cpus": 2}}'  # as the cached sweep had them (ray_built)
    address = ray.get_runtime_context().gcs_address

    def sweep(text: str) -> subprocess.CompletedProcess:
        path = write_recipe(tmp_path / "dmt_tiny.yaml", text)
        cmd = [sys.executable, "-m", "kit", "sweep", str(path), "--profile", "cpu", "--engine", "ray"]
        return subprocess.run([*cmd, "--address", address], cwd=REPO, env=env, capture_output=True, text=True)

    failing = sweep(with_broken)
    assert failing.returncode == 1, failing.stderr[-3000:]
    stored = summaries(tmp_path / "results")
    assert {tag: s["status"] for tag, s in stored.items()} == {**dict.fromkeys(TAGS, "ok"), "broken": "failed"}
    assert "stage broken [bad] failed" in stored["broken"]["error"]
    assert "(ray engine): built 1 stage;" in failing.stderr, failing.stderr[-3000:]
    again = sweep(DMT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(ray engine): built nothing; 0 node(s) failed" in again.stderr
    assert "on a cluster (--engine ray): 0:00 along the critical path" in again.stdout
