"""Grid recipes: expansion into runs, shared run ids across recipes, inheritance, sweep rows."""

from __future__ import annotations

import pytest

from kit import runs
from kit.recipe import RecipeError, load_recipe
from tests.conftest import REPO, ok_summary, write_recipe

GRID = """
name: g
model: {base: tiny-random-llama}
sources:
  math: {source: "builtin:math", pool_n: 64}
  code: {source: "builtin:code", pool_n: 64}
grid:
  fractions: [1, 0.25, 0.015625, 0.00390625]
  arms:
    - {name: math, sources: [math], tasks: [builtin_math]}
    - {name: both, sources: [math, code], tasks: [builtin_math, builtin_code]}
eval: {tasks: [{task: builtin_math, n: 2}, {task: builtin_code, n: 2}]}
"""


def train_id(recipe) -> str:
    return runs.content_hash(runs.train_key(recipe.to_dict(), "hf", "float32"))


def test_grid_expands_to_arms_times_fractions_with_each_arms_sources_and_tasks(tmp_path):
    planned = load_recipe(write_recipe(tmp_path / "g.yaml", GRID), profile="cpu").runs()
    assert [p.tag for p in planned][:4] == ["math-f1", "math-f0.25", "math-f0.015625", "math-f0.00390625"]
    both = next(p for p in planned if p.tag == "both-f0.25").recipe
    assert [(m.source, m.n) for m in both.data.mixture] == [("builtin:math", 16), ("builtin:code", 16)]
    assert [t.task for t in both.eval.tasks] == ["builtin_math", "builtin_code"]
    assert [t.task for t in planned[0].recipe.eval.tasks] == ["builtin_math"]


def test_fractions_that_round_to_the_same_rows_are_one_run(tmp_path):
    planned = {p.tag: p.recipe for p in load_recipe(write_recipe(tmp_path / "g.yaml", GRID), profile="cpu").runs()}
    assert train_id(planned["math-f0.015625"]) == train_id(planned["math-f0.00390625"])
    assert train_id(planned["math-f0.25"]) != train_id(planned["math-f1"])


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_rq2_single_source_runs_are_rq1_runs(profile):
    rq1 = {p.tag: train_id(p.recipe) for p in load_recipe(REPO / "recipes/rq1.yaml", profile=profile).runs()}
    rq2 = {p.tag: train_id(p.recipe) for p in load_recipe(REPO / "recipes/rq2.yaml", profile=profile).runs()}
    assert {tag: rid for tag, rid in rq2.items() if not tag.startswith("mixed")} == rq1
    assert len({rid for tag, rid in rq2.items() if tag.startswith("mixed")} & set(rq1.values())) == 0


def test_seeds_train_extra_runs_only_at_the_small_fractions_and_seed_0_is_the_shared_run(tmp_path):
    one = {
        p.tag: train_id(p.recipe) for p in load_recipe(write_recipe(tmp_path / "g.yaml", GRID), profile="cpu").runs()
    }
    text = GRID.replace(
        "fractions: [1, 0.25, 0.015625, 0.00390625]",
        "fractions: [1, 0.25, 0.015625, 0.00390625]\n  seeds: 3\n  seeds_max_fraction: 0.25",
    )
    planned = load_recipe(write_recipe(tmp_path / "s.yaml", text), profile="cpu").runs()
    tags = [p.tag for p in planned if p.arm == "math"]
    assert tags[:4] == ["math-f1", "math-f0.25", "math-f0.25-s1", "math-f0.25-s2"]
    seeded = {p.tag: train_id(p.recipe) for p in planned}
    assert {t: seeded[t] for t in one} == one  # seed 0 keeps every run id
    assert len({seeded["math-f0.25"], seeded["math-f0.25-s1"], seeded["math-f0.25-s2"]}) == 3
    s1 = next(p for p in planned if p.tag == "math-f0.25-s1")
    assert (s1.seed, s1.recipe.train.seed, s1.recipe.data.seed) == (1, 1, 1)


def test_seeds_below_one_are_refused(tmp_path):
    text = GRID.replace("fractions: [1, 0.25, 0.015625, 0.00390625]", "fractions: [1]\n  seeds: 0")
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "g.yaml", text), profile="cpu")
    assert "grid.seeds" in dict(err.value.problems)


