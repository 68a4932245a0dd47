"""Three-Object Ordering (ours; BIG-bench logical_deduction style, three objects; logical): "On a shelf there are
three books: a red one, a green one and a blue one. The green book is to the left of the red book. The blue book is
the rightmost. Which book is the leftmost? Answer with its colour." -> ``green``. Two clues that fix the order
(checked against all six orders) and a question about a position no clue states. Answer kind ``choice`` over the
three colours; two distractors: the other two."""

from __future__ import annotations

from itertools import permutations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import COLOURS, Problem, functions

VERSION = "1"
TASK = "p2_object_order"
SOURCE = "builtin:object_order"
PLACES = (("books", "book", "on a shelf"), ("cars", "car", "in a row"), ("birds", "bird", "on a branch"))
POSITION = ("leftmost", "in the middle", "rightmost")


def _clues(order: tuple[str, ...], noun: str) -> list[tuple[str, object]]:
    """Every true clue about ``order`` (left to right): (text, test on an order)."""
    out = []
    for k, c in enumerate(order):
        if k != 1:
            out.append((f"The {c} {noun} is the {POSITION[k]}.", lambda o, c=c, k=k: o[k] == c))
    for a in order:
        for b in order:
            if order.index(a) < order.index(b):
                out.append(
                    (f"The {a} {noun} is to the left of the {b} {noun}.", lambda o, a=a, b=b: o.index(a) < o.index(b))
                )
                out.append(
                    (f"The {b} {noun} is to the right of the {a} {noun}.", lambda o, a=a, b=b: o.index(a) < o.index(b))
                )
    return out


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    plural, noun, where = rng.choice(PLACES)
    colours = rng.sample(COLOURS, 3)
    order = tuple(rng.sample(colours, 3))
    clues = _clues(order, noun)
    while True:
        chosen = rng.sample(clues, 2)
        fits = [o for o in permutations(colours) if all(test(o) for _, test in chosen)]
        stated = {k for k in range(3) for text, _ in chosen if POSITION[k] in text and order[k] in text}
        free = [k for k in range(3) if k not in stated]
        if len(fits) == 1 and free:
            break
    k = rng.choice(free)
    gold = order[k]
    listing = f"a {colours[0]} one, a {colours[1]} one and a {colours[2]} one"
    clue_text = " ".join(text for text, _ in chosen)
    return Problem(
        question=(
            f"There are three {plural} {where}: {listing}. {clue_text} "
            f"Which {noun} is {'the ' if k != 1 else ''}{POSITION[k]}? Answer with its colour."
        ),
        answer=gold,
        kind="choice",
        distractors=tuple(c for c in colours if c != gold),
        why=f"From left to right the {plural} are {', '.join(order)}.",
        options=tuple(colours),
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "object-order")
