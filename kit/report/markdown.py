"""Markdown helpers shared by every paper's report: result tables (our cells as ``score ± stderr (n)``, each column
naming its task and metric, failures as footnotes), and the verdicts table.

A paper's module (``kit.report.p1.rq1`` ...) chooses rows and columns; these helpers format them, so a new paper
adds a folder, not edits here.
"""

from __future__ import annotations

from pathlib import Path

from kit.report.claims import shown_metrics
from kit.report.rows import Cell, series, tasks_by_ability
from kit.report.stats import CONTRADICTED, INCONCLUSIVE, REPRODUCED, Verdict

DASH = "—"
METRIC_NOTES = {
    "accuracy": "generation accuracy (0/1 per item)",
    "assert_frac": "fraction of a problem's asserts that pass",
    "dense_rank": "teacher-forced rank: 1 when the gold continuation outscores 2 distractors (chance 1/3)",
    "gold_logprob": "mean log-prob per scored gold token (nats, ≤ 0)",
    "prose": "1 when the generated reply is prose, not code (kit.data.classify)",
}
# ability -> [(task, metric)]: the columns of ours a table shows per ability, in order
Columns = dict[str, list[tuple[str, str]]]


def md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


# --- result tables ------------------------------------------------------------------------------


def columns_of(rows: list[dict]) -> Columns:
    """Per ability, each task with the metrics a table shows for it: the primary metric (the one the verdicts use),
    then generation accuracy. One metric per column: cells of different metrics are never averaged."""
    return {a: [(t, m) for t in ts for m in shown_metrics(rows, t)] for a, ts in tasks_by_ability(rows).items()}


def metric_notes(columns: Columns) -> str:
    """What each shown metric is, e.g. "accuracy: generation accuracy (0/1 per item)"."""
    shown = dict.fromkeys(m for cols in columns.values() for _, m in cols)
    return "; ".join(f"`{m}`: {METRIC_NOTES.get(m, m)}" for m in shown)


def versions(rows: list[dict], columns: Columns) -> str:
    """ "`task` v1" per task (its generation scorer), plus "(dense_rank vD)" for each other metric shown."""
    out = []
    for task, metrics in _by_task(columns).items():
        parts = [f"`{task}` v{_version(rows, task, 'accuracy')}"]
        parts += [f"({m} v{_version(rows, task, m)})" for m in metrics if m != "accuracy"]
        out.append(" ".join(parts))
    return ", ".join(out)


def _by_task(columns: Columns) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cols in columns.values():
        for task, metric in cols:
            out.setdefault(task, []).append(metric)
    return out


def _version(rows: list[dict], task: str, metric: str) -> str:
    """The task version of (task, metric) rows; several versions are joined with '+' so the reader sees the mix."""
    found = {r["task_version"] for r in rows if r["task"] == task and r.get("metric", "accuracy") == metric}
    return "+".join(sorted(v for v in found if v)) or "?"


class Footnotes:
    """Numbered footnotes; the same text (one failed run shown in several metric columns) keeps its number."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> str:
        if text not in self.items:
            self.items.append(text)
        return f"[^{self.items.index(text) + 1}]"


def ours(cell: Cell | None, notes: Footnotes, where: str, show_n: bool = True) -> str:
    """``score ± stderr (n eval)``, "(mean of k)" for several seeds, n train when ``show_n``; failures footnoted."""
    if cell is None:
        return DASH
    if cell.failed:
        return "failed" + notes.add(f"{where}: " + "; ".join(cell.errors))
    text = f"{cell.score:.3f}" + ("" if cell.stderr is None else f" ± {cell.stderr:.3f}")
    text += f" ({cell.n_eval})" if cell.n_eval else ""
    if cell.n_ok > 1:
        text += f" (mean of {cell.n_ok})"
    if cell.errors:
        text += notes.add(f"{where}: {len(cell.errors)} more run(s) failed: " + "; ".join(cell.errors))
    if cell.parity_mismatch:
        text += " ⚠" + notes.add(
            f"{where}: the GGUF of {cell.parity_mismatch} run(s) failed its parity check (it does not answer like the "
            "merged model); scored only because the recipe says export.allow_parity_mismatch: true"
        )
    return f"{text} (n train={cell.n_examples:,})" if show_n else text


def paper(score: float | None) -> str:
    return DASH if score is None else f"{score:.2f}"


def delta(a: float | None, b: float | None, fmt: str) -> str:
    return DASH if a is None or b is None else fmt.format(a - b)


def run_header(first: list[str], columns: Columns, paper_heading: dict[str, str]) -> tuple[list[str], list[str]]:
    """``first`` columns, ours n train, then per ability ours per (task, metric) and the paper's column."""
    header = [*first, "ours n train"]
    for ability, cols in columns.items():
        header += [f"{ability}: ours `{t}` {m}" for t, m in cols]
        header.append(f"{ability}: {paper_heading[ability]}")
    return header, ["---"] * len(first) + ["---:"] * (len(header) - len(first))


def run_line(
    first: list[str],
    rows: list[dict],
    arm: str,
    key: float | None,
    columns: Columns,
    scores: dict[str, float | None],
    notes: Footnotes,
    where: str,
) -> list[str]:
    """One run (arm, fraction) on every (task, metric) column: n train, then ours and the paper's per ability."""
    cells = {(t, m): series(rows, arm, t, m).get(key) for cols in columns.values() for t, m in cols}
    n = max((c.n_examples for c in cells.values() if c is not None), default=0)
    line = [*first, f"{n:,}" if n else DASH]
    for ability, cols in columns.items():
        line += [ours(cells[t, m], notes, f"{where}, `{t}`", show_n=False) for t, m in cols]
        line.append(paper(scores.get(ability)))
    return line


