"""The llama.cpp engine on the tiny model's f16 GGUF: batched decoding answers like one-at-a-time,
log-likelihoods and choice log-probs agree with transformers, completions are cached."""

from __future__ import annotations

import pytest

from kit.data.builtin import get_generator

N_THREADS = 2


def tiny_gguf(tmp_path_factory, kit_home, template: str):
    """The tiny random model under a chat template, converted to an f16 GGUF: yields its folder."""
    from kit.export.gguf import convert
    from kit.export.merge import merge
    from kit.models import resolve_base

    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    folder = tmp_path_factory.mktemp(f"tiny_{template}")
    merge(resolve_base("tiny-random-llama"), None, folder / "hf", template)
    convert(folder / "hf", folder / "model-F16.gguf", "f16")
    yield folder
    mp.undo()


@pytest.fixture(scope="module")
def tiny_f16(tmp_path_factory, kit_home):
    yield from tiny_gguf(tmp_path_factory, kit_home, "smollm2")


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


def test_an_exports_own_cache_reads_the_old_shared_file_through_and_keeps_what_it_found(
    tiny_f16, tmp_path, monkeypatch
):
    from kit.eval import cache as completions
    from kit.eval.engine import open_engine

    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    shared = completions.CompletionCache(tmp_path / "home" / completions.FILE)  # the one file KIT_HOME used to hold
    export = tmp_path / "home" / "runs" / "r" / "export" / "e"
    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=2) as engine:
        first, made = completions.cached_chat_many(engine, shared, prompts(2), 8)
        shared.close()
        own = completions.for_export(export)
        again, made_again = completions.cached_chat_many(engine, own, prompts(3), 8)
        own.close()
        (tmp_path / "home" / completions.FILE).unlink()  # the shared file gone: the copies remain
        own = completions.for_export(export)
        third, made_third = completions.cached_chat_many(engine, own, prompts(3), 8)
        own.close()
    assert (made, made_again, made_third) == (2, 1, 0)
    assert again[:2] == first and third == again
    assert (export / completions.FILE).is_file()


def scoring_requests(engine, n: int) -> list[tuple[list[int], list]]:
    """n prompts, each with three candidates of unequal lengths and a mix of scored and unscored segments."""
    out = []
    for k, messages in enumerate(prompts(n)):
        shared = engine.tokenize("Let me work it out step by step.")
        out.append(
            (
                engine.prompt_ids(messages),
                [
                    [(shared, False), (engine.tokenize(f"\n#### {k + 2}"), True)],
                    [(shared, False), (engine.tokenize(f"\n#### {k + 13} apples"), True)],
                    [(engine.tokenize(" Sure."), True), (shared, True), (engine.tokenize("\n#### 7"), False)],
                ],
            )
        )
    return out


def test_score_candidates_equals_loglik_on_the_same_ids(tiny_f16):
    from kit.eval.engine import open_engine

    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=4) as engine:
        prompt = engine.prompt_ids(prompts(1)[0])
        conts = [engine.tokenize("The answer is 42.\n#### 42"), engine.generate_ids(prompt, 5)]
        ours = engine.score_candidates(prompt, [[(c, True)] for c in conts])
        reference = [engine.loglik(prompt, c) for c in conts]
    for score, (lp, greedy), cont in zip(ours, reference, conts, strict=True):
        assert abs(score.logprob - lp) < 1e-4 and score.n_scored == len(cont) and score.greedy == greedy
    assert [s.greedy for s in ours] == [False, True]


def test_unscored_segments_are_excluded_but_still_condition_the_scored_ones(tiny_f16):
    from kit.eval.engine import open_engine

    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=2) as engine:
        prompt = engine.prompt_ids(prompts(1)[0])
        head, tail = engine.tokenize("Step one."), engine.tokenize(" #### 5")
        (split,) = engine.score_candidates(prompt, [[(head, False), (tail, True)]])
        (whole,) = engine.score_candidates(prompt, [[(head + tail, True)]])
        (head_only,) = engine.score_candidates(prompt, [[(head, True)]])
        with_head, _ = engine.loglik(prompt, head + tail)
    assert split.n_scored == len(tail) and whole.n_scored == len(head + tail)
    assert abs(split.logprob - (with_head - head_only.logprob)) < 1e-4
    assert abs(whole.logprob - with_head) < 1e-4


