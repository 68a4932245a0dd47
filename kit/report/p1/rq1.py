"""P1 RQ1: each ability vs the amount of its own SFT data (Tables 2-3 "Single", Fig. 2).

Claims: math and code rise with their data (slope per doubling); general plateaus (most of its gain by the
log-middle fraction); general saturates before math and code (a larger early-gain share).
The table: one row per fraction beside P1 7B "Single"; the figure: score vs training examples, P1 below.
"""

from __future__ import annotations

from pathlib import Path

from kit.report import claims, figures, stats
from kit.report import markdown as md
from kit.report.claims import pick_task, primary_metric
from kit.report.p1.common import PAPER_MODEL, finish_ours, finish_paper, opening
from kit.report.reference import BENCHMARK, BENCHMARK_LABEL, FRACTIONS, P1_SUBSET_SIZES, p1_scaling
from kit.report.rows import ABILITIES, fraction_label, only_profile, series, tasks_by_ability

__all__ = ["ARMS", "PICTURE", "TITLE", "checks", "plot", "table"]

ARMS = ("math", "code", "general")  # recipes/rq1.yaml's grid arms
TITLE = "RQ1: each ability vs its own data amount"
PICTURE = "scaling.png"
# Smallest effects of interest, in score units ([0, 1]): a slope below 0.005 per doubling moves a score by less
# than 0.04 over P1's 256x range (a third of P1 7B's smallest, code: +0.016 per doubling); early minus late gain
# below 0.01; general's early-gain share ahead by less than 0.05 (a share is in [0, 1]).
DELTA_SLOPE = 0.005
DELTA_PLATEAU = 0.01
DELTA_SHARE = 0.05


def rises(rows: list[dict], ability: str, task: str | None, metric: str) -> stats.Claim:
    """P1 RQ1: the ability's score rises with the amount of its own training data."""
    task, why = pick_task(rows, ability, task)
    claim = claims.trend(f"{ability} rises with its data amount", rows, ability, task, metric, DELTA_SLOPE)
    return claim if not why else stats.Claim(claim.claim, "trend", claim.test, (), None, DELTA_SLOPE, why=why)


def general_plateaus(rows: list[dict], task: str | None, metric: str) -> stats.Claim:
    """P1 RQ1: general "emerges" with ~1K examples then plateaus: most of its gain comes early.

    Signed as the early-gain share minus one half, times the total gain (stats.early_minus_late): positive
    when more of the gain from the smallest to the largest fraction is reached by the log-middle one.
    """
    claim = "general plateaus: most of its gain is reached by the middle fraction"
    test = "(early gain − late gain) / 2 = total gain × (early-gain share − ½), smallest / log-middle / largest run"
    task, why = pick_task(rows, "general", task)
    refs, why2, note = claims.ends_and_middle(rows, "general", task, metric) if task else ((), "", "")
    if why or why2:
        return stats.Claim(claim, "plateau", test, (), None, DELTA_PLATEAU, why=why or why2, note=note)
    return stats.Claim(claim, "plateau", test, refs, stats.early_minus_late, DELTA_PLATEAU, note=note)


def general_saturates_first(rows: list[dict], tasks: dict[str, str], metrics: dict[str, str]) -> stats.Claim:
    """General's curve flattens before math's and code's: its early-gain share is the largest."""
    claim = "general rises less steeply than math and code: it saturates earlier"
    test = "general's early-gain share − max(math's, code's) (share = (s_mid − s_low) / (s_high − s_low))"
    refs, whys = [], []
    for ability in ("general", "math", "code"):
        task, why = pick_task(rows, ability, tasks.get(ability))
        cells, why2, _ = claims.ends_and_middle(rows, ability, task, metrics[ability]) if task else ((), "", "")
        if why or why2:
            whys.append(f"{ability}: {why or why2}")
        refs += cells
    if whys:
        return stats.Claim(claim, "plateau_comparison", test, (), None, DELTA_SHARE, why="; ".join(whys))
    return stats.Claim(claim, "plateau_comparison", test, tuple(refs), stats.share_lead, DELTA_SHARE)


def checks(rows: list[dict], tasks: dict[str, str] | None = None, metrics: dict[str, str] | None = None):
    """Every RQ1 claim on one task and metric per ability (default: the only task, accuracy)."""
    tasks = tasks or {}
    metrics = {a: (metrics or {}).get(a, "accuracy") for a in ABILITIES}
    return [
        rises(rows, "math", tasks.get("math"), metrics["math"]),
        rises(rows, "code", tasks.get("code"), metrics["code"]),
        general_plateaus(rows, tasks.get("general"), metrics["general"]),
        general_saturates_first(rows, tasks, metrics),
    ]


# --- table and figure ---------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    """One row per fraction (largest first) plus the untrained base; per ability ours (each shown metric of each
    task) next to P1 7B Single."""
    columns = md.columns_of(rows)
    paper = p1_scaling(PAPER_MODEL)
    notes = md.Footnotes()
    header = ["fraction"]
    for ability, cols in columns.items():
        header += [f"{ability}: ours `{t}` {m} (n eval) (n train)" for t, m in cols]
        header.append(f"{ability}: P1 7B single, {BENCHMARK_LABEL[BENCHMARK[ability]]}")
    rule = ["---"] + ["---:"] * (len(header) - 1)
    single = {(a, t, m): series(rows, a, t, m) for a, cols in columns.items() for t, m in cols}
    fractions = {f for s in single.values() for f in s} | set(FRACTIONS)
    lines = []
    for fraction in sorted(fractions, reverse=True):
        cells = [fraction_label(fraction)]
        for ability, cols in columns.items():
            where = f"{ability} arm, fraction {fraction_label(fraction)}"
            cells += [md.ours(single[ability, t, m].get(fraction), notes, f"{where}, `{t}`") for t, m in cols]
            cells.append(md.paper(paper.get(("single", ability, fraction))))
        lines.append(cells)
    base = ["0 (untrained base)"]
    for cols in columns.values():
        base += [md.ours(series(rows, "base", t, m).get(0.0), notes, f"base, `{t}`", show_n=False) for t, m in cols]
        base.append(md.DASH)
    lines.append(base)
    text = opening("RQ1: each ability trained on its own data alone, at each fraction", rows, columns)
    return md.render(text, header, rule, lines, notes)


def plot(rows: list[dict], path: Path | str) -> None:
    """The primary metric vs training examples (log x) per ability, with 95% error bars and a band; the untrained
    base as a dashed line; P1 7B Single below."""
    fig, axes = figures.figure(len(ABILITIES))
    by_ability = tasks_by_ability(rows)
    paper = p1_scaling(PAPER_MODEL)
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        metrics = []
        for i, task in enumerate(by_ability.get(ability, [])):
            metric = primary_metric(rows, task)
            metrics.append(metric)
            cells = {f: c for f, c in series(rows, ability, task, metric).items() if f > 0}
            points, n_failed = figures.points_of(cells, x=lambda f, c: c.n_examples)
            label = f"{task} {metric}" + figures.failed_note(n_failed)
            marker = figures.MARKERS[i % len(figures.MARKERS)]
            line = figures.line_with_ci(ours, points, band=True, marker=marker, label=label)
            figures.label_points(ours, [(x, y, f) for x, y, _, f in points])
            base = series(rows, "base", task, metric).get(0.0)
            figures.base_line(ours, base, f"{task}: untrained base", color=line.get_color())
        finish_ours(ours, ability, metrics, "training examples (log)")
        xs = [P1_SUBSET_SIZES[ability][f] for f in FRACTIONS]
        ys = [paper["single", ability, f] for f in FRACTIONS]
        theirs.plot(xs, ys, marker="o", color="0.35", label="P1 7B single source")
        figures.label_points(theirs, list(zip(xs, ys, FRACTIONS, strict=True)))
        finish_paper(theirs, ability, "training examples (log; round(N·k), derived)")
    title = (
        f"RQ1: each ability vs its own data. Top: ours (profile {only_profile(rows)}; bars and band: 95% CI); "
        "bottom: P1 LLaMA-7B (Tables 2-3). Different models and scales: compare shapes, not levels."
    )
    figures.finish(fig, axes, title, path, base=10)
