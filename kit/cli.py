"""Command line: ``python -m kit validate`` checks every shipped recipe; ``python -m kit run RECIPE
[dotted.key=value ...]`` runs one; ``python -m kit ls`` lists tasks, sources, recipes and cached runs. An installed
copy (``pip install .``) is the same program as ``sftmix``. ``kit/`` logs; this module prints."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import textwrap
from pathlib import Path

from kit.estimate import DEFAULT_GPU_CLASS, GPU_CLASSES
from kit.export.bundle import ExportNotFound
from kit.recipe import PROFILES, RecipeError, load_recipe, shipped_recipes
from kit.runs import results_root
from kit.sweep import ENGINES


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.recipes] or shipped_recipes()
    failed = 0
    for path in paths:
        for profile in PROFILES:
            try:
                recipe = load_recipe(path, profile=profile)
            except RecipeError as exc:
                failed += 1
                print(f"FAIL {path} [{profile}]\n{exc}")
                continue
            shape = f"{len(recipe.runs())} run(s)" if recipe.grid else f"{len(recipe.data.mixture)} source(s)"
            print(f"ok   {path} [{profile}]: {shape}, {len(recipe.eval.tasks)} eval task(s)")
    print(f"{len(paths)} recipe(s), {failed} failure(s)")
    return 2 if failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe, args.overrides, profile=args.profile)  # fails before any model loads
    from kit.pipeline import run_recipe

    summary = run_recipe(recipe, log_samples=args.log_samples)
    print(
        json.dumps(
            {
                "run_id": summary["run_id"],
                "scores": _brief(summary["scores"]),
                "baseline": _brief(summary["baseline_scores"]),
                "parity": summary["parity"],
            },
            indent=2,
        )
    )
    failed = [msg for check in args.check for msg in CHECKS[check](summary)]
    for msg in failed:
        print(f"check failed: {msg}", file=sys.stderr)
    return 1 if failed else 0


def _check_parity(summary: dict) -> list[str]:
    p = summary["parity"]
    return (
        []
        if p["passed"]
        else [f"parity: {p['total'] - p['matched']}/{p['total']} probes differ (see the run's parity.json)"]
    )


def _check_improves(summary: dict) -> list[str]:
    before = summary["baseline_scores"]
    if not before:
        return ["improves: the recipe has no baseline (set eval.baseline: true)"]
    return [
        f"improves: {task} scored {after['score']} after training, not above {before[task]['score']} before"
        for task, after in summary["scores"].items()
        if after["score"] <= before[task]["score"]
    ]


CHECKS = {"parity": _check_parity, "improves": _check_improves}


def cmd_sweep(args: argparse.Namespace) -> int:
    """Plan, then (unless --dry) run every run of a grid recipe and write its report."""
    from kit.plan import format_plan, measured_speed, plan
    from kit.sweep import run_sweep

    recipe = load_recipe(args.recipe, args.overrides, profile=args.profile)
    speed = measured_speed(recipe.profile, recipe, args.gpu_class)
    if args.engine == "ray":  # the plan with the run ids the cluster's training workers make, and its waves
        from kit.cluster import RayEngine

        with RayEngine(args.address, args.max_retries) as cluster:
            print(format_plan(recipe, plan(recipe, speed, cluster.hardware), speed, cluster.hardware), flush=True)
            if args.dry:
                return 0
            rows = run_sweep(recipe, _results_dir(recipe, args.overrides), args.log_samples, "ray", cluster=cluster)
    else:
        print(format_plan(recipe, plan(recipe, speed), speed), flush=True)
        if args.dry:
            return 0
        rows = run_sweep(recipe, _results_dir(recipe, args.overrides), log_samples=args.log_samples)
    out = _results_dir(recipe, args.overrides)
    failed = sum(r["status"] == "failed" for r in rows)
    _write_report(recipe.name, rows, out)
    _write_across(recipe.name)
    print(f"{recipe.name}: {len(rows)} result rows, {failed} failed")
    return 1 if failed else 0


def _results_dir(recipe, overrides: list[str]) -> Path:
    """results/<recipe>/, or results/<recipe>/<base>/ when the command line names another base model, so that a
    rerun with another model family lands beside the first instead of over it."""
    from kit.runs import recipe_results_dir

    other_base = any(o.split("=", 1)[0].strip() == "model.base" for o in overrides)
    return recipe_results_dir(recipe.name, recipe.model.base if other_base else None)


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild tables, plots and verdicts from the run summaries stored under results/."""
    from kit.report import REPORTS
    from kit.report.summary import stored_rows

    names = args.names or [n for n in REPORTS if _result_folders(n)]
    for name in names:
        folders = _result_folders(name)
        if not folders:
            print(f"{name}: no stored runs under {results_root() / name / 'runs'}; run `make {name}` first")
            continue
        for folder in folders:
            _write_report(name, stored_rows(name, folder), folder)
        _write_across(name)
    return 0


