"""What P1's four reports share: the paper's model column, the tables' opening paragraph, the panel titles."""

from __future__ import annotations

from kit.report import figures
from kit.report.markdown import Columns, metric_notes, versions
from kit.report.reference import BENCHMARK, BENCHMARK_LABEL
from kit.report.rows import only_profile

PAPER_MODEL = "7B"  # the size each table and plot sets beside ours (P1's smallest, closest to ours)


def opening(what: str, rows: list[dict], columns: Columns, extra: str = "") -> str:
    """The paragraph above a table: profile, task and scorer versions, what each metric is, how to read P1's."""
    judge = " (`mtbench`: local-judge rating / 10)" if any(r["task"] == "mtbench" for r in rows) else ""
    return (
        f"**{what}.** Profile `{only_profile(rows)}`; tasks {versions(rows, columns)}. Ours: score ± its stderr over "
        f"items (eval items), each column naming its metric ({metric_notes(columns)}){judge}; per task the primary "
        "metric (the one the verdicts use) comes first, then generation accuracy; n train = training examples. "
        "P1: LLaMA-7B full fine-tuning, GSM8K and HumanEval in %, MT-Bench 1-10 (GPT-4 judge). Absolute values are "
        "not comparable with the paper (different model, data and scale): compare trends."
    ) + (f" {extra}" if extra else "")


def paper_heading(label: str) -> dict[str, str]:
    """Per ability, the heading of the paper's column: ``label`` and the benchmark in its own unit."""
    return {a: f"{label} {BENCHMARK_LABEL[b]}" for a, b in BENCHMARK.items()}


def finish_ours(ax, ability: str, metrics: list[str], xlabel: str) -> None:
    """Our panel of ``ability``: the y axis names the metric(s) drawn (the verdicts' primary metric)."""
    shown = ", ".join(dict.fromkeys(metrics)) or "score"
    figures.finish_ours(ax, f"ours: {ability}", xlabel, f"{shown} (±95% CI)")


def finish_paper(ax, ability: str, xlabel: str, model: str = PAPER_MODEL) -> None:
    label = BENCHMARK_LABEL[BENCHMARK[ability]]
    figures.finish_paper(ax, f"P1 {model}: {label}", xlabel, label)
