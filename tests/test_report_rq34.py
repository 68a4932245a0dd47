"""The report layer for RQ3 (amount vs ratio of specialised data) and RQ4 (SFT strategies, DMT's k)."""

from __future__ import annotations

import json

import pytest

from kit.report import write_report
from kit.report.p1 import rq3, rq4
from kit.report.reference import BENCHMARK, FRACTIONS, load_reference, p1_rq3, p1_rq4, paper_rows
from kit.report.rows import validate_rows
from kit.report.stats import CONTRADICTED, INCONCLUSIVE, REPRODUCED, evaluate, evaluate_paper
from kit.report.summary import rows_of
from tests.conftest import ok_summary

TASK = {"math": "builtin_math", "code": "builtin_code", "general": "builtin_general"}
OOM = "CUDA out of memory"
METRICS = {"math": "accuracy", "code": "accuracy", "general": "accuracy"}
# P1 7B's own numbers through the claims, with binomial SEs: only what P1's tables support at z >= 2 is decided
# (e.g. code's HumanEval, 164 items, cannot carry a difference of a few points).
PAPER_RQ3 = ["reproduced", "inconclusive", "inconclusive"]
PAPER_RQ4 = ["inconclusive", "reproduced", "inconclusive", "reproduced", "inconclusive", "inconclusive", "inconclusive"]

# Hand-made RQ3 scores by k (1 ... 1/256) with P1's shape: math and code follow the amount of
# math+code (setup1 and setup3 fall together), not the ratio (setup2 flat); general follows its own amount.
# k = 1 of setups 1 and 2 is the same run, so the same scores.
SETUPS = {
    "setup2": {
        "math": [0.5, 0.49, 0.5, 0.48, 0.5],
        "code": [0.4, 0.41, 0.4, 0.39, 0.4],
        "general": [0.7, 0.68, 0.6, 0.5, 0.4],
    },
    "setup1": {
        "math": [0.5, 0.4, 0.3, 0.2, 0.1],
        "code": [0.4, 0.3, 0.25, 0.2, 0.1],
        "general": [0.7, 0.7, 0.71, 0.7, 0.69],
    },
    "setup3": {"math": [0.51, 0.41, 0.3, 0.21, 0.12], "code": [0.4, 0.31, 0.24, 0.2, 0.12], "general": [0.5] * 5},
}
# Hand-made RQ4 scores with P1's shape: multi-task keeps the specialists but loses general, the
# sequential strategies forget math, DMT at 1/256 recovers it, raising k trades general for math and code.
STRATEGIES = {
    "math_only": {"math": 0.5, "code": 0.05, "general": 0.3},
    "code_only": {"math": 0.05, "code": 0.4, "general": 0.35},
    "general_only": {"math": 0.1, "code": 0.1, "general": 0.7},
    "multi_task": {"math": 0.48, "code": 0.36, "general": 0.65},
    "sequential": {"math": 0.3, "code": 0.3, "general": 0.68},
    "mixed_sequential": {"math": 0.32, "code": 0.3, "general": 0.69},
}
DMT = {
    "math": [0.47, 0.45, 0.42, 0.4, 0.38],
    "code": [0.36, 0.35, 0.34, 0.33, 0.32],
    "general": [0.6, 0.62, 0.64, 0.66, 0.69],
}


N_ITEMS = 400
E = " ± 0.020 (400)"  # what a table prints after our score: ± stderr (eval items)


def row(recipe, arm, fraction, ability, score, n=1000):
    """One result row; a score of None becomes a failed run (with no run id, as an early failure has).

    Items are nested (the first round(score·N) are 1), so paired differences have a small variance."""
    failed = score is None
    return {
        "recipe": recipe,
        "arm": arm,
        "fraction": fraction,
        "n_examples": 0 if arm == "base" else n,
        "task": TASK[ability],
        "ability": ability,
        "score": score,
        "status": "failed" if failed else "ok",
        "error": OOM if failed else None,
        "run_id": "" if failed else f"{arm}-{fraction}",
        "profile": "cpu",
        "task_version": "" if failed else "1",
        "metric": "accuracy",
        "scale": "unit",
        "n_eval": 0 if failed else N_ITEMS,
        "stderr": None if failed else 0.02,
        "items": None if failed else {f"i{j:03d}": float(j < round(score * N_ITEMS)) for j in range(N_ITEMS)},
        "parity": None if failed else True,
        "seed": 0,
    }


