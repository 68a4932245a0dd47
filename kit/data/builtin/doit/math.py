"""DoIT's math ability (PRM800K: MATH problems with step-by-step solutions ending in ``\\boxed{}``), mirrored in
English with small word problems of two or three arithmetic steps over integers below 1000 (every intermediate
result too): packs bought and given away, change from a purchase, pages left in a book, markers for groups, trees
in rows sold and planted, a test average, savings over weeks. The gold reply is a short worked solution, one step a
line (``a × b = c``), ending "The answer is \\boxed{N}."; the record's ``answer`` is N.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from kit.data.builtin import draw_distinct, rng_for
from kit.data.builtin.doit import ANSWER_BOXED, exchange, protocol, record

VERSION = "1"
TYPE = "math"
QUESTION_FORMAT = 0

# fmt: off
NAMES = (
    "Ann", "Bob", "Cara", "Dan", "Eva", "Finn", "Gina", "Hugo", "Iris", "Jack", "Kira", "Leo", "Maya", "Nate", "Olga",
    "Paul", "Rosa", "Sam", "Tina", "Umar", "Vera", "Will", "Yara", "Zack",
)
THINGS = ("stickers", "marbles", "pencils", "cards", "stamps", "beads", "buttons", "shells", "coins", "balloons")
GOODS = ("notebook", "sandwich", "ticket", "mug", "plant", "scarf", "book", "toy car", "candle", "puzzle")
# fmt: on


class Item(NamedTuple):
    prompt: str
    solution: str
    answer: int


def _packs(rng: random.Random) -> tuple[str, list[tuple[int, str, int, int]]]:
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    have, packs, per = rng.randint(5, 99), rng.randint(2, 9), rng.randint(3, 12)
    total = have + packs * per
    give = rng.randint(1, total - 1)
    text = (f"{name} has {have} {thing}. {name} buys {packs} packs of {per} {thing} each, then gives {give} {thing} "
            f"to a friend. How many {thing} does {name} have now?")  # fmt: skip
    return text, [(packs, "×", per, packs * per), (have, "+", packs * per, total), (total, "-", give, total - give)]


def _change(rng: random.Random) -> tuple[str, list[tuple[int, str, int, int]]]:
    name, good = rng.choice(NAMES), rng.choice(GOODS)
    price, count = rng.randint(2, 40), rng.randint(2, 9)
    cost = price * count
    paid = rng.choice([p for p in (20, 50, 100, 200, 500) if p > cost] or [cost + rng.randint(1, 99)])
    text = (f"A {good} costs {price} dollars. {name} buys {count} of them and pays with {paid} dollars. How many "
            f"dollars of change does {name} get?")  # fmt: skip
    return text, [(price, "×", count, cost), (paid, "-", cost, paid - cost)]


def _pages(rng: random.Random) -> tuple[str, list[tuple[int, str, int, int]]]:
    name = rng.choice(NAMES)
    per_day, days, extra = rng.randint(5, 40), rng.randint(2, 9), rng.randint(1, 30)
    read = per_day * days
    book = read + extra + rng.randint(1, 200)
    text = (f"A book has {book} pages. {name} reads {per_day} pages a day for {days} days, then {extra} more pages. "
            f"How many pages are left to read?")  # fmt: skip
    return text, [(per_day, "×", days, read), (read, "+", extra, read + extra), (book, "-", read + extra,
                                                                                book - read - extra)]  # fmt: skip


def _groups(rng: random.Random) -> tuple[str, list[tuple[int, str, int, int]]]:
    size, n_groups, each = rng.randint(2, 8), rng.randint(2, 15), rng.randint(2, 12)
    students = size * n_groups
    text = (f"A teacher splits {students} students into groups of {size}. Each group gets {each} markers. How many "
            f"markers does the teacher hand out?")  # fmt: skip
    return text, [(students, "÷", size, n_groups), (n_groups, "×", each, n_groups * each)]


def _trees(rng: random.Random) -> tuple[str, list[tuple[int, str, int, int]]]:
    rows, per = rng.randint(3, 20), rng.randint(4, 30)
    trees = rows * per
    sold = rng.randint(1, trees - 1)
    planted = rng.randint(1, 99)
    text = (f"A farmer has {rows} rows of {per} apple trees. The farmer sells {sold} trees and then plants "
            f"{planted} new ones. How many apple trees does the farmer have now?")  # fmt: skip
    return text, [(rows, "×", per, trees), (trees, "-", sold, trees - sold), (trees - sold, "+", planted,
                                                                             trees - sold + planted)]  # fmt: skip


def _average(rng: random.Random) -> tuple[str, list[tuple[int, str, int, int]]]:
    name = rng.choice(NAMES)
    mean = rng.randint(50, 95)
    a = rng.randint(max(40, mean - 20, 3 * mean - 200), min(100, mean + 20))
    b = rng.randint(max(40, 3 * mean - a - 100), min(100, 3 * mean - a - 40))
    c = 3 * mean - a - b
    text = f"{name} scored {a}, {b} and {c} on three tests. What is {name}'s average score?"
    return text, [(a, "+", b, a + b), (a + b, "+", c, 3 * mean), (3 * mean, "÷", 3, mean)]


def _savings(rng: random.Random) -> tuple[str, list[tuple[int, str, int, int]]]:
    name = rng.choice(NAMES)
    start, weekly, weeks = rng.randint(0, 200), rng.randint(5, 50), rng.randint(2, 12)
    saved = weekly * weeks
    text = (f"{name} has {start} dollars and saves {weekly} dollars every week. How many dollars does {name} have "
            f"after {weeks} weeks?")  # fmt: skip
    return text, [(weekly, "×", weeks, saved), (start, "+", saved, start + saved)]


FAMILIES = (_packs, _change, _pages, _groups, _trees, _average, _savings)


def make(seed: int, i: int) -> Item:
    rng = rng_for("doit_math", seed, i)
    text, steps = rng.choice(FAMILIES)(rng)
    assert all(0 <= x < 1000 for step in steps for x in (step[0], step[2], step[3])), (text, steps)
    lines = [f"{a} {op} {b} = {c}" for a, op, b, c in steps]
    answer = steps[-1][3]
    solution = "\n".join([*lines, f"The answer is \\boxed{{{answer}}}."])
    return Item(f"{text}\n{ANSWER_BOXED}", solution, answer)


def records(n: int, seed: int, split: str) -> list[dict]:
    return [
        record(item_id, exchange(prompt, solution), TYPE, QUESTION_FORMAT, answer=str(answer))
        for item_id, prompt, solution, answer in draw_distinct(make, n, seed, split, "doit-math")
    ]


generate_train, generate_eval = protocol(__name__)
