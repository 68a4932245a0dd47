"""P2 (Zhang et al., arXiv 2405.20535): the share of code in instruction data vs symbolic, logical and arithmetic
reasoning. One report (``report``) per base model, plus ``across_bases`` for the cross-family claim.

Arms (recipes/p2.yaml): 0, 25, 50 and 100% code at equal N, selected from one chat pool by an offline classifier
(kit.data.classify), each scored zero-shot on twelve tasks in three domains (kit.eval.tasks.short_answer). Six tasks
are P2's (it names them); six are ours (P2's other six could not be retrieved): every table marks which.

Claims, each one signed statistic of cell means (kit.report.stats), positive in P2's direction:
- code data raises overall reasoning: the mean over tasks of score(100%) − score(0%) (P2: +10.3 points for
  Mistral-7B, its largest; the only number P2 publishes for these claims);
- symbolic reasoning gains most: the symbolic domain's gain minus the larger of the other two domains' gains;
- arithmetic shows a trade-off (ours: it gains less than the other two domains): their mean gain minus arithmetic's;
- the best code share is task-dependent (P2's own example, Llama-1: Code gains more on bAbI-Inductive than
  Half-half does on bAbI-Deductive): [ind(100%) − ind(50%)] − [ded(100%) − ded(50%)];
- code-tuned models still reason in prose: the share of the 100% arm's replies that are not code, minus ½;
- within a domain the trend holds across families: every base's gain has the sign of the bases' mean gain, per
  domain (``across_bases``; inconclusive with one base).
P2 publishes no per-task numbers or benchmark sizes, so its column states what the paper says (one number, +10.3)
and cannot be put through the same bootstrap: no CI, no z.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from kit.report import figures, stats
from kit.report import markdown as md
from kit.report.claims import FLOOR, PRIMARY_DENSE
from kit.report.rows import P2_ARMS, P2_DOMAINS, Cell, metrics_of, only_profile, series, task_versions
from kit.report.stats import CellRef, Claim, Verdict

__all__ = ["ARMS", "PICTURE", "TITLE", "across_bases", "checks", "plot", "sections", "table"]

ARMS = P2_ARMS
SHARE = dict(zip(P2_ARMS, (0.0, 0.25, 0.5, 1.0), strict=True))
PAPER_NAME = {"code_0": "General", "code_50": "Half-half", "code_100": "Code"}  # P2's names; 25% has none
TITLE = "P2: the share of code in instruction data vs reasoning"
PICTURE = "code_share.png"
P2_CSV = Path(__file__).resolve().parent.parent / "reference" / "p2.csv"
# P1's arithmetic benchmark under P2's domain names: GSM8K is one of P2's named tasks; builtin_math_easy is its
# built-in stand-in on the cpu profile.
STAND_INS = {
    "gsm8k": ("arithmetic", "P2", "GSM8K", None),  # no twin
    "builtin_math_easy": ("arithmetic", "P2*", "GSM8K (built-in stand-in)", 1 / 3),  # its twin: gold and 2 wrong
}
# Smallest effects of interest, in score units: 2 points of a [0, 1] score (P2's headline gain is 10.3).
DELTA_GAIN = 0.02
DELTA_PROSE = 0.05
PAPER_OVERALL_GAIN = 0.103  # Mistral-7B, Code vs General (reference/p2.csv)
BABI_PAIRS = (("p2_babi_induction", "p2_babi_deduction"), ("babi_induction", "babi_deduction"))


# --- tasks and metrics ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    domain: str
    origin: str  # "P2" (P2 names the task), "P2*" (a stand-in for one), "ours"
    name: str
    chance: float | None


def task_info(task: str) -> TaskInfo:
    """The task's domain, origin and name (from its module), for P2's tasks and P1's arithmetic stand-ins."""
    if task in STAND_INS:
        return TaskInfo(*STAND_INS[task])
    from kit.eval.tasks import get_task

    module = get_task(task)
    return TaskInfo(module.DOMAIN, module.ORIGIN, module.PAPER_NAME, getattr(module, "CHANCE", None))


