"""First-Letter Concatenation (P2 names it; symbolic): "Take the first letter of each word in "Emily Tiger Rosa"
and concatenate them." -> ``ETR``. Three or four words from a bank of names and nouns; answer kind ``letters``.
Distractors: the last letters concatenated, and the first letters in another order (reversed, or one swap)."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import FIRST_NAMES, WORDS, Problem, distinct_wrong, functions

VERSION = "1"
TASK = "p2_first_letter"
SOURCE = "builtin:first_letter"


def pick_words(name: str, seed: int, i: int) -> list[str]:
    rng = rng_for(name, seed, i)
    bank = FIRST_NAMES + tuple(w.capitalize() for w in WORDS)
    return rng.sample(bank, rng.choice((3, 4)))


def letters_problem(words: list[str], which: str) -> Problem:
    """The concatenation of each word's ``which`` ("first" or "last") letter, with its distractors."""
    take = (lambda w: w[0]) if which == "first" else (lambda w: w[-1])
    other = (lambda w: w[-1]) if which == "first" else (lambda w: w[0])
    gold = "".join(take(w) for w in words)
    swapped = gold[1] + gold[0] + gold[2:]
    case = str.upper if which == "first" else str.lower  # every choice written like the gold (ETR, yra)
    candidates = [case(c) for c in ("".join(other(w) for w in words), gold[::-1], swapped, gold[:-2] + gold[-1:-3:-1])]
    phrase = " ".join(words)
    quoted = ", ".join(f'"{w}"' for w in words)
    shown = ", ".join(take(w) for w in words)
    return Problem(
        question=f'Take the {which} letter of each word in "{phrase}" and concatenate them.',
        answer=gold,
        kind="letters",
        distractors=distinct_wrong(candidates, gold, "letters", 2) or (),
        why=f"The {which} letters of {quoted} are {shown}.",
    )


def redraw(task: str, which: str, seed: int, i: int) -> Problem:
    """Candidate i of ``task``: redrawn (i, then i + 1000003 ...) until it has two distinct wrong answers."""
    k = i
    while True:
        p = letters_problem(pick_words(task, seed, k), which)
        if len(p.distractors) == 2:
            return p
        k += 1_000_003


def make(seed: int, i: int) -> Problem:
    return redraw(TASK, "first", seed, i)


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "first-letter")
