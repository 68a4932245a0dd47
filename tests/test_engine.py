"""The llama.cpp engine on the tiny model's f16 GGUF: batched decoding answers like one-at-a-time,
log-likelihoods and choice log-probs agree with transformers, completions are cached."""

from __future__ import annotations

import pytest

from kit.data.builtin import get_generator

N_THREADS = 2


@pytest.fixture(scope="module")
def tiny_f16(tmp_path_factory, kit_home):
    from kit.export.gguf import convert
    from kit.export.merge import merge
    from kit.models import resolve_base

    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    folder = tmp_path_factory.mktemp("tiny_f16")
    merge(resolve_base("tiny-random-llama"), None, folder / "hf", "smollm2", "float32")
    convert(folder / "hf", folder / "model-F16.gguf", "f16")
    yield folder
    mp.undo()


def prompts(n: int) -> list[list[dict]]:
    return [it["messages"] for it in get_generator("math").generate_eval(n, 0)]


def test_batched_greedy_decoding_matches_one_at_a_time_on_f16(tiny_f16):
    from kit.eval.engine import open_engine

    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=4) as engine:
        ids = [engine.prompt_ids(p) for p in prompts(7)]  # 7 > 4: slots are refilled as sequences finish
        batched = engine.generate_many(ids, 12)
        single = [engine.generate_ids(p, 12) for p in ids]
    assert batched == single
    assert all(len(x) > 0 for x in batched)


def hf_logprobs(folder, prompt: list[int], continuation: list[int]):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder / "hf", dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([prompt + continuation])).logits[0]
    return torch.log_softmax(logits.double(), dim=-1)


def test_loglik_of_a_continuation_agrees_with_transformers(tiny_f16):
    from kit.eval.engine import open_engine

    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS) as engine:
        prompt = engine.prompt_ids(prompts(1)[0])
        continuation = engine.tokenize("The answer is 42.\n#### 42")
        ours, greedy = engine.loglik(prompt, continuation)
        first_greedy = engine.generate_ids(prompt, 3)
        _, greedy_ok = engine.loglik(prompt, first_greedy)
    lp = hf_logprobs(tiny_f16, prompt, continuation)
    theirs = sum(float(lp[len(prompt) - 1 + i, t]) for i, t in enumerate(continuation))
    assert abs(ours - theirs) < 0.02 * len(continuation), (ours, theirs)
    assert greedy is False and greedy_ok is True


def test_choice_logprobs_agree_with_transformers_next_token_distribution(tiny_f16):
    from kit.eval.engine import open_engine

    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS) as engine:
        prompt = engine.prompt_ids([{"role": "user", "content": "Pick one: A, B, C or D?"}])
        choices = [engine.tokenize(c)[0] for c in ("A", "B", "C", "D")]
        ours = engine.choice_logprobs(prompt, choices)
    lp = hf_logprobs(tiny_f16, prompt, [])[-1]
    theirs = [float(lp[c]) for c in choices]
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 0.02
    assert max(range(4), key=ours.__getitem__) == max(range(4), key=theirs.__getitem__)


def test_completion_cache_never_regenerates_the_same_prompt_and_settings(tiny_f16, tmp_path):
    from kit.eval.cache import CompletionCache, cached_chat_many
    from kit.eval.engine import open_engine

    cache = CompletionCache(tmp_path / "c.sqlite")
    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=2) as engine:
        first, made = cached_chat_many(engine, cache, prompts(3), 8)
        again, made_again = cached_chat_many(engine, cache, prompts(3), 8)
        longer, made_longer = cached_chat_many(engine, cache, prompts(3), 10)
    assert (made, made_again, made_longer) == (3, 0, 3)
    assert first == again and first != longer
