"""P3's gpu path, end to end on the tiny random Llama: DoIT's files by hub id at a revision (read from a local
clone of our fixture through KIT_HUB_CLONES), the doit template, LoRA, GGUF, every kind of DoIT item scored by
llama.cpp, result rows and the report. Random weights, so scores are noise; what is checked is that each link runs
on the authors' format as the gpu profile will."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.report.rows import validate_rows
from tests.conftest import write_recipe

HUB = Path(__file__).parent / "assets" / "hub"
REVISION = "4ae3b55e7fd7966aa59afb7b819558f682e4ef3c"
SOURCE = '{source: "hf:ChiyuSONG/dynamics-of-instruction-tuning", format: doit, revision: ' + REVISION
RECIPE = f"""
name: p3
model: {{base: tiny-random-llama, chat_template: doit, max_seq_len_tokens: 256}}
sources:
  code: {SOURCE}, file: curated/1000/code_1000.json, pool_n: 8}}
  reasoning: {SOURCE}, file: curated/1000/reasoning_1000.json, pool_n: 8}}
  synthetic: {SOURCE}, file: "synthetic/40960/*.json", pool_n: 12}}
grid:
  fractions: [1]
  abilities:
    all: ["doit:code", "doit:reasoning", "doit:ethics", "doit:math", "doit:history", "doit:understanding",
          "doit:ceval_physician"]
  arms:
    - {{name: curated, sources: [code, reasoning], tasks: [all]}}
    - {{name: synthetic, sources: [synthetic], tasks: [all]}}
train: {{epochs: 1, min_steps: 3, batch_size: 8, lora: {{rank: 4, alpha: 8}}}}
export: {{quant: Q8_0, parity_prompts: 1, parity_max_tokens: 8}}
eval:
  tasks:
    - {{task: doit, subset: code}}
    - {{task: doit, subset: reasoning, max_new_tokens: 4}}
    - {{task: doit, subset: ethics, max_new_tokens: 8}}
    - {{task: doit, subset: math, max_new_tokens: 8}}
    - {{task: doit, subset: history, max_new_tokens: 8}}
    - {{task: doit, subset: understanding, max_new_tokens: 4}}
    - {{task: doit, subset: ceval_physician, max_new_tokens: 4}}
  baseline: true
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory, kit_home):
    from kit.eval.tasks import doit as task
    from kit.pipeline import run_recipe
    from kit.recipe import load_recipe
    from kit.report.summary import rows_of

    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    mp.setenv("KIT_HUB_CLONES", str(HUB))
    mp.setenv("KIT_RESULTS", str(tmp_path_factory.mktemp("results")))
    task._records.cache_clear()
    recipe = load_recipe(write_recipe(tmp_path_factory.mktemp("r") / "p3.yaml", RECIPE), profile="cpu")
    summaries = [run_recipe(planned.recipe, planned=planned) for planned in recipe.runs()]
    yield summaries, [row for s in summaries for row in rows_of(s)]
    task._records.cache_clear()
    mp.undo()


def test_hub_files_train_at_their_revision_with_a_floor_on_steps(chain):
    summaries, _ = chain
    curated = summaries[0]
    reports = {e["source"]: e for e in curated["data"]["entries"]}
    assert curated["data"]["total"] == 16 and len(reports) == 1  # two files of one repository: one source name
    entries = curated["data"]["entries"]
    assert {f for e in entries for f in e["report"]["files"]} <= {
        "curated/1000/code_1000.json",
        "curated/1000/reasoning_1000.json",
    }
    assert curated["train"]["steps"] == 3  # one epoch of 16 rows at batch 8 is 2 steps: the floor makes it 3


def test_every_kind_of_doit_item_is_scored_with_its_chance(chain):
    _, rows = chain
    validate_rows(rows)
    tasks = {r["task"] for r in rows}
    assert tasks == {
        "doit:code",
        "doit:reasoning",
        "doit:ethics",
        "doit:math",
        "doit:history",
        "doit:understanding",
        "doit:ceval_physician",
    }
    chance = {r["task"]: r["score"] for r in rows if r["metric"] == "chance" and r["arm"] == "base"}
    assert chance["doit:code"] == pytest.approx(1 / 3, abs=1e-6) and chance["doit:math"] == 0.0
    assert chance["doit:history"] == pytest.approx((0.5 + 0.25) / 2)  # one true/false item, one letter item
    assert chance["doit:understanding"] == pytest.approx(1 / 3, abs=1e-6)
    assert chance["doit:ethics"] == pytest.approx(1 / 6, abs=1e-6)
    assert {r["ability"] for r in rows if r["task"] == "doit:ceval_physician"} == {"ood"}
    assert {r["arm"] for r in rows} == {"curated", "synthetic", "base"}


def test_the_report_renders_from_the_gpu_paths_rows(chain, tmp_path):
    from kit.report import write_report

    _, rows = chain
    paths = write_report("p3", rows, tmp_path)
    text = paths[0].read_text()
    assert "`doit:ceval_physician`" in text and "humanity history" in text and "**out-of-domain mean**" in text