def rq3_rows(setups=None):
    rows = [
        row("rq3", arm, k, ability, score)
        for arm, by_ability in (setups or SETUPS).items()
        for ability, scores in by_ability.items()
        for k, score in zip(FRACTIONS, scores, strict=True)
    ]
    return rows + [row("rq3", "base", 0.0, ability, 0.05) for ability in TASK]


def rq4_rows(strategies=None, dmt=None):
    rows = [
        row("rq4", arm, None, ability, score)
        for arm, by_ability in (strategies or STRATEGIES).items()
        for ability, score in by_ability.items()
    ]
    rows += [
        row("rq4", "dmt", k, ability, score)
        for ability, scores in (dmt or DMT).items()
        for k, score in zip(FRACTIONS, scores, strict=True)
    ]
    return rows + [row("rq4", "base", 0.0, ability, 0.05) for ability in TASK]


def changed(table, arm, ability, score):
    return {a: dict(by_ability, **({ability: score} if a == arm else {})) for a, by_ability in table.items()}


def outcomes(verdict_list):
    return [v.outcome for v in verdict_list]


R, C, I = REPRODUCED, CONTRADICTED, INCONCLUSIVE  # noqa: E741


def rq3_verdicts(rows):
    return [evaluate(c, rows) for c in rq3.checks(rows)]


def rq4_verdicts(rows):
    return [evaluate(c, rows) for c in rq4.checks(rows)]


def paper_verdicts(module, model, rq):
    paper = paper_rows(model, rq)
    return [evaluate_paper(c, paper) for c in module.checks(paper, BENCHMARK)]


# --- reference: Table 4 matched by design, Tables 1 and 5 joined ----------------------------------


def test_p1_setups_are_matched_to_ours_by_what_k_scales_not_by_name():
    table4 = p1_rq3("7B")
    # P1's Setup 2 scales math+code (GSM8K falls to 16.52): that is our setup1
    assert table4["setup1", "math", 1 / 256] == 16.52
    assert table4["setup2", "math", 1 / 256] == 48.52 and table4["setup2", "general", 1 / 256] == 4.69
    assert table4["setup3", "math", 1 / 4] == 43.29
    with pytest.raises(ValueError, match="valid: 7B"):
        p1_rq3("13B")


@pytest.mark.parametrize("model", ["7B", "13B"])
def test_table5_k0_is_table1_mixed_sequential_and_its_1_256_is_table1_dmt(model):
    table5 = {
        (r["ability"], r["fraction"]): r["score"] for r in load_reference() if r["table"] == "5" and r["model"] == model
    }
    joined = p1_rq4(model)
    for ability in TASK:
        assert table5[ability, 0.0] == joined["mixed_sequential", ability, None]
        assert table5[ability, 1 / 256] == joined["dmt", ability, 1 / 256]


def test_p1_rq4_has_the_strategies_unswept_and_dmt_per_k():
    assert len(p1_rq4("7B")) == 3 * (6 + 5) and len(p1_rq4("33B")) == 3 * (6 + 1)
    assert p1_rq4("7B")["multi_task", "code", None] == 14.63 and p1_rq4("7B")["dmt", "math", 0.25] == 48.37


def test_paper_rows_cover_each_research_question_and_name_the_valid_ones():
    assert {r["arm"] for r in paper_rows("7B", "rq3")} == {"setup2", "setup1", "setup3"}
    assert {r["fraction"] for r in paper_rows("7B", "rq4") if r["arm"] == "sequential"} == {None}
    with pytest.raises(ValueError, match="rq1, rq2, rq3, rq4"):
        paper_rows("7B", "rq9")


# --- the paper through its own claims (binomial SEs from the benchmark sizes) -------------------


def test_paper_7b_table4_reproduces_the_amount_over_ratio_claim():
    found = paper_verdicts(rq3, "7B", "rq3")
    assert outcomes(found) == PAPER_RQ3
    assert found[0].statistic > 0 and found[0].paper_z > 2


def test_paper_tables_1_and_5_through_the_rq4_claims():
    found = paper_verdicts(rq4, "7B", "rq4")
    assert outcomes(found) == PAPER_RQ4
    assert all(v.paper_z is not None for v in found[:-1]) and found[-1].paper_z is None  # a composite has no z


# --- RQ3 claims on hand-made per-item scores -----------------------------------------------------


def test_scores_that_follow_the_amount_reproduce_every_rq3_claim():
    assert outcomes(rq3_verdicts(rq3_rows())) == [R, R, R]


