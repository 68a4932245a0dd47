"""P1's published numbers (Dong et al. 2023, arXiv 2310.05492) as data: Tables 1, 2-3, 4 and 5.

``reference/p1.csv`` is transcribed from the paper (via /work/shared/PAPERS.md §1.6); scores keep
the paper's units: GSM8K and HumanEval in percent, MT-Bench on GPT-4's 1-10 scale. Nothing here
converts them to our [0, 1] scale: tables show them in their own columns, and the trend checks in
``verdicts`` are invariant to each benchmark's scale.
"""

from __future__ import annotations

import csv
from pathlib import Path

P1_CSV = Path(__file__).resolve().parent / "reference" / "p1.csv"
FRACTIONS = (1.0, 0.25, 0.0625, 0.015625, 0.00390625)
BENCHMARK = {"math": "gsm8k", "code": "humaneval", "general": "mtbench"}
BENCHMARK_LABEL = {"gsm8k": "GSM8K (%)", "humaneval": "HumanEval (%)", "mtbench": "MT-Bench (1-10)"}
# Training examples per single-source run, round(N * k) from the k=1 sizes of v4 App. A (derived in
# PAPERS.md §1.3; the paper prints only k=1 and k=1/256).
P1_SUBSET_SIZES = {
    "math": dict(zip(FRACTIONS, (110142, 27536, 6884, 1721, 430), strict=True)),
    "code": dict(zip(FRACTIONS, (20022, 5006, 1251, 313, 78), strict=True)),
    "general": dict(zip(FRACTIONS, (86060, 21515, 5379, 1345, 336), strict=True)),
}


def load_reference(path: Path | str | None = None) -> list[dict]:
    """The reference rows, with ``fraction`` and ``score`` as floats (columns as in the CSV header)."""
    with open(path or P1_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["fraction"] = float(row["fraction"])
        row["score"] = float(row["score"])
    return rows


def p1_scaling(model: str = "7B") -> dict[tuple[str, str, float], float]:
    """Tables 2-3 for one model size: ``{("single"|"mixed", ability, fraction): score}`` (paper units)."""
    out = {
        (row["setting"], row["ability"], row["fraction"]): row["score"]
        for row in load_reference()
        if row["table"] == "2-3" and row["model"] == model
    }
    if not out:
        raise ValueError(f"P1 Tables 2-3 have no model {model!r}; valid: 7B, 13B, 33B")
    return out


def paper_rows(model: str = "7B") -> list[dict]:
    """Tables 2-3 as result rows (``kit.report.rows`` shape), so every trend check can run on P1 itself.

    Single-source numbers become arm = the ability, the mixture becomes arm "mixed"; ``n_examples``
    is the derived subset size (the mixture's is the sum of the three). Scores stay in the paper's
    units, so these rows do not pass ``validate_rows`` (profile "paper") and never enter a table.
    """
    rows = []
    for (setting, ability, fraction), score in sorted(p1_scaling(model).items()):
        arm = ability if setting == "single" else "mixed"
        sizes = [P1_SUBSET_SIZES[ability]] if setting == "single" else P1_SUBSET_SIZES.values()
        rows.append({
            "recipe": "p1", "arm": arm, "fraction": fraction,
            "n_examples": sum(s[fraction] for s in sizes), "task": BENCHMARK[ability], "ability": ability,
            "score": score, "status": "ok", "error": None, "run_id": f"P1-{model}-{setting}-{fraction:g}",
            "profile": "paper", "task_version": "paper",
        })
    return rows