def render(opening: str, header: list[str], rule: list[str], lines: list[list[str]], notes: Footnotes) -> str:
    return "\n".join([opening, "", *table_lines(header, rule, lines), *footnote_lines(notes)]) + "\n"


def table_lines(header: list[str], rule: list[str], lines: list[list[str]]) -> list[str]:
    return [md_row(header), md_row(rule)] + [md_row(line) for line in lines]


def footnote_lines(notes: Footnotes) -> list[str]:
    if not notes.items:
        return []
    return [""] + [f"[^{i}]: {_one_line(text)}" for i, text in enumerate(notes.items, start=1)]


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- verdicts -----------------------------------------------------------------------------------


def num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x:+.3g}" if signed else f"{x:.3g}"


def estimate(ci3: tuple[float, float, float] | None, signed: bool = False) -> str:
    """A table cell ``0.412 [0.371, 0.455]`` (``+0.041 [...]`` signed, for a difference) of (estimate, low, high)."""
    if ci3 is None:
        return DASH
    fmt = "{:+.3f}" if signed else "{:.3f}"
    point, low, high = (fmt.format(x) for x in ci3)
    return f"{point} [{low}, {high}]"


def ci(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"[{num(low, True)}, {num(high, True)}]"


def verdicts_markdown(verdicts: list[Verdict], title: str, paper_label: str = "P1 7B", paper: str = "P1") -> str:
    """A table claim | statistic (δ) | metric | ours with CI | MDE | distinct runs | paper with CI and z | outcome,
    then the reasons, then a paragraph on what the outcomes do and do not show."""
    lines = [
        f"## {title}",
        "",
        md_row(
            [
                "claim",
                "statistic (δ)",
                "metric",
                "ours [95% CI]",
                "MDE",
                "distinct runs",
                f"{paper_label}: what it states"
                if verdicts and all(v.paper_basis is not None for v in verdicts)
                else f"{paper_label} [95% CI], z",
                "outcome",
            ]
        ),
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for v in verdicts:
        lines.append(
            md_row(
                [
                    v.claim,
                    v.test + ("" if v.delta is None else f" (δ = {v.delta:g})"),
                    v.metric,
                    _ours(v),
                    num(v.mde),
                    str(v.distinct_runs),
                    _paper(v, paper),
                    f"**{v.outcome}**",
                ]
            )
        )
    lines += ["", "Reasons:", ""] + [f"- {v.claim}: {v.outcome}: {v.reason}" for v in verdicts]
    return "\n".join(lines + ["", _paragraph(verdicts, paper)]) + "\n"


def _ours(v: Verdict) -> str:
    if v.kind in ("composite", "majority"):
        return "; ".join(f"{p.claim.split(':')[0]} {p.outcome}" for p in v.parts)
    return f"{num(v.statistic, True)} {ci(v.ci_low, v.ci_high)}" if v.statistic is not None else "—"


def _paper(v: Verdict, paper: str = "P1") -> str:
    if v.paper_basis is not None:
        return v.paper_basis
    if v.paper_outcome is None:
        return "—"
    weak = f" — weakly supported by {paper} itself" if v.weak_in_paper else ""
    if v.paper_statistic is None:
        return f"{v.paper_outcome}{weak}"
    z = "" if v.paper_z is None else f", z = {v.paper_z:.1f}"
    return f"{num(v.paper_statistic, True)} {ci(v.paper_ci_low, v.paper_ci_high)}{z} → {v.paper_outcome}{weak}"


def _paragraph(verdicts: list[Verdict], paper: str = "P1") -> str:
    counts = {o: sum(v.outcome == o for v in verdicts) for o in (REPRODUCED, CONTRADICTED, INCONCLUSIVE)}
    weak = [v.claim for v in verdicts if v.weak_in_paper]
    text = (
        f"Of {len(verdicts)} claims on our runs, {counts[REPRODUCED]} reproduced {paper} (95% paired-bootstrap CI "
        f"excludes 0 in {paper}'s direction), {counts[CONTRADICTED]} were contradicted (CI excludes 0 the other way, "
        f"or lies inside ±δ) and {counts[INCONCLUSIVE]} were inconclusive (no power, missing or failed runs, too few "
        "distinct runs, or a single eval item decides the outcome). MDE is the effect this design would detect "
        f"80% of the time at 5%: an inconclusive claim with an MDE far above {paper}'s statistic says the runs are too "
        "small, not that the claim is wrong."
    )
    if weak:
        text += (
            f" Weakly supported by {paper}'s own numbers (z < 2, or undecided there): "
            + "; ".join(f'"{c}"' for c in weak)
            + "."
        )
    return text + (
        " Our runs use a different base model, smaller data and LoRA instead of full fine-tuning: a reproduced claim "
        "means the same direction, not the same size of effect."
    )


def write_verdicts(verdicts: list[Verdict], title: str, stem: Path, paper: str) -> list[Path]:
    """``<stem>.md`` (the verdicts table) and ``<stem>.json``: a summary over several result folders (across_*)."""
    import json

    from kit.report.stats import as_json

    paths = [stem.with_suffix(".md"), stem.with_suffix(".json")]
    paths[0].write_text(verdicts_markdown(verdicts, title, paper_label=paper, paper=paper), encoding="utf-8")
    paths[1].write_text(json.dumps([as_json(v) for v in verdicts], indent=1) + "\n", encoding="utf-8")
    return paths
