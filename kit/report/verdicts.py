"""P1's claims for RQ1-RQ4 as stated, checkable tests over result rows.

Each check takes rows in the ``kit.report.rows`` shape: ours, or P1's own tables through
``reference.paper_rows`` so every test is also run on the paper (which should pass its own claims;
where it does not, the report says so rather than loosening the test).
The statistics are rank correlations, signs of differences and ratios of differences or of scores, so
they do not depend on a benchmark's units: percent, 1-10 and [0, 1] scores are checked the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kit.report.rows import ABILITIES, fraction_key, fraction_label, series

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
    value = (
        f"ρ = {rho_text} over {len(points)} fractions; s({fraction_label(high)}) = {_num(points[high])} vs "
        f"s({fraction_label(low)}) = {_num(points[low])}"
    )
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
    test = (
        f"{LATE_SHARE} < {LATE_SHARE_MAX}, given s(1) > s(1/256) (no gain: not reproduced); 1, 1/16, 1/256 "
        "stand for the largest, log-middle and smallest fractions run"
    )
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
    for check, overall in (
        (mixed_wins_low, "mixed beats single at the smallest fraction"),
        (mixed_loses_high, "mixed loses to single at the largest fraction"),
        (crossover, "mixing helps at low data and hurts at high data"),
    ):
        per_ability = [check(rows, ability, tasks.get(ability)) for ability in ABILITIES]
        out += per_ability + [_majority(f"{overall}, for most abilities", per_ability)]
    return out


# --- RQ3: the amount of specialised data vs its ratio to general data ----------------------------

RATIO_SHARE_MAX = 0.5
AMOUNT_TEST = (
    "A (amount) = mean over k < 1 of |s₁(1) − s₁(k)|; R₁₃ (ratio at the same specialised amount, general 64× "
    "apart) = mean over k of |s₁(k) − s₃(k)|; R₂ (ratio with specialised data fixed, general 256× apart) = "
    "mean over k < 1 of |s₂(1) − s₂(k)|; reproduced if R₁₃ < "
    f"{RATIO_SHARE_MAX}·A and R₂ < {RATIO_SHARE_MAX}·A. P1's setups: s₁: k of math+code, all general; s₂: all "
    "math+code, k of general; s₃: k of math+code, 1/64 of general. Every setup needs a score "
    "at every k run (≥ 2), else inconclusive"
)


def amount_beats_ratio(rows: list[dict], ability: str, task: str | None = None) -> Verdict:
    """P1 RQ3: what decides a specialised ability is how much of its data there is, not the share it has.

    Setup 1 changes the amount (and with it the ratio); setups 1 and 3 at the same k differ only in the
    ratio (general data 64x apart); setup 2 changes only the ratio (256x). Scale-free: effects are
    compared with each other, never with a threshold in score units.
    """
    claim = f"{ability}: the amount of specialised data matters more than its ratio to general data"
    effects, value, why = _rq3_effects(rows, ability, task)
    if why:
        return Verdict(claim, AMOUNT_TEST, value, INCONCLUSIVE, why)
    amount, r13, r2 = effects
    ok = r13 < RATIO_SHARE_MAX * amount and r2 < RATIO_SHARE_MAX * amount
    details = "" if amount > 0 else "No amount effect at all (A = 0)."
    return Verdict(claim, AMOUNT_TEST, value, REPRODUCED if ok else NOT_REPRODUCED, details)


def rq3_verdicts(rows: list[dict], tasks: dict[str, str] | None = None) -> list[Verdict]:
    """Math, code, then both; general's effects go into the details for contrast (it should follow its own amount)."""
    tasks = tasks or {}
    per_ability = [amount_beats_ratio(rows, ability, tasks.get(ability)) for ability in ("math", "code")]
    both = _all_of(
        "the amount of specialised data matters more than its ratio to general data (math and code)",
        per_ability,
        ("math", "code"),
    )
    _, general, why = _rq3_effects(rows, "general", tasks.get("general"))
    contrast = f"For contrast, general (its own data is what setups 2 and 3 change): {why or general}."
    return per_ability + [Verdict(both.claim, both.test, both.value, both.outcome, _join(both.details, contrast))]


