"""P1's claims for RQ1/RQ2 as stated, checkable tests over result rows.

Each check takes rows in the ``kit.report.rows`` shape: ours, or P1's own Tables 2-3 through
``reference.paper_rows`` so every test is also run on the paper (which must pass its own claims).
The statistics are rank correlations, signs of differences and ratios of differences, so they do not
depend on a benchmark's scale: percent, 1-10 and [0, 1] scores are checked the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kit.report.rows import ABILITIES, fraction_label, series

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
RHO_MIN = 0.7
LATE_SHARE_MAX = 0.25


@dataclass(frozen=True)
class Verdict:
    claim: str
    test: str
    value: str
    outcome: str  # REPRODUCED | NOT_REPRODUCED | INCONCLUSIVE
    details: str = ""


# --- RQ1: each ability vs its own data amount ----------------------------------------------------

RISES_TEST = (
    f"Spearman ρ between log(fraction) and score ≥ {RHO_MIN}, and score at the largest fraction > score at the "
    "smallest (single-source runs; ≥ 3 fractions with a score; an endpoint run that failed makes it inconclusive)"
)
LATE_SHARE = "late-gain share (s(1) − s(1/16)) / (s(1) − s(1/256))"


def rises_with_data(rows: list[dict], ability: str, task: str | None = None) -> Verdict:
    """P1 RQ1: the ability's score rises with the amount of its own training data."""
    claim = f"{ability} rises with its data amount"
    points, why = _single_source(rows, ability, task)
    if why:
        return Verdict(claim, RISES_TEST, "—", INCONCLUSIVE, why)
    rho = _spearman([math.log(f) for f in points], list(points.values()))
    low, high = min(points), max(points)
    rho_text = "undefined (all scores equal)" if rho is None else f"{rho:.2f}"
    value = (f"ρ = {rho_text} over {len(points)} fractions; s({fraction_label(high)}) = {_num(points[high])} vs "
             f"s({fraction_label(low)}) = {_num(points[low])}")
    ok = rho is not None and rho >= RHO_MIN and points[high] > points[low]
    return Verdict(claim, RISES_TEST, value, REPRODUCED if ok else NOT_REPRODUCED, _failed_note(rows, ability, task))


def math_rises(rows: list[dict], task: str | None = None) -> Verdict:
    return rises_with_data(rows, "math", task)


def code_rises(rows: list[dict], task: str | None = None) -> Verdict:
    return rises_with_data(rows, "code", task)


def general_plateaus(rows: list[dict], task: str | None = None, contrast: dict[str, str] | None = None) -> Verdict:
    """P1 RQ1: general ability "emerges" with ~1K examples then plateaus: most of the gain comes early.

    ``contrast`` ({ability: task}) adds the same statistic for math and code to the details.
    """
    claim = "general plateaus: most of its gain is reached by 1/16 of the data"
    test = (f"{LATE_SHARE} < {LATE_SHARE_MAX}, given s(1) > s(1/256) (no gain: not reproduced); 1, 1/16, 1/256 "
            "stand for the largest, log-middle and smallest fractions run")
    share, value, why = _late_share(rows, "general", task)
    if why:
        return Verdict(claim, test, value, INCONCLUSIVE, why)
    others = []
    for ability in ("math", "code"):
        other, _, _ = _late_share(rows, ability, (contrast or {}).get(ability))
        others.append(f"{ability} {'n/a' if other is None else f'{other:.2f}'}")
    details = "For contrast, the same share: " + ", ".join(others) + " (they need not plateau)."
    if share is None:
        no_gain = "No gain from the smallest fraction to the largest. "
        return Verdict(claim, test, value, NOT_REPRODUCED, no_gain + details)
    return Verdict(claim, test, value, REPRODUCED if share < LATE_SHARE_MAX else NOT_REPRODUCED, details)


