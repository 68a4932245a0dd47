"""Parity verdicts from teacher-forced agreement: an export bug fails, an f16 rounding near-tie does not."""

from __future__ import annotations

import pytest

from kit.export import parity


def fake_check(monkeypatch, argmax: list[int], margins: list[float], hf_prompt=(1, 2, 3)) -> dict:
    greedy = [{"prompt": [1, 2, 3], "new": [7, 8, 9], "stop": None, "text": "abc"}]
    monkeypatch.setattr(parity, "llama_greedy", lambda *a: greedy)
    agreement = [{"prompt": list(hf_prompt), "argmax": argmax, "targets": [7, 8, 9], "margins": margins}]
    monkeypatch.setattr(parity, "hf_agreement", lambda *a: agreement)
    return parity.parity_check("merged", "f16.gguf", [[{"role": "user", "content": "q"}]], 3, 1)


def test_every_position_agreeing_passes(monkeypatch):
    result = fake_check(monkeypatch, [7, 8, 9], [0.0, 0.0, 0.0])
    assert (result["passed"], result["matched"], result["near_ties"]) == (True, 1, 0)


def test_a_disagreement_within_rounding_is_a_near_tie_and_passes(monkeypatch):
    result = fake_check(monkeypatch, [7, 5, 9], [0.0, parity.TIE_NATS / 10, 0.0])
    probe = result["probes"][0]
    assert result["passed"] and not probe["match"] and probe["near_tie_only"]
    assert probe["positions_differ"] == 1


@pytest.mark.parametrize("margin", [parity.TIE_NATS, 2.5])
def test_a_clear_disagreement_fails(monkeypatch, margin):
    result = fake_check(monkeypatch, [7, 5, 9], [0.0, margin, 0.0])
    assert not result["passed"] and result["probes"][0]["worst_margin_nats"] == pytest.approx(margin)


def test_different_prompt_tokens_fail_even_when_the_answers_agree(monkeypatch):
    result = fake_check(monkeypatch, [7, 8, 9], [0.0, 0.0, 0.0], hf_prompt=(1, 2, 4))
    assert not result["passed"] and not result["probes"][0]["prompt_tokens_match"]