def tasks_by_domain(rows: list[dict]) -> dict[str, list[str]]:
    """``{domain: [task...]}`` in P2_DOMAINS order, P2's named tasks first."""
    tasks = sorted({r["task"] for r in rows})
    out: dict[str, list[str]] = {d: [] for d in P2_DOMAINS}
    for task in sorted(tasks, key=lambda t: (task_info(t).origin == "ours", t)):
        out[task_info(task).domain].append(task)
    return {d: ts for d, ts in out.items() if ts}


def primary(rows: list[dict]) -> str:
    """One metric for every task: ``dense_rank`` (the multiple-choice twin) when every task has it and generation
    accuracy sits on the floor (the base's and the best arm's mean accuracy over the tasks both below FLOOR),
    else ``accuracy``. One metric for all, so that domain and overall means never mix metrics."""
    tasks = sorted({r["task"] for r in rows})
    if not tasks or not all(PRIMARY_DENSE in metrics_of(rows, t) for t in tasks):
        return "accuracy"
    means = []
    for arm in ("base", *ARMS):
        cells = [_cell(rows, arm, t, "accuracy") for t in tasks]
        if all(c is not None and not c.failed for c in cells):
            means.append(sum(c.score for c in cells) / len(cells))
    return PRIMARY_DENSE if means and max(means) < FLOOR else "accuracy"


def arm_label(arm: str) -> str:
    """``General (0%)``, ``25%``...: P2's name of an arm where it has one, and its share of code."""
    share = f"{SHARE[arm]:.0%}"
    return f"{PAPER_NAME[arm]} ({share})" if arm in PAPER_NAME else f"{share} code"


def _key(arm: str) -> float | None:
    return 0.0 if arm == "base" else None


def _cell(rows: list[dict], arm: str, task: str, metric: str) -> Cell | None:
    return series(rows, arm, task, metric).get(_key(arm))


def _ref(arm: str, task: str, metric: str) -> CellRef:
    return CellRef(arm, _key(arm), task, metric)


# --- claims ---------------------------------------------------------------------------------------


def _gain_weights(tasks: list[str]) -> list[float]:
    """Weights over cells [100% on t1, 0% on t1, 100% on t2, ...]: the mean over tasks of 100% − 0%."""
    return [w / len(tasks) for _ in tasks for w in (1.0, -1.0)]


def _gain_cells(tasks: list[str], metric: str) -> list[CellRef]:
    return [_ref(arm, t, metric) for t in tasks for arm in ("code_100", "code_0")]


def overall_gain(rows: list[dict], metric: str) -> Claim:
    tasks = [t for ts in tasks_by_domain(rows).values() for t in ts]
    claim = "code data raises overall reasoning (Code vs General)"
    test = "mean over tasks of s(100% code) − s(0% code)"
    if not tasks:
        return Claim(claim, "difference", test, (), None, DELTA_GAIN, why="no P2 task rows")
    w = np.array(_gain_weights(tasks))
    return Claim(claim, "difference", test, tuple(_gain_cells(tasks, metric)), lambda m: m @ w, DELTA_GAIN)


def _domain_gains(rows: list[dict], metric: str) -> tuple[list[CellRef], dict[str, np.ndarray], str]:
    """Cells of every domain's gain, and per domain the weight vector (over all those cells) of its mean gain."""
    by_domain = tasks_by_domain(rows)
    missing = [d for d in P2_DOMAINS if d not in by_domain]
    if missing:
        return [], {}, f"no tasks of domain(s) {', '.join(missing)}"
    cells, spans = [], {}
    for domain, tasks in by_domain.items():
        spans[domain] = (len(cells), _gain_weights(tasks))
        cells += _gain_cells(tasks, metric)
    weights = {}
    for domain, (start, w) in spans.items():
        full = np.zeros(len(cells))
        full[start : start + len(w)] = w
        weights[domain] = full
    return cells, weights, ""


