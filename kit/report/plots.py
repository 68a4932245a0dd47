"""Figures for P1's RQ1 and RQ2: ours on the top row, P1 LLaMA-7B on the bottom row.

The paper gets its own row rather than a second y axis on our panels: its units (percent, 1-10)
differ from ours ([0, 1]) and overlaying two scales invites reading levels that are not comparable.
matplotlib is imported inside the functions (Agg canvas, no pyplot state).
"""

from __future__ import annotations

from pathlib import Path

from kit.report.reference import BENCHMARK, BENCHMARK_LABEL, FRACTIONS, P1_SUBSET_SIZES, p1_scaling
from kit.report.rows import ABILITIES, fraction_label, only_profile, series, tasks_by_ability

DPI = 120
MARKERS = "os^D"
PAPER_MODEL = "7B"
MIN_SPAN = 0.1  # our panels span at least this much of [0, 1], so noise is not blown up into a trend


def plot_rq1(rows: list[dict], path: Path | str) -> None:
    """Score vs training examples (log x) per ability; the untrained base as a dashed line; P1 7B Single below."""
    fig, axes = _figure()
    by_ability = tasks_by_ability(rows)
    paper = p1_scaling(PAPER_MODEL)
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        for i, task in enumerate(by_ability.get(ability, [])):
            cells = {f: c for f, c in series(rows, ability, task).items() if f > 0}
            ok = sorted((c.n_examples, c.score, f) for f, c in cells.items() if not c.failed and c.n_examples > 0)
            n_failed = sum(c.failed for c in cells.values())
            label = task + (f" ({n_failed} failed, not shown)" if n_failed else "")
            line = ours.plot([p[0] for p in ok], [p[1] for p in ok], marker=MARKERS[i % len(MARKERS)], label=label)[0]
            _label_points(ours, ok)
            base = series(rows, "base", task).get(0.0)
            if base is not None and not base.failed:
                ours.axhline(base.score, ls="--", lw=1, color=line.get_color(), label=f"{task}: untrained base")
        _finish_ours(ours, ability, "training examples (log)")
        xs = [P1_SUBSET_SIZES[ability][f] for f in FRACTIONS]
        ys = [paper["single", ability, f] for f in FRACTIONS]
        theirs.plot(xs, ys, marker="o", color="0.35", label="P1 7B single source")
        _label_points(theirs, list(zip(xs, ys, FRACTIONS, strict=True)))
        _finish_paper(theirs, ability, "training examples (log; round(N·k), derived)")
    for ax in (*axes[0], *axes[1]):
        ax.set_xscale("log")
    fig.suptitle(f"RQ1: each ability vs its own data. Top: ours (profile {only_profile(rows)}); "
                 "bottom: P1 LLaMA-7B (Tables 2-3). Different models and scales: compare shapes, not levels.",
                 fontsize=9)
    _save(fig, path)


def plot_rq2(rows: list[dict], path: Path | str) -> None:
    """Single source vs all three mixed, score vs data fraction (log x) per ability; P1 7B below."""
    fig, axes = _figure()
    by_ability = tasks_by_ability(rows)
    paper = p1_scaling(PAPER_MODEL)
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        for i, task in enumerate(by_ability.get(ability, [])):
            for arm, style in ((ability, "-"), ("mixed", "--")):
                points = sorted((f, c.score) for f, c in series(rows, arm, task).items() if f > 0 and not c.failed)
                name = "single" if arm == ability else "mixed"
                ours.plot([p[0] for p in points], [p[1] for p in points], ls=style, marker=MARKERS[i % len(MARKERS)],
                          color="C0" if arm == ability else "C3", label=f"{task}: {name}")
        _finish_ours(ours, ability, "data fraction (log)")
        for setting, style, color in (("single", "-", "C0"), ("mixed", "--", "C3")):
            theirs.plot(FRACTIONS, [paper[setting, ability, f] for f in FRACTIONS], ls=style, marker="o", color=color,
                        label=f"P1 7B {setting}")
        _finish_paper(theirs, ability, "data fraction (log)")
    for ax in (*axes[0], *axes[1]):
        ax.set_xscale("log", base=2)
        ax.set_xticks(FRACTIONS, [fraction_label(f) for f in FRACTIONS])
    fig.suptitle(f"RQ2: all three sources mixed vs each alone. Top: ours (profile {only_profile(rows)}); "
                 "bottom: P1 LLaMA-7B (Tables 2-3). Compare where mixed crosses single, not levels.", fontsize=9)
    _save(fig, path)


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6.6))
    FigureCanvasAgg(fig)
    # Fixed margins rather than constrained layout: half the drawing time, and the layout never varies.
    fig.subplots_adjust(left=0.055, right=0.99, bottom=0.075, top=0.92, wspace=0.22, hspace=0.38)
    return fig, fig.subplots(2, len(ABILITIES), squeeze=False)


def _finish_ours(ax, ability: str, xlabel: str) -> None:
    ax.set_title(f"ours: {ability}", fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("score (0-1)", fontsize=8)
    if not ax.lines:
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="0.5")
        return
    low, high = ax.get_ylim()
    if high - low < MIN_SPAN:
        middle = (low + high) / 2
        ax.set_ylim(middle - MIN_SPAN / 2, middle + MIN_SPAN / 2)
    ax.margins(y=0.1)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7)


def _finish_paper(ax, ability: str, xlabel: str) -> None:
    ax.set_title(f"P1 7B: {BENCHMARK_LABEL[BENCHMARK[ability]]}", fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(BENCHMARK_LABEL[BENCHMARK[ability]], fontsize=8)
    ax.margins(y=0.1)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7)


def _label_points(ax, points: list[tuple[float, float, float]]) -> None:
    """Write each point's data fraction next to it, so the two rows can be matched by fraction."""
    for x, y, fraction in points:
        ax.annotate(fraction_label(fraction), (x, y), textcoords="offset points", xytext=(3, -9), fontsize=6,
                    color="0.4")


def _save(fig, path: Path | str) -> None:
    """PNG with a 128-colour palette: line plots lose nothing visible and the file shrinks ~3x."""
    import io

    from PIL import Image  # a dependency of matplotlib

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png", facecolor="white")
    image = Image.open(buffer).convert("RGB").quantize(colors=128, method=Image.Quantize.FASTOCTREE)
    image.save(path, format="PNG")
