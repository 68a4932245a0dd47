"""P3 (DoIT, Song et al., arXiv 2310.19651): each ability's growth with the amount of instruction data, curated vs
synthetic data, transfer out of domain; Tables 2-3 on the paper's own numbers.

Arms (recipes/p3.yaml): ``curated`` trains every ability together at each volume (DoIT's curated-N), ``synthetic``
generic instruction data at the same totals (DoIT's synthetic-N); the untrained base once. Every run is scored by
DoIT's own per-item score (kit/eval/tasks/doit.py: the distractor rank or the exact match), recorded as the task's
``accuracy``, beside its ``chance``. One metric for every ability, as in the paper.

Claims, each a signed statistic of cell means (kit.report.stats), positive in DoIT's direction:
- an ability grows with data: the OLS slope of its score on log2(training rows) over the curated runs (per
  doubling), for the abilities DoIT finds responsive (code, biology, history, dialogue understanding, logic);
- ethics and role-play stay flat: the slope is inside ±δ (two one-sided tests, both must hold);
- creative writing saturates early: (middle − smallest) − (largest − middle) over the curated runs, halved;
- math gains only marginally (ours: less than code): slope(code) − slope(math);
- curated beats synthetic at equal volume: the mean over in-domain abilities of curated − synthetic, largest volume;
- synthetic stays near chance: its in-domain mean minus the mean chance, inside ±δ (two one-sided tests);
- synthetic shows no consistent growth: the slope of its in-domain mean inside ±δ (two one-sided tests);
- gains transfer out of domain: the held-out subjects' slope over the curated runs, and curated − synthetic there;
- the size findings need a second model size (results/p3/<base>/ from another base): inconclusive with one.
DoIT publishes its growth curves as figures only: their paper column states the finding (reference/p3_findings.csv).
Tables 2-3 (AGIEval, CMMLU) are numbers: those claims go through the same test on the paper's own cells
(reference/p3.csv), while our side says why this recipe does not run them.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np

from kit.report import claims as claim_kit
from kit.report import figures, stats
from kit.report import markdown as md
from kit.report.rows import P3_ABILITIES, P3_ARMS, Cell, fraction_key, only_profile, series, task_versions
from kit.report.stats import CellRef, Claim, Verdict

__all__ = ["ARMS", "PICTURE", "TITLE", "across_sizes", "checks", "plot", "sections", "table", "write_across"]

ARMS = P3_ARMS
TITLE = "P3 (DoIT): each ability's growth with data volume, curated vs synthetic data, transfer"
PICTURE = "growth.png"
METRIC = "accuracy"  # DoIT's per-item score (distractor rank or exact match), recorded as the task's accuracy
REFERENCE = Path(__file__).resolve().parent.parent / "reference"
# Smallest effects of interest (score units, [0, 1]): a slope of 1 point per doubling of the data (DoIT's x axis
# spans 10 doublings, 1 to 1000 per ability), a gap of 2 points between arms, 5 points around chance.
DELTA_SLOPE = 0.01
DELTA_PLATEAU = 0.01
DELTA_GAP = 0.02
DELTA_NEAR_CHANCE = 0.05
DELTA_TABLE = 0.01  # Tables 2-3: one accuracy point
GROWS = ("code", "biology", "history", "understanding", "reasoning")  # DoIT's responsive abilities
FLAT = ("ethics", "role_play")
NAMES = {
    "code": "code generation",
    "biology": "STEM biology",
    "history": "humanity history",
    "understanding": "dialogue understanding",
    "reasoning": "logical reasoning",
    "ethics": "ethics",
    "role_play": "role-play chat",
    "creative_writing": "creative writing",
    "chinese": "Chinese",
    "math": "CoT grad-math",
    "ood": "out of domain",
}


# --- tasks, cells ---------------------------------------------------------------------------------------------


def tasks_of(rows: list[dict], ability: str) -> list[str]:
    return sorted({r["task"] for r in rows if r["ability"] == ability})


def abilities(rows: list[dict]) -> list[str]:
    """The abilities the rows hold, in DoIT's order, out-of-domain last."""
    seen = {r["ability"] for r in rows}
    return [a for a in P3_ABILITIES if a in seen]


