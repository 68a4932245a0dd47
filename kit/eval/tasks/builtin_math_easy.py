"""Built-in easy math eval: two-step small-number problems from the eval half of kit.data.builtin.math_easy,
exact match on ``#### N`` (the same scorer as builtin_math)."""

from __future__ import annotations

from kit.data.builtin import math as hard
from kit.data.builtin import math_easy as generator
from kit.eval.tasks import math_answer

VERSION = f"1-gen{generator.VERSION}-scorer{math_answer.VERSION}"
# The gold answer is about 20 tokens; room for a model that explains first, not for one that rambles.
MAX_NEW_TOKENS = 128
# A generator has no natural "all"; n=None means this fixed eval-set size.
DEFAULT_N = 1000
# Dense items: the gold worked solution against two with a wrong final result (see math.dense_choices).
DENSE_VERSION = f"1-gen{generator.VERSION}-dense{hard.DENSE_VERSION}"

score = math_answer.score


def load_items(n: int | None, seed: int) -> list[dict]:
    """The first n eval problems for ``seed`` (a smaller n is a prefix of a larger one)."""
    return generator.generate_eval(DEFAULT_N if n is None else n, seed)


def dense_items(n: int, seed: int) -> list[dict]:
    """The first n eval problems as gold-vs-distractor items, scored on the final result's digits."""
    return generator.generate_dense(n, seed)
