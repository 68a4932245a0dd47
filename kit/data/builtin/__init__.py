"""Built-in data generators, one per P1 ability, written by us and deterministic by seed.

Each module defines ``VERSION``, ``generate_train(n, seed) -> list[row]`` and
``generate_eval(n, seed) -> list[item]`` (chat_mix, a training pool with hidden labels, has
``generate_labelled(n, seed, split)`` instead). Train and eval items come from disjoint halves of the item
space (split by a hash of the item's canonical key), so they never overlap whatever the seeds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from types import ModuleType

from kit.registry import load

GENERATORS = {
    "math": "kit.data.builtin.math",
    "math_easy": "kit.data.builtin.math_easy",
    "code": "kit.data.builtin.code",
    "code_easy": "kit.data.builtin.code_easy",
    "general": "kit.data.builtin.general",
    "chat_mix": "kit.data.builtin.chat_mix",  # P2's pool: mixed conversations for a classifier to split (no eval task)
} | {  # P2's reasoning tasks (eval items; their train halves are positive controls)
    name: f"kit.data.builtin.reasoning.{name}"
    for name in (
        "first_letter", "last_letter", "reverse_list", "coin_flip", "clutrr", "babi_deduction", "babi_induction",
        "object_order", "multistep", "addsub", "compare",
    )
}  # fmt: skip
# P3's (DoIT's) abilities mirrored in English (kit/data/builtin/doit/): DoIT records, train and eval halves
GENERATORS |= {
    f"doit_{name}": f"kit.data.builtin.doit.{name}"
    for name in ("reasoning", "understanding", "ethics", "math", "code", "creative_writing", "role_play", "ood")
}


def get_generator(name: str) -> ModuleType:
    return load(name, GENERATORS, "built-in generator")


def rng_for(name: str, seed: int, i: int) -> random.Random:
    """A generator's random stream for its i-th candidate: independent of every other candidate and generator."""
    return random.Random(f"{name}:{seed}:{i}")


def split_of(key: str) -> str:
    """'eval' for about one item key in eight, 'train' for the rest: fixed by the key alone."""
    return "eval" if hashlib.sha256(key.encode()).digest()[0] < 32 else "train"


# A generator whose item space is used up would otherwise draw forever: give up after this many misses in a row.
MAX_DRAWS_WITHOUT_NEW = 100_000


def draw_distinct(make: Callable[[int, int], tuple], n: int, seed: int, split: str, prefix: str) -> Iterator[tuple]:
    """(id, *candidate) for the first n distinct candidates of ``split``, drawn in index order.

    ``make(seed, i)`` returns a candidate whose first field is its canonical key (the question text):
    a smaller n is a prefix of a larger one, and train and eval never share a key.
    """
    seen: set[str] = set()
    i = since_new = 0
    while len(seen) < n:
        candidate = make(seed, i)
        i += 1
        key = candidate[0]
        if key in seen or split_of(key) != split:
            since_new += 1
            if since_new > MAX_DRAWS_WITHOUT_NEW:
                raise ValueError(
                    f"{prefix}: {MAX_DRAWS_WITHOUT_NEW:,} draws in a row found no new {split} item after {len(seen)}; "
                    f"the generator has about that many, fewer than the {n} asked for: lower n"
                )
            continue
        since_new = 0
        seen.add(key)
        yield (f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}", *candidate)