def _rq3_effects(rows: list[dict], ability: str, task: str | None) -> tuple[tuple[float, float, float], str, str]:
    """((A, R₁₃, R₂), value text, why inconclusive) for one ability."""
    task, why = _pick_task(rows, ability, task)
    if why:
        return (0.0, 0.0, 0.0), "—", why
    cells = {
        arm: {f: c for f, c in series(rows, arm, task).items() if f is not None and f > 0}
        for arm in ("setup1", "setup2", "setup3")
    }
    ks = sorted({f for arm_cells in cells.values() for f in arm_cells}, reverse=True)
    gaps = [
        f"{arm} k={fraction_label(k)} {'failed' if k in cells[arm] else 'missing'}"
        for arm in cells
        for k in ks
        if k not in cells[arm] or cells[arm][k].failed
    ]
    if len(ks) < 2 or gaps:
        return (0.0, 0.0, 0.0), "—", f"{len(ks)} k value(s) run (needs 2); " + ("; ".join(gaps) or "none failed")
    s1, s2, s3 = ({k: cells[arm][k].score for k in ks} for arm in ("setup1", "setup2", "setup3"))
    top, lower = ks[0], ks[1:]
    amount = sum(abs(s1[top] - s1[k]) for k in lower) / len(lower)
    r13 = sum(abs(s1[k] - s3[k]) for k in ks) / len(ks)
    r2 = sum(abs(s2[top] - s2[k]) for k in lower) / len(lower)
    share = lambda r: f" ({r / amount:.2f}·A)" if amount > 0 else ""  # noqa: E731
    value = f"A = {_num(amount)}, R₁₃ = {_num(r13)}{share(r13)}, R₂ = {_num(r2)}{share(r2)}"
    return (amount, r13, r2), value, ""


# --- RQ4: SFT strategies and DMT's k -------------------------------------------------------------

SPECIALIST_KEEP = 0.75
GENERAL_TOLERANCE = 0.05


def multi_task_keeps_specialists(rows: list[dict], tasks: dict[str, str] | None = None) -> Verdict:
    """P1 RQ4: multi-task training keeps most of each specialist's score, but general falls below general-only."""
    claim = "multi-task keeps math and code near the specialists' but costs general"
    test = (
        f"s(multi_task) ≥ {SPECIALIST_KEEP} × s(math_only) on math and ≥ {SPECIALIST_KEEP} × s(code_only) on "
        f"code, and s(multi_task) < s(general_only) on general ({SPECIALIST_KEEP}, not 0.9: P1 7B keeps only 0.80 "
        "of code)"
    )
    want = [
        ("multi_task", None, "math"),
        ("math_only", None, "math"),
        ("multi_task", None, "code"),
        ("code_only", None, "code"),
        ("multi_task", None, "general"),
        ("general_only", None, "general"),
    ]
    s, why = _scores(rows, want, tasks)
    if why:
        return Verdict(claim, test, "—", INCONCLUSIVE, why)
    mt_math, math_only, mt_code, code_only, mt_general, general_only = s
    value = (
        f"math {_kept(mt_math, math_only)}, code {_kept(mt_code, code_only)}; general {_num(mt_general)} vs "
        f"general-only {_num(general_only)}"
    )
    ok = mt_math >= SPECIALIST_KEEP * math_only and mt_code >= SPECIALIST_KEEP * code_only and mt_general < general_only
    return Verdict(claim, test, value, REPRODUCED if ok else NOT_REPRODUCED)


def sequential_forgets_math(rows: list[dict], tasks: dict[str, str] | None = None) -> Verdict:
    """P1 RQ4: training general last (sequential, mixed sequential) forgets math that multi-task keeps."""
    claim = "sequential and mixed sequential forget math relative to multi-task"
    test = "on math, s(sequential) < s(multi_task) and s(mixed_sequential) < s(multi_task)"
    want = [("sequential", None, "math"), ("mixed_sequential", None, "math"), ("multi_task", None, "math")]
    s, why = _scores(rows, want, tasks)
    if why:
        return Verdict(claim, test, "—", INCONCLUSIVE, why)
    seq, mixed_seq, mt = s
    value = f"sequential {_num(seq)}, mixed sequential {_num(mixed_seq)} vs multi-task {_num(mt)}"
    return Verdict(claim, test, value, REPRODUCED if seq < mt and mixed_seq < mt else NOT_REPRODUCED)


