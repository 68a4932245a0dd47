"""The report layer: result-row schema, P1 reference numbers, tables, trend checks, figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kit.report import REPORTS, write_report
from kit.report.reference import FRACTIONS, load_reference, p1_scaling, paper_rows
from kit.report.rows import validate_rows
from kit.report.tables import rq1_table, rq2_table
from kit.report.verdicts import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    crossover,
    general_plateaus,
    general_saturates_first,
    mixed_loses_high,
    mixed_wins_low,
    rises_with_data,
    rq1_verdicts,
    rq2_verdicts,
    verdicts_markdown,
)
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


def row(arm, fraction, ability, score, status="ok", error=None, profile="cpu"):
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


# --- the paper passes its own claims -------------------------------------------------------------


@pytest.mark.parametrize("model", ["7B", "13B", "33B"])
def test_paper_numbers_pass_their_own_rq1_and_rq2_claims(model):
    rows = paper_rows(model)
    for verdict in rq1_verdicts(rows) + rq2_verdicts(rows):
        assert verdict.outcome == REPRODUCED, verdict


def test_paper_7b_crossover_is_between_1_64_and_1_16_for_every_ability():
    rows = paper_rows("7B")
    for ability in TASK:
        assert "between 1/64 and 1/16 (+ → −)" in crossover(rows, ability).value


def test_paper_7b_late_gain_shares_match_the_stated_numbers():
    verdict = general_plateaus(paper_rows("7B"))
    assert "share = 0.14" in verdict.value
    assert "math 0.36, code 0.48" in verdict.details


# --- RQ1 checks on hand-made scores --------------------------------------------------------------


@pytest.mark.parametrize("ability", ["math", "code"])
def test_rising_scores_reproduce_the_rising_claim(ability):
    assert rises_with_data(make_rows(SINGLE), ability).outcome == REPRODUCED


@pytest.mark.parametrize("scores", [[0.3] * 5, [0.1, 0.2, 0.3, 0.4, 0.5], [0.3, 0.5, 0.2, 0.4, 0.3]])
def test_flat_falling_or_noisy_math_is_not_reproduced(scores):
    assert rises_with_data(make_rows({"math": scores}), "math").outcome == NOT_REPRODUCED


@pytest.mark.parametrize("scores", [[0.5, None, None, None, 0.1], [None, 0.4, 0.3, 0.2, 0.1]])
def test_too_few_points_or_a_failed_endpoint_is_inconclusive(scores):
    verdict = rises_with_data(make_rows({"math": scores}), "math")
    assert verdict.outcome == INCONCLUSIVE and verdict.details


def test_a_failed_middle_run_is_left_out_and_said_so():
    verdict = rises_with_data(make_rows({"math": [0.5, None, 0.3, 0.2, 0.1]}), "math")
    assert verdict.outcome == REPRODUCED and "1/4" in verdict.details


def test_missing_ability_is_inconclusive_not_an_error():
    assert rises_with_data(make_rows({"math": SINGLE["math"]}), "code").outcome == INCONCLUSIVE


def test_early_gain_reproduces_the_general_plateau():
    assert general_plateaus(make_rows(SINGLE)).outcome == REPRODUCED


@pytest.mark.parametrize("scores", [[0.7, 0.6, 0.5, 0.4, 0.3], [0.3] * 5])
def test_log_linear_or_no_gain_does_not_reproduce_the_plateau(scores):
    assert general_plateaus(make_rows({"general": scores})).outcome == NOT_REPRODUCED


def test_general_saturating_first_needs_the_smallest_late_gain_share():
    assert general_saturates_first(make_rows(SINGLE)).outcome == REPRODUCED
    swapped = dict(SINGLE, general=SINGLE["math"], math=SINGLE["general"])
    assert general_saturates_first(make_rows(swapped)).outcome == NOT_REPRODUCED


# --- RQ2 checks on hand-made scores --------------------------------------------------------------


def test_mixture_winning_low_and_losing_high_reproduces_every_rq2_claim():
    verdicts = rq2_verdicts(make_rows(SINGLE, MIXED))
    assert [v.outcome for v in verdicts] == [REPRODUCED] * len(verdicts)
    assert "between 1/64 and 1/16 (+ → −)" in crossover(make_rows(SINGLE, MIXED), "code").value


def test_mixture_always_worse_does_not_reproduce_the_low_end_claim():
    worse = {a: [s - 0.05 for s in scores] for a, scores in SINGLE.items()}
    verdicts = by_claim(rq2_verdicts(make_rows(SINGLE, worse)))
    assert verdicts["math: mixed beats single at the smallest fraction"].outcome == NOT_REPRODUCED
    assert verdicts["mixed beats single at the smallest fraction, for most abilities"].outcome == NOT_REPRODUCED
    assert verdicts["mixed loses to single at the largest fraction, for most abilities"].outcome == REPRODUCED
    assert verdicts["mixing helps at low data and hurts at high data, for most abilities"].outcome == NOT_REPRODUCED


def test_ties_at_the_floor_do_not_count_as_a_win():
    rows = make_rows({"math": [0.5, 0.4, 0.3, 0.2, 0.0]}, {"math": [0.4, 0.3, 0.3, 0.2, 0.0]})
    assert mixed_wins_low(rows, "math").outcome == NOT_REPRODUCED


def test_a_failed_endpoint_makes_the_rq2_check_inconclusive():
    rows = make_rows(SINGLE, dict(MIXED, math=[0.45, 0.38, 0.28, 0.25, None]))
    assert mixed_wins_low(rows, "math").outcome == INCONCLUSIVE
    assert mixed_loses_high(rows, "math").outcome == REPRODUCED


def test_majority_with_open_abilities_is_inconclusive():
    mixed = dict(MIXED, code=[0.35, 0.28, 0.22, 0.25, None], general=[0.65, 0.66, 0.66, 0.55, 0.2])
    verdicts = by_claim(rq2_verdicts(make_rows(SINGLE, mixed)))
    assert verdicts["mixed beats single at the smallest fraction, for most abilities"].outcome == INCONCLUSIVE


def test_verdicts_markdown_shows_ours_next_to_the_paper_and_a_paragraph():
    text = verdicts_markdown(rq1_verdicts(make_rows(SINGLE)), "RQ1", rq1_verdicts(paper_rows("7B")))
    assert "| math rises with its data amount |" in text
    assert "s(1) = 49.1 vs s(1/256) = 12.7 → reproduced" in text
    assert "P1's own 7B numbers pass 4 of 4" in text


# --- tables --------------------------------------------------------------------------------------


def test_rq1_table_shows_ours_the_paper_the_base_and_footnoted_failures():
    rows = make_rows(dict(SINGLE, math=[0.5, None, 0.3, 0.2, 0.1]))
    text = rq1_table(rows)
    assert text.splitlines()[0].startswith("**RQ1") and "not comparable with the paper" in text.splitlines()[0]
    assert "`builtin_math` v1" in text
    assert "| 1 | 0.500 (n=4,000) | 49.10 |" in text
    assert "| 1/4 | failed[^1] |" in text
    assert "[^1]: math arm, fraction 1/4, `builtin_math`: run math-0.25: CUDA out of memory" in text
    assert "| 0 (untrained base) | 0.050 |" in text
    lines = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| 1")]
    assert lines == ["| 1", "| 1/4", "| 1/16", "| 1/64", "| 1/256"]


def test_rq2_table_shows_both_deltas():
    text = rq2_table(make_rows(SINGLE, MIXED))
    line = (
        "| math (`builtin_math`; P1 GSM8K (%)) | 1/256 | 0.100 (n=15) | 0.150 (n=45) | +0.050 | 12.70 | 14.78 | +2.08 |"
    )
    assert line in text


def test_tables_refuse_rows_from_two_profiles():
    rows = make_rows(SINGLE) + [row("math", 1.0, "math", 0.9, profile="gpu")]
    with pytest.raises(ValueError, match="one report per profile"):
        rq1_table(rows)


# --- write_report and the row schema -------------------------------------------------------------


@pytest.mark.parametrize(("rq", "picture"), [("rq1", "scaling.png"), ("rq2", "mixed_vs_single.png")])
def test_write_report_writes_every_file_and_a_real_png(tmp_path, rq, picture):
    rows = make_rows(SINGLE, MIXED)
    paths = write_report(rq, rows, tmp_path / rq)
    assert [p.name for p in paths] == ["table.md", picture, "verdicts.md", "rows.json"]
    png = (tmp_path / rq / picture).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 200_000
    assert "reproduced" in (tmp_path / rq / "verdicts.md").read_text()
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
    assert set(REPORTS) == {"rq1", "rq2", "rq3", "rq4"}


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
    assert "[^1]: math arm, fraction 1/4, `builtin_math`: CUDA out of memory" in rq1_table(rows)
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
