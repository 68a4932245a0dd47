"""The report layer: result-row schema, P1 reference numbers, tables, trend checks, figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kit.report import REPORTS, write_report
from kit.report.markdown import verdicts_markdown
from kit.report.p1 import rq1, rq2
from kit.report.reference import BENCHMARK, FRACTIONS, load_reference, p1_scaling, paper_rows
from kit.report.rows import series, validate_rows
from kit.report.stats import CONTRADICTED, INCONCLUSIVE, REPRODUCED, evaluate, evaluate_paper, with_paper
from tests.conftest import REPO

TASK = {"math": "builtin_math", "code": "builtin_code", "general": "builtin_general"}
# Hand-made scores by fraction (1 ... 1/256) with P1's shapes: math and code rise, general plateaus,
# the mixture wins at 1/256 and loses at 1.
SINGLE = {"math": [0.5, 0.4, 0.3, 0.2, 0.1], "code": [0.4, 0.3, 0.25, 0.2, 0.1], "general": [0.7, 0.69, 0.68, 0.5, 0.3]}
MIXED = {
    "math": [0.45, 0.38, 0.28, 0.25, 0.15],
    "code": [0.35, 0.28, 0.22, 0.25, 0.15],
    "general": [0.65, 0.66, 0.66, 0.55, 0.4],
}


N_ITEMS = 200


def items_for(score, offset):
    """N_ITEMS 0/1 items with round(score·N) ones, starting at ``offset``: runs differ in which items they get."""
    k = round(score * N_ITEMS)
    return {f"i{j:03d}": float((j - offset) % N_ITEMS < k) for j in range(N_ITEMS)}


def row(arm, fraction, ability, score, status="ok", error=None, profile="cpu"):
    offset = int(fraction * 97) + len(arm) * 13
    return {
        "recipe": "rq1",
        "arm": arm,
        "fraction": fraction,
        "n_examples": int(4000 * fraction) * (3 if arm == "mixed" else 1),
        "task": TASK[ability],
        "ability": ability,
        "score": score,
        "status": status,
        "error": error,
        "run_id": f"{arm}-{fraction}",
        "profile": profile,
        "task_version": "1",
        "metric": "accuracy",
        "scale": "unit",
        "n_eval": N_ITEMS if status == "ok" else 0,
        "stderr": 0.03 if status == "ok" else None,
        "items": items_for(score, offset) if status == "ok" else None,
        "parity": True if status == "ok" else None,
        "seed": 0,
    }


def make_rows(single=None, mixed=None, fractions=FRACTIONS, base=0.05):
    """Rows for the given scores; a score of None becomes a failed run."""
    rows = []
    for arm_scores, is_mixed in ((single or {}, False), (mixed or {}, True)):
        for ability, scores in arm_scores.items():
            for fraction, score in zip(fractions, scores, strict=True):
                failed = score is None
                rows.append(
                    row(
                        "mixed" if is_mixed else ability,
                        fraction,
                        ability,
                        score,
                        status="failed" if failed else "ok",
                        error="CUDA out of memory" if failed else None,
                    )
                )
    for ability in TASK:
        rows.append(row("base", 0.0, ability, base))
    return rows


def run(checks, rows, tasks=None):
    """Each claim evaluated on ``rows`` beside the same claim on P1 7B (rq1/rq2 numbers)."""
    paper = paper_rows("7B", "rq1")
    return [
        with_paper(evaluate(c, rows), evaluate_paper(p, paper))
        for c, p in zip(checks(rows, tasks), checks(paper, BENCHMARK), strict=True)
    ]


def by_claim(verdicts):
    return {v.claim: v for v in verdicts}


# --- reference numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "model", "setting", "fraction", "benchmark", "score"),
    [
        ("2-3", "7B", "single", 1.0, "gsm8k", 49.10),
        ("2-3", "7B", "mixed", 1 / 256, "humaneval", 11.37),
        ("2-3", "7B", "single", 1 / 16, "mtbench", 5.61),
        ("2-3", "13B", "mixed", 1 / 64, "gsm8k", 33.2),
        ("2-3", "33B", "single", 1 / 256, "mtbench", 2.3),
        ("2-3", "33B", "mixed", 1 / 16, "humaneval", 26.82),
        ("1", "7B", "sequential", 1.0, "gsm8k", 31.39),
        ("1", "33B", "dmt", 1 / 256, "mtbench", 6.69),
        ("1", "7B", "code_only", 1.0, "humaneval", 18.40),
        ("4", "7B", "rq3_setup1", 1 / 256, "gsm8k", 16.52),
        ("4", "7B", "rq3_setup2", 1 / 256, "mtbench", 4.69),
        ("4", "7B", "rq3_setup3", 1 / 4, "gsm8k", 43.29),
        ("5", "7B", "dmt", 0.0, "gsm8k", 32.6),
        ("5", "13B", "dmt", 1 / 4, "gsm8k", 50.18),
    ],
)
def test_reference_csv_holds_the_papers_numbers(table, model, setting, fraction, benchmark, score):
    hits = [
        r
        for r in load_reference()
        if (r["table"], r["model"], r["setting"], r["benchmark"]) == (table, model, setting, benchmark)
        and r["fraction"] == fraction
    ]
    assert [r["score"] for r in hits] == [score]


def test_reference_csv_is_complete_unique_and_unit_labelled():
    rows = load_reference()
    counts = {t: sum(r["table"] == t for r in rows) for t in ("1", "2-3", "4", "5")}
    # 7 methods x 3 sizes; 5 k x 2 settings x 3 sizes; 3 setups x 5 k; 6 k x 2 sizes; x 3 benchmarks each
    assert counts == {"1": 63, "2-3": 90, "4": 45, "5": 36}
    keys = [(r["table"], r["model"], r["setting"], r["fraction"], r["benchmark"]) for r in rows]
    assert len(keys) == len(set(keys))
    units = {r["benchmark"]: r["unit"] for r in rows}
    assert units == {"gsm8k": "percent", "humaneval": "percent", "mtbench": "score_1_10"}


def test_p1_scaling_gives_both_settings_at_every_fraction():
    scaling = p1_scaling("7B")
    assert len(scaling) == 2 * 3 * 5
    assert scaling["single", "code", 1 / 256] == 5.48 and scaling["mixed", "general", 1.0] == 5.76
    with pytest.raises(ValueError, match="7B, 13B, 33B"):
        p1_scaling("65B")


# --- the paper through its own claims (binomial SEs from the benchmark sizes) -------------------


def test_paper_7b_rq1_claims_and_their_z():
    paper = paper_rows("7B")
    found = [evaluate_paper(c, paper) for c in rq1.checks(paper, BENCHMARK)]
    assert [v.outcome for v in found] == [REPRODUCED, REPRODUCED, INCONCLUSIVE, INCONCLUSIVE]
    assert found[0].paper_z > 10 and found[1].paper_z > 2
    assert found[2].paper_z < 2  # general's plateau rests on MT-Bench's 160 turns: weak in P1 itself


def test_paper_7b_rq2_low_end_is_weak_in_p1_itself():
    paper = paper_rows("7B")
    found = by_claim(evaluate_paper(c, paper) for c in rq2.checks(paper, BENCHMARK))
    low = found["math: mixed beats single at the smallest fraction"]
    assert low.statistic == pytest.approx((14.78 - 12.70) / 100, abs=1e-6) and low.paper_z < 2


# --- RQ1 checks on hand-made per-item scores -----------------------------------------------------


@pytest.mark.parametrize("ability", ["math", "code"])
def test_rising_scores_reproduce_the_rising_claim(ability):
    rows = make_rows(SINGLE)
    v = evaluate(rq1.rises(rows, ability, None, "accuracy"), rows)
    assert v.outcome == REPRODUCED and v.ci_low > 0 and v.distinct_runs == 5


def test_falling_math_is_contradicted_and_flat_math_is_not_reproduced():
    falling = make_rows({"math": [0.1, 0.2, 0.3, 0.4, 0.5]})
    assert evaluate(rq1.rises(falling, "math", None, "accuracy"), falling).outcome == CONTRADICTED
    flat = make_rows({"math": [0.3] * 5})
    assert evaluate(rq1.rises(flat, "math", None, "accuracy"), flat).outcome != REPRODUCED


@pytest.mark.parametrize("scores", [[0.5, None, None, None, 0.1], [None, 0.4, 0.3, 0.2, 0.1]])
def test_too_few_points_or_a_failed_endpoint_is_inconclusive(scores):
    rows = make_rows({"math": scores})
    verdict = evaluate(rq1.rises(rows, "math", None, "accuracy"), rows)
    assert verdict.outcome == INCONCLUSIVE and verdict.reason


def test_a_failed_middle_run_is_left_out_and_said_so():
    rows = make_rows({"math": [0.5, None, 0.3, 0.2, 0.1]})
    verdict = evaluate(rq1.rises(rows, "math", None, "accuracy"), rows)
    assert verdict.outcome == REPRODUCED and "1/4" in verdict.reason and verdict.distinct_runs == 4


def test_missing_ability_is_inconclusive_not_an_error():
    rows = make_rows({"math": SINGLE["math"]})
    assert evaluate(rq1.rises(rows, "code", None, "accuracy"), rows).outcome == INCONCLUSIVE


def test_early_gain_reproduces_the_general_plateau_and_a_late_gain_contradicts_it():
    rows = make_rows(SINGLE)
    assert evaluate(rq1.general_plateaus(rows, None, "accuracy"), rows).outcome == REPRODUCED
    late = make_rows({"general": [0.7, 0.4, 0.32, 0.31, 0.3]})
    assert evaluate(rq1.general_plateaus(late, None, "accuracy"), late).outcome == CONTRADICTED


def test_general_saturating_first_needs_the_largest_early_gain_share():
    verdicts = by_claim(run(rq1.checks, make_rows(SINGLE)))
    claim = "general rises less steeply than math and code: it saturates earlier"
    assert verdicts[claim].outcome == REPRODUCED
    swapped = dict(SINGLE, general=SINGLE["math"], math=SINGLE["general"])
    assert by_claim(run(rq1.checks, make_rows(swapped)))[claim].outcome == CONTRADICTED


# --- RQ2 checks on hand-made per-item scores -----------------------------------------------------


def test_mixture_winning_low_and_losing_high_reproduces_the_end_checks():
    verdicts = by_claim(run(rq2.checks, make_rows(SINGLE, MIXED)))
    assert verdicts["general: mixed beats single at the smallest fraction"].outcome == REPRODUCED
    assert verdicts["mixed loses to single at the largest fraction, for most abilities"].outcome == REPRODUCED
    assert verdicts["general: mixing helps at low data and hurts at high data"].kind == "composite"


def test_mixture_always_much_worse_contradicts_the_low_end_claim():
    worse = {a: [s - 0.1 for s in scores] for a, scores in SINGLE.items()}
    verdicts = by_claim(run(rq2.checks, make_rows(SINGLE, worse)))
    assert verdicts["math: mixed beats single at the smallest fraction"].outcome == CONTRADICTED
    assert verdicts["mixed beats single at the smallest fraction, for most abilities"].outcome == CONTRADICTED
    assert verdicts["mixing helps at low data and hurts at high data, for most abilities"].outcome == CONTRADICTED


def test_ties_at_the_floor_do_not_count_as_a_win():
    rows = make_rows({"math": [0.5, 0.4, 0.3, 0.2, 0.0]}, {"math": [0.4, 0.3, 0.3, 0.2, 0.0]})
    assert evaluate(rq2.end_check(rows, "math", None, "accuracy", low=True), rows).outcome != REPRODUCED


def test_a_failed_endpoint_makes_the_rq2_check_inconclusive():
    rows = make_rows(SINGLE, dict(MIXED, math=[0.45, 0.38, 0.28, 0.25, None]))
    v = evaluate(rq2.end_check(rows, "math", None, "accuracy", low=True), rows)
    assert v.outcome == INCONCLUSIVE and "failed" in v.reason


def test_verdicts_markdown_shows_ci_mde_runs_and_p1s_z():
    text = verdicts_markdown(run(rq1.checks, make_rows(SINGLE)), "RQ1")
    assert "| math rises with its data amount |" in text and "distinct runs" in text and "MDE" in text
    assert "z = " in text and "weakly supported by P1 itself" in text
    assert "not reproduced" not in text and "**not reproduced**" not in text


# --- tables --------------------------------------------------------------------------------------


def test_rq1_table_shows_ours_the_paper_the_base_and_footnoted_failures():
    rows = make_rows(dict(SINGLE, math=[0.5, None, 0.3, 0.2, 0.1]))
    text = rq1.table(rows)
    assert text.splitlines()[0].startswith("**RQ1") and "not comparable with the paper" in text.splitlines()[0]
    assert "`builtin_math` v1" in text
    assert "| 1 | 0.500 ± 0.030 (200) (n train=4,000) | 49.10 |" in text
    assert "| 1/4 | failed[^1] |" in text
    assert "[^1]: math arm, fraction 1/4, `builtin_math`: run math-0.25: CUDA out of memory" in text
    assert "| 0 (untrained base) | 0.050 ± 0.030 (200) |" in text
    lines = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| 1")]
    assert lines == ["| 1", "| 1/4", "| 1/16", "| 1/64", "| 1/256"]


def test_a_gguf_scored_despite_failing_parity_is_marked_in_the_table():
    rows = make_rows(SINGLE)
    for r in rows:
        if r["arm"] == "code" and r["fraction"] == 1:
            r["parity"] = False
    text = rq1.table(rows)
    assert "0.500 ± 0.030 (200) ⚠[^1]" in text or " ⚠[^1]" in text
    assert "failed its parity check" in text and "allow_parity_mismatch" in text
    assert text.count("⚠") == 1


def test_rq2_table_shows_both_deltas():
    text = rq2.table(make_rows(SINGLE, MIXED))
    line = (
        "| math (`builtin_math` accuracy; P1 GSM8K (%)) | 1/256 | 0.100 ± 0.030 (200) (n train=15) "
        "| 0.150 ± 0.030 (200) (n train=45) | +0.050 | 12.70 | 14.78 | +2.08 |"
    )
    assert line in text


def with_dense(rows, dense=0.5):
    """``rows`` plus a dense_rank row per ok row: the same run and items ids, another metric and score."""
    extra = [dict(r, metric="dense_rank", score=dense, task_version="d1", items=items_for(dense, 0)) for r in rows]
    return rows + [r for r in extra if r["status"] == "ok"]


def test_a_table_names_each_columns_metric_and_shows_the_primary_beside_accuracy():
    floor = {a: [0.05, 0.04, 0.03, 0.02, 0.01] for a in TASK}
    text = rq1.table(with_dense(make_rows(floor, base=0.02), dense=0.8))
    assert "math: ours `builtin_math` dense_rank (n eval) (n train) | math: ours `builtin_math` accuracy" in text
    assert "| 1 | 0.800 ± 0.030 (200) (n train=4,000) | 0.050 ± 0.030 (200) (n train=4,000) | 49.10 |" in text
    assert "`builtin_math` v1 (dense_rank vd1)" in text and "`dense_rank`: teacher-forced rank" in text
    # off the floor accuracy is the primary metric: the dense column is not shown, and never averaged in
    text = rq1.table(with_dense(make_rows(SINGLE)))
    assert "dense_rank" not in text and "| 1 | 0.500 ± 0.030 (200) (n train=4,000) | 49.10 |" in text


def test_series_reads_one_metric_never_the_mean_of_several():
    rows = with_dense(make_rows(SINGLE), dense=0.9)
    assert series(rows, "math", "builtin_math")[1.0].score == 0.5
    assert series(rows, "math", "builtin_math", "dense_rank")[1.0].score == 0.9


def test_line_with_ci_draws_error_bars_a_band_and_survives_no_points(tmp_path):
    from kit.report import figures

    fig, axes = figures.figure(2)
    ax = axes[0][0]
    figures.line_with_ci(ax, [(1, 0.2, 0.05), (4, 0.4, 0.05), (16, 0.5, 0.0)], band=True, marker="o")
    assert len(ax.collections) == 2  # the error bars' line collection and the band
    figures.line_with_ci(axes[0][1], [], band=True, marker="o")
    figures.finish(fig, axes, "t", tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_tables_refuse_rows_from_two_profiles():
    rows = make_rows(SINGLE) + [row("math", 1.0, "math", 0.9, profile="gpu")]
    with pytest.raises(ValueError, match="one report per profile"):
        rq1.table(rows)


# --- write_report and the row schema -------------------------------------------------------------


@pytest.mark.parametrize(("rq", "picture"), [("rq1", "scaling.png"), ("rq2", "mixed_vs_single.png")])
def test_write_report_writes_every_file_and_a_real_png(tmp_path, rq, picture):
    rows = make_rows(SINGLE, MIXED)
    paths = write_report(rq, rows, tmp_path / rq)
    assert [p.name for p in paths] == ["table.md", picture, "verdicts.md", "verdicts.json", "rows.json"]
    png = (tmp_path / rq / picture).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 200_000
    assert "**reproduced**" in (tmp_path / rq / "verdicts.md").read_text()
    assert len(json.loads((tmp_path / rq / "rows.json").read_text())) == len(rows)
    assert sorted(p.name for p in (tmp_path / rq).iterdir()) == sorted(p.name for p in paths)  # no temp files left


@pytest.mark.parametrize("rq", ["rq1", "rq2"])
def test_an_ability_whose_runs_all_failed_still_gets_a_report(tmp_path, rq):
    single = {**SINGLE, "general": [None] * 5}
    mixed = {ability: [None] * 5 for ability in MIXED} if rq == "rq2" else None
    paths = write_report(rq, make_rows(single, mixed), tmp_path / rq)
    assert (tmp_path / rq / "table.md").read_text().count("failed") >= 5
    assert all(p.stat().st_size > 0 for p in paths)


def test_unknown_report_lists_the_valid_ones(tmp_path):
    with pytest.raises(KeyError, match="rq1, rq2, rq3, rq4"):
        write_report("rq5", make_rows(SINGLE), tmp_path)
    assert set(REPORTS) == {"rq1", "rq2", "rq3", "rq4", "p2", "p3"}


def test_validate_rows_names_the_row_and_the_missing_field():
    rows = make_rows(SINGLE)
    validate_rows(rows)
    del rows[3]["ability"]
    with pytest.raises(ValueError, match=r"row 3 \(run_id=math-0.015625.*field 'ability': missing"):
        validate_rows(rows)


def test_a_run_that_failed_early_may_lack_run_id_and_task_version():
    rows = make_rows(dict(SINGLE, math=[0.5, None, 0.3, 0.2, 0.1]))
    rows[1].update(run_id="", task_version="")
    validate_rows(rows)
    assert "[^1]: math arm, fraction 1/4, `builtin_math`: CUDA out of memory" in rq1.table(rows)
    rows[0]["run_id"] = ""
    with pytest.raises(ValueError, match="row 0 .*field 'run_id'"):
        validate_rows(rows)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"score": 1.5}, "score"),
        ({"status": "failed", "score": 0.2, "error": "oom"}, "score"),
        ({"status": "failed", "score": None, "error": None}, "error"),
        ({"arm": "maths"}, "arm"),
        ({"fraction": 0.0}, "fraction"),
        ({"n_examples": 1.5}, "n_examples"),
    ],
)
def test_validate_rows_rejects_bad_values(change, field):
    rows = make_rows(SINGLE)
    rows[0].update(change)
    with pytest.raises(ValueError, match=f"row 0 .*field '{field}'"):
        validate_rows(rows)


def test_importing_the_report_layer_imports_no_torch_or_matplotlib():
    code = "import sys, kit.report; assert not {'torch', 'matplotlib'} & set(sys.modules), sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


@pytest.mark.parametrize("rq", ["rq1", "rq2", "rq3", "rq4"])
def test_each_reports_arm_names_equal_the_recipes(rq):
    from kit.recipe import load_recipe

    recipe = load_recipe(REPO / "recipes" / f"{rq}.yaml", profile="cpu")
    assert set(REPORTS[rq].arms) == {arm.name for arm in recipe.grid.arms}
