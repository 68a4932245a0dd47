"""P1 RQ4: SFT strategies (Table 1) and DMT's k (Table 5).

Claims: multi-task keeps most of each specialist's score but costs general; sequential strategies forget math
that multi-task keeps; DMT at the smallest k recovers math and code over mixed sequential without losing
general; raising k raises math and code and lowers general (k = 0 is mixed sequential), and all three together.
The table: the strategies beside P1 Table 1, then DMT's k sweep beside Table 5; the figure: each ability vs k.
"""

from __future__ import annotations

from pathlib import Path

from kit.report import claims, figures, stats
from kit.report import markdown as md
from kit.report.claims import pick_task, primary_metric
from kit.report.p1.common import PAPER_MODEL, finish_ours, finish_paper, opening, paper_heading
from kit.report.reference import BENCHMARK, BENCHMARK_LABEL, FRACTIONS, p1_rq4
from kit.report.rows import ABILITIES, fraction_key, fraction_label, only_profile, series, tasks_by_ability
from kit.report.stats import CellRef

__all__ = ["ARMS", "PICTURE", "TITLE", "checks", "plot", "table"]

ARMS = ("math_only", "code_only", "general_only", "multi_task", "sequential", "mixed_sequential", "dmt")
TITLE = "RQ4: SFT strategies and DMT's k"
PICTURE = "dmt_k_sweep.png"
SPECIALIST_KEEP = 0.75  # not 0.9: P1 7B keeps only 0.80 of code
GENERAL_TOLERANCE = 0.05
DELTA_DIFF = 0.01
DELTA_K = 0.005  # per step of rank(k)


def _refs(rows, tasks, metrics, want: list[tuple[str, float | None, str]]) -> tuple[list[CellRef], str]:
    refs, whys = [], []
    for arm, fraction, ability in want:
        task, why = pick_task(rows, ability, tasks.get(ability))
        if why:
            whys.append(why)
        else:
            refs.append(CellRef(arm, fraction, task, metrics[ability]))
    return refs, "; ".join(dict.fromkeys(whys))


def _min_of(claim, test, rows, tasks, metrics, want, weights) -> stats.Claim:
    refs, why = _refs(rows, tasks, metrics, want)
    if why:
        return stats.Claim(claim, "difference", test, (), None, DELTA_DIFF, why=why)
    stat = stats.minimum(*(stats.difference(w) for w in weights), widths=[2] * len(weights))
    return claims.fixed(claim, "difference", test, refs, stat, DELTA_DIFF)


def multi_task_keeps_specialists(rows, tasks, metrics) -> stats.Claim:
    """P1 RQ4: multi-task keeps most of each specialist's score, but general falls below general-only."""
    claim = "multi-task keeps math and code near the specialists' but costs general"
    test = (
        f"min(s(mt) − {SPECIALIST_KEEP}·s(math_only) on math, s(mt) − {SPECIALIST_KEEP}·s(code_only) on code, "
        "s(general_only) − s(mt) on general)"
    )
    want = [
        ("multi_task", None, "math"),
        ("math_only", None, "math"),
        ("multi_task", None, "code"),
        ("code_only", None, "code"),
        ("general_only", None, "general"),
        ("multi_task", None, "general"),
    ]
    return _min_of(claim, test, rows, tasks, metrics, want, [SPECIALIST_KEEP, SPECIALIST_KEEP, 1.0])


def sequential_forgets_math(rows, tasks, metrics) -> stats.Claim:
    """P1 RQ4: training general last (sequential, mixed sequential) forgets math that multi-task keeps."""
    claim = "sequential and mixed sequential forget math relative to multi-task"
    test = "min(s(mt) − s(sequential), s(mt) − s(mixed_sequential)) on math"
    want = [("multi_task", None, "math"), ("sequential", None, "math")]
    want += [("multi_task", None, "math"), ("mixed_sequential", None, "math")]
    return _min_of(claim, test, rows, tasks, metrics, want, [1.0, 1.0])


