"""kit.report.stats on hand-made per-item scores with known answers: trends, differences, composites, seeds,
distinct runs, P1's own z, verdicts.json's keys and the single-item (fragile) check."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from kit.report import claims, stats, write_report
from kit.report.p1 import rq1, rq2
from kit.report.reference import BENCHMARK, paper_rows
from kit.report.stats import CONTRADICTED, INCONCLUSIVE, REPRODUCED, CellRef

FRACTIONS = (1.0, 0.25, 0.0625, 0.015625, 0.00390625)
N = 100


def items(score: float, n: int = N, offset: int = 0) -> dict[str, float]:
    """n items of which round(score·n) are 1, starting at ``offset`` (wrapping), so runs differ in which ones."""
    k = round(score * n)
    return {f"i{j:03d}": float((j - offset) % n < k) for j in range(n)}


def row(arm, fraction, ability, score, run_id=None, seed=0, n=N, offset=0, recipe="rq1", metric="accuracy"):
    values = items(score, n, offset)
    return {
        "recipe": recipe,
        "arm": arm,
        "fraction": fraction,
        "n_examples": 0 if arm == "base" else max(1, int(4000 * fraction)),
        "task": f"builtin_{ability}",
        "ability": ability,
        "score": sum(values.values()) / n,
        "status": "ok",
        "error": None,
        "run_id": run_id or f"{arm}-{fraction}-s{seed}",
        "profile": "cpu",
        "task_version": "1",
        "metric": metric,
        "scale": "unit",
        "n_eval": n,
        "stderr": 0.05,
        "items": values,
        "parity": True,
        "seed": seed,
    }


def curve(ability, scores, **kw):
    # offsets spread the ones over different items, so runs are not nested (as real runs are not)
    return [row(ability, f, ability, s, offset=7 * i, **kw) for i, (f, s) in enumerate(zip(FRACTIONS, scores))]


def rises(rows):
    return stats.evaluate(rq1.rises(rows, "math", None, "accuracy"), rows)


def test_a_true_trend_is_found():
    v = rises(curve("math", [0.6, 0.5, 0.4, 0.3, 0.2]))
    assert v.outcome == REPRODUCED and v.ci_low > 0 and v.distinct_runs == 5
    assert v.statistic == pytest.approx(0.4 / 8, rel=0.05)  # 0.1 per 2 doublings


def test_a_flat_trend_is_not_reproduced():
    v = rises(curve("math", [0.3] * 5))
    assert v.outcome in (INCONCLUSIVE, CONTRADICTED) and v.ci_low <= 0 <= v.ci_high


def test_a_flat_trend_with_many_items_is_contradicted_by_delta():
    rows = [row("math", f, "math", 0.3, n=2000, offset=37 * i) for i, f in enumerate(FRACTIONS)]
    v = rises(rows)
    assert v.outcome == CONTRADICTED and -rq1.DELTA_SLOPE < v.ci_low and v.ci_high < rq1.DELTA_SLOPE


def test_a_reversed_trend_is_contradicted():
    v = rises(curve("math", [0.1, 0.2, 0.3, 0.4, 0.6]))
    assert v.outcome == CONTRADICTED and v.ci_high < 0


def test_fewer_than_three_distinct_runs_is_inconclusive():
    rows = curve("math", [0.6, 0.5, 0.4, 0.3, 0.2])
    for r in rows[1:]:  # 1/4 ... 1/256 are one run (a pool too small to tell them apart)
        r.update(run_id="tiny", items=rows[1]["items"], score=rows[1]["score"], n_examples=1)
    v = rises(rows)
    assert v.outcome == INCONCLUSIVE and "2 distinct run(s)" in v.reason and "same run" in v.reason


def test_duplicate_run_ids_count_once():
    rows = curve("math", [0.6, 0.5, 0.4, 0.3, 0.2])
    once = rises(rows)
    twice = rises(rows + [dict(rows[0])])  # the same run's row twice
    assert twice.distinct_runs == once.distinct_runs == 5
    assert (twice.statistic, twice.ci_low, twice.ci_high) == (once.statistic, once.ci_low, once.ci_high)


def difference(rows, delta=0.01):
    refs = [CellRef("mixed", 1.0, "builtin_math", "accuracy"), CellRef("math", 1.0, "builtin_math", "accuracy")]
    return stats.evaluate(
        claims.fixed("mixed beats math", "difference", "a − b", refs, stats.difference(), delta), rows
    )


def test_a_one_item_difference_is_inconclusive():
    a, b = row("mixed", 1.0, "math", 0.31), row("math", 1.0, "math", 0.30)
    v = difference([a, b])
    assert v.statistic == pytest.approx(0.01) and v.outcome == INCONCLUSIVE


def test_a_large_paired_difference_is_reproduced_and_the_mde_is_positive():
    v = difference([row("mixed", 1.0, "math", 0.6), row("math", 1.0, "math", 0.3)])
    assert v.outcome == REPRODUCED and v.mde > 0 and v.distinct_runs == 2


def test_runs_scored_on_different_items_are_an_error_naming_the_run():
    b = row("math", 1.0, "math", 0.3)
    del b["items"]["i000"]
    with pytest.raises(ValueError, match="run math-1.0-s0 lacks 1 of 100 item ids"):
        difference([row("mixed", 1.0, "math", 0.6), b])


def test_nested_seeds_widen_the_ci():
    one = [row("mixed", 1.0, "math", 0.5), row("math", 1.0, "math", 0.3)]
    seeds = one + [row("mixed", 1.0, "math", s, seed=i, offset=11 * i) for i, s in ((1, 0.35), (2, 0.65))]
    narrow, wide = difference(one), difference(seeds)
    assert wide.distinct_runs == 4
    assert (wide.ci_high - wide.ci_low) > 1.3 * (narrow.ci_high - narrow.ci_low)


def test_the_composite_rule():
    def part(outcome):
        return stats.Verdict("p", "difference", "accuracy", "", 0.0, 0.0, 0.0, 0.0, 0.0, 2, outcome, "")

    claim = claims.composite("all", [])
    combined = lambda *o: stats.combine(claim, [part(x) for x in o]).outcome  # noqa: E731
    assert combined(REPRODUCED, REPRODUCED) == REPRODUCED
    assert combined(REPRODUCED, INCONCLUSIVE) == INCONCLUSIVE
    assert combined(REPRODUCED, CONTRADICTED) == CONTRADICTED
    assert combined(INCONCLUSIVE, CONTRADICTED) == CONTRADICTED
    most = claims.majority("most", [claim] * 3)
    assert stats.combine(most, [part(REPRODUCED)] * 2 + [part(CONTRADICTED)]).outcome == REPRODUCED
    assert stats.combine(most, [part(CONTRADICTED)] * 2 + [part(REPRODUCED)]).outcome == CONTRADICTED
    assert stats.combine(most, [part(INCONCLUSIVE)] * 2 + [part(REPRODUCED)]).outcome == INCONCLUSIVE


def test_a_missing_or_failed_cell_is_inconclusive_with_the_reason():
    failed = dict(row("math", 1.0, "math", 0.3), status="failed", score=None, error="OOM", items=None)
    v = difference([row("mixed", 1.0, "math", 0.6), failed])
    assert v.outcome == INCONCLUSIVE and "failed: OOM" in v.reason
    old = dict(row("math", 1.0, "math", 0.3), items=None)
    assert "no per-item scores" in difference([row("mixed", 1.0, "math", 0.6), old]).reason


def test_the_fragile_check_undecides_a_verdict_one_item_flip_would_change():
    # 20 items: 0.55 vs 0.25 sits just at the edge of the CI; find a pair that is decided without the check
    for hi in np.arange(0.40, 0.80, 0.05):
        rows = [row("mixed", 1.0, "math", hi, n=20), row("math", 1.0, "math", 0.25, n=20, offset=3)]
        refs = [CellRef("mixed", 1.0, "builtin_math", "accuracy"), CellRef("math", 1.0, "builtin_math", "accuracy")]
        claim = claims.fixed("c", "difference", "a − b", refs, stats.difference(), 0.01)
        raw = stats.evaluate(claim, rows, fragile=False)
        checked = stats.evaluate(claim, rows)
        if raw.outcome == REPRODUCED and checked.outcome == INCONCLUSIVE:
            assert stats.FRAGILE_REASON in checked.reason
            return
    pytest.fail("no borderline case found")


def test_a_robust_verdict_survives_the_fragile_check():
    v = difference([row("mixed", 1.0, "math", 0.8), row("math", 1.0, "math", 0.2)])
    assert v.outcome == REPRODUCED and stats.FRAGILE_REASON not in v.reason


def test_the_p1_machinery_gives_p1s_claims_their_z():
    paper = paper_rows("7B", "rq1")
    found = [stats.evaluate_paper(c, paper) for c in rq1.checks(paper, BENCHMARK)]
    math_rises = found[0]
    # GSM8K 12.7% -> 49.1% over 8 doublings; binomial SEs from 1319 items
    assert math_rises.statistic == pytest.approx(0.0467, abs=0.002) and math_rises.paper_z > 10
    assert math_rises.outcome == REPRODUCED
    plateau = found[2]
    assert plateau.paper_z is not None and plateau.paper_z < stats.WEAK_Z  # MT-Bench's 160 turns: weak
    ours = stats.with_paper(found[2], plateau)
    assert ours.weak_in_paper


def test_paper_units_map_mtbench_to_unit_interval():
    assert stats.paper_unit("mtbench", 10) == 1 and stats.paper_unit("mtbench", 1) == 0
    assert stats.paper_unit("gsm8k", 49.1) == pytest.approx(0.491)


def test_2000_replicates_over_10_runs_of_100_items_take_well_under_a_second():
    rows = [
        row("math", f, "math", 0.2 + 0.05 * i, seed=s, offset=i + s) for i, f in enumerate(FRACTIONS) for s in (0, 1)
    ]
    claim = rq1.rises(rows, "math", None, "accuracy")
    stats.mde(1.0)  # scipy imported before timing
    start = time.perf_counter()
    stats.evaluate(claim, rows, fragile=False)
    assert time.perf_counter() - start < 0.5


def test_verdicts_json_has_exactly_the_listed_keys(tmp_path):
    rows = [r for a in ("math", "code", "general") for r in curve(a, [0.6, 0.5, 0.4, 0.3, 0.2])]
    rows += [row("base", 0.0, a, 0.1, run_id="base") for a in ("math", "code", "general")]
    write_report("rq1", rows, tmp_path)
    found = json.loads((tmp_path / "verdicts.json").read_text())
    assert len(found) == 4
    for v in found:
        assert set(v) == set(stats.JSON_KEYS)
        assert v["outcome"] in stats.OUTCOMES and v["metric"] == "accuracy"
    assert found[0]["paper_z"] > 10


def test_the_report_uses_dense_rank_when_accuracy_sits_on_the_floor(tmp_path):
    rows = [r for a in ("math", "code", "general") for r in curve(a, [0.05, 0.04, 0.03, 0.02, 0.01])]
    rows += [row("base", 0.0, a, 0.02, run_id="base") for a in ("math", "code", "general")]
    rows += [r for a in ("math", "code", "general") for r in curve(a, [0.8, 0.7, 0.6, 0.5, 0.4], metric="dense_rank")]
    rows += [row("base", 0.0, a, 0.33, run_id="base", metric="dense_rank") for a in ("math", "code", "general")]
    write_report("rq1", rows, tmp_path)
    found = json.loads((tmp_path / "verdicts.json").read_text())
    assert [v["metric"] for v in found] == ["dense_rank"] * 4 + ["accuracy"] * 4
    assert found[0]["outcome"] == REPRODUCED
    text = (tmp_path / "verdicts.md").read_text()
    assert "primary metric: math `builtin_math` dense_rank" in text and "secondary: generation accuracy" in text


def test_rq2_end_checks_pair_mixed_and_single_on_the_same_items():
    rows = curve("math", [0.5, 0.4, 0.3, 0.2, 0.1])
    rows += [
        row("mixed", f, "math", s, recipe="rq1", offset=7 * i)
        for i, (f, s) in enumerate(zip(FRACTIONS, [0.2, 0.3, 0.3, 0.3, 0.4]))
    ]
    low = stats.evaluate(rq2.end_check(rows, "math", None, "accuracy", low=True), rows)
    high = stats.evaluate(rq2.end_check(rows, "math", None, "accuracy", low=False), rows)
    assert low.outcome == REPRODUCED and high.outcome == REPRODUCED
