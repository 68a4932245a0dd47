"""The LoRA merge: deltas added in float32 and rounded once to the base's own dtype; continuing an adapter."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import torch

from kit.models import resolve_base
from kit.recipe import LoraSpec

TARGETS = ["q_proj", "v_proj", "down_proj"]


def _lora_model(dtype, rank=4):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(resolve_base("tiny-random-llama"), dtype=dtype)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=TARGETS, init_lora_weights=False)
    return get_peft_model(model, config)  # init_lora_weights=False: B is random too, so every delta is non-zero


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k.endswith("proj.weight")}


def test_fp32_merge_equals_peft_merge_on_a_float32_base(isolated):
    from kit.export.merge import merge_fp32

    ours = _lora_model(torch.float32)
    theirs = copy.deepcopy(ours)
    assert merge_fp32(ours) == 2 * len(TARGETS)  # 2 layers
    a, b = _weights(ours.unload()), _weights(theirs.merge_and_unload())
    assert a.keys() == b.keys() and len(a) == 7 * 2
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)


def test_fp16_merge_rounds_once_and_stays_in_float16(isolated):
    from kit.export.merge import merge_fp32

    ours = _lora_model(torch.float16)
    peft16, exact_model = copy.deepcopy(ours), copy.deepcopy(ours).float()
    exact = _weights(exact_model.merge_and_unload())  # the float16 base plus the delta, both exact in float32
    merge_fp32(ours)
    for name, p in peft16.named_parameters():  # PEFT's path for float16 adapter weights (an adapter saved in
        if "lora_" in name:  # float16, or loaded with autocast_adapter_dtype=False): the delta rounded first
            p.data = p.data.half()
    a, b = _weights(ours.unload()), _weights(peft16.merge_and_unload())
    changed = 0
    for k in a:
        assert a[k].dtype == torch.float16
        assert torch.equal(a[k], exact[k].half())  # the exact sum, rounded once
        err_ours = (a[k].float() - exact[k]).abs().sum()
        err_peft = (b[k].float() - exact[k]).abs().sum()
        assert err_ours <= err_peft * 1.0001
        changed += int(not torch.equal(a[k], b[k]))
    assert changed > 0  # two roundings (the float16 delta, then the float16 sum) differ from one somewhere


def test_merge_saves_in_the_bases_dtype(isolated, tmp_path):
    from kit.export.merge import merge

    base = tmp_path / "base16"
    model = _lora_model(torch.float16)
    model.unload().save_pretrained(base)
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(resolve_base("tiny-random-llama")).save_pretrained(base)
    adapter = tmp_path / "adapter"
    _lora_model(torch.float16).save_pretrained(adapter)
    assert merge(str(base), adapter, tmp_path / "merged", "chatml") == "float16"
    assert json.loads((tmp_path / "merged" / "config.json").read_text())["dtype"] == "float16"
    assert merge(resolve_base("tiny-random-llama"), None, tmp_path / "plain", "chatml") == "float32"


def test_continuing_an_adapter_loads_its_weights_into_a_fresh_one(isolated, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from kit.backends.sft import load_adapter_weights

    saved = _lora_model(torch.float32)
    saved.save_pretrained(tmp_path / "adapter")
    lora = LoraSpec(rank=4, alpha=8, target_modules=tuple(TARGETS))
    fresh = _lora_model(torch.float32)
    torch.manual_seed(1)
    for p in fresh.parameters():  # a different start, so that the load has something to overwrite
        if p.requires_grad:
            p.data.normal_()
    load_adapter_weights(fresh, str(tmp_path / "adapter"), lora)
    plain = AutoModelForCausalLM.from_pretrained(resolve_base("tiny-random-llama"))
    reference = PeftModel.from_pretrained(plain, str(tmp_path / "adapter"), is_trainable=True)
    want = {k: v for k, v in reference.state_dict().items() if "lora_" in k}
    have = {k: v for k, v in fresh.state_dict().items() if "lora_" in k}
    assert want.keys() == have.keys() and want
    for k in want:
        assert torch.equal(want[k], have[k]), k
    with pytest.raises(ValueError, match="trained with"):
        load_adapter_weights(fresh, str(tmp_path / "adapter"), dataclasses.replace(lora, rank=8))


def test_a_sentencepiece_base_keeps_its_tokenizer_model_and_legacy_flag(tmp_path):
    """transformers 5's save_pretrained writes neither (helper check: llama.cpp then splits 'artificial' into
    'artif' 'icia' 'l' and parity fails); the merge puts both back from the base."""
    from kit.export.merge import keep_sentencepiece

    base, out = tmp_path / "base", tmp_path / "merged"
    base.mkdir()
    out.mkdir()
    (base / "tokenizer.model").write_bytes(b"\x0a\x05piece")  # the file is copied, not read
    (base / "tokenizer_config.json").write_text(json.dumps({"legacy": True, "tokenizer_class": "LlamaTokenizer"}))
    (out / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer", "chat_template": "x"}))
    keep_sentencepiece(str(base), out)
    assert (out / "tokenizer.model").read_bytes() == b"\x0a\x05piece"
    assert json.loads((out / "tokenizer_config.json").read_text()) == {
        "tokenizer_class": "LlamaTokenizer",
        "chat_template": "x",
        "legacy": True,
    }
    plain = tmp_path / "plain"  # a BPE base (SmolLM2's): nothing to put back
    plain.mkdir()
    (plain / "tokenizer_config.json").write_text("{}")
    before = (out / "tokenizer_config.json").read_text()
    keep_sentencepiece(str(plain), out)
    assert (out / "tokenizer_config.json").read_text() == before


def test_a_dora_adapter_is_merged_by_peft_for_its_layers(isolated):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from kit.export.merge import merge_fp32

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(resolve_base("tiny-random-llama"), dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, init_lora_weights=False, use_dora=True)
    ours = get_peft_model(model, config)
    theirs = copy.deepcopy(ours)
    assert merge_fp32(ours) == 2 * len(TARGETS)
    a, b = _weights(ours.unload()), _weights(theirs.merge_and_unload())
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