def general_saturates_first(rows: list[dict], tasks: dict[str, str] | None = None) -> Verdict:
    """General's curve flattens before math's and code's: a scale-free way to say it rises less steeply."""
    claim = "general rises less steeply than math and code: it saturates earlier"
    test = f"{LATE_SHARE} of general < that of math and < that of code (each needs a gain)"
    shares, whys = {}, []
    for ability in ABILITIES:
        share, _, why = _late_share(rows, ability, (tasks or {}).get(ability))
        if share is None:
            whys.append(f"{ability}: {why or 'no gain from the smallest fraction to the largest'}")
        shares[ability] = share
    value = ", ".join(f"{a} {'n/a' if s is None else f'{s:.2f}'}" for a, s in shares.items())
    if whys:
        return Verdict(claim, test, value, INCONCLUSIVE, "; ".join(whys))
    ok = shares["general"] < shares["math"] and shares["general"] < shares["code"]
    return Verdict(claim, test, value, REPRODUCED if ok else NOT_REPRODUCED)


def rq1_verdicts(rows: list[dict], tasks: dict[str, str] | None = None) -> list[Verdict]:
    """Every RQ1 check on one task per ability (``tasks``; default: the only task seen per ability)."""
    tasks = tasks or {}
    return [
        math_rises(rows, tasks.get("math")),
        code_rises(rows, tasks.get("code")),
        general_plateaus(rows, tasks.get("general"), contrast=tasks),
        general_saturates_first(rows, tasks),
    ]


# --- RQ2: all three sources mixed vs each alone --------------------------------------------------


def mixed_wins_low(rows: list[dict], ability: str, task: str | None = None) -> Verdict:
    """P1 RQ2: at low resource, mixing the three sources beats training on the ability's own source."""
    return _end_check(rows, ability, task, low=True)


def mixed_loses_high(rows: list[dict], ability: str, task: str | None = None) -> Verdict:
    """P1 RQ2: with the full data, the mixture loses to the ability's own source (conflict)."""
    return _end_check(rows, ability, task, low=False)


def crossover(rows: list[dict], ability: str, task: str | None = None) -> Verdict:
    """Where (mixed − single) changes sign; holds when it is + at the smallest fraction and − at the largest."""
    claim = f"{ability}: mixing helps at low data and hurts at high data"
    test = "mixed − single > 0 at the smallest fraction and < 0 at the largest (both arms run); where the sign flips"
    pairs, ends, why = _pairs(rows, ability, task)
    if why:
        return Verdict(claim, test, "—", INCONCLUSIVE, why)
    deltas = {f: m - s for f, (s, m) in pairs.items()}
    shown = ", ".join(f"{fraction_label(f)} {_num(d, signed=True)}" for f, d in sorted(deltas.items()))
    flips = _flips(deltas)
    value = f"Δ by fraction: {shown}; sign flips: {flips or 'none'}"
    low, high = ends
    if low not in deltas or high not in deltas:
        return Verdict(claim, test, value, INCONCLUSIVE, "a run at the smallest or largest fraction failed")
    ok = deltas[low] > 0 > deltas[high]
    return Verdict(claim, test, value, REPRODUCED if ok else NOT_REPRODUCED)


def rq2_verdicts(rows: list[dict], tasks: dict[str, str] | None = None) -> list[Verdict]:
    """Per ability: low end, high end, crossover; then each as a majority over the abilities."""
    tasks = tasks or {}
    out = []
    for check, overall in ((mixed_wins_low, "mixed beats single at the smallest fraction"),
                           (mixed_loses_high, "mixed loses to single at the largest fraction"),
                           (crossover, "mixing helps at low data and hurts at high data")):
        per_ability = [check(rows, ability, tasks.get(ability)) for ability in ABILITIES]
        out += per_ability + [_majority(f"{overall}, for most abilities", per_ability)]
    return out


VERDICTS = {"rq1": rq1_verdicts, "rq2": rq2_verdicts}