def test_batched_scoring_with_kv_copy_equals_one_at_a_time_and_a_cold_prefill(tiny_f16):
    from kit.eval.engine import open_engine

    gguf = tiny_f16 / "model-F16.gguf"
    with open_engine(gguf, n_ctx=512, n_threads=N_THREADS, batch_size=7) as engine:  # 2 prompts per group, 1 left
        requests = scoring_requests(engine, 5)
        batched = engine.score_many(requests, desc="test")
        cold = [  # each candidate prefilled from scratch with its prompt, scored by the unscored-aware difference
            [_cold_score(engine, prompt, cand) for cand in candidates] for prompt, candidates in requests
        ]
    with open_engine(gguf, n_ctx=512, n_threads=N_THREADS, batch_size=1) as engine:
        single = [engine.score_candidates(prompt, candidates) for prompt, candidates in requests]
    with open_engine(gguf, n_ctx=512, n_threads=N_THREADS, batch_size=2) as engine:  # 3 candidates > 2 slots
        rounds = engine.score_many(requests, desc=None)
    for got in (single, rounds, cold):
        for a_item, b_item in zip(batched, got, strict=True):
            for a, b in zip(a_item, b_item, strict=True):
                assert abs(a.logprob - b.logprob) < 1e-4 and a.n_scored == b.n_scored, (a, b)


def test_fold_common_head_moves_only_the_shared_unscored_opening_into_the_prompt():
    from kit.eval.engine import fold_common_head

    cands = [
        [([5, 6, 7], False), ([8], True), ([9], False)],
        [([5, 6], False), ([7, 1, 2], True)],  # 7 is scored here: the head stops before it
        [([5, 6, 7, 3], False), ([4], True)],
    ]
    prompt, folded = fold_common_head([1, 2], cands)
    assert prompt == [1, 2, 5, 6]
    assert folded == [[([7], False), ([8], True), ([9], False)], [([7, 1, 2], True)], [([7, 3], False), ([4], True)]]
    # each candidate keeps a token; one candidate, or a scored first token, leaves the request as it was
    assert fold_common_head([1], [[([5], False), ([6], True)], [([5], False)]]) == (
        [1],
        [[([5], False), ([6], True)], [([5], False)]],
    )
    assert fold_common_head([1], cands[:1]) == ([1], cands[:1])
    assert fold_common_head([1], [[([5], True)], [([5], True)]]) == ([1], [[([5], True)], [([5], True)]])


def test_a_shared_unscored_head_scores_as_if_each_candidate_were_prefilled_cold(tiny_f16):
    from kit.eval.engine import open_engine

    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=4) as engine:
        head = engine.tokenize("First 3 + 4 = 7, then 7 * 2 =")
        requests = [
            (
                engine.prompt_ids(messages),
                [[(head, False), (engine.tokenize(f" {v}"), True), (engine.tokenize(" done."), False)] for v in vals],
            )
            for messages, vals in zip(prompts(3), ([14, 15, 13], [14, 41, 4], [1, 2, 3]), strict=True)
        ]
        folded = engine.score_many(requests, desc=None)
        cold = [[_cold_score(engine, p, c) for c in cands] for p, cands in requests]
    for got, want in zip(folded, cold, strict=True):
        for a, b in zip(got, want, strict=True):
            assert a.n_scored == b.n_scored and abs(a.logprob - b.logprob) < 1e-4, (a, b)


def _cold_score(engine, prompt: list[int], candidate) -> tuple[float, int]:
    """A candidate's scored log-prob from plain ``loglik`` calls, one cold prefill per scored segment."""
    from kit.eval.engine import CandidateScore

    total, n, before = 0.0, 0, []
    for ids, scored in candidate:
        if scored and ids:
            upto, _ = engine.loglik(prompt, before + ids)
            prior = engine.loglik(prompt, before)[0] if before else 0.0
            total, n = total + upto - prior, n + len(ids)
        before = before + ids
    return CandidateScore(total, n, False)


def test_segment_ids_append_the_templates_end_of_turn_token(tiny_f16):
    from kit.eval.engine import open_engine

    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS) as engine:
        eot = engine.end_of_turn()
        segs = engine.segment_ids([{"text": "Hello", "scored": False}, {"text": " world", "scored": True}])
        assert engine.llm.detokenize(eot, special=True).decode() == "<|im_end|>"
        assert segs == [(engine.tokenize("Hello"), False), (engine.tokenize(" world") + eot, True)]
