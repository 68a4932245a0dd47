"""Strict recipe loading: every problem reported at once with its dotted key; overrides; profiles."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kit.recipe import RecipeError, load_recipe, parse_overrides, shipped_recipes
from tests.conftest import REPO, write_recipe

MINIMAL = """
name: minimal
model: {base: tiny-random-llama}
data:
  mixture:
    - {source: "builtin:math", n: 8}
"""


def problems(exc: RecipeError) -> dict[str, str]:
    return dict(exc.problems)


def test_minimal_recipe_loads_with_defaults(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", MINIMAL), profile="cpu")
    assert recipe.data.mixture[0].n == 8
    assert recipe.train.backend == "auto"
    assert recipe.profile == "cpu"


def test_all_problems_are_reported_together_with_dotted_keys(tmp_path):
    text = MINIMAL + "train: {epochs: oops, learning_rat: 0.1, batch_size: 0}\nexport: {quant: Q4_K_N}\n"
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml", text), profile="cpu")
    found = problems(err.value)
    assert "expected a number" in found["train.epochs"]
    assert "did you mean 'learning_rate'" in found["train.learning_rat"]
    assert "did you mean 'Q4_K_M'" in found["export.quant"]


def test_range_checks_run_once_types_are_right(tmp_path):
    text = MINIMAL + "train: {batch_size: 0, warmup_ratio: 1.5}\n"
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml", text), profile="cpu")
    assert set(problems(err.value)) == {"train.batch_size", "train.warmup_ratio"}


def test_mixture_entry_needs_exactly_one_of_fraction_or_n(tmp_path):
    text = MINIMAL.replace("n: 8}", "n: 8, fraction: 0.5, pool_n: 100}")
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml", text), profile="cpu")
    assert "exactly one" in problems(err.value)["data.mixture.0.fraction"]


def test_builtin_fraction_needs_a_pool(tmp_path):
    text = MINIMAL.replace("n: 8}", "fraction: 0.25}")
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml", text), profile="cpu")
    assert "data.mixture.0.pool_n" in problems(err.value)


def test_unknown_eval_task_is_named(tmp_path):
    text = MINIMAL + "eval: {tasks: [{task: humaneval}, {task: gsm8kk}]}\n"
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml", text), profile="cpu")
    assert "did you mean 'gsm8k'" in problems(err.value)["eval.tasks.1.task"]


def test_dotted_overrides_reach_nested_keys_and_list_items(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", MINIMAL)
    recipe = load_recipe(path, ["train.lora.rank=4", "data.mixture.0.n=3", "eval.baseline=true"], profile="cpu")
    assert (recipe.train.lora.rank, recipe.data.mixture[0].n, recipe.eval.baseline) == (4, 3, True)


def test_override_to_a_missing_list_item_is_an_error(tmp_path):
    with pytest.raises(RecipeError, match="no item 5"):
        load_recipe(write_recipe(tmp_path / "r.yaml", MINIMAL), ["data.mixture.5.n=3"], profile="cpu")


def test_override_without_equals_sign_is_an_error():
    with pytest.raises(RecipeError, match="dotted.key=value"):
        parse_overrides(["train.epochs"])


def test_profile_overrides_apply_before_command_line(tmp_path):
    text = MINIMAL + "profiles:\n  gpu: {model.base: some/7b, train.quantization: nf4}\n  cpu: {train.max_steps: 5}\n"
    path = write_recipe(tmp_path / "r.yaml", text)
    gpu = load_recipe(path, profile="gpu")
    cpu = load_recipe(path, ["train.max_steps=7"], profile="cpu")
    assert (gpu.model.base, gpu.train.quantization, gpu.train.max_steps) == ("some/7b", "nf4", None)
    assert (cpu.model.base, cpu.train.max_steps) == ("tiny-random-llama", 7)


@pytest.mark.parametrize("path", shipped_recipes(), ids=lambda p: p.name)
@pytest.mark.parametrize("profile", ["cpu", "cpu-long", "gpu"])
def test_every_shipped_recipe_expands_into_runs_whose_every_stage_has_a_key(path, profile):
    from kit import runs

    recipe = load_recipe(path, profile=profile)
    planned = recipe.runs()
    assert planned and len({p.tag for p in planned}) == len(planned), "every run has its own tag"
    for p in planned:
        assert p.recipe.eval.tasks, f"{p.tag} is scored on nothing"
        keys = runs.stage_keys(p.recipe.to_dict(), "hf", "float32")
        assert [name for name, _ in keys] == [st.name for st in p.recipe.stage_list()]
        hashes = [runs.content_hash(k) for _, k in keys]
        assert len(set(hashes)) == len(hashes), f"{p.tag}: two stages with one key"


def test_cli_typo_fails_before_any_model_or_torch_loads():
    code = (
        "import sys\n"
        "from kit.cli import main\n"
        "try:\n"
        "    main(['run', 'recipes/smoke.yaml', 'train.epochs=oops'])\n"
        "except SystemExit as e:\n"
        "    print('exit', e.code, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "exit 2 False" in done.stdout
    assert "train.epochs" in done.stderr


BAD_NAMES = {
    "generator": ('source: "builtin:math"', 'source: "builtin:poetry"', "unknown built-in generator 'poetry'"),
    "format": ('source: "builtin:math"', 'source: "local:tests/test_recipe.py", format: jsonl', "unknown format"),
    "hub layout": ('source: "builtin:math"', 'source: "hf:someone/dataset"', "does not know 'someone/dataset'"),
    "local file": ('source: "builtin:math"', 'source: "local:no/such.jsonl", format: chat', "no file 'no/such.jsonl'"),
    "task": ("task: builtin_math,", "task: builtin_maths,", "did you mean 'builtin_math'"),
    "base alias": ("base: tiny-random-llama", "base: tiny-random-lama", "did you mean 'tiny-random-llama'"),
    "template": ("max_seq_len_tokens: 160", "max_seq_len_tokens: 160, chat_template: vicuna", "chat_template"),
    "quant": ("parity_max_tokens: 6", "parity_max_tokens: 6, quant: Q4_K_S", "'Q4_K_S' is not one of"),
}
NAMED = """
name: named
model: {base: tiny-random-llama, max_seq_len_tokens: 160}
data: {mixture: [{source: "builtin:math", pool_n: 8, n: 4}]}
train: {max_steps: 1, batch_size: 2}
export: {parity_prompts: 1, parity_max_tokens: 6}
eval: {tasks: [{task: builtin_math, n: 2}]}
"""


@pytest.mark.parametrize("what", BAD_NAMES)
def test_an_unknown_name_fails_validate_with_exit_2_and_one_clear_message(what, tmp_path):
    good, bad, message = BAD_NAMES[what]
    assert good in NAMED
    recipe = write_recipe(tmp_path / "r.yaml", NAMED.replace(good, bad, 1))
    home = tmp_path / "home"
    for command in (["validate", str(recipe)], ["run", str(recipe)]):
        done = subprocess.run(
            [sys.executable, "-m", "kit", *command],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "KIT_HOME": str(home)},
        )
        out = done.stdout + done.stderr
        assert done.returncode == 2, out
        assert message in out and "Traceback" not in out
    assert not (home / "runs").exists()  # nothing started


def test_the_named_recipe_itself_is_valid(tmp_path):
    load_recipe(write_recipe(tmp_path / "r.yaml", NAMED))


def test_a_mixture_entry_says_how_much_and_a_grid_pool_does_not(tmp_path):
    no_amount = NAMED.replace('{source: "builtin:math", pool_n: 8, n: 4}', '{source: "builtin:math", pool_n: 8}')
    with pytest.raises(RecipeError, match="data.mixture.0.fraction: give exactly one of"):
        load_recipe(write_recipe(tmp_path / "a.yaml", no_amount))
    grid = """
name: g
model: {base: tiny-random-llama}
sources:
  math: {source: "builtin:math", pool_n: 8, fraction: 0.5}
grid: {fractions: [1], arms: [{name: math, sources: [math], tasks: [builtin_math]}]}
eval: {tasks: [{task: builtin_math, n: 2}]}
"""
    with pytest.raises(RecipeError, match="sources.math.fraction: a grid's source is a pool"):
        load_recipe(write_recipe(tmp_path / "g.yaml", grid))
    ok = load_recipe(write_recipe(tmp_path / "ok.yaml", grid.replace(", fraction: 0.5", "")))
    (run,) = ok.runs()
    assert [(e.pool_n, e.n, e.fraction) for e in run.recipe.data.mixture] == [(8, 8, None)]