def dmt_recovers_specialists(rows, tasks, metrics) -> stats.Claim:
    """P1 RQ4: DMT at the smallest k beats mixed sequential on math and code and keeps general."""
    claim = "DMT at the smallest k recovers math and code over mixed sequential without losing general"
    ks = sorted({fraction_key(r["fraction"]) for r in rows if r["arm"] == "dmt" and r["fraction"]})
    test = (
        f"at the smallest k run: min(s(dmt) − s(mixed_seq) on math, on code, s(dmt) − (1 − {GENERAL_TOLERANCE})·"
        "s(mixed_seq) on general)"
    )
    if not ks:
        return stats.Claim(claim, "difference", test, (), None, DELTA_DIFF, why="no DMT runs")
    test = test.replace("the smallest k run", f"k = {fraction_label(ks[0])}")
    want = [(arm, k, a) for a in ABILITIES for arm, k in (("dmt", ks[0]), ("mixed_sequential", None))]
    return _min_of(claim, test, rows, tasks, metrics, want, [1.0, 1.0, 1 - GENERAL_TOLERANCE])


def k_trend(rows, ability: str, task: str | None, metric: str) -> stats.Claim:
    """P1 RQ4 (Table 5): raising DMT's k raises math and code and lowers general; k = 0 is mixed sequential."""
    sign = -1 if ability == "general" else 1
    claim = f"raising DMT's k {'lowers' if sign < 0 else 'raises'} {ability}"
    task, why = pick_task(rows, ability, task)
    if why:
        return stats.Claim(claim, "k_trend", "slope over rank(k)", (), None, DELTA_K, why=why)
    zero = CellRef("mixed_sequential", None, task, metric)
    return claims.k_trend(claim, rows, zero, "dmt", task, metric, DELTA_K, sign)


def checks(rows: list[dict], tasks: dict[str, str] | None = None, metrics: dict[str, str] | None = None):
    """Table 1's three claims, then Table 5's k trend per ability and all three together."""
    tasks = tasks or {}
    metrics = {a: (metrics or {}).get(a, "accuracy") for a in ABILITIES}
    trends = [k_trend(rows, a, tasks.get(a), metrics[a]) for a in ABILITIES]
    return [
        multi_task_keeps_specialists(rows, tasks, metrics),
        sequential_forgets_math(rows, tasks, metrics),
        dmt_recovers_specialists(rows, tasks, metrics),
        *trends,
        claims.composite("raising DMT's k trades general for math and code", trends),
    ]


# --- table and figure ---------------------------------------------------------------------------

STRATEGIES = {  # the arms in P1 Table 1's order, with its names
    "general_only": "general only",
    "math_only": "math only",
    "code_only": "code only",
    "multi_task": "multi-task",
    "sequential": "sequential (code → math → general)",
    "mixed_sequential": "mixed sequential ((code+math) → general)",
}
DMT_K = 0.00390625  # Table 1's DMT row, used when no DMT run says otherwise


def table(rows: list[dict]) -> str:
    """The strategies beside P1 Table 1 (7B), then DMT's k sweep beside Table 5 (k = 0 is mixed sequential)."""
    columns = md.columns_of(rows)
    paper = p1_rq4(PAPER_MODEL)
    notes = md.Footnotes()
    dmt_ks = sorted({f for cols in columns.values() for t, m in cols for f in series(rows, "dmt", t, m) if f})
    k_min = dmt_ks[0] if dmt_ks else DMT_K

    header, rule = md.run_header(["strategy"], columns, paper_heading("P1 7B Table 1"))
    lines = []
    for arm, name in (*STRATEGIES.items(), ("dmt", f"DMT (k={fraction_label(k_min)})")):
        key = k_min if arm == "dmt" else None
        scores = {a: paper.get((arm, a, key)) for a in columns}
        lines.append(md.run_line([name], rows, arm, key, columns, scores, notes, name))
    lines.append(md.run_line(["untrained base"], rows, "base", 0.0, columns, {}, notes, "base"))

    sweep_header, sweep_rule = md.run_header(["DMT k"], columns, paper_heading("P1 7B Table 5"))
    sweep = []
    for k in [0.0] + sorted(set(dmt_ks) | set(FRACTIONS)):
        arm, key, label = ("dmt", k, fraction_label(k)) if k else ("mixed_sequential", None, "0 (= mixed sequential)")
        scores = {a: paper.get((arm, a, key)) for a in columns}
        sweep.append(md.run_line([label], rows, arm, key, columns, scores, notes, f"DMT k={label}"))

    text = opening(
        "RQ4: SFT strategies beside P1 Table 1 (7B column)",
        rows,
        columns,
        "For a multi-stage strategy n counts the last stage's training rows.",
    )
    out = [
        text,
        "",
        *md.table_lines(header, rule, lines),
        "",
        "**DMT's k sweep beside P1 Table 5 (7B): stage 2 = all general + k of stage 1's math+code; k = 0 is "
        "mixed sequential.**",
        "",
        *md.table_lines(sweep_header, sweep_rule, sweep),
    ]
    return "\n".join(out + md.footnote_lines(notes)) + "\n"