def symbolic_gains_most(rows: list[dict], metric: str) -> Claim:
    claim = "symbolic reasoning gains most from code data"
    test = "gain(symbolic) − max(gain(logical), gain(arithmetic)); gain = domain mean of s(100%) − s(0%)"
    cells, w, why = _domain_gains(rows, metric)
    if why:
        return Claim(claim, "difference", test, (), None, DELTA_GAIN, why=why)
    stat = lambda m: m @ w["symbolic"] - np.maximum(m @ w["logical"], m @ w["arithmetic"])  # noqa: E731
    return Claim(claim, "difference", test, tuple(cells), stat, DELTA_GAIN)


def arithmetic_trade_off(rows: list[dict], metric: str) -> Claim:
    claim = "arithmetic shows a trade-off: it gains less from code than the other domains (our reading of P2)"
    test = "(gain(symbolic) + gain(logical)) / 2 − gain(arithmetic)"
    cells, w, why = _domain_gains(rows, metric)
    if why:
        return Claim(claim, "difference", test, (), None, DELTA_GAIN, why=why)
    combined = (w["symbolic"] + w["logical"]) / 2 - w["arithmetic"]
    return Claim(claim, "difference", test, tuple(cells), lambda m: m @ combined, DELTA_GAIN)


def best_share_task_dependent(rows: list[dict], metric: str) -> Claim:
    claim = "the best code share is task-dependent (P2's example: bAbI-Inductive peaks at 100%, Deductive at 50%)"
    test = "[s_ind(100%) − s_ind(50%)] − [s_ded(100%) − s_ded(50%)], bAbI-Inductive vs bAbI-Deductive"
    present = {r["task"] for r in rows}
    pair = next((p for p in BABI_PAIRS if set(p) <= present), None)
    if pair is None:
        return Claim(claim, "difference", test, (), None, DELTA_GAIN, why="no bAbI-Inductive and -Deductive rows")
    ind, ded = pair
    cells = [_ref(a, t, metric) for t in (ind, ded) for a in ("code_100", "code_50")]
    return Claim(
        claim, "difference", test, tuple(cells), lambda m: (m[..., 0] - m[..., 1]) - (m[..., 2] - m[..., 3]), DELTA_GAIN
    )


def reasons_in_prose(rows: list[dict]) -> Claim:
    claim = "code-tuned models still reason in prose"
    test = "share of the 100%-code arm's replies that are not code (kit.data.classify), minus ½"
    tasks = sorted({r["task"] for r in rows if r.get("metric") == "prose"})
    if not tasks:
        return Claim(claim, "difference", test, (), None, DELTA_PROSE, why="no task records whether replies are prose")
    cells = tuple(_ref("code_100", t, "prose") for t in tasks)
    return Claim(claim, "difference", test, cells, lambda m: m.mean(axis=-1) - 0.5, DELTA_PROSE)


def across_families_claim(n_bases: int) -> Claim:
    claim = "within a domain the trend holds across model families"
    test = "per domain, every base's gain has the sign of the bases' mean gain (composite over domains and bases)"
    why = (
        f"results for {n_bases} base model(s); the claim needs ≥ 2 (rerun with model.base=..., see recipes/p2.yaml; "
        "results/p2/across_bases.md compares them)"
    )
    return Claim(claim, "consistency", test, (), None, DELTA_GAIN, why=why)


def checks(rows: list[dict], metric: str) -> list[Claim]:
    """Every claim testable on one base model's rows, plus the cross-family one (inconclusive here)."""
    return [
        overall_gain(rows, metric),
        symbolic_gains_most(rows, metric),
        arithmetic_trade_off(rows, metric),
        best_share_task_dependent(rows, metric),
        reasons_in_prose(rows),
        across_families_claim(1),
    ]


