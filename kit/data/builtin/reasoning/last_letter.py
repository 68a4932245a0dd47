"""Last-Letter Concatenation (ours; Kojima et al.'s task; symbolic): "Take the last letter of each word in "Emily
Tiger Rosa" and concatenate them." -> ``yra``. As first_letter, with last letters; distractors: the first letters,
and the last letters in another order."""

from __future__ import annotations

from kit.data.builtin.reasoning import Problem, functions
from kit.data.builtin.reasoning.first_letter import redraw

VERSION = "1"
TASK = "p2_last_letter"
SOURCE = "builtin:last_letter"


def make(seed: int, i: int) -> Problem:
    return redraw(TASK, "last", seed, i)


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "last-letter")
