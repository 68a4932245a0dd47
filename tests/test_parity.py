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


def test_a_failed_parity_fails_the_run_unless_the_recipe_allows_it(tmp_path, caplog):
    from kit.pipeline import RunError, check_parity

    failed = {"passed": False, "matched": 1, "total": 3}
    with pytest.raises(RunError, match="2/3 parity probes differ.*allow_parity_mismatch"):
        check_parity(failed, False, tmp_path / "parity.json")
    check_parity(failed, True, tmp_path / "parity.json")  # allowed: logged, the run goes on
    assert "scored anyway" in caplog.text
    check_parity({"passed": True, "matched": 3, "total": 3}, False, tmp_path / "parity.json")


def test_allowing_a_parity_mismatch_does_not_change_where_the_export_lives(tmp_path):
    from kit import runs

    export = {"quant": "Q8_0", "parity_prompts": 2, "parity_max_tokens": 16, "keep_merged": False}
    same = runs.export_dir(tmp_path, {**export, "allow_parity_mismatch": True})
    assert same == runs.export_dir(tmp_path, {**export, "allow_parity_mismatch": False})
    assert same == tmp_path / "export" / runs.content_hash(export)  # the key exports had before the setting existed
