"""A strict, domain-free loader: a YAML mapping onto frozen dataclasses, every problem collected.

Unknown keys (with a did-you-mean), wrong types, values outside a ``Literal`` and each dataclass's own
``problems()`` are gathered as (dotted key, message) pairs and raised together as one ``RecipeError``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from kit.registry import did_you_mean


class RecipeError(ValueError):
    """A recipe (or an override) is invalid; ``problems`` lists (dotted key, message) pairs."""

    def __init__(self, where: str, problems: list[tuple[str, str]]):
        self.where = where
        self.problems = problems
        lines = "\n".join(f"  - {key or '<top>'}: {msg}" for key, msg in problems)
        super().__init__(f"{where}: {len(problems)} problem(s), nothing was run:\n{lines}")


def _positive(spec: Any, *names: str) -> list[tuple[str, str]]:
    return [(n, f"must be > 0, got {getattr(spec, n)}") for n in names if getattr(spec, n) <= 0]


# --- strict building ----------------------------------------------------------------------------


def build(cls: type, raw: Any, path: str, errors: list[tuple[str, str]]) -> Any:
    """Turn ``raw`` into ``cls`` (a dataclass), appending every problem found to ``errors``."""
    if not isinstance(raw, dict):
        errors.append((path, f"expected a mapping, got {type(raw).__name__} {raw!r}"))
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            errors.append(
                (_join(path, key), f"unknown key{did_you_mean(key, fields)}; valid keys: {', '.join(fields)}")
            )
    kwargs = {}
    before = len(errors)
    for name, f in fields.items():
        key = _join(path, name)
        if name in raw:
            kwargs[name] = _coerce(hints[name], raw[name], key, errors)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            errors.append((key, "is required"))
    try:
        obj = cls(**kwargs)
    except TypeError:  # a required field was missing or mistyped: already reported above
        return None
    if hasattr(obj, "problems") and len(errors) == before:  # range checks need well-typed values
        errors.extend((_join(path, k), m) for k, m in obj.problems())
    return obj


def _coerce(tp: Any, value: Any, key: str, errors: list[tuple[str, str]]) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        first_errors: list[tuple[str, str]] = []
        for option in inner:  # the first alternative that takes the value without complaint wins
            scratch: list[tuple[str, str]] = []
            result = _coerce(option, value, key, scratch)
            if not scratch:
                return result
            first_errors = first_errors or scratch
        errors.extend(first_errors if len(inner) == 1 else [(key, f"{value!r} is none of: {_describe(inner)}")])
        return value
    if dataclasses.is_dataclass(tp):
        return build(tp, value, key, errors)
    if origin is Literal:
        if value not in args:
            errors.append(
                (key, f"{value!r} is not one of {', '.join(map(repr, args))}{did_you_mean(value, map(str, args))}")
            )
        return value
    if origin is dict:
        if not isinstance(value, dict):
            errors.append((key, f"expected a mapping, got {type(value).__name__} {value!r}"))
            return {}
        return {str(k): _coerce(args[1], v, f"{key}.{k}", errors) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list | tuple):
            errors.append((key, f"expected a list, got {type(value).__name__} {value!r}"))
            return ()
        return tuple(_coerce(args[0], v, f"{key}.{i}", errors) for i, v in enumerate(value))
    return _scalar(tp, value, key, errors)


def _describe(options: list) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string"}
    return ", ".join(
        " or ".join(map(repr, typing.get_args(o)))
        if typing.get_origin(o) is Literal
        else names.get(o, getattr(o, "__name__", str(o)))
        for o in options
    )


def _scalar(tp: type, value: Any, key: str, errors: list[tuple[str, str]]) -> Any:
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[tp]
    if not ok:
        expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[tp]
        errors.append((key, f"expected {expected}, got {type(value).__name__} {value!r}"))
        return value
    return float(value) if tp is float else value


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