def dmt_recovers_specialists(rows: list[dict], tasks: dict[str, str] | None = None) -> Verdict:
    """P1 RQ4: DMT with a little specialised data replayed (k = 1/256) beats mixed sequential on math and code
    and keeps general."""
    claim = "DMT at the smallest k recovers math and code over mixed sequential without losing general"
    test = (
        f"at k_min (the smallest k run; 1/256 in the recipe): s(dmt) > s(mixed_sequential) on math and on code, "
        f"and s(dmt) ≥ (1 − {GENERAL_TOLERANCE}) × s(mixed_sequential) on general"
    )
    k_min = min((f for f in _fractions(rows, "dmt") if f > 0), default=None)
    if k_min is None:
        return Verdict(claim, test, "—", INCONCLUSIVE, "no DMT runs")
    want = [(arm, k, ability) for ability in ABILITIES for arm, k in (("dmt", k_min), ("mixed_sequential", None))]
    s, why = _scores(rows, want, tasks)
    if why:
        return Verdict(claim, test, "—", INCONCLUSIVE, why)
    (dm, ms), (dc, mc), (dg, mg) = zip(s[::2], s[1::2], strict=True)
    value = (
        f"k = {fraction_label(k_min)}: math {_num(dm)} vs {_num(ms)}, code {_num(dc)} vs {_num(mc)}, "
        f"general {_num(dg)} vs {_num(mg)} (DMT vs mixed sequential)"
    )
    ok = dm > ms and dc > mc and dg >= (1 - GENERAL_TOLERANCE) * mg
    return Verdict(claim, test, value, REPRODUCED if ok else NOT_REPRODUCED)


def k_trend(rows: list[dict], ability: str, task: str | None = None) -> Verdict:
    """P1 RQ4 (Table 5): raising DMT's k raises math and code and lowers general; k = 0 is mixed sequential."""
    sign = -1 if ability == "general" else 1
    claim = f"raising DMT's k {'lowers' if sign < 0 else 'raises'} {ability}"
    test = (
        f"Spearman ρ(k, score) {'<' if sign < 0 else '>'} 0 over k = 0 (mixed sequential) and every k run "
        "(≥ 3 points; a failed run at k = 0 or at the largest k: inconclusive; failed middle runs are left out)"
    )
    points, why, note = _k_points(rows, ability, task)
    if why:
        return Verdict(claim, test, "—", INCONCLUSIVE, why)
    rho = _spearman(list(points), list(points.values()))
    shown = ", ".join(f"{_k_label(k)} {_num(v)}" for k, v in sorted(points.items()))
    value = f"ρ = {'undefined (all scores equal)' if rho is None else f'{rho:.2f}'}; {shown}"
    ok = rho is not None and sign * rho > 0
    return Verdict(claim, test, value, REPRODUCED if ok else NOT_REPRODUCED, note)


def rq4_verdicts(rows: list[dict], tasks: dict[str, str] | None = None) -> list[Verdict]:
    """Table 1's three claims, then Table 5's k trend per ability and all three together."""
    tasks = tasks or {}
    trends = [k_trend(rows, ability, tasks.get(ability)) for ability in ABILITIES]
    return [
        multi_task_keeps_specialists(rows, tasks),
        sequential_forgets_math(rows, tasks),
        dmt_recovers_specialists(rows, tasks),
        *trends,
        _all_of("raising DMT's k trades general for math and code", trends, ABILITIES),
    ]


def _scores(
    rows: list[dict], want: list[tuple[str, float | None, str]], tasks: dict[str, str] | None
) -> tuple[list[float], str]:
    """The score of each (arm, fraction, ability) in order, or why not (every failed or missing one named)."""
    out, gaps = [], []
    for arm, fraction, ability in want:
        task, why = _pick_task(rows, ability, (tasks or {}).get(ability))
        cell = series(rows, arm, task).get(fraction_key(fraction)) if task else None
        where = f"{arm}" + ("" if fraction is None else f" k={fraction_label(fraction)}") + f" on {task or ability}"
        if cell is None or cell.failed:
            gaps.append(f"{where} {'failed' if cell else 'missing'}" if task else why)
        else:
            out.append(cell.score)
    return out, "; ".join(dict.fromkeys(gaps))


