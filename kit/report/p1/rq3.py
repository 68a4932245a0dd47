"""P1 RQ3: the amount of specialised (math+code) data vs its ratio to general data (Table 4).

Setup 1 scales math+code with all general (amount and ratio move together); setups 1 and 3 at the same k differ
only in the ratio (general 64x apart); setup 2 scales general with all math+code (only the ratio moves).
The table: per setup and k, ours beside P1 Table 4 (setups matched by what k scales); the figure: score vs k.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.report import claims, figures, stats
from kit.report import markdown as md
from kit.report.claims import pick_task, primary_metric
from kit.report.p1.common import PAPER_MODEL, finish_ours, finish_paper, opening, paper_heading
from kit.report.reference import FRACTIONS, RQ3_SETUPS, p1_rq3
from kit.report.rows import ABILITIES, fraction_label, only_profile, series, tasks_by_ability
from kit.report.stats import CellRef

__all__ = ["ARMS", "PICTURE", "TITLE", "checks", "plot", "table"]

ARMS = ("setup1", "setup2", "setup3")  # recipes/rq3.yaml's grid arms
TITLE = "RQ3: amount of specialised data vs its ratio to general data"
PICTURE = "ratio.png"
DELTA_EFFECTS = 0.01
TEST = (
    "A/2 − max(R₁₃, R₂): A = mean over k < 1 of s₁(1) − s₁(k) (amount, signed); R₁₃ = mean over k of "
    "|s₁(k) − s₃(k)| (ratio, general 64× apart); R₂ = mean over k < 1 of |s₂(1) − s₂(k)| (ratio, general 256× "
    "apart); positive when both ratio effects are below half the amount effect (|·| makes it conservative)"
)


def effects(ks: int):
    """The statistic over cells s₁(k...), s₂(k...), s₃(k...) (each largest k first, ``ks`` values)."""

    def stat(m: np.ndarray) -> np.ndarray:
        s1, s2, s3 = m[..., :ks], m[..., ks : 2 * ks], m[..., 2 * ks :]
        amount = (s1[..., :1] - s1[..., 1:]).mean(axis=-1)
        r13 = np.abs(s1 - s3).mean(axis=-1)
        r2 = np.abs(s2[..., :1] - s2[..., 1:]).mean(axis=-1)
        return amount / 2 - np.maximum(r13, r2)

    return stat


def amount_beats_ratio(rows: list[dict], ability: str, task: str | None, metric: str) -> stats.Claim:
    """P1 RQ3: what decides a specialised ability is how much of its data there is, not the share it has."""
    claim = f"{ability}: the amount of specialised data matters more than its ratio to general data"
    task, why = pick_task(rows, ability, task)
    if why:
        return stats.Claim(claim, "effects", TEST, (), None, DELTA_EFFECTS, why=why)
    cells = {arm: {f: c for f, c in series(rows, arm, task, metric).items() if f} for arm in ARMS}
    ks = sorted({f for arm_cells in cells.values() for f in arm_cells}, reverse=True)
    gaps = [
        f"{arm} k={claims._label(k)} {'failed' if k in cells[arm] else 'missing'}"
        for arm in ARMS
        for k in ks
        if k not in cells[arm] or cells[arm][k].failed
    ]
    if len(ks) < 2 or gaps:
        why = f"{len(ks)} k value(s) run (needs 2); " + ("; ".join(gaps) or "none failed")
        return stats.Claim(claim, "effects", TEST, (), None, DELTA_EFFECTS, why=why)
    refs = [CellRef(arm, k, task, metric) for arm in ARMS for k in ks]
    return claims.fixed(claim, "effects", TEST, refs, effects(len(ks)), DELTA_EFFECTS)


def checks(rows: list[dict], tasks: dict[str, str] | None = None, metrics: dict[str, str] | None = None):
    """Math, code, then both."""
    tasks = tasks or {}
    metrics = {a: (metrics or {}).get(a, "accuracy") for a in ("math", "code", "general")}
    parts = [amount_beats_ratio(rows, a, tasks.get(a), metrics[a]) for a in ("math", "code")]
    both = "the amount of specialised data matters more than its ratio to general data (math and code)"
    return parts + [claims.composite(both, parts)]


# --- table and figure ---------------------------------------------------------------------------

SETUP_COLORS = {"setup1": "C0", "setup2": "C3", "setup3": "C2"}


def table(rows: list[dict]) -> str:
    """Per setup and k (largest first): ours per ability next to P1 Table 4, setups matched by what k scales."""
    columns = md.columns_of(rows)
    paper = p1_rq3(PAPER_MODEL)
    notes = md.Footnotes()
    header, rule = md.run_header(["setup: what k scales (P1's name)", "k"], columns, paper_heading("P1 Table 4"))
    lines = []
    for arm, setup in RQ3_SETUPS.items():
        run_ks = {f for cols in columns.values() for t, m in cols for f in series(rows, arm, t, m) if f}
        for k in sorted(run_ks | set(FRACTIONS), reverse=True):
            label = fraction_label(k)
            first = [f"{arm}: {setup.design} ({setup.p1_name})", label]
            scores = {a: paper.get((arm, a, k)) for a in columns}
            lines.append(md.run_line(first, rows, arm, k, columns, scores, notes, f"{arm}, k={label}"))
    lines.append(md.run_line(["untrained base", md.DASH], rows, "base", 0.0, columns, {}, notes, "base"))
    text = opening(
        "RQ3: math+code (specialised) and general data in three setups, k = 1 ... 1/256",
        rows,
        columns,
        "Setups are numbered as in P1 Table 4 (size unlabelled, 7B inferred). "
        "k = 1 of setups 1 and 2 is the same (multi-task) run.",
    )
    return md.render(text, header, rule, lines, notes)


def plot(rows: list[dict], path: Path | str) -> None:
    """The primary metric vs k (log x) per ability for the three setups, with 95% error bars; P1 Table 4 below,
    setups matched by what k scales."""
    fig, axes = figures.figure(len(ABILITIES))
    by_ability = tasks_by_ability(rows)
    paper = p1_rq3(PAPER_MODEL)
    for col, ability in enumerate(ABILITIES):
        ours, theirs = axes[0][col], axes[1][col]
        tasks, metrics = by_ability.get(ability, []), []
        for i, task in enumerate(tasks):
            metric = primary_metric(rows, task)
            metrics.append(metric)
            name = f"{task} {metric}: " if len(tasks) > 1 else ""
            for arm, setup in RQ3_SETUPS.items():
                cells = {f: c for f, c in series(rows, arm, task, metric).items() if f}
                if not cells:
                    continue
                points, n_failed = figures.points_of(cells)
                label = f"{name}{arm}: {setup.design}" + figures.failed_note(n_failed)
                marker = figures.MARKERS[i % len(figures.MARKERS)]
                figures.line_with_ci(ours, points, marker=marker, color=SETUP_COLORS[arm], label=label)
            base = series(rows, "base", task, metric).get(0.0)
            figures.base_line(ours, base, f"{name}untrained base")
        finish_ours(ours, ability, metrics, "k (log)")
        for arm, setup in RQ3_SETUPS.items():
            ys = [paper[arm, ability, f] for f in FRACTIONS]
            theirs.plot(FRACTIONS, ys, marker="o", color=SETUP_COLORS[arm], label=f"{setup.p1_name}: {setup.design}")
        finish_paper(theirs, ability, "k (log)")
    title = (
        f"RQ3: specialised (math+code) vs general data. Top: ours (profile {only_profile(rows)}; bars: 95% CI); "
        "bottom: P1 Table 4 (7B inferred), matched by what k scales. Compare how far lines move with k, not levels."
    )
    figures.finish(fig, axes, title, path, ticks=(FRACTIONS, [fraction_label(f) for f in FRACTIONS]))
