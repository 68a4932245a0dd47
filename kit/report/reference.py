"""P1's published numbers (Dong et al. 2023, arXiv 2310.05492) as data: Tables 1, 2-3, 4 and 5.

``reference/p1.csv`` is transcribed from the paper (via /work/shared/PAPERS.md §1.6); scores keep
the paper's units: GSM8K and HumanEval in percent, MT-Bench on GPT-4's 1-10 scale. Nothing here
converts them to our [0, 1] scale: tables show them in their own columns, and the trend checks in
``verdicts`` are invariant to each benchmark's scale.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
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


# Our RQ3 arms (recipes/rq3.yaml) by design, each with the P1 Table 4 setting of the same design. P1
# numbers its first two setups the other way round (its Setup 1 scales code+math, its Setup 2 scales
# general; Table 4's numbers confirm it), so ours are matched to the paper by what k scales, not by name.
@dataclass(frozen=True)
class Rq3Setup:
    design: str  # what k scales, in words
    p1_setting: str  # the setting column of reference/p1.csv, Table 4
    p1_name: str


RQ3_SETUPS = {
    "setup1": Rq3Setup("k of math+code, all general", "rq3_setup1", "P1 Setup 1"),
    "setup2": Rq3Setup("all math+code, k of general", "rq3_setup2", "P1 Setup 2"),
    "setup3": Rq3Setup("k of math+code, 1/64 of general", "rq3_setup3", "P1 Setup 3"),
}
GENERAL_SETUP3 = 0.015625  # setup 3's fixed share of general data (P1: ~1.5K ShareGPT, LIMA-sized)


def load_reference(path: Path | str | None = None) -> list[dict]:
    """The reference rows, with ``fraction`` and ``score`` as floats (columns as in the CSV header)."""
    with open(path or P1_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["fraction"] = float(row["fraction"])
        row["score"] = float(row["score"])
    return rows


def p1_table(table: str, model: str = "7B") -> dict[tuple[str, str, float], float]:
    """One table of the CSV for one model size: ``{(setting, ability, fraction): score}`` (paper units)."""
    reference = load_reference()
    out = {
        (r["setting"], r["ability"], r["fraction"]): r["score"]
        for r in reference
        if r["table"] == table and r["model"] == model
    }
    if not out:
        models = sorted({r["model"] for r in reference if r["table"] == table}, key=lambda m: float(m.rstrip("B")))
        raise ValueError(f"P1 Table {table} has no model {model!r}; valid: {', '.join(models)}")
    return out


def p1_scaling(model: str = "7B") -> dict[tuple[str, str, float], float]:
    """Tables 2-3 for one model size: ``{("single"|"mixed", ability, fraction): score}`` (paper units)."""
    return p1_table("2-3", model)


def p1_rq3(model: str = "7B") -> dict[tuple[str, str, float], float]:
    """Table 4 keyed by our arm names: ``{(setup arm, ability, k): score}`` (see RQ3_SETUPS)."""
    arm_of = {setup.p1_setting: arm for arm, setup in RQ3_SETUPS.items()}
    return {(arm_of[setting], ability, k): score for (setting, ability, k), score in p1_table("4", model).items()}


def p1_rq4(model: str = "7B") -> dict[tuple[str, str, float | None], float]:
    """Tables 1 and 5: ``{(strategy arm, ability, k): score}``, k None for every strategy but DMT.

    Table 5's k = 0 row is mixed sequential, which Table 1 already gives; 33B has no Table 5 (DMT at
    k = 1/256 only).
    """
    out: dict[tuple[str, str, float | None], float] = {
        (setting, ability, fraction if setting == "dmt" else None): score
        for (setting, ability, fraction), score in p1_table("1", model).items()
    }
    if any(r["table"] == "5" and r["model"] == model for r in load_reference()):
        out.update({("dmt", ability, k): score for (_, ability, k), score in p1_table("5", model).items() if k > 0})
    return out


def paper_rows(model: str = "7B", rq: str = "rq1") -> list[dict]:
    """P1's numbers for one research question as result rows (``kit.report.rows`` shape), so every trend
    check can run on P1 itself: Tables 2-3 for rq1 and rq2, Table 4 for rq3, Tables 1 and 5 for rq4.

    Arms are ours: single-source numbers become arm = the ability, the mixture arm "mixed"; Table 4's
    setups our setup arms (RQ3_SETUPS); Tables 1/5's strategies our rq4 arms. ``n_examples`` is derived
    (round(N·k) per source; for a multi-stage strategy, the last stage's rows, as in our summaries).
    Scores stay in the paper's units, so these rows do not pass ``validate_rows`` (profile "paper") and
    never enter a table.
    """
    if rq not in _PAPER_CELLS:
        raise ValueError(f"no P1 numbers for {rq!r}; valid: {', '.join(_PAPER_CELLS)}")
    rows = []
    for (arm, ability, fraction), (score, n) in sorted(_PAPER_CELLS[rq](model).items(), key=_cell_order):
        rows.append(
            {
                "recipe": "p1",
                "arm": arm,
                "fraction": fraction,
                "n_examples": n,
                "task": BENCHMARK[ability],
                "ability": ability,
                "score": score,
                "status": "ok",
                "error": None,
                "run_id": f"P1-{model}-{arm}" + ("" if fraction is None else f"-{fraction:g}"),
                "profile": "paper",
                "task_version": "paper",
            }
        )
    return rows


def _scaling_cells(model: str) -> dict:
    out = {}
    for (setting, ability, fraction), score in p1_scaling(model).items():
        sizes = [P1_SUBSET_SIZES[ability]] if setting == "single" else P1_SUBSET_SIZES.values()
        out[ability if setting == "single" else "mixed", ability, fraction] = (score, sum(s[fraction] for s in sizes))
    return out


def _rq3_cells(model: str) -> dict:
    math, code, general = (P1_SUBSET_SIZES[a] for a in ("math", "code", "general"))
    n = {
        "setup1": lambda k: math[1.0] + code[1.0] + general[k],
        "setup2": lambda k: math[k] + code[k] + general[1.0],
        "setup3": lambda k: math[k] + code[k] + general[GENERAL_SETUP3],
    }
    return {(arm, ability, k): (score, n[arm](k)) for (arm, ability, k), score in p1_rq3(model).items()}


def _rq4_cells(model: str) -> dict:
    math, code, general = (P1_SUBSET_SIZES[a][1.0] for a in ("math", "code", "general"))
    last_stage = {
        "math_only": math,
        "code_only": code,
        "general_only": general,
        "multi_task": math + code + general,
        "sequential": general,
        "mixed_sequential": general,
    }
    replay = lambda k: P1_SUBSET_SIZES["math"][k] + P1_SUBSET_SIZES["code"][k]  # noqa: E731
    return {
        (arm, ability, k): (score, general + replay(k) if arm == "dmt" else last_stage[arm])
        for (arm, ability, k), score in p1_rq4(model).items()
    }


_PAPER_CELLS = {"rq1": _scaling_cells, "rq2": _scaling_cells, "rq3": _rq3_cells, "rq4": _rq4_cells}


def _cell_order(item) -> tuple:
    (arm, ability, fraction), _ = item
    return arm, ability, -1.0 if fraction is None else fraction
