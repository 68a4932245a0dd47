"""Reports by paper and research question: ``kit.report.p1.rq1`` ... ``rq4``, each owning its arms, table, figure
and checks, over shared helpers (rows.py: the row schema and cells; stats.py: the paired bootstrap and outcomes;
claims.py: claim builders and the primary metric; markdown.py: tables and verdicts; figures.py: matplotlib).
A new paper is a new folder (``kit/report/p2/``, ``p3/``) and its entries in REPORTS.

``write_report("rq1", rows, out_dir)`` writes table.md, a PNG, verdicts.md, verdicts.json and rows.json; each file
is written to a temporary name in ``out_dir`` and renamed, so a reader never sees half a report.
No torch here: reports run anywhere the rows are.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kit.registry import did_you_mean
from kit.report import p2, p3
from kit.report.claims import primary_metrics
from kit.report.markdown import verdicts_markdown
from kit.report.p1 import rq1, rq2, rq3, rq4
from kit.report.reference import BENCHMARK, paper_rows
from kit.report.rows import metrics_of, only_profile, task_sets, validate_rows
from kit.report.stats import Verdict, as_json, evaluate, evaluate_paper, with_paper


@dataclass(frozen=True)
class Report:
    title: str
    table: Callable[[list[dict]], str]
    plot: Callable[[list[dict], Path], None]
    picture: str
    checks: Callable[..., list]
    arms: tuple[str, ...] = ()
    # The verdict sections when the paper's own numbers are not P1's tables (P2): rows -> [(title, verdicts)].
    sections: Callable[[list[dict]], list[tuple[str, list[Verdict]]]] | None = None
    paper: str = "P1"
    paper_label: str = "P1 7B"
    # A summary over every base model's results (P2's cross-family claim): ({base: rows}, folder) -> paths.
    across: Callable[[dict[str, list[dict]], Path], list[Path]] | None = None


REPORTS = {
    name: Report(m.TITLE, m.table, m.plot, m.PICTURE, m.checks, m.ARMS)
    for name, m in (("rq1", rq1), ("rq2", rq2), ("rq3", rq3), ("rq4", rq4))
} | {
    "p2": Report(p2.TITLE, p2.table, p2.plot, p2.PICTURE, p2.checks, p2.ARMS, p2.sections, "P2", "P2", p2.write_across),
    "p3": Report(p3.TITLE, p3.table, p3.plot, p3.PICTURE, p3.checks, p3.ARMS, p3.sections, "P3", "P3", p3.write_across),
}


def write_report(rq: str, rows: list[dict], out_dir: Path) -> list[Path]:
    """Validate ``rows`` and write the report files for ``rq`` into ``out_dir``; returns their paths."""
    report = _get(rq)
    validate_rows(rows)
    only_profile(rows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = ["table.md", report.picture, "verdicts.md", "verdicts.json", "rows.json"]
    paths = [out_dir / name for name in names]
    sections = report.sections(rows) if report.sections else verdict_sections(rq, rows)
    # Tables show, per task, the primary metric and generation accuracy; plots the primary (claims.primary_metric).
    _replace(paths[0], lambda tmp: tmp.write_text(report.table(rows), encoding="utf-8"))
    _replace(paths[1], lambda tmp: report.plot(rows, tmp))
    text = "\n".join(verdicts_markdown(found, title, report.paper_label, report.paper) for title, found in sections)
    _replace(paths[2], lambda tmp: tmp.write_text(text, encoding="utf-8"))
    found_json = json.dumps([as_json(v) for _, found in sections for v in found], indent=1) + "\n"
    _replace(paths[3], lambda tmp: tmp.write_text(found_json, encoding="utf-8"))
    rows_json = json.dumps(_sorted(rows), indent=1, default=str, sort_keys=True) + "\n"  # one order, however made
    _replace(paths[4], lambda tmp: tmp.write_text(rows_json, encoding="utf-8"))
    return paths


def _get(rq: str) -> Report:
    if rq not in REPORTS:
        raise KeyError(f"unknown report {rq!r}{did_you_mean(rq, REPORTS)}; valid reports: {', '.join(sorted(REPORTS))}")
    return REPORTS[rq]


def verdict_sections(rq: str, rows: list[dict]) -> list[tuple[str, list[Verdict]]]:
    """Per task set: the verdicts on the primary metrics, then (when a primary is not accuracy) on generation
    accuracy as a secondary section; each beside the same claims on P1 7B's own numbers."""
    report = _get(rq)
    paper = paper_rows("7B", rq)
    paper_claims = report.checks(paper, BENCHMARK)
    out = []
    for tasks in task_sets(rows):
        primary = primary_metrics(rows, tasks)
        runs = [(primary, "primary metric")]
        accuracy = {a: "accuracy" for a in tasks}
        dense = {a: "dense_rank" if "dense_rank" in metrics_of(rows, t) else primary[a] for a, t in tasks.items()}
        if accuracy != primary:
            runs.append((accuracy, "secondary: generation accuracy"))
        if dense not in (primary, accuracy):
            runs.append((dense, "secondary: dense gold-vs-distractor rank where the task has it"))
        for metrics, label in runs:
            shown = ", ".join(f"{a} `{tasks[a]}` {m}" for a, m in metrics.items())
            title = f"{report.title} ({label}: {shown}; profile {only_profile(rows)})"
            ours = report.checks(rows, tasks, metrics)
            found = [
                with_paper(evaluate(c, rows), evaluate_paper(p, paper)) for c, p in zip(ours, paper_claims, strict=True)
            ]
            out.append((title, found))
    return out


def _sorted(rows: list[dict]) -> list[dict]:
    def key(r: dict) -> tuple:
        # An unswept arm's fraction is None: it sorts before any number rather than failing to compare.
        fraction = (r["fraction"] is not None, r["fraction"] or 0.0)
        return str(r["profile"]), str(r["arm"]), fraction, str(r["task"]), str(r["run_id"])

    return sorted(rows, key=key)


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write through ``write(tmp)`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a report is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