def _k_points(rows: list[dict], ability: str, task: str | None) -> tuple[dict[float, float], str, str]:
    """{k: score} for DMT's sweep with k = 0 from mixed sequential; why inconclusive; a note on left-out runs."""
    task, why = _pick_task(rows, ability, task)
    if why:
        return {}, why, ""
    cells = {f: c for f, c in series(rows, "dmt", task).items() if f is not None and f > 0}
    zero = series(rows, "mixed_sequential", task).get(None)
    if zero is not None:
        cells[0.0] = zero
    points = {k: c.score for k, c in cells.items() if not c.failed}
    failed = sorted(k for k, c in cells.items() if c.failed)
    if zero is None or zero.failed:
        return points, f"k = 0 (mixed sequential) on `{task}` {'failed' if zero else 'missing'}", ""
    if len(points) < 3:
        return points, f"{len(points)} k value(s) with a score (needs 3); failed: {_k_labels(failed) or 'none'}", ""
    if max(cells) in failed:
        return points, f"the run at the largest k ({_k_label(max(cells))}) failed", ""
    return points, "", f"failed runs left out: k = {_k_labels(failed)}" if failed else ""


def _fractions(rows: list[dict], arm: str) -> set[float]:
    return {fraction_key(r["fraction"]) for r in rows if r["arm"] == arm and r["fraction"] is not None}


def _kept(ours: float, specialist: float) -> str:
    share = f" = {ours / specialist:.2f}" if specialist > 0 else ""
    return f"{_num(ours)} / {_num(specialist)}{share}"


def _k_label(k: float) -> str:
    return "0 (mixed seq.)" if k == 0 else fraction_label(k)


def _k_labels(ks: list[float]) -> str:
    return ", ".join(_k_label(k) for k in ks)


def _all_of(claim: str, parts: list[Verdict], names: tuple[str, ...]) -> Verdict:
    """Holds when every part holds; fails when one fails; otherwise inconclusive."""
    test = "each of the checks above holds: " + ", ".join(names)
    outcomes = [v.outcome for v in parts]
    value = ", ".join(f"{name} {v.outcome}" for name, v in zip(names, parts, strict=True))
    if NOT_REPRODUCED in outcomes:
        outcome = NOT_REPRODUCED
    elif INCONCLUSIVE in outcomes:
        outcome = INCONCLUSIVE
    else:
        outcome = REPRODUCED
    return Verdict(claim, test, value, outcome)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


VERDICTS = {"rq1": rq1_verdicts, "rq2": rq2_verdicts, "rq3": rq3_verdicts, "rq4": rq4_verdicts}


def verdicts_markdown(verdicts: list[Verdict], title: str, paper: list[Verdict] | None = None) -> str:
    """A table claim | test | ours | paper | outcome, then a short paragraph on what it does and does not show.

    ``paper`` holds the same checks run on P1's own numbers, matched by claim.
    """
    by_claim = {v.claim: v for v in paper or []}
    lines = [
        f"## {title}",
        "",
        _md_row(["claim", "test", "ours", "paper (same test on P1 7B)", "outcome"]),
        "|---|---|---|---|---|",
    ]
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
    value = (
        f"s({fraction_label(high)}) = {_num(s_hi)}, s({fraction_label(mid)}) = {_num(s_mid)}, "
        f"s({fraction_label(low)}) = {_num(s_lo)}"
    )
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
    value = (
        f"{fraction_label(fraction)}: mixed {_num(mixed)} − single {_num(single)} = {_num(mixed - single, signed=True)}"
    )
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
    text = (
        f"Of {len(verdicts)} checks on our runs, {counts[REPRODUCED]} reproduced P1's claim, "
        f"{counts[NOT_REPRODUCED]} did not and {counts[INCONCLUSIVE]} were inconclusive (missing or failed runs)."
    )
    if paper:
        passed = sum(p.outcome == REPRODUCED for p in paper.values())
        text += (
            f" As a check on the tests themselves, P1's own 7B numbers pass {passed} of {len(paper)}; a test "
            "the paper fails would say more about the test than about our runs."
        )
        failed = [p.claim for p in paper.values() if p.outcome != REPRODUCED]
        if failed:
            text += (
                " P1's numbers do not pass: " + "; ".join(f'"{c}"' for c in failed) + ". There the claim as "
                "tested is broader than what P1's own table shows, so our outcome on it is weak evidence either "
                "way."
            )
    return text + (
        " Our runs use a different base model, different (smaller) data and LoRA/QLoRA instead of full fine-tuning, "
        "and each point is a single training seed scored on a finite eval set, so a difference of a few eval items is "
        'within noise; "reproduced" means the same direction or shape of the trend, not the same size of effect.'
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