def plot(rows: list[dict], path: Path | str) -> None:
    """Each ability's primary metric vs DMT's k (log x), with 95% error bars and a band; k = 0 (mixed sequential)
    as its own marker left of a break; multi-task as a dotted reference line. P1 Table 5 below (7B solid, 13B
    dashed), in its own units."""
    fig, axes = figures.figure(len(ABILITIES))
    by_ability = tasks_by_ability(rows)
    ks = sorted({fraction_key(r["fraction"]) for r in rows if r["arm"] == "dmt" and r["fraction"]} | set(FRACTIONS))
    x0 = ks[0] / 16  # where k = 0 is drawn, two octaves left of a break
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        tasks, metrics = by_ability.get(ability, []), []
        for i, task in enumerate(tasks):
            metric = primary_metric(rows, task)
            metrics.append(metric)
            points, n_failed = figures.points_of({f: c for f, c in series(rows, "dmt", task, metric).items() if f})
            zero = series(rows, "mixed_sequential", task, metric).get(None)
            n_failed += bool(zero and zero.failed)
            name = f"{task} {metric}: " if len(tasks) > 1 else ""
            zero_point = None if zero is None or zero.failed else (x0, zero.score, figures.ci(zero))
            style = {"marker": figures.MARKERS[i % len(figures.MARKERS)], "color": f"C{i}"}
            _draw_sweep(ours, zero_point, points, label=f"{name}DMT" + figures.failed_note(n_failed), **style)
            multi = series(rows, "multi_task", task, metric).get(None)
            figures.base_line(ours, multi, f"{name}multi-task", ls=":", color=f"C{i}")
        finish_ours(ours, ability, metrics, "DMT k (log; k = 0 left of the break)")
        for model, style in ((PAPER_MODEL, "-"), ("13B", "--")):
            paper = p1_rq4(model)
            points = [(k, paper["dmt", ability, k], 0.0) for k in FRACTIONS]
            _draw_sweep(
                theirs,
                (x0, paper["mixed_sequential", ability, None], 0.0),
                points,
                ls=style,
                marker="o",
                color="0.35" if model == PAPER_MODEL else "0.6",
                label=f"P1 {model} DMT (Table 5)",
            )
        multi = p1_rq4(PAPER_MODEL)["multi_task", ability, None]
        theirs.axhline(multi, ls=":", lw=1, color="0.35", label=f"P1 {PAPER_MODEL} multi-task (Table 1)")
        finish_paper(theirs, ability, "DMT k (log; k = 0 left of the break)")
        theirs.set_title(f"P1 7B and 13B: {BENCHMARK_LABEL[BENCHMARK[ability]]}", fontsize=10)

    def break_at_zero(ax) -> None:
        ax.axvspan(x0 * 2, ks[0] / 2, color="0.92", zorder=0)  # the break: nothing lies between 0 and the smallest k
        ax.set_xticks([x0, *ks], ["0 (mixed seq.)", *(fraction_label(k) for k in ks)])
        ax.set_xlim(x0 / 2, ks[-1] * 2)

    title = (
        f"RQ4: DMT's k sweep. Top: ours (profile {only_profile(rows)}; bars and band: 95% CI); bottom: P1 Table 5 "
        "(GSM8K/HumanEval in %, MT-Bench 1-10). Compare directions with k, not levels."
    )
    figures.finish(fig, axes, title, path, decorate=break_at_zero)


def _draw_sweep(ax, zero: tuple[float, float, float] | None, points: list[tuple[float, ...]], **style) -> None:
    """k > 0 as one line with its CI band (the k trend is fitted over k = 0 and these); k = 0, (x, y, half-width),
    as a square with its error bar, joined to the smallest k by a dotted segment across the break."""
    line = figures.line_with_ci(ax, points, band=True, **style)
    if zero is None:
        return
    x, y, err = zero
    ax.errorbar([x], [y], yerr=[err], capsize=2, marker="s", ls="none", color=line.get_color())
    if points:
        ax.plot([x, points[0][0]], [y, points[0][1]], ls=":", lw=1, color=line.get_color())
