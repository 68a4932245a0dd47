"""Built-in math eval: word problems from the eval half of kit.data.builtin.math, exact match on ``#### N``."""

from __future__ import annotations

from kit.data.builtin import math as generator
from kit.eval.tasks import math_answer

VERSION = f"1-gen{generator.VERSION}-scorer{math_answer.VERSION}"
MAX_NEW_TOKENS = 192
# A generator has no natural "all"; n=None means this fixed eval-set size.
DEFAULT_N = 1000

# Dense items: the gold worked solution against two with a wrong final result (see generator.dense_choices).
DENSE_VERSION = f"1-gen{generator.VERSION}-dense{generator.DENSE_VERSION}"

score = math_answer.score


def load_items(n: int | None, seed: int) -> list[dict]:
    """The first n eval problems for ``seed`` (a smaller n is a prefix of a larger one)."""
    return generator.generate_eval(DEFAULT_N if n is None else n, seed)


def dense_items(n: int, seed: int) -> list[dict]:
    """The first n eval problems as gold-vs-distractor items, scored on the final result's digits."""
    return generator.generate_dense(n, seed)