def in_domain(rows: list[dict]) -> list[str]:
    return [t for a in abilities(rows) if a != "ood" for t in tasks_of(rows, a)]


def _cell(rows: list[dict], arm: str, fraction: float | None, task: str, metric: str = METRIC) -> Cell | None:
    return series(rows, arm, task, metric).get(fraction_key(fraction))


def fractions(rows: list[dict], arm: str) -> list[float]:
    """The arm's grid fractions, smallest first."""
    return sorted({fraction_key(r["fraction"]) for r in rows if r["arm"] == arm and r["fraction"]})


def n_total(rows: list[dict], arm: str, fraction: float) -> int:
    """Training rows of the arm's run at ``fraction`` (0 when unknown)."""
    return max(
        (r["n_examples"] for r in rows if r["arm"] == arm and fraction_key(r["fraction"]) == fraction), default=0
    )


def per_ability(rows: list[dict], arm: str, fraction: float) -> int | None:
    """Training rows per ability of a curated run (its total over the abilities it trains); None when unknown."""
    n, k = n_total(rows, arm, fraction), len([a for a in abilities(rows) if a != "ood"])
    return round(n / k) if n and k else None


# --- claims -----------------------------------------------------------------------------------------------------


def group_trend(claim: str, rows: list[dict], arm: str, tasks: list[str], delta: float, sign: int = 1) -> Claim:
    """Slope of the tasks' mean score on log2(training rows) over the arm's distinct runs (>= 3), per doubling."""
    test = (
        f"{'−' if sign < 0 else ''}OLS slope of the mean score on log2(n train) over distinct {arm} runs, per doubling"
    )
    if not tasks:
        return Claim(claim, "trend", test, (), None, delta, why="no rows for this ability on this profile")
    kept, why, note = claim_kit.distinct_points(rows, arm, tasks[0], METRIC)
    if not why and len(kept) < stats.MIN_TREND_POINTS:
        why = f"{len(kept)} distinct run(s) with a score (needs {stats.MIN_TREND_POINTS})"
    if why:
        return Claim(claim, "trend", test, (), None, delta, why=why, note=note)
    cells = series(rows, arm, tasks[0], METRIC)
    fit = stats.slope([math.log2(max(cells[f].n_examples, 1)) for f in kept])
    refs = tuple(CellRef(arm, f, t, METRIC) for f in kept for t in tasks)
    shape = (len(kept), len(tasks))
    return Claim(
        claim, "trend", test, refs, lambda m: sign * fit(m.reshape(*m.shape[:-1], *shape).mean(-1)), delta, note=note
    )


def _within(claim: str, base: Claim, delta: float, what: str) -> Claim:
    """``base``'s statistic inside ±delta: two one-sided tests, both reproduced for the claim to be."""
    if base.why:
        return Claim(claim, base.kind, f"|{what}| < {delta:g}", (), None, delta, why=base.why, note=base.note)
    upper = dataclasses.replace(
        base, claim=f"{what} < +{delta:g}", test=f"{delta:g} − {what}", statistic=lambda m: delta - base.statistic(m)
    )
    lower = dataclasses.replace(
        base, claim=f"{what} > −{delta:g}", test=f"{what} + {delta:g}", statistic=lambda m: base.statistic(m) + delta
    )
    # delta 0 on the parts: a one-sided bound is decided by the sign of its CI alone
    return claim_kit.composite(claim, [dataclasses.replace(upper, delta=0.0), dataclasses.replace(lower, delta=0.0)])


