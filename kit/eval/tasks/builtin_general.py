"""Built-in general eval: instructions with verifiable constraints; the score is the fraction of constraints met."""

from __future__ import annotations

from kit.data.builtin import general as generator
from kit.eval import verifiers

VERSION = f"1-gen{generator.VERSION}-verifiers{verifiers.VERSION}"
MAX_NEW_TOKENS = 192
# A generator has no natural "all"; n=None means this fixed eval-set size.
DEFAULT_N = 1000


def load_items(n: int | None, seed: int) -> list[dict]:
    """The first n eval instructions for ``seed`` (a smaller n is a prefix of a larger one)."""
    return generator.generate_eval(DEFAULT_N if n is None else n, seed)


def score(item: dict, completion: str) -> dict:
    """``score`` = fraction of the item's constraints met; ``all_met`` as in IFEval's strict prompt-level accuracy."""
    constraints = item["reference"]["constraints"]
    met = [verifiers.check(c, completion) for c in constraints]
    return {
        "score": sum(met) / len(met),
        "all_met": all(met),
        "met": {c["kind"]: ok for c, ok in zip(constraints, met, strict=True)},
    }