def test_scores_that_follow_the_ratio_contradict_the_amount_claim():
    # math+code amount barely matters (setup1 flat) but 64x less general moves math a lot (setup3)
    setups = changed(changed(SETUPS, "setup1", "math", [0.5, 0.49, 0.48, 0.47, 0.46]), "setup3", "math", [0.3] * 5)
    found = rq3_verdicts(rq3_rows(setups))
    assert outcomes(found) == [C, R, C]


def test_a_ratio_effect_seen_only_in_setup2_is_enough_to_contradict_the_claim():
    setups = changed(SETUPS, "setup2", "code", [0.4, 0.3, 0.2, 0.1, 0.0])
    assert evaluate(rq3.amount_beats_ratio(rq3_rows(setups), "code", None, "accuracy"), rq3_rows(setups)).outcome == C


@pytest.mark.parametrize("arm", ["setup2", "setup1", "setup3"])
def test_a_failed_rq3_point_in_any_setup_is_inconclusive(arm):
    scores = list(SETUPS[arm]["math"])
    scores[2] = None
    rows = rq3_rows(changed(SETUPS, arm, "math", scores))
    verdict = evaluate(rq3.amount_beats_ratio(rows, "math", None, "accuracy"), rows)
    assert verdict.outcome == INCONCLUSIVE and f"{arm} k=1/16 failed" in verdict.reason


def test_a_missing_rq3_setup_is_inconclusive_and_so_is_the_combined_claim():
    rows = [r for r in rq3_rows() if r["arm"] != "setup2"]
    found = rq3_verdicts(rows)
    assert outcomes(found) == [I, I, I] and "setup2 k=1 missing" in found[0].reason


# --- RQ4 claims on hand-made per-item scores -----------------------------------------------------


def test_scores_with_p1s_shape_reproduce_every_rq4_claim():
    assert outcomes(rq4_verdicts(rq4_rows())) == [R] * 7


@pytest.mark.parametrize(
    ("arm", "ability", "score"),
    [
        ("multi_task", "math", 0.2),  # far below 0.75 of math-only
        ("multi_task", "code", 0.15),  # far below 0.75 of code-only
        ("multi_task", "general", 0.8),  # general not lost
    ],
)
def test_multi_task_losing_a_specialist_or_keeping_general_is_contradicted(arm, ability, score):
    rows = rq4_rows(changed(STRATEGIES, arm, ability, score))
    assert evaluate(rq4.multi_task_keeps_specialists(rows, {}, METRICS), rows).outcome == CONTRADICTED


@pytest.mark.parametrize("arm", ["sequential", "mixed_sequential"])
def test_a_sequential_strategy_keeping_math_is_not_forgetting(arm):
    rows = rq4_rows(changed(STRATEGIES, arm, "math", 0.55))
    assert evaluate(rq4.sequential_forgets_math(rows, {}, METRICS), rows).outcome == CONTRADICTED


@pytest.mark.parametrize(("ability", "score"), [("math", 0.25), ("code", 0.2), ("general", 0.5)])
def test_dmt_not_beating_mixed_sequential_or_losing_general_is_contradicted(ability, score):
    dmt = {a: scores[:-1] + [score] if a == ability else scores for a, scores in DMT.items()}
    rows = rq4_rows(dmt=dmt)
    assert evaluate(rq4.dmt_recovers_specialists(rows, {}, METRICS), rows).outcome == CONTRADICTED


def test_k_trend_the_wrong_way_is_contradicted():
    dmt = {a: scores[::-1] for a, scores in DMT.items()}
    strategies = changed(changed(STRATEGIES, "mixed_sequential", "math", 0.5), "mixed_sequential", "general", 0.55)
    strategies = changed(strategies, "mixed_sequential", "code", 0.4)
    found = rq4_verdicts(rq4_rows(strategies, dmt))
    assert outcomes(found)[3:] == [C, C, C, C]


@pytest.mark.parametrize(
    ("strategies", "dmt", "expected"),
    [
        (changed(STRATEGIES, "multi_task", "math", None), None, [I, I, R, R, R, R, R]),
        (changed(STRATEGIES, "mixed_sequential", "general", None), None, [R, R, I, R, R, I, I]),
        (None, dict(DMT, code=[0.36, 0.35, 0.34, 0.33, None]), [R, R, I, R, R, R, R]),  # 1/256 failed: 5 points left
        (None, dict(DMT, math=[None, 0.45, 0.42, 0.4, 0.38]), [R, R, R, I, R, R, I]),  # the largest k failed
    ],
)
def test_failed_rq4_runs_make_the_checks_that_need_them_inconclusive(strategies, dmt, expected):
    assert outcomes(rq4_verdicts(rq4_rows(strategies, dmt))) == expected


