"""Built-in data generators, one per P1 ability, written by us and deterministic by seed.

Each module defines ``VERSION``, ``generate_train(n, seed) -> list[row]`` and
``generate_eval(n, seed) -> list[item]``. Train and eval items come from disjoint halves of the item
space (split by a hash of the item's canonical key), so they never overlap whatever the seeds.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
from types import ModuleType

GENERATORS = {
    "math": "kit.data.builtin.math",
    "code": "kit.data.builtin.code",
    "general": "kit.data.builtin.general",
}


def get_generator(name: str) -> ModuleType:
    if name not in GENERATORS:
        close = difflib.get_close_matches(name, GENERATORS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown built-in generator {name!r}{hint}; valid: {', '.join(sorted(GENERATORS))}")
    return importlib.import_module(GENERATORS[name])


def split_of(key: str) -> str:
    """'eval' for about one item key in eight, 'train' for the rest: fixed by the key alone."""
    return "eval" if hashlib.sha256(key.encode()).digest()[0] < 32 else "train"
