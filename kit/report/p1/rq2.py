"""P1 RQ2: all three sources mixed at each fraction vs each source alone (Tables 2-3, Fig. 3).

Claims per ability: the mixture beats the single source at the smallest fraction, loses at the largest, and
both (the crossover); then each as a majority over the three abilities.
The table: per ability, metric and fraction, ours single vs mixed and the delta beside P1 7B's; the figure: both
arms vs the data fraction, P1 below.
"""

from __future__ import annotations

from pathlib import Path

from kit.report import claims, figures, stats
from kit.report import markdown as md
from kit.report.claims import pick_task, primary_metric
from kit.report.p1.common import PAPER_MODEL, finish_ours, finish_paper, opening
from kit.report.reference import BENCHMARK, BENCHMARK_LABEL, FRACTIONS, p1_scaling
from kit.report.rows import ABILITIES, fraction_label, only_profile, series, tasks_by_ability
from kit.report.stats import CellRef

__all__ = ["ARMS", "PICTURE", "TITLE", "checks", "plot", "table"]

ARMS = ("math", "code", "general", "mixed")  # recipes/rq2.yaml's grid arms
TITLE = "RQ2: all three sources mixed vs each alone"
PICTURE = "mixed_vs_single.png"
DELTA_DIFF = 0.01  # a paired difference below one point of [0, 1] is below interest (P1 7B's are 2-4 points)


def end_check(rows: list[dict], ability: str, task: str | None, metric: str, low: bool) -> stats.Claim:
    """P1 RQ2: at the smallest fraction mixed − single > 0 (low=True); at the largest single − mixed > 0."""
    where = "smallest" if low else "largest"
    claim = f"{ability}: mixed {'beats' if low else 'loses to'} single at the {where} fraction"
    test = f"paired difference {'mixed − single' if low else 'single − mixed'} at the {where} fraction both arms ran"
    task, why = pick_task(rows, ability, task)
    if why:
        return stats.Claim(claim, "difference", test, (), None, DELTA_DIFF, why=why)
    single, mixed = series(rows, ability, task, metric), series(rows, "mixed", task, metric)
    common = sorted(f for f in set(single) & set(mixed) if f is not None and f > 0)
    if len(common) < 2:
        why = f"{len(common)} fraction(s) with both a single-source ({ability}) and a mixed run on `{task}` (needs 2)"
        return stats.Claim(claim, "difference", test, (), None, DELTA_DIFF, why=why)
    f = common[0] if low else common[-1]
    a, b = ("mixed", ability) if low else (ability, "mixed")
    refs = [CellRef(a, f, task, metric), CellRef(b, f, task, metric)]
    return claims.fixed(claim, "difference", test, refs, stats.difference(), DELTA_DIFF)


def crossover(rows: list[dict], ability: str, task: str | None, metric: str) -> stats.Claim:
    parts = [end_check(rows, ability, task, metric, low=True), end_check(rows, ability, task, metric, low=False)]
    return claims.composite(f"{ability}: mixing helps at low data and hurts at high data", parts)


def checks(rows: list[dict], tasks: dict[str, str] | None = None, metrics: dict[str, str] | None = None):
    """Per ability: low end, high end, crossover; then each as a majority over the abilities."""
    tasks = tasks or {}
    metrics = {a: (metrics or {}).get(a, "accuracy") for a in ABILITIES}
    out = []
    for build, overall in (
        (
            lambda a: end_check(rows, a, tasks.get(a), metrics[a], low=True),
            "mixed beats single at the smallest fraction",
        ),
        (
            lambda a: end_check(rows, a, tasks.get(a), metrics[a], low=False),
            "mixed loses to single at the largest fraction",
        ),
        (lambda a: crossover(rows, a, tasks.get(a), metrics[a]), "mixing helps at low data and hurts at high data"),
    ):
        per_ability = [build(ability) for ability in ABILITIES]
        out += per_ability + [claims.majority(f"{overall}, for most abilities", per_ability)]
    return out


# --- table and figure ---------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    """Per ability, shown metric and fraction: ours single, ours mixed, delta; P1 7B single, mixed, delta."""
    columns = md.columns_of(rows)
    paper = p1_scaling(PAPER_MODEL)
    notes = md.Footnotes()
    header = [
        "ability (task metric)",
        "fraction",
        "ours single (n eval) (n train)",
        "ours mixed (n eval) (n train)",
        "ours Δ mixed − single",
        "P1 7B single",
        "P1 7B mixed",
        "P1 Δ",
    ]
    rule = ["---", "---"] + ["---:"] * 6
    lines = []
    for ability, cols in columns.items():
        unit = BENCHMARK_LABEL[BENCHMARK[ability]]
        for task, metric in cols:
            single, mixed = series(rows, ability, task, metric), series(rows, "mixed", task, metric)
            for fraction in sorted(set(single) | set(mixed) | set(FRACTIONS), reverse=True):
                label = fraction_label(fraction)
                s, m = single.get(fraction), mixed.get(fraction)
                ps, pm = paper.get(("single", ability, fraction)), paper.get(("mixed", ability, fraction))
                lines.append(
                    [
                        f"{ability} (`{task}` {metric}; P1 {unit})",
                        label,
                        md.ours(s, notes, f"{ability} arm, fraction {label}, `{task}`"),
                        md.ours(m, notes, f"mixed arm, fraction {label}, `{task}`"),
                        md.delta(m.score if m else None, s.score if s else None, "{:+.3f}"),
                        md.paper(ps),
                        md.paper(pm),
                        md.delta(pm, ps, "{:+.2f}"),
                    ]
                )
    text = opening("RQ2: all three sources mixed at each fraction vs each source alone", rows, columns)
    return md.render(text, header, rule, lines, notes)


def plot(rows: list[dict], path: Path | str) -> None:
    """Single source vs all three mixed, the primary metric vs data fraction (log x) per ability, with 95% error
    bars; P1 7B below."""
    fig, axes = figures.figure(len(ABILITIES))
    by_ability = tasks_by_ability(rows)
    paper = p1_scaling(PAPER_MODEL)
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        metrics = []
        for i, task in enumerate(by_ability.get(ability, [])):
            metric = primary_metric(rows, task)
            metrics.append(metric)
            for arm, style, color in ((ability, "-", "C0"), ("mixed", "--", "C3")):
                points, n_failed = figures.points_of({f: c for f, c in series(rows, arm, task, metric).items() if f})
                name = "single" if arm == ability else "mixed"
                marker = figures.MARKERS[i % len(figures.MARKERS)]
                label = f"{task} {metric}: {name}" + figures.failed_note(n_failed)
                figures.line_with_ci(ours, points, ls=style, marker=marker, color=color, label=label)
        finish_ours(ours, ability, metrics, "data fraction (log)")
        for setting, style, color in (("single", "-", "C0"), ("mixed", "--", "C3")):
            ys = [paper[setting, ability, f] for f in FRACTIONS]
            theirs.plot(FRACTIONS, ys, ls=style, marker="o", color=color, label=f"P1 7B {setting}")
        finish_paper(theirs, ability, "data fraction (log)")
    title = (
        f"RQ2: all three sources mixed vs each alone. Top: ours (profile {only_profile(rows)}; bars: 95% CI); "
        "bottom: P1 LLaMA-7B (Tables 2-3). Compare where mixed crosses single, not levels."
    )
    figures.finish(fig, axes, title, path, ticks=(FRACTIONS, [fraction_label(f) for f in FRACTIONS]))
