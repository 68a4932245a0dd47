"""Matplotlib helpers shared by every paper's figures: the two-row canvas (ours on top, the paper below), lines
with 95% error bars and bands, log axes, panel finishing and the PNG writer.

matplotlib is imported inside the functions (Agg canvas, no pyplot state), so importing the report layer stays
light. A panel with no runs, or whose runs all failed, still renders: it says "no runs" instead of a line.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from kit.report.rows import Cell, fraction_label

DPI = 120
MARKERS = "os^D"
MIN_SPAN = 0.1  # our panels span at least this much of [0, 1], so noise is not blown up into a trend
BAND_ALPHA = 0.15
Z95 = 1.96


def figure(columns: int):
    """A 2 x ``columns`` grid: our panels on the top row, the paper's on the bottom row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6.6))
    FigureCanvasAgg(fig)
    # Fixed margins rather than constrained layout: half the drawing time, and the layout never varies.
    fig.subplots_adjust(left=0.055, right=0.99, bottom=0.075, top=0.92, wspace=0.22, hspace=0.38)
    return fig, fig.subplots(2, columns, squeeze=False)


def ci(cell: Cell) -> float:
    """Half-width of the cell's 95% CI from its stderr (0 when unknown: drawn without a bar)."""
    return Z95 * cell.stderr if cell.stderr else 0.0


def points_of(cells: dict, x=lambda f, c: f) -> tuple[list[tuple[float, float, float, float]], int]:
    """``([(x, score, ci half-width, fraction)], n failed)`` over ok cells with a positive x, sorted by x."""
    ok = [(x(f, c), c.score, ci(c), f) for f, c in cells.items() if not c.failed]
    return sorted(p for p in ok if p[0] > 0), sum(c.failed for c in cells.values())


def line_with_ci(ax, points: list[tuple[float, ...]], band: bool = False, **style):
    """``points`` (x, y, half-width, ...) as a line with 95% error bars and, for a trend, a shaded band of the same
    half-width joining them (the reader sees at a glance whether a flat line fits inside it). Returns the line."""
    xs, ys, errs = [p[0] for p in points], [p[1] for p in points], [p[2] for p in points]
    line = ax.errorbar(xs, ys, yerr=errs if any(errs) else None, capsize=2, **style).lines[0]
    if band and len(points) > 1 and any(errs):
        low = [y - e for y, e in zip(ys, errs)]
        high = [y + e for y, e in zip(ys, errs)]
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=BAND_ALPHA, lw=0)
    return line


def failed_note(n_failed: int) -> str:
    return f" ({n_failed} failed, not shown)" if n_failed else ""


def base_line(ax, cell: Cell | None, label: str, **style) -> None:
    """The untrained base as a horizontal dashed line (nothing when it is missing or failed)."""
    if cell is not None and not cell.failed:
        ax.axhline(cell.score, **{"ls": "--", "lw": 1, "color": "0.5", **style}, label=label)


def finish(fig, axes, title: str, path: Path | str, base: float = 2, ticks=None, decorate=None) -> None:
    """Every panel on a log x axis (with ``ticks`` or ``decorate(ax)`` after it), the title, the file."""
    for ax in (*axes[0], *axes[1]):
        log_x(ax, base=base)
        if ticks is not None:
            ax.set_xticks(*ticks)
        if decorate is not None:
            decorate(ax)
    fig.suptitle(title, fontsize=9)
    save(fig, path)


def log_x(ax, base: float = 10) -> None:
    """Log x where the panel has positive x data (a panel with only a base line, or no runs, has none)."""
    low = ax.dataLim.x0
    if math.isfinite(low) and low > 0:
        ax.set_xscale("log", base=base)


def finish_ours(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    if not ax.lines:
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="0.5")
        return
    low, high = ax.get_ylim()
    if high - low < MIN_SPAN:
        middle = (low + high) / 2
        ax.set_ylim(middle - MIN_SPAN / 2, middle + MIN_SPAN / 2)
    _tidy(ax)


def finish_paper(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    _tidy(ax)


def _tidy(ax) -> None:
    ax.margins(y=0.1)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7)


def label_points(ax, points: list[tuple[float, float, float]]) -> None:
    """Write each point's data fraction (x, y, fraction) next to it, so the two rows can be matched by fraction."""
    for x, y, fraction in points:
        ax.annotate(
            fraction_label(fraction), (x, y), textcoords="offset points", xytext=(3, -9), fontsize=6, color="0.4"
        )


def save(fig, path: Path | str) -> None:
    """PNG with a 128-colour palette: line plots lose nothing visible and the file shrinks ~3x."""
    from PIL import Image  # a dependency of matplotlib

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png", facecolor="white")
    image = Image.open(buffer).convert("RGB").quantize(colors=128, method=Image.Quantize.FASTOCTREE)
    image.save(path, format="PNG")
