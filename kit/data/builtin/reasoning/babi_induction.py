"""bAbI-Inductive (P2 names it; bAbI task 16 "basic induction"; logical), in bAbI's own style: "Lily is a swan. Lily
is white. Greg is a frog. Greg is green. Bernhard is a swan. What color is Bernhard?" -> ``white``. Three or four
species, each with its own colour; every species but the asked one's may have several members; the asked animal's
colour follows from another of its species. Answer kind ``choice`` over the story's colours; two distractors: other
colours the story names."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import COLOURS, FIRST_NAMES, Problem, functions

VERSION = "1"
TASK = "p2_babi_induction"
SOURCE = "builtin:babi_induction"
ANIMALS = ("swan", "frog", "lion", "rhino", "duck", "horse", "parrot", "sheep", "goat", "cat")


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    species = rng.sample(ANIMALS, rng.choice((3, 4)))
    colour = dict(zip(species, rng.sample(COLOURS, len(species)), strict=True))
    names = rng.sample(FIRST_NAMES, len(species) + 2)
    target, example = species[0], names[0]
    who = names[1]
    facts = [[f"{example} is a {target}.", f"{example} is {colour[target]}."]]
    for n, s in zip(names[2:], [*species[1:], rng.choice(species[1:]), *species[1:]], strict=False):
        facts.append([f"{n} is a {s}.", f"{n} is {colour[s]}."])
    rng.shuffle(facts)
    lines = [line for pair in facts for line in pair] + [f"{who} is a {target}."]
    gold = colour[target]
    others = [colour[s] for s in species[1:]]
    rng.shuffle(others)
    return Problem(
        question=" ".join(lines) + f" What color is {who}?",
        answer=gold,
        kind="choice",
        distractors=tuple(others[:2]),
        why=f"{who} is a {target}, and {example}, also a {target}, is {gold}.",
        options=tuple(colour.values()),
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "babi-induction")
