"""Last-Letter Concatenation (ours; Kojima et al.'s task; symbolic): "Take the last letter of each word in "Emily
Tiger Rosa" and concatenate them." -> ``yra``. As first_letter, with last letters; distractors: the first letters,
and the last letters in another order."""

from __future__ import annotations

from kit.data.builtin.reasoning import Problem, functions
from kit.data.builtin.reasoning.first_letter import letters_problem, pick_words

VERSION = "1"
TASK = "p2_last_letter"
SOURCE = "builtin:last_letter"


def make(seed: int, i: int) -> Problem:
    k = i
    while True:
        p = letters_problem(pick_words(TASK, seed, k), "last")
        if len(p.distractors) == 2:
            return p
        k += 1_000_003


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "last-letter")