def test_a_failed_middle_k_is_left_out_of_the_trend_and_said_so():
    rows = rq4_rows(dmt=dict(DMT, math=[0.47, 0.45, None, 0.4, 0.38]))
    verdict = evaluate(rq4.k_trend(rows, "math", None, "accuracy"), rows)
    assert verdict.outcome == REPRODUCED and "1/16" in verdict.reason and verdict.distinct_runs == 5


def test_missing_dmt_runs_are_inconclusive_not_an_error():
    rows = [r for r in rq4_rows() if r["arm"] != "dmt"]
    assert outcomes(rq4_verdicts(rows)) == [R, R, I, I, I, I, I]


# --- tables --------------------------------------------------------------------------------------


def test_rq3_table_shows_each_setup_beside_the_same_design_in_p1_and_footnotes_failures():
    rows = rq3_rows(changed(SETUPS, "setup1", "math", [0.5, 0.4, 0.3, 0.2, None]))
    text = rq3.table(rows)
    first = text.splitlines()[0]
    assert first.startswith("**RQ3") and "not comparable with the paper" in first and "`builtin_math` v1" in first
    assert "numbered as in P1 Table 4" in first
    assert (
        f"| setup1: k of math+code, all general (P1 Setup 1) | 1/256 | 1,000 | failed[^1] | 16.52 | 0.100{E} | 9.14 "
        f"| 0.690{E} | 5.82 |"
    ) in text
    assert f"| setup2: all math+code, k of general (P1 Setup 2) | 1/256 | 1,000 | 0.500{E} | 48.52 |" in text
    assert "[^1]: setup1, k=1/256, `builtin_math`: CUDA out of memory" in text
    assert f"| untrained base | — | — | 0.050{E} | — |" in text
    assert sum(line.startswith(("| setup2", "| setup1", "| setup3")) for line in text.splitlines()) == 3 * 5


def test_rq4_table_shows_table1_and_the_k_sweep_beside_table5_with_failures():
    text = rq4.table(rq4_rows(changed(STRATEGIES, "sequential", "general", None)))
    assert f"| multi-task | 1,000 | 0.480{E} | 47.53 | 0.360{E} | 14.63 | 0.650{E} | 5.76 |" in text
    assert (
        f"| sequential (code → math → general) | 1,000 | 0.300{E} | 31.39 | 0.300{E} | 15.85 | failed[^1] | 5.72 |"
        in text
    )
    assert f"| DMT (k=1/256) | 1,000 | 0.380{E} | 41.92 | 0.320{E} | 17.68 | 0.690{E} | 6.08 |" in text
    assert "**DMT's k sweep beside P1 Table 5" in text
    assert f"| 0 (= mixed sequential) | 1,000 | 0.320{E} | 32.60 | 0.300{E} | 15.24 | 0.690{E} | 6.02 |" in text
    assert f"| 1/4 | 1,000 | 0.450{E} | 48.37 | 0.350{E} | 13.41 | 0.620{E} | 5.69 |" in text
    assert text.count("[^1]") == 2 and "[^1]: sequential (code → math → general), `builtin_general`: " + OOM in text


