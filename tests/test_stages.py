"""Multi-stage runs: replay fractions, content-addressed stage keys, stage order and chaining."""

from __future__ import annotations

import json

import pytest

from kit import runs
from kit.recipe import Stage, load_recipe
from tests.conftest import REPO, write_recipe

DMT = """
name: dmt
model: {base: tiny-random-llama, max_seq_len_tokens: 160}
sources:
  math: {source: "builtin:math", pool_n: 64}
  code: {source: "builtin:code", pool_n: 64}
  general: {source: "builtin:general", pool_n: 32}
grid:
  fractions: [1, 0.25, 0.0625, 0.015625]
  arms:
    - name: mixed_sequential
      stages: [{name: specialist, sources: {math: 1.0, code: 1.0}}, {name: general, sources: {general: 1.0}}]
      tasks: [builtin_math]
    - name: dmt
      stages:
        - {name: specialist, sources: {math: 1.0, code: 1.0}}
        - {name: general, sources: {general: 1.0}, replay: {stage: specialist, fraction: grid}}
      tasks: [builtin_math]
eval: {tasks: [{task: builtin_math, n: 2}]}
"""


def keys(recipe) -> list[list[str]]:
    """Stage key hashes of every planned run."""
    return [
        [runs.content_hash(k) for _, k in runs.stage_keys(p.recipe.to_dict(), "hf", "float32")] for p in recipe.runs()
    ]


def load(tmp_path, text=DMT, overrides=()):
    return load_recipe(write_recipe(tmp_path / "dmt.yaml", text), list(overrides), profile="cpu")


def test_dmt_stage1_is_one_stage_for_every_k_and_mixed_sequential(tmp_path):
    all_keys = keys(load(tmp_path))
    assert len({k[0] for k in all_keys}) == 1, "stage 1 is trained once for the whole sweep"
    assert len({k[1] for k in all_keys}) == len(all_keys), "each k (and k=0) has its own stage 2"


@pytest.mark.parametrize(
    ("override", "stage1_changes", "stage2_changes"),
    [
        ("train.learning_rate=0.001", True, True),
        ("sources.math.pool_n=32", True, True),  # stage 1's data, so stage 2's parent
        ("sources.general.pool_n=16", False, True),  # stage 2's data only
        ("train.stage_chaining=continue", False, True),  # how stage 2 starts, not what stage 1 is
        ("eval.tasks.0.n=5", False, False),  # scoring does not change training
        ("name=other", False, False),
    ],
)
def test_stage_keys_change_when_and_only_when_an_input_changes(tmp_path, override, stage1_changes, stage2_changes):
    before, after = keys(load(tmp_path)), keys(load(tmp_path, overrides=[override]))
    for b, a in zip(before, after, strict=True):
        assert (b[0] != a[0]) == stage1_changes
        assert (b[1] != a[1]) == stage2_changes


def test_sequential_stage_order_is_the_recipes_order():
    recipe = load_recipe(REPO / "recipes" / "rq4.yaml", profile="cpu")
    sequential = next(p.recipe for p in recipe.runs() if p.tag == "sequential")
    assert [st.name for st in sequential.stage_list()] == ["code", "math", "general"]
    assert [[m.source for m in st.mixture] for st in sequential.stage_list()] == [
        ["builtin:code_easy"],
        ["builtin:math_easy"],
        ["builtin:general"],
    ]


def test_replay_takes_exactly_the_requested_fraction_of_the_earlier_stage_nested_across_k(tmp_path):
    from kit.pipeline import data_phase

    earlier = runs.RunDir(tmp_path / "stage1")
    stage1_rows = [{"id": f"r{i}", "source": "x", "messages": []} for i in range(256)]
    runs.write_jsonl(earlier.rows, stage1_rows)
    chosen = {}
    for k in (1, 0.25, 0.0625, 0.015625, 0.00390625):
        stage = Stage("general", (), "specialist", k)
        later = runs.RunDir(tmp_path / f"k{k}")
        manifest = data_phase(later, stage, 0, {"name": "specialist", "dir": earlier})
        rows = runs.read_jsonl(later.rows)
        assert len(rows) == manifest["replay"]["count"] == round(256 * k)
        chosen[k] = {r["id"] for r in rows}
    ks = sorted(chosen, reverse=True)
    assert all(chosen[small] <= chosen[big] for big, small in zip(ks, ks[1:]))


def test_a_replay_must_name_an_earlier_stage(tmp_path):
    from kit.recipe import RecipeError

    bad = DMT.replace("replay: {stage: specialist", "replay: {stage: general")
    with pytest.raises(RecipeError, match="not an earlier stage"):
        load(tmp_path, bad)


SEQ = """
name: seq
model: {base: tiny-random-llama, max_seq_len_tokens: 160}
stages:
  - {name: first, mixture: [{source: "builtin:code", n: 4}]}
  - {name: second, mixture: [{source: "builtin:math", n: 4}], replay_stage: first, replay_fraction: 0.5}
train: {max_steps: 2, batch_size: 2, lora: {rank: 4, alpha: 8}}
export: {parity_prompts: 1, parity_max_tokens: 6}
eval: {tasks: [{task: builtin_math, n: 2}]}
"""


@pytest.mark.parametrize("chaining", ["merge", "continue"])
def test_two_stage_run_trains_in_order_and_chains_as_configured(tmp_path, isolated, chaining):
    from kit.pipeline import run_recipe

    summary = run_recipe(load(tmp_path, SEQ, [f"train.stage_chaining={chaining}"]))
    first, second = (runs.Path(summary["run_dir"]).parent / s["run_id"] for s in summary["stages"])
    assert [s["name"] for s in summary["stages"]] == ["first", "second"]
    assert summary["stages"][1]["examples"] == 4 + 2
    base = json.loads((second / "base.json").read_text())
    if chaining == "merge":
        assert base == {"path": str(first / "merged"), "init_adapter": None}
        assert runs.is_done(first / "merged")
        assert (first / "merge.log").is_file() and not (first / "merged" / "job.json").exists()  # a worker merged it
    else:  # the first stage is shared with the merge case (chaining is not part of its key)
        first_base = json.loads((first / "base.json").read_text())
        assert base == {"path": first_base["path"], "init_adapter": str(first / "train")}
    assert summary["parity"]["passed"]
