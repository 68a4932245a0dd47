"""Built-in easy code eval: one-line function tasks from the eval half of kit.data.builtin.code_easy, scored
like builtin_code (pass@1 as ``score`` and the fraction of asserts that pass as ``assert_frac``)."""

from __future__ import annotations

from kit.data.builtin import code as hard
from kit.data.builtin import code_easy as generator
from kit.eval.tasks import builtin_code

VERSION = f"1-gen{generator.VERSION}-{builtin_code.VERSION}"
# The reference answer is about 25 tokens; room for a model that explains first, not for one that rambles.
MAX_NEW_TOKENS = 128
# A generator has no natural "all"; n=None means this fixed eval-set size.
DEFAULT_N = 500
# Dense items: the reference answer against two single-token mutants that fail its asserts.
DENSE_VERSION = f"1-gen{generator.VERSION}-dense{hard.DENSE_VERSION}"

score = builtin_code.score
extracted = builtin_code.extracted
cache_identity = builtin_code.cache_identity


def load_items(n: int | None, seed: int) -> list[dict]:
    """The first n eval tasks for ``seed`` (a smaller n is a prefix of a larger one)."""
    return generator.generate_eval(DEFAULT_N if n is None else n, seed)


def dense_items(n: int, seed: int) -> list[dict]:
    """The first n eval tasks with two failing mutants, scored on the mutated tokens."""
    return generator.generate_dense(n, seed)
