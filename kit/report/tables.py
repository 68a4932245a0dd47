"""Markdown tables for P1's RQ1 (each ability vs its own data amount) and RQ2 (mixed vs single).

Our scores ([0, 1]) and P1's (LLaMA-7B, percent or 1-10) sit in separate columns, never one column.
Failed runs show as "failed" with a footnote carrying the error.
"""

from __future__ import annotations

from kit.report.reference import BENCHMARK, BENCHMARK_LABEL, FRACTIONS, p1_scaling
from kit.report.rows import Cell, fraction_label, only_profile, series, task_versions, tasks_by_ability

DASH = "—"
PAPER_MODEL = "7B"


def rq1_table(rows: list[dict]) -> str:
    """One row per fraction (largest first) plus the untrained base; per ability ours next to P1 7B Single."""
    by_ability = tasks_by_ability(rows)
    paper = p1_scaling(PAPER_MODEL)
    notes = _Footnotes()
    header, rule = ["fraction"], ["---"]
    for ability, tasks in by_ability.items():
        header += [f"{ability}: ours `{t}` (n train)" for t in tasks]
        header.append(f"{ability}: P1 7B single, {BENCHMARK_LABEL[BENCHMARK[ability]]}")
    rule += ["---:"] * (len(header) - 1)
    single = {(a, t): series(rows, a, t) for a, ts in by_ability.items() for t in ts}
    fractions = {f for s in single.values() for f in s} | set(FRACTIONS)
    lines = []
    for fraction in sorted(fractions, reverse=True):
        cells = [fraction_label(fraction)]
        for ability, tasks in by_ability.items():
            for task in tasks:
                cell = single[ability, task].get(fraction)
                cells.append(_ours(cell, notes, f"{ability} arm, fraction {fraction_label(fraction)}, `{task}`"))
            cells.append(_paper(paper.get(("single", ability, fraction))))
        lines.append(cells)
    base = ["0 (untrained base)"]
    for ability, tasks in by_ability.items():
        for task in tasks:
            cell = series(rows, "base", task).get(0.0)
            base.append(_ours(cell, notes, f"base, `{task}`", show_n=False))
        base.append(DASH)
    lines.append(base)
    opening = _opening("RQ1: each ability trained on its own data alone, at each fraction", rows)
    return _render(opening, header, rule, lines, notes)


def rq2_table(rows: list[dict]) -> str:
    """Per ability and fraction: ours single, ours mixed, delta; P1 7B single, mixed, delta."""
    paper = p1_scaling(PAPER_MODEL)
    notes = _Footnotes()
    header = ["ability (task)", "fraction", "ours single (n)", "ours mixed (n)", "ours Δ mixed − single",
              "P1 7B single", "P1 7B mixed", "P1 Δ"]
    rule = ["---", "---"] + ["---:"] * 6
    lines = []
    for ability, tasks in tasks_by_ability(rows).items():
        unit = BENCHMARK_LABEL[BENCHMARK[ability]]
        for task in tasks:
            single, mixed = series(rows, ability, task), series(rows, "mixed", task)
            for fraction in sorted(set(single) | set(mixed) | set(FRACTIONS), reverse=True):
                label = fraction_label(fraction)
                s, m = single.get(fraction), mixed.get(fraction)
                ps, pm = paper.get(("single", ability, fraction)), paper.get(("mixed", ability, fraction))
                lines.append([
                    f"{ability} (`{task}`; P1 {unit})", label,
                    _ours(s, notes, f"{ability} arm, fraction {label}, `{task}`"),
                    _ours(m, notes, f"mixed arm, fraction {label}, `{task}`"),
                    _delta(m.score if m else None, s.score if s else None, "{:+.3f}"),
                    _paper(ps), _paper(pm), _delta(pm, ps, "{:+.2f}"),
                ])
    opening = _opening("RQ2: all three sources mixed at each fraction vs each source alone", rows)
    return _render(opening, header, rule, lines, notes)


def _opening(what: str, rows: list[dict]) -> str:
    versions = task_versions(rows)
    tasks = ", ".join(f"`{t}` v{v}" for t, v in versions.items())
    judge = " (`mtbench`: local-judge rating / 10)" if "mtbench" in versions else ""
    return (
        f"**{what}.** Profile `{only_profile(rows)}`; tasks {tasks}. Ours: score in [0, 1]{judge}, "
        "n = training examples; "
        "P1: LLaMA-7B full fine-tuning, GSM8K and HumanEval in %, MT-Bench 1-10 (GPT-4 judge). Absolute values are "
        "not comparable with the paper (different model, data and scale): compare trends."
    )


class _Footnotes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> str:
        self.items.append(text)
        return f"[^{len(self.items)}]"


def _ours(cell: Cell | None, notes: _Footnotes, where: str, show_n: bool = True) -> str:
    if cell is None:
        return DASH
    if cell.failed:
        return "failed" + notes.add(f"{where}: " + "; ".join(cell.errors))
    text = f"{cell.score:.3f}"
    if cell.n_ok > 1:
        text += f" (mean of {cell.n_ok})"
    if cell.errors:
        text += notes.add(f"{where}: {len(cell.errors)} more run(s) failed: " + "; ".join(cell.errors))
    return f"{text} (n={cell.n_examples:,})" if show_n else text


def _paper(score: float | None) -> str:
    return DASH if score is None else f"{score:.2f}"


def _delta(a: float | None, b: float | None, fmt: str) -> str:
    return DASH if a is None or b is None else fmt.format(a - b)


def _render(opening: str, header: list[str], rule: list[str], lines: list[list[str]], notes: _Footnotes) -> str:
    out = [opening, "", _md_row(header), _md_row(rule)] + [_md_row(line) for line in lines]
    if notes.items:
        out.append("")
        out += [f"[^{i}]: {_one_line(text)}" for i, text in enumerate(notes.items, start=1)]
    return "\n".join(out) + "\n"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

