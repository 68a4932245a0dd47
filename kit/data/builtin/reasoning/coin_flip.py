"""Coin Flip (ours; Wei et al.'s task; symbolic): "A coin is heads up. Ann flips the coin. Bob does not flip the
coin. Is the coin still heads up?" -> ``no``. Two to four people, each flipping or not (half the answers yes);
answer kind ``yesno``; one distractor, the other answer (chance 1/2)."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import FIRST_NAMES, Problem, functions

VERSION = "1"
TASK = "p2_coin_flip"
SOURCE = "builtin:coin_flip"


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    people = rng.sample(FIRST_NAMES, rng.randint(2, 4))
    flips = [rng.random() < 0.5 for _ in people]
    steps = " ".join(f"{p} flips the coin." if f else f"{p} does not flip the coin." for p, f in zip(people, flips))
    n = sum(flips)
    gold = "yes" if n % 2 == 0 else "no"
    parity = "even" if n % 2 == 0 else "odd"
    return Problem(
        question=f"A coin is heads up. {steps} Is the coin still heads up?",
        answer=gold,
        kind="yesno",
        distractors=("no" if gold == "yes" else "yes",),
        why=f"The coin was flipped {n} time{'s' if n != 1 else ''}, an {parity} number.",
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "coin-flip")
