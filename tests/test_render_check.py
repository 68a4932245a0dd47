"""The engine (llama-cpp-python's Jinja formatter) must render a chat template as transformers does: real models'
templates do, and a template leaning on what only transformers passes is an export error that says so."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from kit.data.templates import TRAINING_TEMPLATES, inference_template
from kit.export.render_check import RenderError, compare_all

TRL_TEMPLATES = Path(importlib.util.find_spec("trl").origin).parent / "chat_templates"  # real models' templates
REAL = sorted(p.stem for p in TRL_TEMPLATES.glob("*.jinja"))


@pytest.fixture(scope="module")
def tokenizer(kit_home):
    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    from kit.models import smollm2_tokenizer

    yield smollm2_tokenizer()
    mp.undo()


def check(tokenizer, template: str, prompts=()) -> int:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    tokenizer.chat_template = template
    formatter = Jinja2ChatFormatter(template, eos_token=tokenizer.eos_token, bos_token=tokenizer.bos_token)
    return compare_all("model.gguf", tokenizer, formatter, list(prompts))


def test_real_templates_render_alike_through_the_engine_and_transformers(tokenizer):
    """Llama 3.1 (bos_token, a date string), gpt-oss (strftime_now), Gemma (raise_exception on a system prompt),
    Qwen, DeepSeek, Phi, ...: every template TRL stores, and the kit's own."""
    assert len(REAL) > 50
    refused = {}
    for name in REAL:
        refused[name] = 3 - check(tokenizer, (TRL_TEMPLATES / f"{name}.jinja").read_text())
    for name in TRAINING_TEMPLATES:
        assert check(tokenizer, inference_template(name)) == 3
    assert refused["gemma"] == 1  # "System role not supported", raised both ways
    assert "strftime_now" in (TRL_TEMPLATES / "gptoss.jinja").read_text()


def test_a_template_using_a_token_only_transformers_passes_is_an_error_naming_the_difference(tokenizer):
    template = "{% for m in messages %}{{ m['content'] }}{{ unk_token }}{% endfor %}"  # printed: nothing
    with pytest.raises(RenderError, match=r"unlike transformers from character 14: transformers '<\|endoftext\|>'"):
        check(tokenizer, template)


def test_a_template_the_engine_cannot_render_is_an_error_saying_what_it_passes(tokenizer):
    template = "{% for m in messages %}{{ m['content'] + pad_token.strip() }}{% endfor %}"
    with pytest.raises(RenderError, match="cannot render the chat template .*passes a template only messages"):
        check(tokenizer, template)


def test_the_runs_own_probe_prompts_are_compared_too(tokenizer):
    template = "{% for m in messages %}{{ m['content'] }}{% if m['content'] == 'odd' %}{{ pad_token }}{% endif %}"
    template += "{% endfor %}"
    assert check(tokenizer, template) == 3
    with pytest.raises(RenderError, match="on a user chat"):
        check(tokenizer, template, [[{"role": "user", "content": "odd"}]])