def grows(rows: list[dict], ability: str) -> Claim:
    return group_trend(f"{NAMES[ability]} grows with data", rows, "curated", tasks_of(rows, ability), DELTA_SLOPE)


def stays_flat(rows: list[dict], ability: str) -> Claim:
    trend = group_trend("", rows, "curated", tasks_of(rows, ability), 0.0)
    return _within(f"{NAMES[ability]} stays flat with data", trend, DELTA_SLOPE, "slope")


def saturates(rows: list[dict]) -> Claim:
    claim = "creative writing saturates early: most of its gain by the middle volume"
    test = "[(s_mid − s_low) − (s_high − s_mid)] / 2 over the curated runs"
    tasks = tasks_of(rows, "creative_writing")
    if not tasks:
        return Claim(claim, "plateau", test, (), None, DELTA_PLATEAU, why="no creative-writing rows")
    refs, why, note = claim_kit.ends_and_middle(rows, "curated", tasks[0], METRIC)
    if why:
        return Claim(claim, "plateau", test, (), None, DELTA_PLATEAU, why=why, note=note)
    return Claim(claim, "plateau", test, refs, stats.early_minus_late, DELTA_PLATEAU, note=note)


def math_marginal(rows: list[dict]) -> Claim:
    claim = "CoT math gains only marginally (ours: less than code)"
    test = "slope(code) − slope(math) over the curated runs, per doubling"
    code = group_trend("", rows, "curated", tasks_of(rows, "code"), 0.0)
    maths = group_trend("", rows, "curated", tasks_of(rows, "math"), 0.0)
    why = code.why or maths.why
    if why:
        return Claim(claim, "difference", test, (), None, DELTA_SLOPE, why=why)
    k = len(code.cells)
    stat = lambda m: code.statistic(m[..., :k]) - maths.statistic(m[..., k:])  # noqa: E731
    return Claim(claim, "difference", test, code.cells + maths.cells, stat, DELTA_SLOPE)


def _largest_shared(rows: list[dict]) -> float | None:
    shared = set(fractions(rows, "curated")) & set(fractions(rows, "synthetic"))
    return max(shared) if shared else None


def curated_beats_synthetic(rows: list[dict], tasks: list[str], where: str) -> Claim:
    claim = f"curated data beats synthetic data at equal volume ({where})"
    test = "mean over tasks of s(curated) − s(synthetic), the largest volume both arms ran"
    top = _largest_shared(rows)
    if not tasks or top is None:
        return Claim(claim, "difference", test, (), None, DELTA_GAP, why="no curated and synthetic runs at one volume")
    refs = tuple(CellRef(arm, top, t, METRIC) for arm in ("curated", "synthetic") for t in tasks)
    k = len(tasks)
    return Claim(claim, "difference", test, refs, lambda m: m[..., :k].mean(-1) - m[..., k:].mean(-1), DELTA_GAP)


def synthetic_near_chance(rows: list[dict]) -> Claim:
    claim = "synthetic data stays near chance (in-domain mean, largest volume)"
    tasks = in_domain(rows)
    top = max(fractions(rows, "synthetic"), default=None)
    what = "s(synthetic) − chance"
    if not tasks or top is None:
        return Claim(claim, "difference", what, (), None, DELTA_NEAR_CHANCE, why="no synthetic runs")
    # chance is a constant of the items (not resampled): the mean over tasks of each task's mean chance
    level = mean_chance(rows, tasks)
    if level is None:
        return Claim(claim, "difference", what, (), None, DELTA_NEAR_CHANCE, why="a task has no chance baseline")
    refs = tuple(CellRef("synthetic", top, t, METRIC) for t in tasks)
    gap = Claim(claim, "difference", what, refs, lambda m: m.mean(-1) - level, 0.0)
    return _within(claim, gap, DELTA_NEAR_CHANCE, what)