def verdicts_markdown(verdicts: list[Verdict], title: str, paper: list[Verdict] | None = None) -> str:
    """A table claim | test | ours | paper | outcome, then a short paragraph on what it does and does not show.

    ``paper`` holds the same checks run on P1's own numbers, matched by claim.
    """
    by_claim = {v.claim: v for v in paper or []}
    lines = [f"## {title}", "", _md_row(["claim", "test", "ours", "paper (same test on P1 7B)", "outcome"]),
             "|---|---|---|---|---|"]
    for v in verdicts:
        p = by_claim.get(v.claim)
        paper_cell = f"{p.value} → {p.outcome}" if p else "—"
        lines.append(_md_row([v.claim, v.test, v.value, paper_cell, f"**{v.outcome}**"]))
    lines += ["", _paragraph(verdicts, by_claim)]
    notes = [f"- {v.claim}: {v.details}" for v in verdicts if v.details]
    if notes:
        lines += ["", "Details:", ""] + notes
    return "\n".join(lines) + "\n"


# --- helpers -------------------------------------------------------------------------------------


def _pick_task(rows: list[dict], ability: str, task: str | None) -> tuple[str | None, str]:
    if task is not None:
        return task, ""
    tasks = sorted({r["task"] for r in rows if r["ability"] == ability})
    if len(tasks) == 1:
        return tasks[0], ""
    if not tasks:
        return None, f"no rows for ability {ability!r}"
    raise ValueError(f"rows hold several {ability} tasks ({', '.join(tasks)}): pass task= (or tasks=) to choose one")


def _single_source(rows: list[dict], ability: str, task: str | None) -> tuple[dict[float, float], str]:
    """The ability's own-source scores by fraction, or why they cannot carry a trend."""
    task, why = _pick_task(rows, ability, task)
    if why:
        return {}, why
    cells = {f: c for f, c in series(rows, ability, task).items() if f > 0}
    points = {f: c.score for f, c in cells.items() if not c.failed}
    failed = sorted(f for f, c in cells.items() if c.failed)
    if len(points) < 3:
        return points, f"{len(points)} fraction(s) with a score (needs 3); failed: {_labels(failed) or 'none'}"
    if failed and (max(cells) in failed or min(cells) in failed):
        return points, f"the run at an end of the range failed (fractions {_labels(failed)})"
    return points, ""


def _failed_note(rows: list[dict], ability: str, task: str | None) -> str:
    task, _ = _pick_task(rows, ability, task)
    failed = sorted(f for f, c in series(rows, ability, task).items() if f > 0 and c.failed)
    return f"failed runs left out: fractions {_labels(failed)}" if failed else ""


def _late_share(rows: list[dict], ability: str, task: str | None) -> tuple[float | None, str, str]:
    """(share, value text, why inconclusive); share is None when there is no gain or no data."""
    points, why = _single_source(rows, ability, task)
    if why:
        return None, "—", why
    low, high = min(points), max(points)
    middle = math.sqrt(low * high)
    mid = min((f for f in points if low < f < high), key=lambda f: abs(math.log(f / middle)))
    s_hi, s_mid, s_lo = points[high], points[mid], points[low]
    value = (f"s({fraction_label(high)}) = {_num(s_hi)}, s({fraction_label(mid)}) = {_num(s_mid)}, "
             f"s({fraction_label(low)}) = {_num(s_lo)}")
    if s_hi <= s_lo:
        return None, value + "; no gain", ""
    share = (s_hi - s_mid) / (s_hi - s_lo)
    return share, f"share = {share:.2f} ({value})", ""


def _pairs(rows: list[dict], ability: str, task: str | None) -> tuple[dict[float, tuple[float, float]], tuple, str]:
    """{fraction: (single, mixed)} where both scored, the (smallest, largest) fraction both arms ran, and why not."""
    task, why = _pick_task(rows, ability, task)
    if why:
        return {}, (), why
    single, mixed = series(rows, ability, task), series(rows, "mixed", task)
    common = sorted(f for f in set(single) & set(mixed) if f > 0)
    if len(common) < 2:
        both = f"{len(common)} fraction(s) with both a single-source ({ability}) and a mixed run on `{task}`"
        return {}, (), both + " (needs 2)"
    pairs = {f: (single[f].score, mixed[f].score) for f in common if not (mixed[f].failed or single[f].failed)}
    return pairs, (common[0], common[-1]), ""


