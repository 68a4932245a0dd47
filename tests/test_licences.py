"""The licence registry (kit.licences): every dataset and base the shipped recipes and eval tasks name is in it, an
unknown id says so, and licences reach the plan and the data manifest but not a run's summary."""

from __future__ import annotations

import dataclasses

import pytest

from kit import licences
from kit.data.mixture import build_mixture
from kit.licences import Licence, dataset_licence, model_licence
from kit.recipe import SourceSpec, load_recipe, shipped_recipes


def shipped_sources_and_bases() -> tuple[set[str], set[str]]:
    sources, bases = set(), set()
    for path in shipped_recipes():
        for profile in ("cpu", "cpu-long", "gpu"):
            recipe = load_recipe(path, profile=profile)
            bases.add(recipe.model.base)
            for planned in recipe.runs():
                sources.update(e.source for st in planned.recipe.stage_list() for e in st.mixture)
    return sources, bases


def test_every_source_and_base_of_the_shipped_recipes_has_a_known_licence():
    sources, bases = shipped_sources_and_bases()
    assert any(s.startswith("hf:") for s in sources) and any(s.startswith("builtin:") for s in sources)
    unknown = [s for s in sources if dataset_licence(s).name == "unknown"]
    unknown += [b for b in bases if model_licence(b).name == "unknown"]
    assert not unknown


def test_every_hub_id_the_eval_tasks_read_has_a_known_licence():
    from kit.eval.tasks import doit, gsm8k, hub_reasoning

    ids = [gsm8k.HUB_ID, hub_reasoning.BABI_REPO, hub_reasoning.CLUTRR_REPO, doit.REPO]
    ids += ["openai/openai_humaneval", "HuggingFaceH4/mt_bench_prompts", "google/IFEval"]
    assert [i for i in ids if dataset_licence(i).name == "unknown"] == []


def test_the_licences_that_restrict_use_say_so():
    code = dataset_licence("hf:sahil2801/CodeAlpaca-20k")
    assert (code.name, code.spdx) == ("CC BY-NC 4.0", "CC-BY-NC-4.0") and "text-davinci-003" in code.note
    sharegpt = dataset_licence("hf:anon8231489123/ShareGPT_Vicuna_unfiltered")
    assert sharegpt.spdx == "Apache-2.0" and "provenance unclear" in sharegpt.note
    assert dataset_licence("CLUTRR/v1").spdx == "CC-BY-NC-4.0"
    assert dataset_licence("hf:google/IFEval").spdx == "Apache-2.0"
    llama = model_licence("unsloth/llama-2-7b")
    assert llama.name == "Llama 2 Community License" and llama.spdx is None
    chinese = model_licence("hfl/chinese-llama-2-13b")
    assert chinese.spdx == "Apache-2.0" and "Llama 2" in chinese.name and "Llama 2" in chinese.note
    assert model_licence("unsloth/mistral-7b").spdx == "Apache-2.0"
    assert model_licence("smollm2-135m").spdx == "Apache-2.0"


def test_hub_ids_are_looked_up_without_regard_to_case_and_with_or_without_hf():
    assert dataset_licence("hf:OPENAI/GSM8K") == dataset_licence("openai/gsm8k") == licences.DATASETS["openai/gsm8k"]
    assert model_licence("HFL/Chinese-LLaMA-2-7B") == licences.MODELS["hfl/chinese-llama-2-7b"]


def test_an_unknown_id_is_unknown_with_a_note_to_check_its_card(tmp_path):
    assert dataset_licence("hf:someone/data") == Licence("unknown", None, None, note="check the dataset card")
    assert dataset_licence("builtin:poetry").name == "unknown"  # no such generator: not the kit's
    assert dataset_licence("builtin:math") == licences.KIT
    local = dataset_licence(f"local:{tmp_path}/x.jsonl")
    assert local.name == "unknown" and "x.jsonl" in local.note
    assert model_licence("someone/model-7b").name == "unknown"
    assert "local folder" in model_licence(str(tmp_path)).note


def test_a_licence_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        licences.KIT.name = "MIT"


def test_the_manifest_records_each_sources_licence_and_the_summary_leaves_them_out():
    from kit.pipeline import summary_data

    _, manifest = build_mixture([SourceSpec("builtin:math", n=3), SourceSpec("builtin:general", n=2)], seed=0)
    assert manifest["licences"] == {s: licences.KIT.as_dict() for s in ("builtin:math", "builtin:general")}
    data = summary_data(manifest)
    assert "licences" not in data and data == {k: v for k, v in manifest.items() if k != "licences"}
    assert "licences" in manifest  # the manifest itself is not changed


def test_the_plan_lists_each_source_and_the_base_with_its_licence(isolated):
    from kit.plan import format_plan, measured_speed, plan

    recipe = load_recipe("recipes/rq1.yaml", ["model.base=unsloth/llama-2-7b"], profile="cpu")
    speed = measured_speed(recipe.profile, recipe, None)
    text = format_plan(recipe, plan(recipe, speed), speed)
    section = text.split("licences (")[1].splitlines()
    sources = [line for line in section if line.startswith("  data ")]
    assert [line.split(":")[0] for line in sources] == ["  data builtin"] * 3
    assert {line.split(":")[1] for line in sources} == {"math_easy", "code_easy", "general"}
    assert any(line.startswith("  base unsloth/llama-2-7b: Llama 2 Community License") for line in section)


def test_a_gpu_plan_lists_the_hub_sources_and_the_base_with_their_licences(isolated, tmp_path, monkeypatch):
    from kit import estimate
    from kit.plan import format_plan, measured_speed, plan

    monkeypatch.setattr(estimate, "GPU_CHECK_TRAIN", tmp_path / "no-gpu-check-yet.json")
    recipe = load_recipe("recipes/p2.yaml", profile="gpu")
    speed = measured_speed(recipe.profile, recipe, None)
    section = format_plan(recipe, plan(recipe, speed), speed).split("\nlicences (")[1].splitlines()
    assert [line.split(": ")[0] for line in section[1:]] == [
        "  data hf:anon8231489123/ShareGPT_Vicuna_unfiltered",  # code and noncode: one source, listed once
        "  base unsloth/mistral-7b",
    ]
    assert "provenance unclear" in section[1] and "Apache-2.0" in section[2]
