"""bAbI-Deductive (P2 names it; bAbI task 15 "basic deduction"; logical), in bAbI's own style: "Sheep are afraid of
wolves. Gertrude is a sheep. Cats are afraid of mice. ... What is Gertrude afraid of?" -> ``wolf``. Four species,
each afraid of another, and two to four named animals. bAbI's data answers with the singular (``wolf``, where the
story says ``wolves``; its paper's own example answers ``wolves``), so both count: the singular is the gold, the
plural an alias (kit.eval.tasks.short_answer). Version 1 asked for the singular in the question instead, which
bAbI's questions do not. Answer kind ``choice`` over the story's species; two distractors: other species the story
names, in the singular like the gold."""

from __future__ import annotations

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import FIRST_NAMES, Problem, functions

VERSION = "2"  # 2: singular or plural both right, bAbI's question as it is (1: "Answer ... in the singular.")
TASK = "p2_babi_deduction"
SOURCE = "builtin:babi_deduction"
SPECIES = {  # singular -> plural
    "mouse": "mice", "cat": "cats", "sheep": "sheep", "wolf": "wolves", "dog": "dogs", "lion": "lions",
    "frog": "frogs", "owl": "owls", "fox": "foxes", "snake": "snakes", "bear": "bears", "hawk": "hawks",
}  # fmt: skip


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    species = rng.sample(sorted(SPECIES), 4)
    fears = {s: rng.choice([t for t in species if t != s]) for s in species}
    names = rng.sample(FIRST_NAMES, rng.randint(2, 4))
    kinds = {n: rng.choice(species) for n in names}
    facts = [f"{SPECIES[s].capitalize()} are afraid of {SPECIES[fears[s]]}." for s in species]
    facts += [f"{n} is a {kinds[n]}." for n in names]
    rng.shuffle(facts)
    who = rng.choice(names)
    gold = fears[kinds[who]]
    others = [s for s in species if s != gold]
    rng.shuffle(others)
    return Problem(
        question=" ".join(facts) + f" What is {who} afraid of?",
        answer=gold,
        kind="choice",
        distractors=tuple(others[:2]),
        why=f"{who} is a {kinds[who]}, and {SPECIES[kinds[who]]} are afraid of {SPECIES[gold]}.",
        options=tuple(species),
        aliases=tuple((s, (SPECIES[s],)) for s in species if SPECIES[s] != s),
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "babi-deduction")
