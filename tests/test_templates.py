"""Chat templates: the inference form is the training form minus the loss markers, and renders
exactly as the models' own templates do."""

from __future__ import annotations

import jinja2
import pytest

from kit.data.templates import TRAINING_TEMPLATES, inference_template, training_template

CONVERSATION = [
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "2 + 3 = 5.\n#### 5"},
    {"role": "user", "content": "And 4 + 4?"},
]


def render(template: str, messages: list[dict], **extra) -> str:
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = lambda msg: (_ for _ in ()).throw(ValueError(msg))
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, **extra)


def test_smollm2_inference_template_renders_like_the_shipped_gguf_template():
    gguf = pytest.importorskip("gguf")
    from kit.models import smollm2_gguf

    field = gguf.GGUFReader(str(smollm2_gguf())).fields["tokenizer.chat_template"]
    stock = bytes(field.parts[field.data[0]]).decode()
    for messages in (CONVERSATION, [{"role": "system", "content": "Be brief."}, *CONVERSATION]):
        assert render(inference_template("smollm2"), messages) == render(stock, messages)


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_training_template_marks_assistant_turns_and_inference_form_has_no_markers(name):
    assert "{% generation %}" in training_template(name)
    assert "generation %}" not in inference_template(name)


def test_vicuna_matches_fastchat_v1_1_layout():
    text = render(inference_template("vicuna_v1.1"), CONVERSATION, bos_token="<s>", eos_token="</s>")
    assert text == (
        "<s>A chat between a curious user and an artificial intelligence assistant. The assistant gives "
        "helpful, detailed, and polite answers to the user's questions. USER: What is 2 + 3? ASSISTANT: "
        "2 + 3 = 5.\n#### 5</s> USER: And 4 + 4? ASSISTANT:"
    )


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_loss_mask_covers_exactly_the_assistant_replies(name, isolated):
    from transformers import AutoTokenizer

    from kit.models import resolve_base

    tok = AutoTokenizer.from_pretrained(resolve_base("tiny-random-llama"))
    tok.chat_template = training_template(name)
    conv = [*CONVERSATION, {"role": "assistant", "content": "4 + 4 = 8.\n#### 8"}]
    out = tok.apply_chat_template(conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    eos = tok.eos_token if name == "vicuna_v1.1" else "<|im_end|>"
    expected = " 2 + 3 = 5.\n#### 5" + eos + " 4 + 4 = 8.\n#### 8" + eos
    if name != "vicuna_v1.1":
        expected = expected.replace(" ", "", 1).replace(eos + " ", eos)
    assert tok.decode(masked) == expected