def _end_check(rows: list[dict], ability: str, task: str | None, low: bool) -> Verdict:
    where = "smallest" if low else "largest"
    claim = f"{ability}: mixed {'beats' if low else 'loses to'} single at the {where} fraction"
    test = f"mixed − single {'>' if low else '<'} 0 at the {where} fraction both arms ran (a tie does not count)"
    pairs, ends, why = _pairs(rows, ability, task)
    if why:
        return Verdict(claim, test, "—", INCONCLUSIVE, why)
    fraction = ends[0] if low else ends[1]
    if fraction not in pairs:
        return Verdict(claim, test, "—", INCONCLUSIVE, f"a run at fraction {fraction_label(fraction)} failed")
    single, mixed = pairs[fraction]
    value = (f"{fraction_label(fraction)}: mixed {_num(mixed)} − single {_num(single)} = "
             f"{_num(mixed - single, signed=True)}")
    ok = mixed > single if low else mixed < single
    return Verdict(claim, test, value, REPRODUCED if ok else NOT_REPRODUCED)


def _majority(claim: str, per_ability: list[Verdict]) -> Verdict:
    need = len(per_ability) // 2 + 1
    test = f"the per-ability check is reproduced for ≥ {need} of {len(per_ability)} abilities"
    hits = [v for v in per_ability if v.outcome == REPRODUCED]
    open_ = [v for v in per_ability if v.outcome == INCONCLUSIVE]
    names = ", ".join(v.claim.split(":")[0] for v in hits) or "none"
    value = f"{len(hits)} of {len(per_ability)} ({names})"
    if len(hits) >= need:
        outcome = REPRODUCED
    elif len(hits) + len(open_) < need:
        outcome = NOT_REPRODUCED
    else:
        outcome = INCONCLUSIVE
    details = f"{len(open_)} inconclusive" if open_ else ""
    return Verdict(claim, test, value, outcome, details)


def _flips(deltas: dict[float, float]) -> str:
    """The fraction intervals (small to large) across which mixed − single changes sign."""
    points = sorted(deltas.items())
    sign = {1: "+", -1: "−", 0: "0"}
    out = []
    for (f1, d1), (f2, d2) in zip(points, points[1:]):
        s1, s2 = _sign(d1), _sign(d2)
        if s1 != s2:
            out.append(f"between {fraction_label(f1)} and {fraction_label(f2)} ({sign[s1]} → {sign[s2]})")
    return "; ".join(out)


def _paragraph(verdicts: list[Verdict], paper: dict[str, Verdict]) -> str:
    counts = {o: sum(v.outcome == o for v in verdicts) for o in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)}
    text = (f"Of {len(verdicts)} checks on our runs, {counts[REPRODUCED]} reproduced P1's claim, "
            f"{counts[NOT_REPRODUCED]} did not and {counts[INCONCLUSIVE]} were inconclusive (missing or failed runs).")
    if paper:
        passed = sum(p.outcome == REPRODUCED for p in paper.values())
        text += (f" As a check on the tests themselves, P1's own 7B numbers pass {passed} of {len(paper)}; a test "
                 "the paper fails would say more about the test than about our runs.")
    return text + (
        " Our runs use a different base model, different (smaller) data and LoRA/QLoRA instead of full fine-tuning, "
        "and each point is a single training seed scored on a finite eval set, so a difference of a few eval items is "
        "within noise; \"reproduced\" means the same direction or shape of the trend, not the same size of effect."
    )


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _spearman(x: list[float], y: list[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(set(y)) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _num(x: float, signed: bool = False) -> str:
    return f"{x:+.3g}" if signed else f"{x:.3g}"


def _labels(fractions: list[float]) -> str:
    return ", ".join(fraction_label(f) for f in fractions)