def mean_chance(rows: list[dict], tasks: list[str]) -> float | None:
    """The mean over ``tasks`` of each task's chance level (its ``chance`` rows); None when a task has none."""
    per_task = []
    for task in tasks:
        values = [r["score"] for r in rows if r["task"] == task and r.get("metric") == "chance" and r["status"] == "ok"]
        if not values:
            return None
        per_task.append(sum(values) / len(values))
    return sum(per_task) / len(per_task) if per_task else None


def synthetic_flat(rows: list[dict]) -> Claim:
    trend = group_trend("", rows, "synthetic", in_domain(rows), 0.0)
    return _within(
        "synthetic data shows no consistent growth with volume (in-domain mean)", trend, DELTA_SLOPE, "slope"
    )


SIZE_CLAIM = "code, biology and history grow with model size; dialogue understanding and logic do not"
SIZE_GROWS = ("code", "biology", "history")
SIZE_FLAT = ("understanding", "reasoning")


def size_claim(rows: list[dict]) -> Claim:
    bases = sorted({r.get("base_model") for r in rows if r.get("base_model")})
    why = (
        f"one model size here ({', '.join(bases) or 'one base'}): results/p3/across_sizes.md compares every base "
        "found (gpu: make p3 ARGS='model.base=hfl/chinese-llama-2-13b' lands in results/p3/<base>/; the cpu "
        "profile has one small model offline)"
    )
    return Claim(SIZE_CLAIM, "difference", "larger minus smaller base, largest curated volume", (), None, 0, why=why)


def across_sizes(rows_by_base: dict[str, list[dict]]) -> list[Verdict]:
    """The size findings over every base's rows (one profile), smallest and largest base by parameter count: for
    code, biology and history the larger base scores higher (largest curated volume); for dialogue understanding
    and logic the two are within ±δ. Inconclusive below two bases of known size."""
    from kit.estimate import arch_of

    sizes = {b: arch_of(b) for b in rows_by_base}
    known = sorted((a.params(), b) for b, a in sizes.items() if a is not None)
    if len(known) < 2:
        return [with_statement(stats.evaluate(size_claim([r for rs in rows_by_base.values() for r in rs]), []))]
    (_, small), (_, big) = known[0], known[-1]
    rows = [{**r, "arm": f"{r['arm']}|{b}"} for b in (small, big) for r in rows_by_base[b]]
    top = min(max(fractions(rows_by_base[b], "curated"), default=0.0) for b in (small, big))
    parts = []
    for ability in SIZE_GROWS + SIZE_FLAT:
        tasks = sorted(set(tasks_of(rows_by_base[small], ability)) & set(tasks_of(rows_by_base[big], ability)))
        name = f"{NAMES[ability]}: {big} − {small}"
        refs = tuple(CellRef(f"curated|{b}", top, t, METRIC) for b in (big, small) for t in tasks)
        k = len(tasks)
        diff = Claim(
            name,
            "difference",
            "s(larger) − s(smaller)",
            refs,
            lambda m, k=k: m[..., :k].mean(-1) - m[..., k:].mean(-1),
            DELTA_GAP,
            why="" if tasks else "no rows on both bases",
        )
        parts.append(
            diff if ability in SIZE_GROWS else _within(f"{name} within ±{DELTA_GAP:g}", diff, DELTA_GAP, "difference")
        )
    combined = claim_kit.composite(SIZE_CLAIM, parts)
    verdicts = [stats.evaluate(p, rows) for p in parts]
    return [with_statement(stats.combine(combined, verdicts)), *verdicts]


def write_across(rows_by_base: dict[str, list[dict]], out_dir: Path) -> list[Path]:
    """results/p3/across_sizes.md and .json: the size findings over every base found."""
    bases = ", ".join(rows_by_base) or "none"
    return md.write_verdicts(
        across_sizes(rows_by_base), f"{SIZE_CLAIM} (bases: {bases})", out_dir / "across_sizes", "P3"
    )


