"""P2's report (kit.report.p2): the claims on hand-made rows with P2's shape and against it, the table and figure,
the one-metric rule, and the cross-family claim over one and two base models."""

from __future__ import annotations

import json

import pytest
import yaml

from kit.report import p2, write_report
from kit.report.rows import P2_ARMS, validate_rows
from kit.report.stats import CONTRADICTED, INCONCLUSIVE, REPRODUCED

DOMAINS = {
    "symbolic": ["p2_first_letter", "p2_reverse_list", "p2_last_letter", "p2_coin_flip"],
    "logical": ["p2_clutrr", "p2_babi_induction", "p2_babi_deduction", "p2_object_order"],
    "arithmetic": ["builtin_math_easy", "p2_multistep", "p2_addsub", "p2_compare"],
}
N = 300


def rows_for(
    gains: dict[str, float],
    base: str = "smollm2-135m",
    start: float = 0.4,
    prose: float = 0.9,
    accuracy_scale: float = 0.1,
    peak_at_half: tuple[str, ...] = (),
):
    """Rows of every arm on every task: score(share) = start + gain(domain) x share, or for a task in
    ``peak_at_half`` start + gain x (1 - 2|share - ½|); items nested (the first round(score·N) are 1); accuracy is
    the score x ``accuracy_scale``; a prose metric on every task but the GSM8K stand-in."""
    rows = []
    for arm, share in (("base", None), *p2.SHARE.items()):
        for domain, tasks in DOMAINS.items():
            for task in tasks:
                gain = gains[domain]
                shape = 1 - 2 * abs(share - 0.5) if task in peak_at_half and share is not None else share
                score = start - 0.05 if share is None else start + gain * shape
                metrics = {"dense_rank": score, "accuracy": score * accuracy_scale, "prose": prose}
                if task == "builtin_math_easy":
                    metrics.pop("prose")
                for metric, value in metrics.items():
                    k = round(value * N)
                    rows.append(
                        {
                            "recipe": "p2",
                            "arm": arm,
                            "fraction": 0.0 if arm == "base" else None,
                            "n_examples": 0 if arm == "base" else 128,
                            "task": task,
                            "ability": domain if task != "builtin_math_easy" else "math",
                            "score": k / N,
                            "status": "ok",
                            "error": None,
                            "run_id": f"{base}-{arm}",
                            "profile": "cpu",
                            "task_version": "1",
                            "metric": metric,
                            "scale": "unit",
                            "n_eval": N,
                            "stderr": 0.02,
                            "items": {f"{task}-{i}": float(i < k) for i in range(N)},
                            "parity": True if arm != "base" else None,
                            "seed": 0,
                            "base_model": base,
                        }
                    )
    validate_rows(rows)
    return rows


def outcomes(rows, metric="dense_rank"):
    from kit.report import stats

    return [stats.evaluate(c, rows).outcome for c in p2.checks(rows, metric)]


def test_p2s_shape_reproduces_every_single_base_claim_and_leaves_the_cross_family_one_open():
    # symbolic gains most, arithmetic least; bAbI-Deductive peaks at 50% while bAbI-Inductive rises to 100%
    rows = rows_for({"symbolic": 0.3, "logical": 0.15, "arithmetic": 0.02}, peak_at_half=("p2_babi_deduction",))
    assert p2.primary(rows) == "dense_rank"  # accuracy (a tenth of the score) sits below the floor
    found = outcomes(rows)
    assert found[:5] == [REPRODUCED] * 5
    assert found[5] == INCONCLUSIVE


def test_the_opposite_shape_is_contradicted():
    rows = rows_for({"symbolic": -0.1, "logical": 0.2, "arithmetic": 0.3}, prose=0.1)
    found = outcomes(rows)
    assert found[0] == REPRODUCED  # overall: the mean gain over tasks is still 0.13
    assert found[1] == CONTRADICTED  # symbolic gains least
    assert found[2] == CONTRADICTED  # arithmetic gains most
    assert found[4] == CONTRADICTED  # replies are code


def test_no_gain_anywhere_is_contradicted_inside_delta_not_reproduced():
    rows = rows_for({"symbolic": 0.0, "logical": 0.0, "arithmetic": 0.0})
    assert outcomes(rows)[0] == CONTRADICTED


def test_one_metric_for_every_task():
    high = rows_for({"symbolic": 0.3, "logical": 0.3, "arithmetic": 0.3}, accuracy_scale=0.5)  # accuracy up to .35
    assert p2.primary(high) == "accuracy"
    low = rows_for({"symbolic": 0.1, "logical": 0.1, "arithmetic": 0.1})  # accuracy below 0.1
    assert p2.primary(low) == "dense_rank"
    no_dense = [r for r in low if not (r["task"] == "p2_compare" and r["metric"] == "dense_rank")]
    assert p2.primary(no_dense) == "accuracy"


def test_write_report_marks_origins_domains_and_the_papers_one_number(tmp_path):
    rows = rows_for({"symbolic": 0.3, "logical": 0.15, "arithmetic": 0.02})
    paths = write_report("p2", rows, tmp_path)
    table = (tmp_path / "table.md").read_text()
    for text in ("**symbolic mean**", "**overall mean**", "| ours |", "| P2 |", "P2\\*", "+10.3", "Half-half"):
        assert text in table, text
    verdicts = json.loads((tmp_path / "verdicts.json").read_text())
    overall = next(v for v in verdicts if v["claim"].startswith("code data raises"))
    assert overall["paper_statistic"] == pytest.approx(0.103) and "Mistral" in overall["paper_basis"]
    assert all(v["paper_outcome"] is None for v in verdicts)  # P2 has no numbers to run the bootstrap on
    assert "qualitative" in (tmp_path / "verdicts.md").read_text()
    assert all(p.stat().st_size > 0 for p in paths)


def test_across_bases_needs_two_and_then_tests_each_domain_on_each(tmp_path):
    one = {"a": rows_for({"symbolic": 0.3, "logical": 0.15, "arithmetic": 0.05}, base="a")}
    title, found = p2.across_bases(one)
    assert found[0].outcome == INCONCLUSIVE and "needs ≥ 2" in found[0].reason
    two = one | {"b": rows_for({"symbolic": 0.25, "logical": 0.2, "arithmetic": 0.1}, base="b")}
    title, found = p2.across_bases(two)
    assert found[0].outcome == REPRODUCED and len(found) == 1 + 3 * 2
    split = one | {"b": rows_for({"symbolic": -0.3, "logical": 0.2, "arithmetic": 0.1}, base="b")}
    assert p2.across_bases(split)[1][0].outcome == CONTRADICTED
    paths = p2.write_across(two, tmp_path)
    assert "bases: a, b" in paths[0].read_text()


def test_report_arms_are_the_recipes():
    recipe = yaml.safe_load(open("recipes/p2.yaml"))
    assert tuple(a["name"] for a in recipe["grid"]["arms"]) == P2_ARMS == p2.ARMS
    tasks = {t for ts in recipe["grid"]["abilities"].values() for t in ts}
    assert tasks == {t for ts in DOMAINS.values() for t in ts}
    assert {d: sorted(ts) for d, ts in recipe["grid"]["abilities"].items()} == {
        d: sorted(ts) for d, ts in DOMAINS.items()
    }
