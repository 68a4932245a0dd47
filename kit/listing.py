"""What the kit offers and what it has cached, as plain records for ``python -m kit ls`` (kit/cli.py prints them).

Everything here reads registries, recipe files and ``DONE.json`` files only: no model, no torch, so ``ls`` answers
in about a second even with hundreds of cached runs.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from kit import runs


def first_line(module: ModuleType) -> str:
    """A module's docstring's first paragraph: what it is, in the words of its author."""
    return first_text(module.__doc__ or "")


def first_text(text: str) -> str:
    """A text's first paragraph on one line (docstrings wrap mid-sentence; the printer shortens it to fit)."""
    return " ".join(text.strip().split("\n\n", 1)[0].split())


def tasks() -> list[dict]:
    """Every eval task: its VERSION (what cached scores are keyed by), the ability or domain it measures, its
    subsets and splits where it serves several item files."""
    from kit.eval.tasks import ABILITIES, TASKS, get_task

    out = []
    for name in sorted(TASKS):
        module = get_task(name)
        out.append(
            {
                "name": name,
                "version": module.VERSION,
                "ability": ABILITIES.get(name) or getattr(module, "DOMAIN", None),
                "subsets": list(getattr(module, "SUBSETS", ())),
                "splits": list(getattr(module, "SPLITS", ())),
                "about": first_line(module),
            }
        )
    return out


def sources() -> dict:
    """What a mixture entry's ``source:`` can name: the built-in generators (with their VERSION), the hub datasets
    whose format the kit knows, and the formats a hub or local file may be read as."""
    from kit.data.builtin import GENERATORS, get_generator
    from kit.data.formats import FORMATS, KNOWN_HUB_FORMATS
    from kit.recipe import SOURCE_KINDS

    builtin = []
    for name in sorted(GENERATORS):
        module = get_generator(name)
        builtin.append({"source": f"builtin:{name}", "version": module.VERSION, "about": first_line(module)})
    hub = [
        {"source": f"hf:{dataset}", "format": fmt, "config": config}
        for dataset, (fmt, config) in sorted(KNOWN_HUB_FORMATS.items())
    ]
    return {"kinds": list(SOURCE_KINDS), "builtin": builtin, "hub": hub, "formats": list(FORMATS)}


def recipes() -> list[dict]:
    """The shipped recipes: name, file, the first line of their description and how many runs each profile has
    (a profile's load error is its entry instead: `validate` shows the whole message)."""
    from kit.recipe import PROFILES, RecipeError, load_recipe, shipped_recipes

    out = []
    for path in shipped_recipes():
        per_profile: dict[str, int | str] = {}
        description = ""
        for profile in PROFILES:
            try:
                recipe = load_recipe(path, profile=profile)
            except RecipeError:
                per_profile[profile] = "error"
                continue
            per_profile[profile] = len(recipe.runs()) if recipe.grid else 1
            description = description or recipe.description
        out.append({"name": path.stem, "path": str(path), "about": first_text(description), "runs": per_profile})
    return out


def cached_runs() -> list[dict]:
    """Every cached stage under ``KIT_HOME/runs`` and every untrained baseline, from their ``DONE.json`` files.

    A later stage's key names its parent's key hash, which is the parent's run id: ``stage`` counts the chain."""
    found = [run_record(rd.path) for rd in runs.all_runs()]
    parents = {r["id"]: r["parent"] for r in found}
    for record in found:
        record["stage"] = stage_number(record["id"], parents)
    return found + [baseline_record(path) for path in runs.all_baselines()]


def stage_number(run_id: str, parents: dict[str, str | None]) -> int:
    """1 for a first stage, 2 for one whose parent is a first stage...; a parent not cached counts as one stage."""
    depth, seen = 1, {run_id}
    parent = parents.get(run_id)
    while parent is not None and parent not in seen:
        seen.add(parent)
        depth, parent = depth + 1, parents.get(parent)
    return depth


def run_record(path: Path) -> dict:
    rd = runs.RunDir(path)
    key = _read(rd.key) or {}
    data = _read(rd.data / "DONE.json") if runs.is_done(rd.data) else None
    train = _read(rd.train / "DONE.json") if runs.is_done(rd.train) else None
    return {
        "kind": "run",
        "id": rd.id,
        "base": (key.get("model") or {}).get("base"),
        "parent": key.get("parent"),
        "mixture": [_entry(e) for e in (key.get("data") or {}).get("mixture", [])],
        "rows": data and data.get("rows"),
        "trained": train is not None,
        "steps": train and train.get("steps"),
        "exports": [export_record(p) for p in runs.finished_exports(path)],
    }


def baseline_record(path: Path) -> dict:
    """An untrained base model's export and scores; its folder does not record the base's name (its id does)."""
    export = runs.baseline_export_dir(path)
    exports = [export_record(export)] if runs.is_done(export) else []
    return {"kind": "baseline", "id": path.name, "base": None, "stage": 0, "exports": exports}


def _entry(entry: dict) -> str:
    """``builtin:math n=64`` or ``hf:openai/gsm8k fraction=0.25``: how much of which source."""
    amount = f"n={entry['n']}" if entry.get("n") is not None else f"fraction={entry.get('fraction')}"
    return f"{entry.get('source')} {amount}"


def export_record(path: Path) -> dict:
    done = _read(path / "DONE.json") or {}
    evals = [eval_record(p) for p in sorted(runs.eval_root(path).glob("*")) if runs.is_done(p)]
    return {"id": path.name, "quant": done.get("quant"), "evals": _distinct(e for e in evals if e)}


# The metric shown for each kind of pass: the task's own score, and for a dense pass the gold's rank.
PRIMARY = {"generation": "accuracy", "dense": "dense_rank"}


def eval_record(path: Path) -> dict | None:
    """One cached pass's headline: score, its standard error and n where stored (results_format 2 and later keep
    per-item metrics; older results have the score alone)."""
    done = _read(path / "DONE.json")
    if not isinstance(done, dict) or "task" not in done:
        return None
    kind = "dense" if "dense_n" in done else "generation"
    metric = (done.get("metrics") or {}).get(PRIMARY[kind])
    if metric is None:
        return {
            "task": done["task"],
            "pass": kind,
            "score": done.get("score"),
            "stderr": None,
            "n": done.get("n_items"),
        }
    return {
        "task": done["task"],
        "pass": kind,
        "score": metric["score"],
        "stderr": metric.get("stderr"),
        "n": metric["n"],
    }


def _distinct(records) -> list[dict]:
    """The same score cached under several settings (thread counts...) is listed once."""
    out = []
    for record in records:
        if record not in out:
            out.append(record)
    return out


def _read(path: Path):
    """A JSON file's content, or None where it is missing or cut short (``ls`` reports, it never fails on a run)."""
    import json

    try:
        return runs.read_json(path)
    except (OSError, json.JSONDecodeError):
        return None
