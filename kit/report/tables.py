"""Markdown tables for P1's RQ1 (each ability vs its own data amount), RQ2 (mixed vs single), RQ3
(amount vs ratio of specialised data) and RQ4 (SFT strategies, DMT's k).

Our scores ([0, 1]) and P1's (LLaMA-7B, percent or 1-10) sit in separate columns, never one column.
Failed runs show as "failed" with a footnote carrying the error.
"""

from __future__ import annotations

from kit.report.reference import BENCHMARK, BENCHMARK_LABEL, FRACTIONS, RQ3_SETUPS, p1_rq3, p1_rq4, p1_scaling
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
    for tasks in by_ability.values():
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
    header = [
        "ability (task)",
        "fraction",
        "ours single (n)",
        "ours mixed (n)",
        "ours Δ mixed − single",
        "P1 7B single",
        "P1 7B mixed",
        "P1 Δ",
    ]
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
                lines.append(
                    [
                        f"{ability} (`{task}`; P1 {unit})",
                        label,
                        _ours(s, notes, f"{ability} arm, fraction {label}, `{task}`"),
                        _ours(m, notes, f"mixed arm, fraction {label}, `{task}`"),
                        _delta(m.score if m else None, s.score if s else None, "{:+.3f}"),
                        _paper(ps),
                        _paper(pm),
                        _delta(pm, ps, "{:+.2f}"),
                    ]
                )
    opening = _opening("RQ2: all three sources mixed at each fraction vs each source alone", rows)
    return _render(opening, header, rule, lines, notes)


STRATEGIES = {  # rq4's arms in P1 Table 1's order, with its names
    "general_only": "general only",
    "math_only": "math only",
    "code_only": "code only",
    "multi_task": "multi-task",
    "sequential": "sequential (code → math → general)",
    "mixed_sequential": "mixed sequential ((code+math) → general)",
}
DMT_K = 0.00390625  # Table 1's DMT row, used when no DMT run says otherwise


def rq3_table(rows: list[dict]) -> str:
    """Per setup and k (largest first): ours per ability next to P1 Table 4, setups matched by what k scales."""
    by_ability = tasks_by_ability(rows)
    paper = p1_rq3(PAPER_MODEL)
    notes = _Footnotes()
    header, rule = _run_header(["setup: what k scales (P1's name)", "k"], by_ability, "P1 Table 4")
    lines = []
    for arm, setup in RQ3_SETUPS.items():
        run_ks = {f for ts in by_ability.values() for t in ts for f in series(rows, arm, t) if f}
        for k in sorted(run_ks | set(FRACTIONS), reverse=True):
            label = fraction_label(k)
            first = [f"{arm}: {setup.design} ({setup.p1_name})", label]
            scores = {a: paper.get((arm, a, k)) for a in by_ability}
            lines.append(_run_line(first, rows, arm, k, by_ability, scores, notes, f"{arm}, k={label}"))
    lines.append(_run_line(["untrained base", DASH], rows, "base", 0.0, by_ability, {}, notes, "base"))
    opening = _opening(
        "RQ3: math+code (specialised) and general data in three setups, k = 1 ... 1/256",
        rows,
        "Setups are numbered as in P1 Table 4 (size unlabelled, 7B inferred). "
        "k = 1 of setups 1 and 2 is the same (multi-task) run.",
    )
    return _render(opening, header, rule, lines, notes)


