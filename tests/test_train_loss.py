"""The hf backend's loss: only the trained positions go through the LM head, with the same loss and gradients."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def lora_model(kit_home):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from kit.models import resolve_base

    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    model = AutoModelForCausalLM.from_pretrained(resolve_base("tiny-random-llama"), dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM")
    yield get_peft_model(model, config)
    mp.undo()


def _batch(vocab: int):
    import torch

    torch.manual_seed(0)
    ids = torch.randint(0, vocab, (3, 20))
    attention = torch.ones_like(ids)
    attention[2, 15:] = 0  # a padded row
    labels = ids.clone()
    labels[0, :12], labels[1, :5], labels[2, :9] = -100, -100, -100  # prompts of different lengths
    labels[1, 9:11] = -100  # a gap inside the trained span
    labels[2, 15:] = -100
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}


def _grads(model, loss) -> list:
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters() if p.requires_grad]


def test_compact_lm_head_loss_equals_the_full_logits_loss_and_its_gradients(lora_model):
    from kit.backends.sft import compact_lm_head_loss

    batch = _batch(lora_model.config.vocab_size)
    full = lora_model(**batch).loss  # transformers: mean cross-entropy over the labelled next tokens
    want = _grads(lora_model, full)
    ours = compact_lm_head_loss(lora_model, batch)
    got = _grads(lora_model, ours)
    assert abs(ours.item() - full.item()) < 1e-5
    assert len(got) == len(want) > 0
    assert all((a - b).abs().max() < 1e-5 for a, b in zip(got, want, strict=True))


def test_compact_lm_head_loss_divides_by_the_accumulated_token_count(lora_model):
    from kit.backends.sft import compact_lm_head_loss

    batch = _batch(lora_model.config.vocab_size)
    trained = int((batch["labels"][:, 1:] != -100).sum())
    mean = compact_lm_head_loss(lora_model, batch)
    over_twice = compact_lm_head_loss(lora_model, batch, num_items_in_batch=2 * trained)
    assert abs(over_twice.item() - mean.item() / 2) < 1e-6


def test_4bit_weights_count_two_parameters_a_stored_byte():
    import torch

    from kit.backends.sft import _param_counts

    class Params4bit(torch.nn.Parameter):  # bitsandbytes' class name: packed, numel() is half the weight
        pass

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.packed = Params4bit(torch.zeros(8, 1, dtype=torch.uint8), requires_grad=False)
            self.lora = torch.nn.Parameter(torch.zeros(3))

    assert _param_counts(Model()) == (3, 8 * 2 + 3)
