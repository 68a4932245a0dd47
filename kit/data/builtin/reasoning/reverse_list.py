"""Reverse List (P2 names it; symbolic): "Reverse the list: [lemon, 7, tiger, 12, castle]." -> ``castle, 12, tiger,
7, lemon``. Four to six distinct items (nouns and numbers below 20); answer kind ``list``. Distractors: the reversal
with one adjacent pair swapped, at two different places. Version 1 offered the list as given, which copies the
prompt: every model preferred it (the base model's twin scored 0.0 on 64 items), so the twin measured copying."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import WORDS, Problem, distinct_wrong, functions

VERSION = "2"
TASK = "p2_reverse_list"
SOURCE = "builtin:reverse_list"


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    size = rng.randint(4, 6)
    n_numbers = rng.randint(1, size - 2)
    items = rng.sample(WORDS, size - n_numbers) + [str(x) for x in rng.sample(range(1, 20), n_numbers)]
    rng.shuffle(items)
    gold = items[::-1]
    first, second = rng.sample(range(len(gold) - 1), 2)
    near = [gold[:k] + [gold[k + 1], gold[k]] + gold[k + 2 :] for k in (first, second)]
    join = ", ".join
    return Problem(
        question=f"Reverse the list: [{join(items)}].",
        answer=join(gold),
        kind="list",
        distractors=distinct_wrong([join(x) for x in near], join(gold), "list", 2),
        why=f"Read from the last item to the first: {join(gold)}.",
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "reverse-list")
