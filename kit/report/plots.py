"""Figures for P1's RQ1-RQ4: ours on the top row, P1 (LLaMA-7B unless said) on the bottom row.

The paper gets its own row rather than a second y axis on our panels: its units (percent, 1-10)
differ from ours ([0, 1]) and overlaying two scales invites reading levels that are not comparable.
matplotlib is imported inside the functions (Agg canvas, no pyplot state).
"""

from __future__ import annotations

import math
from pathlib import Path

from kit.report.reference import (
    BENCHMARK,
    BENCHMARK_LABEL,
    FRACTIONS,
    P1_SUBSET_SIZES,
    RQ3_SETUPS,
    p1_rq3,
    p1_rq4,
    p1_scaling,
)
from kit.report.rows import ABILITIES, fraction_key, fraction_label, only_profile, series, tasks_by_ability

DPI = 120
MARKERS = "os^D"
PAPER_MODEL = "7B"
MIN_SPAN = 0.1  # our panels span at least this much of [0, 1], so noise is not blown up into a trend
SETUP_COLORS = {"setup1": "C0", "setup2": "C3", "setup3": "C2"}


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
    title = (
        f"RQ1: each ability vs its own data. Top: ours (profile {only_profile(rows)}); "
        "bottom: P1 LLaMA-7B (Tables 2-3). Different models and scales: compare shapes, not levels."
    )
    _finish(fig, axes, title, path, base=10)


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
                ours.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    ls=style,
                    marker=MARKERS[i % len(MARKERS)],
                    color="C0" if arm == ability else "C3",
                    label=f"{task}: {name}",
                )
        _finish_ours(ours, ability, "data fraction (log)")
        for setting, style, color in (("single", "-", "C0"), ("mixed", "--", "C3")):
            theirs.plot(
                FRACTIONS,
                [paper[setting, ability, f] for f in FRACTIONS],
                ls=style,
                marker="o",
                color=color,
                label=f"P1 7B {setting}",
            )
        _finish_paper(theirs, ability, "data fraction (log)")
    title = (
        f"RQ2: all three sources mixed vs each alone. Top: ours (profile {only_profile(rows)}); "
        "bottom: P1 LLaMA-7B (Tables 2-3). Compare where mixed crosses single, not levels."
    )
    _finish(fig, axes, title, path, ticks=(FRACTIONS, [fraction_label(f) for f in FRACTIONS]))


def plot_rq3(rows: list[dict], path: Path | str) -> None:
    """Score vs k (log x) per ability for the three setups; P1 Table 4 below, setups matched by what k scales."""
    fig, axes = _figure()
    by_ability = tasks_by_ability(rows)
    paper = p1_rq3(PAPER_MODEL)
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        tasks = by_ability.get(ability, [])
        for i, task in enumerate(tasks):
            for arm, setup in RQ3_SETUPS.items():
                cells = {f: c for f, c in series(rows, arm, task).items() if f}
                if not cells:
                    continue
                points = sorted((f, c.score) for f, c in cells.items() if not c.failed)
                n_failed = sum(c.failed for c in cells.values())
                label = (f"{task}: " if len(tasks) > 1 else "") + f"{arm}: {setup.design}"
                label += f" ({n_failed} failed, not shown)" if n_failed else ""
                ours.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    marker=MARKERS[i % len(MARKERS)],
                    color=SETUP_COLORS[arm],
                    label=label,
                )
            _base_line(ours, rows, task, len(tasks) > 1)
        _finish_ours(ours, ability, "k (log)")
        for arm, setup in RQ3_SETUPS.items():
            theirs.plot(
                FRACTIONS,
                [paper[arm, ability, f] for f in FRACTIONS],
                marker="o",
                color=SETUP_COLORS[arm],
                label=f"{setup.p1_name}: {setup.design}",
            )
        _finish_paper(theirs, ability, "k (log)")
    title = (
        f"RQ3: specialised (math+code) vs general data. Top: ours (profile {only_profile(rows)}); bottom: "
        "P1 Table 4 (7B inferred), matched by what k scales. Compare how far lines move with k and apart."
    )
    _finish(fig, axes, title, path, ticks=(FRACTIONS, [fraction_label(f) for f in FRACTIONS]))


