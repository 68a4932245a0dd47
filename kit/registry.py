"""Choices by name: one lookup for every registry (tasks, generators, backends). An unknown name
lists the valid ones with a did-you-mean; the chosen module is imported only then."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from typing import Any


def did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load(name: str, registry: dict[str, str], what: str) -> Any:
    """The module (``"pkg.mod"``) or attribute (``"pkg.mod:name"``) registered under ``name``."""
    if name not in registry:
        raise KeyError(f"unknown {what} {name!r}{did_you_mean(name, registry)}; valid: {', '.join(sorted(registry))}")
    module, _, attr = registry[name].partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded
