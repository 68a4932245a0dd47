"""Loading a recipe file: ``extends``, the chosen profile's dotted overrides, then the command line's, then the
strict build into a ``Recipe``."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml

from kit.recipe.schema import PROFILES, Recipe
from kit.recipe.strict import RecipeError, build

# --- loading, profiles, overrides --------------------------------------------------------------


def parse_overrides(items: typing.Sequence[str]) -> list[tuple[str, Any]]:
    """``["train.epochs=2", "data.mixture.0.n=50"]`` -> [(dotted key, YAML-parsed value)]."""
    out, bad = [], []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            bad.append((item, "an override must look like dotted.key=value"))
            continue
        try:
            out.append((key.strip(), yaml.safe_load(text) if text.strip() else ""))
        except yaml.YAMLError as exc:
            bad.append((key, f"value {text!r} is not valid YAML: {exc}"))
    if bad:
        raise RecipeError("command-line overrides", bad)
    return out


def apply_override(raw: dict, key: str, value: Any) -> None:
    """Set ``key`` (dotted; list items by index) inside the raw recipe mapping."""
    parts = key.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise RecipeError("command-line overrides", [(key, f"{'.'.join(parts[:i])} has no item {part}")])
            node = node[int(part)]
        else:
            if not isinstance(node.get(part, {}), dict | list):
                raise RecipeError("command-line overrides", [(key, f"{'.'.join(parts[: i + 1])} is not a mapping")])
            node = node.setdefault(part, [] if nxt.isdigit() else {})
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise RecipeError("command-line overrides", [(key, f"list has no item {last}")])
        node[int(last)] = value
    else:
        node[last] = value


def read_raw(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(str(path), [("", "no such recipe file; `python -m kit ls recipes` lists the shipped ones")])
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(str(path), [("", f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise RecipeError(str(path), [("", "a recipe must be a YAML mapping")])
    own_name = raw.get("name", path.stem)  # a recipe's name is its own, never its parent's
    parent = raw.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise RecipeError(str(path), [("extends", "must name another recipe file, relative to this one")])
        raw = deep_merge(read_raw(path.parent / parent), raw)
    raw["name"] = own_name
    return raw


def deep_merge(base: dict, child: dict) -> dict:
    """``child`` over ``base``: mappings merge key by key, anything else (lists too) is replaced."""
    out = dict(base)
    for key, value in child.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_recipe(path: str | Path, overrides: typing.Sequence[str] = (), profile: str | None = None) -> Recipe:
    """Read, apply the profile's and then the command line's overrides, and validate strictly.

    A recipe may carry ``profiles: {cpu: {dotted.key: value}, gpu: {...}}``; ``profile`` (or the
    recipe's ``profile:``, or the hardware when that says ``auto``) picks one.
    """
    path = find_recipe(path)
    raw = read_raw(path)
    return resolve_raw(raw, str(path), parse_overrides(overrides), profile)


def resolve_raw(raw: dict, where: str, overrides: list[tuple[str, Any]], profile: str | None) -> Recipe:
    raw = _deepcopy(raw)
    profiles = raw.pop("profiles", {}) or {}
    for key, value in overrides:  # first pass: an override may name the profile itself
        if key == "profile":
            raw["profile"] = value
    chosen = profile or raw.get("profile", "auto")
    if chosen == "auto":
        from kit.env import detect_profile

        chosen = detect_profile()
    if not isinstance(profiles, dict) or any(p not in PROFILES for p in profiles):
        raise RecipeError(where, [("profiles", f"must map profile names ({', '.join(PROFILES)}) to dotted overrides")])
    raw["profile"] = chosen
    for key, value in (profiles.get(chosen) or {}).items():
        apply_override(raw, key, value)
    for key, value in overrides:
        apply_override(raw, key, value)
    errors: list[tuple[str, str]] = []
    recipe = build(Recipe, raw, "", errors)
    if errors:
        raise RecipeError(where, errors)
    return recipe


def _deepcopy(raw: Any) -> Any:
    import copy

    return copy.deepcopy(raw)


def recipes_dir() -> Path:
    """Where the shipped recipes are: in an installed copy the ``kit/shipped_recipes/`` the wheel carries (the
    checkout's ``recipes/`` sits outside the package), in a checkout its ``recipes/``."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "shipped_recipes"
    return packaged if packaged.is_dir() else package.parent / "recipes"


def shipped_recipes(root: Path | None = None) -> list[Path]:
    return sorted((root or recipes_dir()).glob("*.yaml"))


def find_recipe(path: str | Path) -> Path:
    """A recipe argument as a file: the path when it exists, else the shipped recipe it names (``rq1``,
    ``rq1.yaml`` or ``recipes/rq1.yaml``), so the README's commands work from any folder with an installed kit."""
    path = Path(path)
    if path.is_file() or path.parent not in (Path("."), Path("recipes")):
        return path
    shipped = recipes_dir() / (path.name if path.suffix == ".yaml" else f"{path.name}.yaml")
    return shipped if shipped.is_file() else path
