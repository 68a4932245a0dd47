"""The model aliases: SmolLM2's tokenizer ships with the kit (the GPU stack's transformers builds a broken one)."""

from __future__ import annotations

import json

import pytest


def test_the_shipped_tokenizer_is_what_transformers_builds_from_the_smollm2_gguf(isolated):
    import transformers
    from transformers import AutoTokenizer

    from kit.models import smollm2_gguf, smollm2_tokenizer

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    if (major, minor) < (5, 23):
        pytest.skip(f"transformers {transformers.__version__} builds a broken tokenizer from the GGUF (the reason)")
    gguf = smollm2_gguf()
    fresh = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    shipped = smollm2_tokenizer()
    assert json.loads(shipped.backend_tokenizer.to_str()) == json.loads(fresh.backend_tokenizer.to_str())
    for attr in ("bos_token", "eos_token", "pad_token", "unk_token", "chat_template"):
        assert getattr(shipped, attr) == getattr(fresh, attr), attr
    text = "<|im_start|>user\nWhat is 12 + 30?<|im_end|>\n<|im_start|>assistant\n12 + 30 = 42\n#### 42<|im_end|>"
    assert shipped(text)["input_ids"] == fresh(text)["input_ids"]


def test_the_test_model_carries_the_shipped_tokenizer(isolated):
    from transformers import AutoTokenizer

    from kit.models import resolve_base, smollm2_tokenizer

    tok = AutoTokenizer.from_pretrained(resolve_base("tiny-random-llama"))
    assert tok.get_vocab() == smollm2_tokenizer().get_vocab() and len(tok) == 49152
