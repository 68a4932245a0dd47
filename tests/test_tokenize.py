"""The kit tokenizes training rows itself (one path for both backends): labels are exactly the assistant turns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from kit.data import formats
from kit.data.builtin import get_generator
from kit.data.templates import TRAINING_TEMPLATES, training_template

SHARED = Path(__file__).parents[2] / "shared" / "data"
TRL_TEMPLATES = Path(importlib.util.find_spec("trl").origin).parent / "chat_templates"  # real models' templates


def real_rows() -> list[dict]:
    """Multi-turn ShareGPT chats, GSM8K and Code Alpaca rows from ../shared/data, and built-in rows."""
    sources = [
        ("sharegpt_format/dummy_conversation.json", "sharegpt", 40),
        ("gsm8k/test.jsonl", "gsm8k", 10),
        ("code_alpaca/code_alpaca_2k.json", "alpaca", 10),
    ]
    rows = []
    for relative, fmt, n in sources:
        path = SHARED / relative
        if not path.is_file():
            pytest.skip(f"sample data not present: {path}")
        rows += formats.read_local(path, fmt, source_name=fmt)[0][:n]
    return rows + get_generator("math_easy").generate_train(5, 0) + get_generator("general").generate_train(5, 0)


@pytest.fixture
def tokenizer(isolated):
    from transformers import AutoTokenizer

    from kit.models import resolve_base

    return AutoTokenizer.from_pretrained(resolve_base("tiny-random-llama"))  # SmolLM2's real tokenizer


def _turn_end(name: str, tokenizer) -> tuple[str, str]:
    """What the training template puts before and after an assistant reply inside its loss mask."""
    return (" ", tokenizer.eos_token) if name == "vicuna_v1.1" else ("", "<|im_end|>")


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_labels_are_exactly_the_assistant_turns_of_real_chats(name, tokenizer):
    from kit.backends.sft import tokenize_rows

    tokenizer.chat_template = training_template(name)
    rows = real_rows()
    multi_turn = [r for r in rows if sum(m["role"] == "assistant" for m in r["messages"]) > 1]
    assert multi_turn, "the sample should hold multi-turn chats"
    encoded = tokenize_rows(tokenizer, rows, max_len=100_000)
    assert len(encoded) == len(rows)
    before, after = _turn_end(name, tokenizer)
    for row, enc in zip(rows, encoded, strict=True):
        assert len(enc["input_ids"]) == len(enc["attention_mask"]) == len(enc["labels"])
        assert all(label in (-100, tok) for label, tok in zip(enc["labels"], enc["input_ids"], strict=True))
        trained = tokenizer.decode([t for t in enc["labels"] if t != -100])
        replies = [before + m["content"] + after for m in row["messages"] if m["role"] == "assistant"]
        assert trained == "".join(replies), row["id"]
        assert enc["labels"][0] == -100  # the prompt opens every row


def test_rows_are_cut_to_max_len_and_a_row_left_without_a_reply_is_dropped(tokenizer):
    from kit.backends.sft import tokenize_rows

    tokenizer.chat_template = training_template("chatml")
    rows = get_generator("math_easy").generate_train(3, 0)
    full = tokenize_rows(tokenizer, rows, max_len=100_000)
    prompt_len = min(next(i for i, label in enumerate(e["labels"]) if label != -100) for e in full)
    cut = tokenize_rows(tokenizer, rows, max_len=prompt_len + 2)
    assert all(len(e["input_ids"]) == prompt_len + 2 for e in cut) and len(cut) >= 1
    assert tokenize_rows(tokenizer, rows, max_len=prompt_len - 1) == []


CHATS = [
    [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "2 + 3 = 5.\n#### 5"},
        {"role": "user", "content": "And 4 + 4?"},
        {"role": "assistant", "content": " 8 \n"},  # the reply's own edge whitespace is the reply's
    ],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Bye."},
    ],
]


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_the_rendered_mask_equals_the_marker_mask_of_every_kit_template(name, tokenizer):
    """The mask found by rendering (for templates without markers) against the known-good one, from the markers of
    the kit's own templates, on multi-turn chats with and without a system prompt. DoIT's template has no system
    role (it renders a system message as an assistant turn, markers and all), so it is held to the first chat."""
    from kit.backends.mask import assistant_mask, rendered_mask
    from kit.data.templates import inference_template

    for messages in CHATS[:1] if name == "doit" else CHATS:
        tokenizer.chat_template = training_template(name)
        marked = assistant_mask(tokenizer, messages, "r")
        tokenizer.chat_template = inference_template(name)
        rendered = rendered_mask(tokenizer, messages, "r")
        assert rendered == marked and sum(marked[1]) > 0
        assert assistant_mask(tokenizer, messages, "r") == rendered  # no markers: the rendered mask is used


def test_a_real_template_without_markers_trains_on_the_replies_as_trls_marked_form_does(tokenizer):
    """Qwen2.5's own template (as TRL stores it) against TRL's training form of it, whose markers also take two
    newlines per reply: the header's (which the generation prompt holds, so it is never generated) and the one
    after <|im_end|>. The rendered mask trains on neither, and differs by nothing else."""
    from kit.backends.mask import assistant_mask

    for messages in CHATS:
        tokenizer.chat_template = (TRL_TEMPLATES / "qwen2_5_training.jinja").read_text()
        ids, trl_mask = assistant_mask(tokenizer, messages, "r")
        tokenizer.chat_template = (TRL_TEMPLATES / "qwen2_5.jinja").read_text()
        assert assistant_mask(tokenizer, messages, "r")[0] == ids
        ours = assistant_mask(tokenizer, messages, "r")[1]
        differ = [i for i, (a, b) in enumerate(zip(trl_mask, ours, strict=True)) if a != b]
        replies = sum(m["role"] == "assistant" for m in messages)
        assert len(differ) == 2 * replies and all(trl_mask[i] and tokenizer.decode(ids[i]) == "\n" for i in differ)
        trained = tokenizer.decode([t for t, m in zip(ids, ours, strict=True) if m])
        assert trained == "".join(m["content"] + "<|im_end|>" for m in messages if m["role"] == "assistant")


def test_a_template_that_is_not_prefix_stable_is_refused_naming_the_row_and_the_fix(tokenizer):
    """Qwen3's template drops an earlier reply's reasoning once a later turn follows: rendering the chat up to that
    reply is then not the start of rendering the whole chat."""
    from kit.backends.sft import tokenize_rows
    from kit.data.templates import TemplateError

    tokenizer.chat_template = (TRL_TEMPLATES / "qwen3.jinja").read_text()
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<think>\nA greeting.\n</think>\n\nHello!"},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "Bye."},
    ]
    with pytest.raises(TemplateError, match=r"row chat-7: the chat template is not prefix-stable.*\{% generation %\}"):
        tokenize_rows(tokenizer, [{"id": "chat-7", "messages": messages}], max_len=512)


def test_labels_from_a_template_without_markers_are_the_assistant_turns(tokenizer):
    from kit.backends.sft import tokenize_rows
    from kit.data.templates import inference_template

    rows = get_generator("math_easy").generate_train(3, 0)
    tokenizer.chat_template = training_template("chatml")
    marked = tokenize_rows(tokenizer, rows, max_len=512)
    tokenizer.chat_template = inference_template("chatml")
    assert tokenize_rows(tokenizer, rows, max_len=512) == marked


def test_the_collator_pads_on_the_right_without_training_on_padding():
    from kit.backends.sft import PadCollator

    batch = PadCollator(pad_token_id=7)(
        [
            {"input_ids": [1, 2, 3], "attention_mask": [1, 1, 1], "labels": [-100, 2, 3]},
            {"input_ids": [4], "labels": [4]},  # TRL may drop the attention_mask column
        ]
    )
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 7, 7]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 2, 3], [4, -100, -100]]