def _result_folders(name: str) -> list[Path]:
    """The recipe's result folders holding run summaries: results/<name>/ and one per other base model."""
    top = results_root() / name
    found = [top] + sorted(p for p in top.glob("*") if p.is_dir() and p.name != "runs")
    return [folder for folder in found if any((folder / "runs").glob("*.json"))]


def _write_across(name: str) -> None:
    """The report's summary over every base model's results (P2's cross-family claim), where it has one."""
    from kit.report import REPORTS
    from kit.report.rows import only_profile
    from kit.report.summary import stored_rows

    report = REPORTS.get(name)
    if report is None or report.across is None:
        return
    by_base: dict[str, list[dict]] = {}
    for folder in _result_folders(name):
        rows = stored_rows(name, folder)
        base = next((r["base_model"] for r in rows if r.get("base_model")), folder.name)
        by_base[base] = rows
    profiles = {only_profile(rows) for rows in by_base.values()}
    if len(profiles) > 1:
        print(f"{name}: results of several profiles ({', '.join(sorted(profiles))}): no comparison across bases")
        return
    for path in report.across(by_base, results_root() / name):
        print(f"wrote {path}")


def cmd_bench(args: argparse.Namespace) -> int:
    from kit.bench import main as bench

    result = bench(results_root() / "bench", skip_train=args.skip_train)
    print((results_root() / "bench" / "bench.md").read_text())
    print(f"bench finished in {result['wall_seconds']} s")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """A scored run's GGUF, model card and (with --ollama) Modelfile, in a folder of its own."""
    from kit.export import bundle

    scored = bundle.find(args.run, args.quant)
    for path in bundle.write(scored, Path(args.to), ollama=args.ollama):
        print(f"wrote {path}")
    if args.ollama:
        print(f"next: cd {args.to} && ollama create sft-{scored.run.id} -f Modelfile && ollama run sft-{scored.run.id}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A REPL over a scored GGUF, decoding as the evaluation did."""
    from kit import chat, env
    from kit.export import bundle

    scored = bundle.find(args.run, args.quant)
    threads = env.n_threads(args.threads)
    chat.repl(scored.gguf, n_ctx=scored.n_ctx, n_threads=threads, max_tokens=args.max_tokens, system=args.system)
    return 0


def _write_report(name: str, rows: list[dict], folder: Path) -> None:
    from kit.report import REPORTS, write_report

    if name not in REPORTS:
        return
    for path in write_report(name, rows, folder):
        print(f"wrote {path}")


# --- ls: what the kit offers and what it has cached (kit/listing.py gathers, this prints) ----------------------

WIDTH = 120  # lines are cut to this, so a long description never wraps a table


def cmd_ls(args: argparse.Namespace) -> int:
    from kit import listing

    gather = {
        "tasks": listing.tasks,
        "sources": listing.sources,
        "recipes": listing.recipes,
        "runs": listing.cached_runs,
    }
    chosen = [args.what] if args.what else list(gather)
    found = {what: gather[what]() for what in chosen}
    if args.json:
        print(json.dumps(found[args.what] if args.what else found, indent=1))
    elif args.what:
        LS_PRINTERS[args.what](found[args.what])
    else:
        _print_summary(found)
    return 0


def _fit(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 3] + "..."


def _table(header: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell; the last column (a description) is cut at WIDTH."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print(_fit("  ".join([*(str(c).ljust(w) for c, w in zip(row, widths)), str(row[-1])]).rstrip()))


def _print_tasks(tasks: list[dict]) -> None:
    rows = [[t["name"], t["version"], t["ability"] or "by subset", _subsets(t), t["about"]] for t in tasks]
    _table(["task", "version", "ability", "subsets", "what it is"], rows)
    for t in tasks:
        if t["subsets"]:
            print(
                "\n" + textwrap.fill(f"{t['name']} subsets: {', '.join(t['subsets'])}", WIDTH, subsequent_indent="  ")
            )
    print("\na recipe names a task under eval.tasks (task:, and subset:/split: where it has them)")


def _subsets(task: dict) -> str:
    return f"{len(task['subsets'])} (split {'/'.join(task['splits'])})" if task["subsets"] else "-"


def _print_sources(sources: dict) -> None:
    print(f"source kinds: {', '.join(k + ':' for k in sources['kinds'])}\n")
    _table(
        ["built-in generator", "version", "what it is"],
        [[b["source"], b["version"], b["about"]] for b in sources["builtin"]],
    )
    print()
    rows = [[h["source"], h["format"], h["config"] or "-"] for h in sources["hub"]]
    _table(["hub dataset (format known)", "format", "config"], rows)
    print(f"\nformats (format: of an hf: or local: source): {', '.join(sources['formats'])}")


def _print_recipes(recipes: list[dict]) -> None:
    rows = [[r["name"], _per_profile(r["runs"]), r["about"]] for r in recipes]
    _table(["recipe", "runs per profile", "question"], rows)
    if recipes:
        print(f"\nshipped in {Path(recipes[0]['path']).parent}; `plan NAME` shows one's runs and cost")


def _per_profile(runs: dict) -> str:
    return " ".join(f"{profile}:{n}" for profile, n in runs.items())


def _print_runs(records: list[dict]) -> None:
    from kit.runs import kit_home

    if not records:
        print(f"no cached runs under {kit_home()}")
        return
    for record in records:
        print(_fit(_run_line(record)))
        for export in record["exports"]:
            for e in export["evals"]:
                print(_fit(f"    {e['task']}{' dense' if e['pass'] == 'dense' else ''}: {_estimate(e)}"))
    print(f"\n{len(records)} cached under {kit_home()} (scores: mean ± standard error, n items)")


def _run_line(record: dict) -> str:
    exported = ", ".join(e["quant"] or e["id"] for e in record["exports"]) or "not exported"
    if record["kind"] == "baseline":
        return f"{record['id']}  untrained base model (baseline)  {exported}"
    trained = f"trained ({record['steps']} steps)" if record["trained"] else "not trained"
    rows = "?" if record["rows"] is None else record["rows"]
    return (
        f"{record['id']}  {record['base']}  stage {record['stage']}  {rows} rows "
        f"[{'; '.join(record['mixture'])}]  {trained}  {exported}"
    )


def _estimate(e: dict) -> str:
    if e["score"] is None:
        return "no score"
    spread = "" if e["stderr"] is None else f" ± {e['stderr']:.3f}"
    n = "" if e["n"] is None else f" (n={e['n']})"
    return f"{e['score']:.3f}{spread}{n}"


LS_PRINTERS = {"tasks": _print_tasks, "sources": _print_sources, "recipes": _print_recipes, "runs": _print_runs}


def _print_summary(found: dict) -> None:
    tasks, sources, recipes, records = found["tasks"], found["sources"], found["recipes"], found["runs"]
    print(_fit(f"tasks ({len(tasks)}): {', '.join(t['name'] for t in tasks)}"))
    print(
        _fit(
            f"sources: {len(sources['builtin'])} built-in generators, {len(sources['hub'])} known hub datasets, "
            f"formats {', '.join(sources['formats'])}"
        )
    )
    cpu = [f"{r['name']} ({r['runs'].get('cpu', '?')})" for r in recipes]
    print(_fit(f"recipes ({len(recipes)}, runs on the cpu profile): {', '.join(cpu)}"))
    stages = [r for r in records if r["kind"] == "run"]
    passes = sum(len(e["evals"]) for r in records for e in r["exports"])
    print(
        f"runs: {len(stages)} cached stages ({sum(r['trained'] for r in stages)} trained, "
        f"{sum(bool(r['exports']) for r in stages)} exported), {len(records) - len(stages)} baselines, "
        f"{passes} scores"
    )
    print("details: ls tasks | ls sources | ls recipes | ls runs (--json for all of it)")


def _brief(scores: dict | None) -> dict | None:
    return None if scores is None else {k: v["score"] for k, v in scores.items()}


LOG_SAMPLES_HELP = "also write every scored item (prompt, completion, answer, score) to results/<recipe>/samples/"


def global_flags(suppress: bool) -> argparse.ArgumentParser:
    """Flags every command takes, before or after its name. A command's copy has no defaults (SUPPRESS), so that a
    flag given before the command is not reset by the command's parser."""
    unset = {"default": argparse.SUPPRESS} if suppress else {}
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument(
        "--home", metavar="DIR", **unset, help="the cache of models, runs and GGUFs (beats KIT_HOME; ~/.cache/sftkit)"
    )
    flags.add_argument(
        "--results",
        metavar="DIR",
        **unset,
        help="where tables, plots and run summaries go (beats KIT_RESULTS; default: results/ of the checkout, "
        "or for an installed copy ./results of the working directory)",
    )
    loud = flags.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true", **unset, help="debug logging")
    loud.add_argument("-q", "--quiet", action="store_true", **unset, help="warnings and errors only, no progress bars")
    return flags


def apply_global_flags(args: argparse.Namespace) -> None:
    """--home/--results become KIT_HOME/KIT_RESULTS before any command reads them (worker processes inherit them);
    -v/-q set the log level, and -q also turns tqdm's and the hub's progress bars off."""
    for flag, var in (("home", "KIT_HOME"), ("results", "KIT_RESULTS")):
        if getattr(args, flag, None):
            os.environ[var] = str(Path(getattr(args, flag)).expanduser().resolve())
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger().setLevel(level)  # also where a handler was already installed (basicConfig then does nothing)
    if args.quiet:
        for var in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
            os.environ[var] = "1"


def prog_name() -> str:
    """``sftmix`` when run as the installed console script, ``python -m kit`` otherwise."""
    name = Path(sys.argv[0]).name
    return "python -m kit" if name in ("__main__.py", "-c", "") else name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=prog_name(), description=__doc__, parents=[global_flags(False)])
    common = [global_flags(True)]
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser = functools.partial(sub.add_parser, parents=common)  # every command takes the global flags
    p = sub.add_parser("validate", help="load every shipped recipe (or the given ones) under both profiles")
    p.add_argument("recipes", nargs="*")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("run", help="run one recipe")
    p.add_argument("recipe")
    p.add_argument("overrides", nargs="*", help="dotted.key=value, e.g. train.epochs=2")
    p.add_argument("--profile", choices=PROFILES, help="default: the recipe's, else the hardware's")
    p.add_argument(
        "--check",
        action="append",
        default=[],
        choices=("parity", "improves"),
        help="exit 1 unless the GGUF passed parity / every score beats the untrained baseline",
    )
    p.add_argument("--log-samples", action="store_true", help=LOG_SAMPLES_HELP)
    p.set_defaults(func=cmd_run)
    for name, func, helptext in (
        ("sweep", cmd_sweep, "plan and run a grid recipe, then write its report"),
        ("plan", cmd_sweep, "print a recipe's plan (runs, cache, time estimate) only"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("recipe")
        p.add_argument("overrides", nargs="*", help="dotted.key=value")
        p.add_argument("--profile", choices=PROFILES)
        p.add_argument("--dry", action="store_true", default=name == "plan", help="print the plan, run nothing")
        p.add_argument(
            "--gpu-class",
            choices=sorted(GPU_CLASSES),
            help=f"the GPU a gpu-profile plan estimates for (default {DEFAULT_GPU_CLASS}; kit/estimate.py)",
        )
        p.add_argument("--log-samples", action="store_true", help=LOG_SAMPLES_HELP)
        p.add_argument(
            "--engine",
            choices=ENGINES,
            default="local",
            help="local: node after node on this machine; ray: across a Ray cluster, each node as soon as what it "
            "needs is built (kit/cluster.py; the plan adds the critical path)",
        )
        p.add_argument("--address", help="the Ray cluster to use (default: RAY_ADDRESS, else a local one)")
        p.add_argument(
            "--max-retries",
            type=int,
            default=3,
            help="times a Ray task whose worker or node died is retried (default 3; the kit's own errors are not)",
        )
        p.set_defaults(func=func)
    p = sub.add_parser("bench", help="measure eval and training speed side by side (results/bench/)")
    p.add_argument("--skip-train", action="store_true", help="only the evaluation half")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("report", help="rebuild tables, plots and verdicts from stored results")
    p.add_argument("names", nargs="*", help="e.g. rq1 rq2 (default: every one with stored runs)")
    p.set_defaults(func=cmd_report)
    run_help = "a summary under results/ (rq1/code-f1, or its path) or a run id (a prefix of 4+ characters)"
    p = sub.add_parser("export", help="copy a scored run's GGUF with a model card (and an Ollama Modelfile)")
    p.add_argument("run", help=run_help)
    p.add_argument("--to", required=True, help="the folder to write into (created)")
    p.add_argument("--ollama", action="store_true", help="also write a Modelfile (template, stops, greedy)")
    p.add_argument("--quant", help="which export of the run, when it has several (e.g. Q8_0)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("chat", help="talk to a scored run's GGUF through llama.cpp, greedy as in the evaluation")
    p.add_argument("run", help=run_help)
    p.add_argument("--quant", help="which export of the run, when it has several")
    p.add_argument("--max-tokens", type=int, default=512, help="the longest reply (default 512)")
    p.add_argument("--system", help="a system message to start with")
    p.add_argument("--threads", type=int, help="CPU threads (default: every core)")
    p.set_defaults(func=cmd_chat)
    p = sub.add_parser("ls", help="list eval tasks, data sources, shipped recipes or cached runs (no model loads)")
    p.add_argument("what", nargs="?", choices=("tasks", "sources", "recipes", "runs"), help="default: a summary")
    p.add_argument("--json", action="store_true", help="the records as JSON, for scripts")
    p.set_defaults(func=cmd_ls)
    args = parser.parse_args(argv)
    apply_global_flags(args)
    # bitsandbytes' CPU backend says at every import that an optional kernels package is missing.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    try:
        code = args.func(args)
    except (RecipeError, ExportNotFound) as exc:  # a bad recipe, or a run/summary name that names nothing
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except Exception as exc:  # one clear line, not a traceback; KIT_DEBUG=1 for the traceback
        if os.environ.get("KIT_DEBUG"):
            raise
        print(f"error ({type(exc).__name__}): {exc}\n(KIT_DEBUG=1 shows the traceback)", file=sys.stderr)
        code = 1
    sys.exit(code)