def rq4_table(rows: list[dict]) -> str:
    """The strategies beside P1 Table 1 (7B), then DMT's k sweep beside Table 5 (k = 0 is mixed sequential)."""
    by_ability = tasks_by_ability(rows)
    paper = p1_rq4(PAPER_MODEL)
    notes = _Footnotes()
    dmt_ks = sorted({f for ts in by_ability.values() for t in ts for f in series(rows, "dmt", t) if f})
    k_min = dmt_ks[0] if dmt_ks else DMT_K

    header, rule = _run_header(["strategy"], by_ability, "P1 7B Table 1")
    lines = []
    for arm, name in (*STRATEGIES.items(), ("dmt", f"DMT (k={fraction_label(k_min)})")):
        key = k_min if arm == "dmt" else None
        scores = {a: paper.get((arm, a, key)) for a in by_ability}
        lines.append(_run_line([name], rows, arm, key, by_ability, scores, notes, name))
    lines.append(_run_line(["untrained base"], rows, "base", 0.0, by_ability, {}, notes, "base"))

    sweep_header, sweep_rule = _run_header(["DMT k"], by_ability, "P1 7B Table 5")
    sweep = []
    for k in [0.0] + sorted(set(dmt_ks) | set(FRACTIONS)):
        arm, key, label = ("dmt", k, fraction_label(k)) if k else ("mixed_sequential", None, "0 (= mixed sequential)")
        scores = {a: paper.get((arm, a, key)) for a in by_ability}
        sweep.append(_run_line([label], rows, arm, key, by_ability, scores, notes, f"DMT k={label}"))

    opening = _opening(
        "RQ4: SFT strategies beside P1 Table 1 (7B column)",
        rows,
        "For a multi-stage strategy n counts the last stage's training rows.",
    )
    out = [
        opening,
        "",
        *_table_lines(header, rule, lines),
        "",
        "**DMT's k sweep beside P1 Table 5 (7B): stage 2 = all general + k of stage 1's math+code; k = 0 is "
        "mixed sequential.**",
        "",
        *_table_lines(sweep_header, sweep_rule, sweep),
    ]
    return "\n".join(out + _footnote_lines(notes)) + "\n"


def _run_header(first: list[str], by_ability: dict[str, list[str]], paper: str) -> tuple[list[str], list[str]]:
    """``first`` columns, ours n, then per ability ours per task and the paper's benchmark (its own unit)."""
    header = [*first, "ours n train"]
    for ability, tasks in by_ability.items():
        header += [f"{ability}: ours `{t}`" for t in tasks]
        header.append(f"{ability}: {paper} {BENCHMARK_LABEL[BENCHMARK[ability]]}")
    return header, ["---"] * len(first) + ["---:"] * (len(header) - len(first))


def _run_line(
    first: list[str],
    rows: list[dict],
    arm: str,
    key: float | None,
    by_ability: dict[str, list[str]],
    paper: dict[str, float | None],
    notes: _Footnotes,
    where: str,
) -> list[str]:
    """One run (arm, fraction) scored on every task: n, then ours per task and the paper per ability."""
    cells = {(a, t): series(rows, arm, t).get(key) for a, ts in by_ability.items() for t in ts}
    n = max((c.n_examples for c in cells.values() if c is not None), default=0)
    line = [*first, f"{n:,}" if n else DASH]
    for ability, tasks in by_ability.items():
        line += [_ours(cells[ability, t], notes, f"{where}, `{t}`", show_n=False) for t in tasks]
        line.append(_paper(paper.get(ability)))
    return line


def _opening(what: str, rows: list[dict], extra: str = "") -> str:
    versions = task_versions(rows)
    tasks = ", ".join(f"`{t}` v{v}" for t, v in versions.items())
    judge = " (`mtbench`: local-judge rating / 10)" if "mtbench" in versions else ""
    return (
        f"**{what}.** Profile `{only_profile(rows)}`; tasks {tasks}. Ours: score in [0, 1]{judge}, "
        "n = training examples; "
        "P1: LLaMA-7B full fine-tuning, GSM8K and HumanEval in %, MT-Bench 1-10 (GPT-4 judge). Absolute values are "
        "not comparable with the paper (different model, data and scale): compare trends."
    ) + (f" {extra}" if extra else "")


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
    return "\n".join([opening, "", *_table_lines(header, rule, lines), *_footnote_lines(notes)]) + "\n"


def _table_lines(header: list[str], rule: list[str], lines: list[list[str]]) -> list[str]:
    return [_md_row(header), _md_row(rule)] + [_md_row(line) for line in lines]


def _footnote_lines(notes: _Footnotes) -> list[str]:
    if not notes.items:
        return []
    return [""] + [f"[^{i}]: {_one_line(text)}" for i, text in enumerate(notes.items, start=1)]


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
