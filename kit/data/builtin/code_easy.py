"""Built-in easy code: one-line Python functions of two steps (x * k + c, max of two times k, the first k
characters in upper case, between lo and hi...), the level a 135M model can learn from 1-256 examples.

Five families with random names, parameter names and constants, 3-5 asserts each, in kit.data.builtin.code's
prompt and answer format, so kit.eval.tasks.builtin_code scores them; that module stays the harder level
(the gpu profile uses it).
"""

from __future__ import annotations

import random
import sys

from kit.data.builtin.code import WORDS, Spec, _ints, _n_cases, _tasks, dense_of, items_of, rows_of

VERSION = "2"
TASK = "builtin_code_easy"
SOURCE = "builtin:code_easy"

NUM_PARAMS = ("x", "n", "value", "num", "a")
LIST_PARAMS = ("xs", "nums", "values", "items")
TEXT_PARAMS = ("s", "text", "word")
PAIRS = (("a", "b"), ("x", "y"), ("first", "second"), ("m", "n"))


def _word(rng: random.Random) -> str:
    return rng.choice([w for w in WORDS if len(w) > 2])


def _affine(rng: random.Random) -> Spec:
    x, k, c = rng.choice(NUM_PARAMS), rng.randint(2, 9), rng.randint(1, 30)
    what, expr = rng.choice(
        (
            (f"`{x}` times {k}, plus {c}", f"{x} * {k} + {c}"),
            (f"`{x}` times {k}, minus {c}", f"{x} * {k} - {c}"),
            (f"`{x}` plus {c}, all times {k}", f"({x} + {c}) * {k}"),
            (f"{c} minus `{x}`", f"{c} - {x}"),
            (f"the square of `{x}`, plus {c}", f"{x} * {x} + {c}"),
        )
    )
    return Spec(
        rng.choice(("compute", "formula", "transform", "apply_rule")),
        (x,),
        f"returns {what}",
        f"return {expr}",
        _n_cases(rng, lambda: (rng.randint(-10, 20),)),
    )


def _list_combo(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(2, 9)
    what, expr = rng.choice(
        (
            ("its largest element minus its smallest element", f"max({xs}) - min({xs})"),
            ("its first element plus its last element", f"{xs}[0] + {xs}[-1]"),
            (f"the sum of its elements times {k}", f"sum({xs}) * {k}"),
            (f"its number of elements plus {k}", f"len({xs}) + {k}"),
            ("the sum of its elements minus its first element", f"sum({xs}) - {xs}[0]"),
        )
    )
    return Spec(
        rng.choice(("combine", "list_value", "summarize", "score_list")),
        (xs,),
        f"takes a non-empty list of integers `{xs}` and returns {what}",
        f"return {expr}",
        _n_cases(rng, lambda: (_ints(rng, -9, 30, 2, 6),)),
    )


def _text_combo(rng: random.Random) -> Spec:
    s, k = rng.choice(TEXT_PARAMS), rng.randint(2, 4)
    what, expr = rng.choice(
        (
            (f"its first {k} characters in upper case", f"{s}[:{k}].upper()"),
            (f"its last {k} characters followed by its first {k} characters", f"{s}[-{k}:] + {s}[:{k}]"),
            ("the string followed by its reverse", f"{s} + {s}[::-1]"),
            ("the string reversed and in upper case", f"{s}[::-1].upper()"),
            (f"the string without its first {k} characters", f"{s}[{k}:]"),
        )
    )
    return Spec(
        rng.choice(("edit", "rework", "text_rule", "make_text")),
        (s,),
        f"returns, for the string `{s}`, {what}",
        f"return {expr}",
        _n_cases(rng, lambda: (_word(rng) + _word(rng),)),
    )


def _two_numbers(rng: random.Random) -> Spec:
    a, b = rng.choice(PAIRS)
    k = rng.randint(2, 9)
    what, expr = rng.choice(
        (
            (f"the larger of `{a}` and `{b}`, times {k}", f"max({a}, {b}) * {k}"),
            (f"the smaller of `{a}` and `{b}`, plus {k}", f"min({a}, {b}) + {k}"),
            (f"the difference `{a}` minus `{b}`, times {k}", f"({a} - {b}) * {k}"),
            (f"the sum of `{a}` and `{b}`, minus {k}", f"{a} + {b} - {k}"),
        )
    )
    return Spec(
        rng.choice(("combine_two", "pair_value", "mix", "two_step")),
        (a, b),
        f"returns {what}",
        f"return {expr}",
        _n_cases(rng, lambda: (rng.randint(-10, 30), rng.randint(-10, 30))),
    )


def _test_number(rng: random.Random) -> Spec:
    x, lo = rng.choice(NUM_PARAMS), rng.randint(-10, 30)
    hi, k = lo + rng.randint(3, 20), rng.randint(3, 7)
    r = rng.randint(1, k - 1)
    what, expr, fixed = rng.choice(
        (
            (f"between {lo} and {hi} (both included)", f"{lo} <= {x} <= {hi}", (lo, hi)),
            (f"leaves remainder {r} when divided by {k}", f"{x} % {k} == {r}", (r, k + r)),
            (f"even and greater than {lo}", f"{x} % 2 == 0 and {x} > {lo}", (lo, lo + 1)),
        )
    )
    return Spec(
        rng.choice(("check", "test_number", "matches", "is_ok")),
        (x,),
        f"returns True if the integer `{x}` is {what}, and False otherwise",
        f"return {expr}",
        _n_cases(rng, lambda: (rng.randint(lo - 10, hi + 10),), (fixed[0],), (fixed[1],)),
    )


# Version 1 had one-step families (x + k, max of two, upper case...): the base model passed 77% of them.
FAMILIES = (_affine, _list_combo, _text_combo, _two_numbers, _test_number)


def draw_spec(seed: int, i: int) -> Spec:
    """Candidate i for ``seed``: fixed by (seed, i) alone."""
    rng = random.Random(f"code_easy:{seed}:{i}")
    return rng.choice(FAMILIES)(rng)


def _tasks_of(n: int, seed: int, split: str):
    return _tasks(n, seed, split, draw_spec, "code_easy")


def generate_train(n: int, seed: int) -> list[dict]:
    """n training rows: the user asks for a function; the assistant gives the one-line reference."""
    return rows_of(_tasks_of(n, seed, "train"), SOURCE)


def generate_eval(n: int, seed: int) -> list[dict]:
    """n evaluation items whose reference is ``{"entry_point", "tests"}``; the asserts are not in the prompt."""
    return items_of(_tasks_of(n, seed, "eval"), TASK)


def generate_dense(n: int, seed: int) -> list[dict]:
    """The first n eval tasks that have two failing mutants, as gold-vs-mutant dense items."""
    return dense_of(_tasks_of(sys.maxsize, seed, "eval"), n)