def plot_rq4(rows: list[dict], path: Path | str) -> None:
    """Each ability vs DMT's k (log x); k = 0 (mixed sequential) as its own marker left of a break; multi-task as a
    dotted reference line. P1 Table 5 below (7B solid, 13B dashed), in its own units."""
    fig, axes = _figure()
    by_ability = tasks_by_ability(rows)
    ks = sorted({fraction_key(r["fraction"]) for r in rows if r["arm"] == "dmt" and r["fraction"]} | set(FRACTIONS))
    x0 = ks[0] / 16  # where k = 0 is drawn, two octaves left of a break
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        tasks = by_ability.get(ability, [])
        for i, task in enumerate(tasks):
            cells = {f: c for f, c in series(rows, "dmt", task).items() if f}
            zero = series(rows, "mixed_sequential", task).get(None)
            n_failed = sum(c.failed for c in cells.values()) + bool(zero and zero.failed)
            label = (f"{task}: " if len(tasks) > 1 else "") + "DMT"
            label += f" ({n_failed} failed, not shown)" if n_failed else ""
            points = sorted((f, c.score) for f, c in cells.items() if not c.failed)
            color = f"C{i}"
            _draw_sweep(
                ours,
                x0,
                None if zero is None or zero.failed else zero.score,
                points,
                marker=MARKERS[i % len(MARKERS)],
                color=color,
                label=label,
            )
            multi = series(rows, "multi_task", task).get(None)
            if multi is not None and not multi.failed:
                ours.axhline(multi.score, ls=":", lw=1, color=color, label=f"{task}: multi-task")
        _finish_ours(ours, ability, "DMT k (log; k = 0 left of the break)")
        for model, style in ((PAPER_MODEL, "-"), ("13B", "--")):
            paper = p1_rq4(model)
            points = [(k, paper["dmt", ability, k]) for k in FRACTIONS]
            _draw_sweep(
                theirs,
                x0,
                paper["mixed_sequential", ability, None],
                points,
                ls=style,
                marker="o",
                color="0.35" if model == PAPER_MODEL else "0.6",
                label=f"P1 {model} DMT (Table 5)",
            )
        theirs.axhline(
            p1_rq4(PAPER_MODEL)["multi_task", ability, None],
            ls=":",
            lw=1,
            color="0.35",
            label=f"P1 {PAPER_MODEL} multi-task (Table 1)",
        )
        _finish_paper(theirs, ability, "DMT k (log; k = 0 left of the break)")
        theirs.set_title(f"P1 7B and 13B: {BENCHMARK_LABEL[BENCHMARK[ability]]}", fontsize=10)

    def break_at_zero(ax) -> None:
        ax.axvspan(x0 * 2, ks[0] / 2, color="0.92", zorder=0)  # the break: nothing lies between 0 and the smallest k
        ax.set_xticks([x0, *ks], ["0 (mixed seq.)", *(fraction_label(k) for k in ks)])
        ax.set_xlim(x0 / 2, ks[-1] * 2)

    title = (
        f"RQ4: DMT's k sweep. Top: ours (profile {only_profile(rows)}); bottom: P1 Table 5 "
        "(GSM8K/HumanEval in %, MT-Bench 1-10). Compare directions with k, not levels."
    )
    _finish(fig, axes, title, path, decorate=break_at_zero)


def _draw_sweep(ax, x0: float, zero: float | None, points: list[tuple[float, float]], **style) -> None:
    """k > 0 as one line; k = 0 as a square at ``x0``, joined to the smallest k by a dotted segment across the break."""
    points = sorted(points)
    line = ax.plot([p[0] for p in points], [p[1] for p in points], **style)[0]
    if zero is None:
        return
    ax.plot([x0], [zero], marker="s", ls="none", color=line.get_color())
    if points:
        ax.plot([x0, points[0][0]], [zero, points[0][1]], ls=":", lw=1, color=line.get_color())


def _base_line(ax, rows: list[dict], task: str, name_task: bool) -> None:
    base = series(rows, "base", task).get(0.0)
    if base is not None and not base.failed:
        ax.axhline(base.score, ls="--", lw=1, color="0.5", label=(f"{task}: " if name_task else "") + "untrained base")


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6.6))
    FigureCanvasAgg(fig)
    # Fixed margins rather than constrained layout: half the drawing time, and the layout never varies.
    fig.subplots_adjust(left=0.055, right=0.99, bottom=0.075, top=0.92, wspace=0.22, hspace=0.38)
    return fig, fig.subplots(2, len(ABILITIES), squeeze=False)


def _finish(fig, axes, title: str, path: Path | str, base: float = 2, ticks=None, decorate=None) -> None:
    """Every panel on a log x axis (with ``ticks`` or ``decorate(ax)`` after it), the title, the file."""
    for ax in (*axes[0], *axes[1]):
        _log_x(ax, base=base)
        if ticks is not None:
            ax.set_xticks(*ticks)
        if decorate is not None:
            decorate(ax)
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


def _log_x(ax, base: float = 10) -> None:
    """Log x where the panel has positive x data (a panel with only a base line, or no runs, has none)."""
    low = ax.dataLim.x0
    if math.isfinite(low) and low > 0:
        ax.set_xscale("log", base=base)


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
        ax.annotate(
            fraction_label(fraction), (x, y), textcoords="offset points", xytext=(3, -9), fontsize=6, color="0.4"
        )


def _save(fig, path: Path | str) -> None:
    """PNG with a 128-colour palette: line plots lose nothing visible and the file shrinks ~3x."""
    import io

    from PIL import Image  # a dependency of matplotlib

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png", facecolor="white")
    image = Image.open(buffer).convert("RGB").quantize(colors=128, method=Image.Quantize.FASTOCTREE)
    image.save(path, format="PNG")