def _paper_statements() -> dict[str, str]:
    with open(P2_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    by = {}
    for r in rows:
        by.setdefault(r["finding"], []).append(r)
    out = {}
    for finding, found in by.items():
        numbers = [r for r in found if r["basis"] == "number"]
        if numbers:
            r = numbers[0]
            out[finding] = (
                f"{r['model']}: +{r['value_pts']} pts ({r['comparison']}); no per-task numbers or sizes: no CI"
            )
        else:
            out[finding] = "qualitative: " + found[0]["comparison"]
    return out


_FINDING_OF = {
    "code data raises overall reasoning": "overall_gain",
    "symbolic reasoning gains most": "symbolic_most",
    "arithmetic shows a trade-off": "arithmetic_tradeoff",
    "the best code share is task-dependent": "best_share_task_dependent",
    "code-tuned models still reason in prose": "prose",
    "within a domain the trend holds": "domain_trend_across_families",
}


def with_statement(verdict: Verdict) -> Verdict:
    """The verdict with P2's statement of the claim in the paper column (and its one number where it has one)."""
    statements = _paper_statements()
    finding = next(f for prefix, f in _FINDING_OF.items() if verdict.claim.startswith(prefix))
    number = PAPER_OVERALL_GAIN if finding == "overall_gain" else None
    return dataclasses.replace(verdict, paper_statistic=number, paper_basis=statements[finding])


def sections(rows: list[dict]) -> list[tuple[str, list[Verdict]]]:
    """The verdicts on the primary metric, then on the other one (generation accuracy or the twin's rank)."""
    first = primary(rows)
    metrics = [first] + [m for m in ("accuracy", PRIMARY_DENSE) if m != first and _has(rows, m)]
    out = []
    for i, metric in enumerate(metrics):
        label = "primary metric" if i == 0 else "secondary"
        if i > 0 and metric == "accuracy" and first == PRIMARY_DENSE:
            label += f" (generation accuracy is on the floor, below {FLOOR} for the base and every arm: read as such)"
        title = f"{TITLE} ({label}: {metric} on every task; profile {only_profile(rows)}; {_bases(rows)})"
        out.append((title, [with_statement(stats.evaluate(c, rows)) for c in checks(rows, metric)]))
    return out


def _has(rows: list[dict], metric: str) -> bool:
    return any(r.get("metric") == metric for r in rows)


def _bases(rows: list[dict]) -> str:
    found = sorted({r.get("base_model") for r in rows if r.get("base_model")})
    return "base " + ", ".join(found) if found else "one base model"


# --- the cross-family claim -------------------------------------------------------------------------------------


def across_bases(rows_by_base: dict[str, list[dict]]) -> tuple[str, list[Verdict]]:
    """The cross-family claim over every base's rows (one profile): per domain, each base's gain (100% − 0%, on
    the metric every base shares) must have the sign of the bases' mean gain; inconclusive below 2 bases."""
    claim = across_families_claim(len(rows_by_base))
    if len(rows_by_base) < 2:
        return claim.claim, [with_statement(stats.evaluate(claim, []))]
    metric = "accuracy" if any(primary(r) == "accuracy" for r in rows_by_base.values()) else PRIMARY_DENSE
    parts, points = [], {}
    for base, rows in rows_by_base.items():
        cells, w, why = _domain_gains(rows, metric)
        for domain in P2_DOMAINS:
            if why:
                points[base, domain] = None
                continue
            ci = stats.combination_ci(cells, rows, w[domain])
            points[base, domain] = None if ci is None else ci[0]
    verdicts = []
    for domain in P2_DOMAINS:
        known = [p for (b, d), p in points.items() if d == domain and p is not None]
        sign = 1.0 if not known or np.mean(known) >= 0 else -1.0
        for base, rows in rows_by_base.items():
            cells, w, why = _domain_gains(rows, metric)
            name = f"{domain} on {base}: gain {'≥' if sign > 0 else '<'} 0 as the bases' mean"
            test = f"{'' if sign > 0 else '−'}gain({domain}) on {base}"
            weights = sign * w[domain] if not why else None
            part = Claim(
                name,
                "difference",
                test,
                tuple(cells),
                (lambda m, v=weights: m @ v) if not why else None,
                DELTA_GAIN,
                why=why,
            )
            parts.append(part)
            verdicts.append(stats.evaluate(part, rows))
    combined = Claim(claim.claim, "composite", claim.test, (), None, DELTA_GAIN, parts=tuple(parts))
    return claim.claim, [with_statement(stats.combine(combined, verdicts)), *verdicts]


# --- table ------------------------------------------------------------------------------------------------------


def _score_table(rows: list[dict], metric: str, notes: md.Footnotes) -> list[str]:
    by_domain = tasks_by_domain(rows)
    header = [
        "domain",
        "task",
        "origin",
        "chance",
        "untrained base",
        *map(arm_label, ARMS),
    ]
    header.append("gain 100% − 0% [95% CI]")
    lines = []
    for domain, tasks in by_domain.items():
        for task in tasks:
            info = task_info(task)
            chance = f"{info.chance:.2f}" if info.chance and metric == PRIMARY_DENSE else md.DASH
            line = [domain, f"{info.name} `{task}`", info.origin, chance]
            line += [
                md.ours(_cell(rows, a, task, metric), notes, f"{a}, `{task}`", show_n=False) for a in ("base", *ARMS)
            ]
            gain = stats.combination_ci(_gain_cells([task], metric), rows, _gain_weights([task]))
            lines.append([*line, md.estimate(gain)])
    for domain, tasks in [*by_domain.items(), ("overall", [t for ts in by_domain.values() for t in ts])]:
        line = [f"**{domain} mean**", f"{len(tasks)} tasks", "", ""]
        for arm in ("base", *ARMS):
            ci = stats.combination_ci([_ref(arm, t, metric) for t in tasks], rows, [1 / len(tasks)] * len(tasks))
            line.append(md.estimate(ci))
        gain = stats.combination_ci(_gain_cells(tasks, metric), rows, _gain_weights(tasks))
        lines.append([*line, md.estimate(gain)])
    rule = ["---"] * 4 + ["---:"] * (len(header) - 4)
    return md.table_lines(header, rule, lines)


def table(rows: list[dict]) -> str:
    """Per task (grouped by domain), per domain and overall: each arm's score ± stderr (n) on the primary metric,
    the domain and overall means with paired-bootstrap 95% CIs, the gain of 100% over 0% code; then the same on
    the other metric; then each arm's training examples and prose share."""
    notes = md.Footnotes()
    first = primary(rows)
    metrics = [first] + [m for m in ("accuracy", PRIMARY_DENSE) if m != first and _has(rows, m)]
    versions = ", ".join(f"`{t}` v{v}" for t, v in task_versions(rows).items())
    out = [
        f"**{TITLE}.** Profile `{only_profile(rows)}`, {_bases(rows)}. Arms: the share of code in the training data "
        "at equal N, selected by the offline classifier `code_v1` (kit/data/classify.py; its measured precision and "
        "recall are in results/p2/README.md). Cells: score ± stderr over eval items (n). Means: the unweighted mean "
        "of the task scores with a paired-bootstrap 95% CI (items resampled per task, the same ids for every arm; "
        "ours: P2 does not say how it averages). Origin: **P2** = a task P2 names, **P2\\*** = our built-in stand-in "
        "for one, **ours** = our choice for the six tasks P2 does not name. P2 itself publishes one number for "
        f"these comparisons: +10.3 points overall for Mistral-7B (Code vs General). Task versions: {versions}.",
        "",
    ]
    for metric in metrics:
        role = "primary metric (the verdicts use it)" if metric == first else "secondary metric"
        out += [f"### {metric}: {md.METRIC_NOTES.get(metric, metric)}; {role}", ""]
        out += _score_table(rows, metric, notes)
        out.append("")
    out += ["### training data and replies", ""]
    header = ["arm", "code share", "n train", "prose share of replies (all tasks)"]
    lines = []
    for arm in ARMS:
        cells = [c for t in sorted({r["task"] for r in rows}) if (c := _cell(rows, arm, t, "prose")) is not None]
        n = max((c.n_examples for t in {r["task"] for r in rows} if (c := _cell(rows, arm, t, first))), default=0)
        prose = [c.score for c in cells if not c.failed]
        lines.append(
            [
                arm_label(arm),
                f"{SHARE[arm]:.0%}",
                f"{n:,}" if n else md.DASH,
                f"{sum(prose) / len(prose):.3f}" if prose else md.DASH,
            ]
        )
    out += md.table_lines(header, ["---", "---:", "---:", "---:"], lines)
    out += md.footnote_lines(notes)
    return "\n".join(out) + "\n"


# --- figure -----------------------------------------------------------------------------------------------------

DOMAIN_COLOURS = {"symbolic": "tab:blue", "logical": "tab:orange", "arithmetic": "tab:green", "overall": "black"}


def plot(rows: list[dict], path: Path | str) -> None:
    """Left: each domain's mean (and the overall mean) against the share of code, with 95% bootstrap bars and a
    band, the untrained base as a dotted line; right: every task's line, coloured by domain."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metric = primary(rows)
    by_domain = tasks_by_domain(rows)
    fig = Figure(figsize=(12, 4.8))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.86, wspace=0.2)
    left, right = fig.subplots(1, 2)
    xs = [SHARE[a] * 100 for a in ARMS]
    groups = [*by_domain.items(), ("overall", [t for ts in by_domain.values() for t in ts])]
    for domain, tasks in groups:
        weights = [1 / len(tasks)] * len(tasks)
        points = []
        for arm, x in zip(ARMS, xs, strict=True):
            ci = stats.combination_ci([_ref(arm, t, metric) for t in tasks], rows, weights)
            if ci is not None:
                points.append((x, ci[0], (ci[2] - ci[1]) / 2))
        colour = DOMAIN_COLOURS[domain]
        style = {"ls": "--"} if domain == "overall" else {}
        if points:
            figures.line_with_ci(
                left, points, band=True, marker="o", color=colour, label=f"{domain} ({len(tasks)})", **style
            )
        base = stats.combination_ci([_ref("base", t, metric) for t in tasks], rows, weights)
        if base is not None:
            left.axhline(base[0], ls=":", lw=1, color=colour)
    for domain, tasks in by_domain.items():
        for task in tasks:
            cells = [(x, _cell(rows, a, task, metric)) for a, x in zip(ARMS, xs, strict=True)]
            ok = [(x, c.score) for x, c in cells if c is not None and not c.failed]
            if ok:
                right.plot(*zip(*ok, strict=True), marker=".", lw=1, color=DOMAIN_COLOURS[domain], alpha=0.7)
                right.annotate(
                    task.removeprefix("p2_"), ok[-1], fontsize=6, color="0.3", xytext=(2, 0), textcoords="offset points"
                )
    for ax, title in ((left, "ours: domain means (dotted: untrained base)"), (right, "ours: every task")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("share of code in the training data (%)", fontsize=8)
        ax.set_ylabel(f"{metric} (±95% CI)" if ax is left else metric, fontsize=8)
        ax.set_xticks(xs)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    chances = [task_info(t).chance for ts in by_domain.values() for t in ts]
    if metric == PRIMARY_DENSE and chances and all(chances):
        left.axhline(sum(chances) / len(chances), ls="-.", lw=1, color="0.6", label="chance (mean over tasks)")
    left.legend(fontsize=7)
    right.set_xlim(-5, 118)  # room for the task names at 100%
    fig.suptitle(
        f"{TITLE}. Profile {only_profile(rows)}, {_bases(rows)}.\nP2 publishes one number for this: +10.3 points "
        "overall, Code vs General, for Mistral-7B (its largest gain). Compare trends, not levels.",
        fontsize=9,
    )
    figures.save(fig, path)


def write_across(rows_by_base: dict[str, list[dict]], out_dir: Path) -> list[Path]:
    """results/p2/across_bases.md and .json: the cross-family claim over every base found."""
    title, verdicts = across_bases(rows_by_base)
    bases = ", ".join(rows_by_base) or "none"
    return md.write_verdicts(verdicts, f"{title} (bases: {bases})", out_dir / "across_bases", "P2")
