"""P3's abilities mirrored in English (kit/data/builtin/doit/), for the cpu profile: the same record format, the
same scorer as the real test sets (kit.eval.tasks.doit). ``subset:`` names the ability; ``ood`` is the held-out
family standing in for DoIT's three C-Eval subjects (5-shot chat, never trained on). Biology, history and Chinese
are not mirrored: an English generator could not stand in for exam knowledge or a language.
"""

from __future__ import annotations

from kit.data import doit
from kit.data.builtin import get_generator
from kit.eval.tasks.doit import evaluate_items, extracted  # noqa: F401  (the task interface: one scorer for both)

VERSION = "1"
MAX_NEW_TOKENS = 64
SUBSETS = ("reasoning", "understanding", "ethics", "math", "code", "creative_writing", "role_play", "ood")
SPLITS = ("test",)


def load_items(n: int | None, seed: int, *, subset: str, split: str = "test") -> list[dict]:
    """The generator's first n eval records (a smaller n is a prefix), as items."""
    if n is None:
        raise ValueError("doit_mirror generates its items: give the task an 'n:'")
    return [doit.to_item(r, r["id"], "doit_mirror") for r in get_generator(f"doit_{subset}").generate_eval(n, seed)]


def cache_identity(subset: str | None = None) -> dict:
    """The subset's generator version decides its items, so it decides a cached result."""
    return {"generator": get_generator(f"doit_{subset}").VERSION} if subset else {}
