"""Built-in easy math: two-step arithmetic with small numbers, the level a 135M model can learn from 1-256 examples.

Six templates (five short word problems and a plain "a + b - c"), every given number, intermediate and answer
between 0 and 99, answered in builtin math's format (one equation a line, then ``#### N``) so that
kit.eval.tasks.math_answer scores it. kit.data.builtin.math stays the harder level (the gpu profile uses it).
"""

from __future__ import annotations

import random

from kit.data.builtin import draw_distinct, math
from kit.data.builtin.math import ANSWER_INSTRUCTION, NAMES, OBJECTS

VERSION = "2"
TASK = "builtin_math_easy"
SOURCE = "builtin:math_easy"
# builtin math's instruction plus an example of the last line (new in version 2): without it the base model
# never wrote '#### N' (0 of 64 in the pilot of version 1), so its score measured the format alone.
INSTRUCTION = f"{ANSWER_INSTRUCTION} For example, the last line could be '#### 7'."
# Every number a problem shows or computes lies in [0, LIMIT): short answers, and sums a small model knows.
LIMIT = 100


def _names(rng: random.Random) -> tuple[str, str, str]:
    (name, pronoun), (friend, _) = rng.sample(NAMES, 2)
    return name, pronoun.capitalize(), friend


def _gain_then_lose(rng: random.Random) -> tuple[str, list[tuple[int, str, int]]]:
    name, pronoun, friend = _names(rng)
    thing = rng.choice(OBJECTS)
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    c = rng.randint(1, a + b - 1)
    question = (
        f"{name} has {a} {thing}. {pronoun} gets {b} more and then gives {c} to {friend}. "
        f"How many {thing} does {name} have now?"
    )
    return question, [(a, "+", b), (a + b, "-", c)]


def _lose_then_gain(rng: random.Random) -> tuple[str, list[tuple[int, str, int]]]:
    name, pronoun, _ = _names(rng)
    thing = rng.choice(OBJECTS)
    a = rng.randint(5, 60)
    b, c = rng.randint(1, a - 1), rng.randint(2, 30)
    question = (
        f"{name} has {a} {thing}. {pronoun} loses {b} of them and then finds {c} more. "
        f"How many {thing} does {name} have now?"
    )
    return question, [(a, "-", b), (a - b, "+", c)]


def _three_days(rng: random.Random) -> tuple[str, list[tuple[int, str, int]]]:
    name, _, _ = _names(rng)
    thing = rng.choice(OBJECTS)
    a, b, c = rng.randint(2, 30), rng.randint(2, 30), rng.randint(2, 30)
    question = (
        f"{name} collects {a} {thing} on Monday, {b} on Tuesday and {c} on Wednesday. "
        f"How many {thing} does {name} collect in total?"
    )
    return question, [(a, "+", b), (a + b, "+", c)]


def _groups_plus(rng: random.Random) -> tuple[str, list[tuple[int, str, int]]]:
    name, _, _ = _names(rng)
    thing = rng.choice(OBJECTS)
    a, b, c = rng.randint(2, 5), rng.randint(2, 9), rng.randint(1, 20)
    question = (
        f"{name} buys {a} bags with {b} {thing} in each bag, and already had {c} {thing}. "
        f"How many {thing} does {name} have now?"
    )
    return question, [(a, "x", b), (a * b, "+", c)]


def _two_losses(rng: random.Random) -> tuple[str, list[tuple[int, str, int]]]:
    name, pronoun, friend = _names(rng)
    thing = rng.choice(OBJECTS)
    a = rng.randint(6, 70)
    b = rng.randint(1, a - 2)
    c = rng.randint(1, a - b - 1)
    question = (
        f"{name} has {a} {thing}. {pronoun} uses {b} of them and gives {c} to {friend}. How many {thing} are left?"
    )
    return question, [(a, "-", b), (a - b, "-", c)]


def _plain(rng: random.Random) -> tuple[str, list[tuple[int, str, int]]]:
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    if rng.random() < 0.5:
        c = rng.randint(1, a + b - 1)
        return f"What is {a} + {b} - {c}?", [(a, "+", b), (a + b, "-", c)]
    b = rng.randint(1, a - 1)
    c = rng.randint(2, 40)
    return f"What is {a} - {b} + {c}?", [(a, "-", b), (a - b, "+", c)]


TEMPLATES = (_gain_then_lose, _lose_then_gain, _three_days, _groups_plus, _two_losses, _plain)
_APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "x": lambda a, b: a * b}


def make_problem(seed: int, i: int) -> tuple[str, str, int]:
    """Candidate i for ``seed``: (question, one equation a line then ``#### N``, N); redrawn until in range."""
    rng = random.Random(f"math_easy:{seed}:{i}")
    while True:
        question, steps = rng.choice(TEMPLATES)(rng)
        results = [_APPLY[op](a, b) for a, op, b in steps]
        if all(0 <= x < LIMIT for step in steps for x in (step[0], step[2])) and all(0 <= r < LIMIT for r in results):
            break
    lines = [f"{a} {op} {b} = {r}" for (a, op, b), r in zip(steps, results)]
    return question, "\n".join([*lines, f"#### {results[-1]}"]), results[-1]


def prompt(question: str) -> str:
    return f"{question}\n{INSTRUCTION}"


def _problems(n: int, seed: int, split: str):
    return draw_distinct(make_problem, n, seed, split, "math_easy")


def generate_train(n: int, seed: int) -> list[dict]:
    """n training rows: the user asks the problem with the answer-format instruction; the assistant solves it."""
    return math.train_rows(_problems(n, seed, "train"), prompt, SOURCE)


def generate_eval(n: int, seed: int) -> list[dict]:
    """n evaluation items whose reference is ``{"answer": N}``."""
    return math.eval_items(_problems(n, seed, "eval"), prompt, TASK)


def generate_dense(n: int, seed: int) -> list[dict]:
    """The first n eval problems as dense items: gold worked solution and two with a wrong final result."""
    return math.dense_items(_problems(n, seed, "eval"), prompt)
