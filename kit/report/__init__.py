"""Reports for P1's research questions (rq1-rq4) from result rows: a table, a figure, trend checks, the rows.

``write_report("rq1", rows, out_dir)`` writes table.md, a PNG, verdicts.md and rows.json; each file
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
from kit.report import plots, tables, verdicts
from kit.report.reference import paper_rows
from kit.report.rows import only_profile, task_sets, validate_rows


@dataclass(frozen=True)
class Report:
    title: str
    table: Callable[[list[dict]], str]
    plot: Callable[[list[dict], Path], None]
    picture: str
    checks: Callable[..., list[verdicts.Verdict]]


REPORTS = {
    "rq1": Report(
        "RQ1: each ability vs its own data amount",
        tables.rq1_table,
        plots.plot_rq1,
        "scaling.png",
        verdicts.rq1_verdicts,
    ),
    "rq2": Report(
        "RQ2: all three sources mixed vs each alone",
        tables.rq2_table,
        plots.plot_rq2,
        "mixed_vs_single.png",
        verdicts.rq2_verdicts,
    ),
    "rq3": Report(
        "RQ3: amount of specialised data vs its ratio to general data",
        tables.rq3_table,
        plots.plot_rq3,
        "ratio.png",
        verdicts.rq3_verdicts,
    ),
    "rq4": Report(
        "RQ4: SFT strategies and DMT's k", tables.rq4_table, plots.plot_rq4, "dmt_k_sweep.png", verdicts.rq4_verdicts
    ),
}


def write_report(rq: str, rows: list[dict], out_dir: Path) -> list[Path]:
    """Validate ``rows`` and write the report files for ``rq`` into ``out_dir``; returns their paths."""
    report = _get(rq)
    validate_rows(rows)
    only_profile(rows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "table.md", out_dir / report.picture, out_dir / "verdicts.md", out_dir / "rows.json"]
    _replace(paths[0], lambda tmp: tmp.write_text(report.table(rows), encoding="utf-8"))
    _replace(paths[1], lambda tmp: report.plot(rows, tmp))
    _replace(paths[2], lambda tmp: tmp.write_text(_verdicts_text(rq, report, rows), encoding="utf-8"))
    rows_json = json.dumps(_sorted(rows), indent=1, default=str) + "\n"
    _replace(paths[3], lambda tmp: tmp.write_text(rows_json, encoding="utf-8"))
    return paths


def _get(rq: str) -> Report:
    if rq not in REPORTS:
        raise KeyError(f"unknown report {rq!r}{did_you_mean(rq, REPORTS)}; valid reports: {', '.join(sorted(REPORTS))}")
    return REPORTS[rq]


def _verdicts_text(rq: str, report: Report, rows: list[dict]) -> str:
    """One section per task set (built-in tasks, benchmarks), each next to the same checks on P1 7B."""
    paper = report.checks(paper_rows("7B", rq))
    sections = []
    for tasks in task_sets(rows):
        title = f"{report.title}: trend checks on {', '.join(tasks.values())} (profile {only_profile(rows)})"
        sections.append(verdicts.verdicts_markdown(report.checks(rows, tasks), title, paper))
    return "\n".join(sections)


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