def checks(rows: list[dict]) -> list[tuple[str, list[Claim]]]:
    """The claims testable on one profile's rows, by section (title, claims)."""
    growth = [grows(rows, a) for a in GROWS] + [stays_flat(rows, a) for a in FLAT]
    growth += [saturates(rows), math_marginal(rows)]
    ood = tasks_of(rows, "ood")
    return [
        ("growth with data volume (curated arm)", growth),
        (
            "curated vs synthetic data",
            [curated_beats_synthetic(rows, in_domain(rows), "in-domain mean"), synthetic_near_chance(rows)]
            + [synthetic_flat(rows)],
        ),
        (
            "transfer out of domain (held-out subjects, never trained on)",
            [
                group_trend(
                    "the gains transfer out of domain (grow with curated data)", rows, "curated", ood, DELTA_SLOPE
                ),
                curated_beats_synthetic(rows, ood, "out of domain"),
            ],
        ),
        ("model size", [size_claim(rows)]),
    ]


_FINDING_OF = {
    "grows with data": "grows",
    "stays flat": "flat",
    "creative writing saturates": "saturates",
    "CoT math": "math_marginal",
    "curated data beats synthetic data at equal volume (in-domain": "curated_beats_synthetic",
    "curated data beats synthetic data at equal volume (out": "ood_curated_beats_synthetic",
    "synthetic data stays near chance": "synthetic_near_chance",
    "synthetic data shows no": "synthetic_flat",
    "the gains transfer": "ood_grows",
    "code, biology and history grow with model size": "size",
}


def _findings() -> dict[str, str]:
    with open(REFERENCE / "p3_findings.csv", newline="", encoding="utf-8") as f:
        return {r["finding"]: r["statement"] for r in csv.DictReader(line for line in f if not line.startswith("#"))}


def with_statement(verdict: Verdict) -> Verdict:
    """The verdict with DoIT's statement of the finding in the paper column (its curves are figures only)."""
    statements = _findings()
    finding = next(f for key, f in _FINDING_OF.items() if key in verdict.claim)
    return dataclasses.replace(verdict, paper_basis="figure only: " + statements[finding])


# --- Tables 2-3: the paper's own numbers ------------------------------------------------------------------------


def paper_rows() -> list[dict]:
    """Tables 2-3 as rows: arm = DoIT's data mix, task = ``<benchmark>@<shots>shot-e<epoch>``, score in %."""
    with open(REFERENCE / "p3.csv", newline="", encoding="utf-8") as f:
        found = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return [
        {
            "arm": r["model"],
            "fraction": None,
            "task": f"{r['benchmark']}@{r['shots']}shot-e{r['epoch']}",
            "score": float(r["accuracy"]),
        }
        for r in found
    ]


FINAL_EPOCH = 15  # the kit takes a run's final epoch, so the tables' claims read the final one too
TABLE_CLAIMS = (
    # (claim, arm a, arm b, benchmarks): the mean over the benchmarks' 0- and 5-shot cells of a − b at epoch 15
    ("Reconstruct beats Baseline at equal volume (10k) on AGIEval", "reconstruct", "baseline", ("agieval_zh",)),
    ("Maximum (40k) beats Baseline (10k)", "maximum", "baseline", ("agieval_zh", "cmmlu")),
    ("adding 41k synthetic rows to Maximum hurts", "maximum", "maximum_plus_41k", ("agieval_zh", "cmmlu")),
)
NOT_RUN = (
    "not run by recipes/p3.yaml: it needs DoIT's Reconstruct/Maximum/Mix data (curated/full) and the AGIEval and "
    "CMMLU harnesses, which neither profile runs"
)