@pytest.mark.parametrize(
    ("rq", "rows"),
    [
        ("rq3", rq3_rows(changed(SETUPS, "setup1", "math", [0.5, None, 0.3, 0.2, None]))),
        ("rq3", [r for r in rq3_rows() if r["ability"] != "code"]),  # a panel with no runs
        ("rq4", rq4_rows(changed(STRATEGIES, "mixed_sequential", "math", None), dict(DMT, code=[None] * 5))),
        ("rq4", [r for r in rq4_rows() if r["arm"] != "dmt"]),
    ],
)
def test_rq34_plots_render_with_failed_or_missing_runs(tmp_path, rq, rows):
    {"rq3": rq3, "rq4": rq4}[rq].plot(rows, tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- write_report and the row schema -------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """``written(rq)``: the report on the hand-made rows, written once per module (each write runs every claim's
    bootstrap and its fragile check, so the tests reading one report share it)."""
    cache = {}

    def write(rq):
        if rq not in cache:
            out = tmp_path_factory.mktemp(rq)
            cache[rq] = write_report(rq, {"rq3": rq3_rows, "rq4": rq4_rows}[rq](), out), out
        return cache[rq]

    return write


@pytest.mark.parametrize(
    ("rq", "picture", "make"), [("rq3", "ratio.png", rq3_rows), ("rq4", "dmt_k_sweep.png", rq4_rows)]
)
def test_write_report_writes_every_rq34_file_and_a_real_png(written, rq, picture, make):
    rows = make()
    paths, out = written(rq)
    assert [p.name for p in paths] == ["table.md", picture, "verdicts.md", "verdicts.json", "rows.json"]
    png = (out / picture).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 200_000
    text = (out / "verdicts.md").read_text()
    assert "**reproduced**" in text and "→ reproduced" in text  # ours and the paper's column
    assert len(json.loads((out / "verdicts.json").read_text())) == len({"rq3": rq3, "rq4": rq4}[rq].checks(rows))
    assert len(json.loads((out / "rows.json").read_text())) == len(rows)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)


def test_rq4_verdicts_file_labels_claims_p1_itself_supports_only_weakly(written):
    text = (written("rq4")[1] / "verdicts.md").read_text()
    assert "weakly supported by P1 itself" in text and "raising DMT's k raises code" in text.split("Weakly")[-1]


def test_validate_rows_accepts_none_fractions_only_for_rq4s_unswept_arms():
    rows = rq4_rows(changed(STRATEGIES, "sequential", "math", None))
    validate_rows(rows)
    dmt = next(i for i, r in enumerate(rows) if r["arm"] == "dmt")
    rows[dmt]["fraction"] = None
    with pytest.raises(ValueError, match=rf"row {dmt} .*field 'fraction': must be a number in \[0, 1\], got None"):
        validate_rows(rows)


@pytest.mark.parametrize(
    ("recipe", "change", "field"),
    [
        ("rq4", {"arm": "multi_task", "fraction": 1.0}, "fraction"),  # a strategy is not swept
        ("rq4", {"arm": "dmt", "fraction": 0.0}, "fraction"),  # k = 0 is mixed_sequential's run
        ("rq4", {"arm": "mixed"}, "arm"),
        ("rq3", {"arm": "dmt"}, "arm"),
        ("rq1", {"arm": "setup2"}, "arm"),  # arms are per recipe, not pooled
        ("rq3", {"arm": "setup2", "fraction": None}, "fraction"),
    ],
)
def test_validate_rows_checks_arms_and_fractions_per_recipe(recipe, change, field):
    rows = [dict(row(recipe, "base", 0.0, "math", 0.1), n_examples=5, run_id="x", **change)]
    with pytest.raises(ValueError, match=f"row 0 .*field '{field}'"):
        validate_rows(rows)


def test_rows_of_rq4_summaries_pass_validation_ok_and_failed():
    ok = ok_summary(
        recipe="rq4",
        grid={"arm": "multi_task", "fraction": None},
        data={"total": 900},
        scores={t: {"score": 0.5, "version": "1"} for t in TASK.values()},
        baseline_scores={t: {"score": 0.1, "version": "1"} for t in TASK.values()},
    )
    failed = {
        "recipe": "rq4",
        "grid": {"arm": "dmt", "fraction": 1 / 256},
        "status": "failed",
        "profile": "cpu",
        "error": "RuntimeError: " + OOM,
        "traceback": "",
        "tasks": list(TASK.values()),
        "examples": None,
    }
    rows = rows_of(ok) + rows_of(failed)
    validate_rows(rows)
    assert {(r["arm"], r["fraction"]) for r in rows} == {("multi_task", None), ("base", 0.0), ("dmt", 1 / 256)}


@pytest.mark.parametrize("broken", ["missing", "mistyped", "no score"])
def test_a_summary_of_another_shape_is_refused_before_it_becomes_rows(broken):
    from kit.report.summary import validate_summary

    summary = ok_summary(scores={"builtin_math": {"score": 0.5, "version": "1"}})
    if broken == "missing":
        del summary["phase_seconds"]
    elif broken == "mistyped":
        summary["stages"] = "sft"
    else:
        summary["scores"]["builtin_math"] = {"version": "1"}
    with pytest.raises(ValueError, match="run summary"):
        validate_summary(summary)
    with pytest.raises(ValueError):
        rows_of(summary)
