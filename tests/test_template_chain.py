"""``chat_template: tokenizer`` and a .jinja file, end to end on the tiny random Llama (whose tokenizer ships
SmolLM2's template, without loss markers): the loss mask is found by rendering, training runs, and the GGUF carries
the base's own template, or the file's with its markers stripped, which the engine renders as transformers does."""

from __future__ import annotations

import json

import pytest

from kit import runs
from kit.data.templates import training_template
from tests.conftest import write_recipe

RECIPE = """
name: {name}
model: {{base: tiny-random-llama, chat_template: {template}, max_seq_len_tokens: 160}}
data: {{mixture: [{{source: "builtin:math", n: 4}}]}}
train: {{max_steps: 1, batch_size: 4, lora: {{rank: 4, alpha: 8}}}}
export: {{quant: Q8_0, parity_prompts: 1, parity_max_tokens: 4}}
eval: {{tasks: [{{task: builtin_math, n: 1}}]}}
"""


@pytest.fixture(scope="module")
def chains(tmp_path_factory, kit_home):
    from kit.pipeline import run_recipe
    from kit.recipe import load_recipe

    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    mp.setenv("KIT_RESULTS", str(tmp_path_factory.mktemp("results")))
    folder = tmp_path_factory.mktemp("r")
    (folder / "mine.jinja").write_text(training_template("chatml"))  # ChatML with markers, no default system
    out = {}
    for name, template in (("own", "tokenizer"), ("file", folder / "mine.jinja")):
        path = write_recipe(folder / f"{name}.yaml", RECIPE.format(name=name, template=template))
        out[name] = run_recipe(load_recipe(path, profile="cpu"))
    yield out
    mp.undo()


def gguf_template(summary: dict) -> str:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=summary["export"]["gguf"], vocab_only=True, verbose=False)
    try:
        return llm.metadata["tokenizer.chat_template"]
    finally:
        llm.close()


def test_tokenizer_trains_on_the_base_template_and_the_gguf_carries_it(chains, isolated):
    from kit.data.templates import has_generation_markers
    from kit.models import smollm2_tokenizer

    summary = chains["own"]
    run = runs.Path(summary["run_dir"])
    assert json.loads((run / "recipe.json").read_text())["model"]["chat_template"] == "tokenizer"
    assert json.loads((run / "job.json").read_text())["chat_template"] == "tokenizer"
    assert summary["train"]["steps"] == 1 and summary["parity"]["passed"]
    own = smollm2_tokenizer().chat_template
    assert not has_generation_markers(own) and gguf_template(summary) == own  # so the mask was found by rendering


def test_a_file_trains_under_its_content_hash_and_the_gguf_carries_it_without_markers(chains):
    from kit.data.templates import inference_template

    summary = chains["file"]
    key = json.loads((runs.Path(summary["run_dir"]) / "recipe.json").read_text())
    assert key["model"]["chat_template"].startswith("jinja-sha256:")
    assert summary["train"]["steps"] == 1 and summary["parity"]["passed"]
    assert gguf_template(summary) == inference_template("chatml")
    assert summary["run_id"] != chains["own"]["run_id"]
