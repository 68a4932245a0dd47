"""Multi-Step Arithmetic (ours; BIG-bench style; arithmetic): "What is (7 + 4) * 3 - 5?" -> ``28``. Two or three
operations (+, -, *) on numbers 1-12 with parentheses that change the result (version 2; in version 1 two items in
three had parentheses that did not, as in "3 + (4 + 5)"); every intermediate result and the answer between 0 and
199, the value without parentheses not negative; answer kind ``number``. Distractors: that value (the precedence
slip), and one of the last operation's sign slipped or the gold plus or minus 1 or 2, preferring one with
as many digits as the gold (the twin compares mean log-probs per token)."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import Problem, distinct_wrong, functions

VERSION = "2"
TASK = "p2_multistep"
SOURCE = "builtin:multistep"
_APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
LIMIT = 200


def _expression(rng) -> tuple[str, int, list[str]]:
    """(text, value, steps) of a random expression; steps are "a op b = c" in the order they are done."""
    a, b, c = (rng.randint(1, 12) for _ in range(3))
    o1, o2 = rng.choice("+-*"), rng.choice("+-*")
    if rng.random() < 0.5:  # (a o1 b) o2 c
        x = _APPLY[o1](a, b)
        y = _APPLY[o2](x, c)
        text, steps, value = f"({a} {o1} {b}) {o2} {c}", [f"{a} {o1} {b} = {x}", f"{x} {o2} {c} = {y}"], y
    else:  # a o1 (b o2 c)
        x = _APPLY[o2](b, c)
        y = _APPLY[o1](a, x)
        text, steps, value = f"{a} {o1} ({b} {o2} {c})", [f"{b} {o2} {c} = {x}", f"{a} {o1} {x} = {y}"], y
    if rng.random() < 0.4:  # a third operation outside
        o3, d = rng.choice("+-*"), rng.randint(1, 9)
        z = _APPLY[o3](value, d)
        text, steps, value = (
            f"({text}) {o3} {d}" if o3 == "*" else f"{text} {o3} {d}",
            [*steps, f"{value} {o3} {d} = {z}"],
            z,
        )
    return text, value, steps


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    while True:
        text, value, steps = _expression(rng)
        results = [int(s.rsplit("= ", 1)[1]) for s in steps]
        flat = eval(text.replace("(", "").replace(")", ""))  # noqa: S307 - digits and + - * only, built above
        # the text must say what the steps compute (Python's precedence is the usual one), and its parentheses
        # must matter, so that the precedence slip (never negative) is always a wrong answer
        if all(0 <= r < LIMIT for r in results) and eval(text) == value != flat >= 0:  # noqa: S307 - as above
            break
    last_op = steps[-1].split()[1]
    slip = {"+": "-", "-": "+", "*": "+"}[last_op]
    left, right = steps[-1].split(" = ")[0].split(f" {last_op} ")
    slipped = _APPLY[slip](int(left), int(right))
    near = sorted([slipped, *(value + d for d in rng.sample((1, -1, 2, -2), 4))], key=_digits_off(value))
    gold = str(value)
    return Problem(
        question=f"What is {text}?",
        answer=gold,
        kind="number",
        distractors=distinct_wrong([flat, *(c for c in near if c >= 0)], gold, "number", 2),
        why="; ".join(steps) + ".",
    )


def _digits_off(value: int):
    """A sort key: 0 for a number with as many digits as ``value``, else 1 (a stable sort keeps the rest's order)."""
    return lambda x: int(len(str(x)) != len(str(value)))


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "multistep")
