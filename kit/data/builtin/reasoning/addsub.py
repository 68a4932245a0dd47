"""Add/Sub Word Problems (ours; AddSub-style, one step; arithmetic): "Tom had 12 marbles. He gave 5 of them to Sara.
How many marbles does Tom have now?" -> ``7``. Given numbers 2-80, answers 1-100; answer kind ``number``.
Distractors: the other operation's result (a sum for a difference; for a sum, the difference of the larger and the
smaller number, version 2: version 1 dropped it when negative, about 3 sums in 10), and the gold plus or minus 1."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import FIRST_NAMES, Problem, distinct_wrong, functions

VERSION = "2"
TASK = "p2_addsub"
SOURCE = "builtin:addsub"
THINGS = ("marbles", "apples", "stickers", "books", "shells", "pencils", "cards", "stamps", "coins", "cookies")
_WOMEN = frozenset((
    "Ann", "Cara", "Eva", "Gina", "Iris", "Kira", "Maya", "Olga", "Rosa", "Tina", "Vera", "Yara", "Alice", "Chloe",
    "Emily", "Grace", "Isla", "Laura", "Nora", "Ruth", "Sofia", "Lucy", "Mia", "Zoe", "Priya", "Elena", "Hana",
))  # fmt: skip
PRONOUN = {name: "She" if name in _WOMEN else "He" for name in FIRST_NAMES}  # clutrr reads genders from here too


STORIES = (
    ("{name} had {a} {thing}. {he} gave {b} of them to {friend}. How many {thing} does {name} have now?", "-"),
    ("{name} had {a} {thing}. {friend} gave {name} {b} more. How many {thing} does {name} have now?", "+"),
    ("{name} picked {a} {thing} and {friend} picked {b} {thing}. How many {thing} did they pick together?", "+"),
    ("There were {a} {thing} in a box. {name} took {b} of them out. How many {thing} are in the box now?", "-"),
    ("{name} has {a} {thing}. {he} buys {b} more at a shop. How many {thing} does {name} have now?", "+"),
    ("{name} had {a} {thing} and lost {b} of them. How many {thing} does {name} have left?", "-"),
)


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    name, friend = rng.sample(FIRST_NAMES, 2)
    thing = rng.choice(THINGS)
    story, op = rng.choice(STORIES)
    a, b = rng.randint(5, 60), rng.randint(2, 40)
    if op == "-" and b >= a:
        a = a + b  # take away fewer than there are
    value = a + b if op == "+" else a - b
    other = abs(a - b) if op == "+" else a + b
    gold = str(value)
    near = [value + d for d in rng.sample((1, -1), 2)] + [value + 2]
    return Problem(
        question=story.format(name=name, he=PRONOUN[name], friend=friend, thing=thing, a=a, b=b),
        answer=gold,
        kind="number",
        distractors=distinct_wrong([c for c in [other, *near] if c >= 0], gold, "number", 2),
        why=f"{a} {op} {b} = {value}.",
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "addsub")