def table_claims() -> list[tuple[Claim, Claim]]:
    """(ours, the paper's) per Tables 2-3 claim: ours says why it is not run; the paper's reads its cells."""
    out = []
    for claim, a, b, benchmarks in TABLE_CLAIMS:
        settings = [f"{bench}@{shots}shot-e{FINAL_EPOCH}" for bench in benchmarks for shots in (0, 5)]
        test = f"mean over {', '.join(settings)} of s({a}) − s({b}) (accuracy / 100)"
        refs = tuple(CellRef(arm, None, s, METRIC) for s in settings for arm in (a, b))
        paper = Claim(claim, "difference", test, refs, lambda m: (m[..., 0::2] - m[..., 1::2]).mean(-1), DELTA_TABLE)
        out.append((Claim(claim, "difference", test, (), None, DELTA_TABLE, why=NOT_RUN), paper))
    return out


# --- sections ---------------------------------------------------------------------------------------------------


def sections(rows: list[dict]) -> list[tuple[str, list[Verdict]]]:
    where = f"profile {only_profile(rows)}; {_bases(rows)}; metric: DoIT's per-item score"
    out = [
        (f"{TITLE}: {title} ({where})", [with_statement(stats.evaluate(c, rows)) for c in found])
        for title, found in checks(rows)
    ]
    paper = paper_rows()
    tables = [stats.with_paper(stats.evaluate(o, rows), stats.evaluate_paper(p, paper)) for o, p in table_claims()]
    out.append((f"{TITLE}: Tables 2-3, AGIEval and CMMLU (the paper's own numbers; {where})", tables))
    return out


def _bases(rows: list[dict]) -> str:
    found = sorted({r.get("base_model") for r in rows if r.get("base_model")})
    return "base " + ", ".join(found) if found else "one base model"


# --- table ------------------------------------------------------------------------------------------------------


def _chance(rows: list[dict], tasks: list[str]) -> str:
    level = mean_chance(rows, tasks)
    return md.DASH if level is None else f"{level:.3f}"


def _mean_ci(rows: list[dict], arm: str, fraction: float | None, tasks: list[str]):
    refs = [CellRef(arm, fraction_key(fraction), t, METRIC) for t in tasks]
    return stats.combination_ci(refs, rows, [1 / len(tasks)] * len(tasks)) if tasks else None


def table(rows: list[dict]) -> str:
    """Per ability: chance, the base, each curated and synthetic volume (score ± stderr), the curated slope per
    doubling and curated − synthetic at the largest volume, with paired-bootstrap 95% CIs; then the in-domain and
    out-of-domain means."""
    notes = md.Footnotes()
    cur, syn = fractions(rows, "curated"), fractions(rows, "synthetic")
    header = ["ability", "task", "chance", "untrained base"]
    header += [f"curated {per_ability(rows, 'curated', f) or '?'}/ability" for f in cur]
    header += [f"synthetic {n:,}" if (n := n_total(rows, "synthetic", f)) else "synthetic ?" for f in syn]
    header += ["curated slope per doubling [95% CI]", "curated − synthetic, largest volume [95% CI]"]
    lines = []
    for ability in abilities(rows):
        for task in tasks_of(rows, ability):
            line = [NAMES[ability], f"`{task}`", _chance(rows, [task])]
            line.append(md.ours(_cell(rows, "base", 0.0, task), notes, f"base, `{task}`", show_n=False))
            line += [
                md.ours(_cell(rows, "curated", f, task), notes, f"curated {f}, `{task}`", show_n=False) for f in cur
            ]
            line += [
                md.ours(_cell(rows, "synthetic", f, task), notes, f"synthetic {f}, `{task}`", show_n=False) for f in syn
            ]
            lines.append(line + [_claim_ci(grows_any(rows, [task]), rows), _claim_ci(_gap(rows, [task]), rows)])
    groups = [("in-domain mean", in_domain(rows)), ("out-of-domain mean", tasks_of(rows, "ood"))]
    for name, tasks in groups:
        if not tasks:
            continue
        line = [
            f"**{name}**",
            f"{len(tasks)} tasks",
            _chance(rows, tasks),
            md.estimate(_mean_ci(rows, "base", 0.0, tasks)),
        ]
        line += [md.estimate(_mean_ci(rows, "curated", f, tasks)) for f in cur]
        line += [md.estimate(_mean_ci(rows, "synthetic", f, tasks)) for f in syn]
        lines.append(line + [_claim_ci(grows_any(rows, tasks), rows), _claim_ci(_gap(rows, tasks), rows)])
    rule = ["---", "---", "---:"] + ["---:"] * (len(header) - 3)
    opening = (
        f"**{TITLE}.** Profile `{only_profile(rows)}`, {_bases(rows)}. Cells: DoIT's per-item score (the gold's "
        "rank against two distractors by perplexity for code, creative writing and role-play; the authors' parsers "
        "otherwise) ± stderr over the test items. Curated runs train every ability together (n per ability in the "
        "header); synthetic runs train generic instructions at the same totals. Means: unweighted over tasks, with "
        'paired-bootstrap 95% CIs. DoIT\'s own "overall" divides the sum of its file scores by a count that includes '
        "the chance entries, so its overall curve is half the mean of its abilities (evaluate/scorer.py); trends are "
        f"unaffected, and the means here are plain means. Task versions: "
        + ", ".join(f"`{t}` v{v}" for t, v in task_versions(rows).items())
        + "."
    )
    return md.render(opening, header, rule, lines, notes)


