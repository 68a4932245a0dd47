"""Number Comparison (ours; arithmetic): "Ann has 14 apples and Ben has 9 apples. Who has more apples?" -> ``Ann``
(a ``choice`` of the two names), or "Which is larger, 37 or 52?" -> ``52`` (kind ``number``); larger or smaller,
more or fewer, half each. One distractor, the other option (chance 1/2)."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import FIRST_NAMES, Problem, functions
from kit.data.builtin.reasoning.addsub import THINGS

VERSION = "1"
TASK = "p2_compare"
SOURCE = "builtin:compare"


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    x, y = rng.sample(range(2, 100), 2)
    more = rng.random() < 0.5
    if rng.random() < 0.5:
        name, other = rng.sample(FIRST_NAMES, 2)
        thing = rng.choice(THINGS)
        word = "more" if more else "fewer"
        winner, loser = (name, other) if (x > y) == more else (other, name)
        return Problem(
            question=f"{name} has {x} {thing} and {other} has {y} {thing}. Who has {word} {thing}?",
            answer=winner,
            kind="choice",
            distractors=(loser,),
            why=f"{name} has {x} and {other} has {y}, so {winner} has {word}.",
            options=(name, other),
        )
    word = "larger" if more else "smaller"
    gold, wrong = (max(x, y), min(x, y)) if more else (min(x, y), max(x, y))
    return Problem(
        question=f"Which number is {word}, {x} or {y}?",
        answer=str(gold),
        kind="number",
        distractors=(str(wrong),),
        why=f"{gold} is {word} than {wrong}.",
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "compare")