def test_extends_inherits_overrides_and_keeps_its_own_name(tmp_path):
    write_recipe(tmp_path / "parent.yaml", GRID)
    child = write_recipe(tmp_path / "child.yaml", "extends: parent.yaml\ntrain: {learning_rate: 0.001}\n")
    recipe = load_recipe(child, profile="cpu")
    assert (recipe.name, recipe.train.learning_rate, recipe.sources["code"].pool_n) == ("child", 0.001, 64)


def test_arm_naming_an_unknown_source_or_task_is_reported(tmp_path):
    text = GRID.replace("sources: [math, code]", "sources: [math, cod]").replace(
        "tasks: [builtin_math, builtin_code]", "tasks: [builtin_math, humaneval]"
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "g.yaml", text), profile="cpu")
    found = dict(err.value.problems)
    assert "did you mean 'code'" in found["grid.arms.1.sources"]
    assert "'humaneval' is not in eval.tasks" in found["grid.arms.1.tasks"]


def test_a_failed_run_becomes_a_row_and_the_sweep_goes_on(tmp_path, monkeypatch, isolated):
    """Each node stands in for itself (kit.dag.run_node): one run's stage runs out of memory; that run gives a failed
    row naming the node, the sweep goes on, and the stored summaries give the same rows."""
    import kit.dag
    from kit.report.summary import stored_rows
    from kit.sweep import run_sweep

    def fake_node(node):
        if node.kind == "stage" and node.label == "math-f0.25":
            raise MemoryError("CUDA out of memory (simulated)")
        if node.kind != "eval":
            return None
        return [
            ok_summary(
                recipe=p.recipe.name,
                run_id=f"id-{p.tag}",
                grid={"arm": p.arm, "fraction": p.fraction},
                scores={t.task: {"score": 0.5, "version": "v", "n_items": 2} for t in p.recipe.eval.tasks},
                baseline_scores={t.task: {"score": 0.1, "version": "v"} for t in p.recipe.eval.tasks},
            )
            for p in node.planned
        ]

    monkeypatch.setattr(kit.dag, "run_node", fake_node)
    recipe = load_recipe(write_recipe(tmp_path / "g.yaml", GRID), profile="cpu")
    rows = run_sweep(recipe)
    failed = [r for r in rows if r["status"] == "failed"]
    assert [(r["arm"], r["fraction"], r["task"]) for r in failed] == [("math", 0.25, "builtin_math")]
    assert "stage math-f0.25 failed" in failed[0]["error"] and "out of memory" in failed[0]["error"]
    assert sum(r["status"] == "ok" and r["arm"] != "base" for r in rows) == 3 + 4 * 2
    assert sorted(map(str, stored_rows("g"))) == sorted(map(str, rows))


ABILITY_GRID = """
name: ab
model: {base: tiny-random-llama}
sources:
  math: {source: "builtin:math", pool_n: 8}
  code: {source: "builtin:code", pool_n: 8}
grid:
  fractions: [1]
  abilities: {math: [builtin_math], code: [builtin_code, builtin_code_easy]}
  arms:
    - {name: both, sources: [math, code], tasks: [math, code]}
    - {name: one, sources: [math], tasks: [builtin_math]}
eval: {tasks: [{task: builtin_code_easy, n: 2}, {task: builtin_math, n: 2}, {task: builtin_code, n: 2}]}
"""


def test_an_arm_names_abilities_and_the_grid_says_which_tasks_measure_them(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path / "ab.yaml", ABILITY_GRID), profile="cpu")
    tasks = {p.arm: [t.task for t in p.recipe.eval.tasks] for p in recipe.runs()}
    assert tasks == {"both": ["builtin_code_easy", "builtin_math", "builtin_code"], "one": ["builtin_math"]}
    text = ABILITY_GRID.replace("tasks: [math, code]", "tasks: [math, poetry]")
    with pytest.raises(RecipeError, match="'poetry' is not in eval.tasks .* nor an ability of grid.abilities"):
        load_recipe(write_recipe(tmp_path / "bad.yaml", text), profile="cpu")