def grows_any(rows: list[dict], tasks: list[str]) -> Claim:
    return group_trend("slope", rows, "curated", tasks, DELTA_SLOPE)


def _gap(rows: list[dict], tasks: list[str]) -> Claim:
    return curated_beats_synthetic(rows, tasks, "table")


def _claim_ci(claim: Claim, rows: list[dict]) -> str:
    if claim.why:
        return md.DASH
    v = stats.evaluate(claim, rows)
    return md.DASH if v.statistic is None else md.estimate((v.statistic, v.ci_low, v.ci_high), signed=True)


# --- figure -----------------------------------------------------------------------------------------------------


def plot(rows: list[dict], path: Path | str) -> None:
    """One panel per ability and one for the in-domain mean: score against training rows per ability (log scale),
    curated solid and synthetic dashed with 95% bars, the chance level dotted, the untrained base as a grey line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [(NAMES[a], tasks_of(rows, a)) for a in abilities(rows)] + [("in-domain mean", in_domain(rows))]
    cols = min(4, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.6 * nrows + 0.8))
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    k = max(1, len([a for a in abilities(rows) if a != "ood"]))
    for ax, (name, tasks) in zip(axes, panels, strict=False):
        for arm, style in (
            ("curated", {"marker": "o", "color": "tab:blue"}),
            ("synthetic", {"marker": "s", "ls": "--", "color": "tab:red"}),
        ):
            points = []
            for f in fractions(rows, arm):
                ci = _mean_ci(rows, arm, f, tasks)
                n = n_total(rows, arm, f)
                if ci is not None and n:
                    points.append((n / k, ci[0], (ci[2] - ci[1]) / 2))
            if points:
                figures.line_with_ci(ax, points, label=arm, **style)
        base = _mean_ci(rows, "base", 0.0, tasks)
        if base is not None:
            ax.axhline(base[0], color="0.5", lw=1, label="untrained base")
        chance = mean_chance(rows, tasks)
        if chance is not None:
            ax.axhline(chance, color="0.3", ls=":", lw=1, label="chance")
        ax.set_xscale("log", base=4)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6)
    fig.supxlabel("training rows per ability (synthetic: the same total)", fontsize=8)
    fig.suptitle(
        f"{TITLE}\nProfile {only_profile(rows)}, {_bases(rows)}; DoIT's per-item score, ±95% CI. DoIT's own curves are "
        "figures (its Figs. 2-6): compare trends, not levels.",
        fontsize=8,
    )
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.08, top=0.86, wspace=0.25, hspace=0.45)
    figures.save(fig, path)
