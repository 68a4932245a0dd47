"""CLUTRR-style kinship (P2 names CLUTRR; logical): a short story of family relations and the relation that follows
from chaining two of them: "Ann's brother is Bob. Bob's son is Carl. Dana's mother is Ann. How is Carl related to
Ann? Complete: Carl is Ann's ___." -> ``nephew``. Two-hop chains (CLUTRR's test stories have 2 to 10) plus one
irrelevant fact, in CLUTRR's relation words; answer kind ``choice`` over them. Distractors: the relation the other
way round (Ann is Carl's aunt), and the gold with the other gender or one generation off."""

from __future__ import annotations

from kit.data.builtin.reasoning import Problem, distinct_wrong, functions, rng_for
from kit.data.builtin.reasoning.addsub import PRONOUN

VERSION = "1"
TASK = "p2_clutrr"
SOURCE = "builtin:clutrr"
WOMEN = sorted(n for n, p in PRONOUN.items() if p == "She")
MEN = sorted(n for n, p in PRONOUN.items() if p == "He")
# A hop: (relation of the next person to this one, by the next person's gender)
HOPS = {"parent": ("father", "mother"), "child": ("son", "daughter"), "sibling": ("brother", "sister"),
        "spouse": ("husband", "wife")}  # fmt: skip
# Two hops compose into one relation (by the last person's gender); chains that return to a parent, a sibling or
# oneself (a parent's child) are left out, as ambiguous without more of the family.
COMPOSE = {
    ("parent", "parent"): ("grandfather", "grandmother"),
    ("parent", "sibling"): ("uncle", "aunt"),
    ("sibling", "child"): ("nephew", "niece"),
    ("child", "child"): ("grandson", "granddaughter"),
    ("child", "spouse"): ("son-in-law", "daughter-in-law"),
    ("spouse", "parent"): ("father-in-law", "mother-in-law"),
    ("spouse", "sibling"): ("brother-in-law", "sister-in-law"),
    ("sibling", "spouse"): ("brother-in-law", "sister-in-law"),
    ("spouse", "child"): ("son", "daughter"),
    ("parent", "spouse"): ("father", "mother"),
}
# The same relation seen from the other person (by that person's gender), and one generation off.
INVERSE = {
    "grandfather": "grandchild", "grandmother": "grandchild", "uncle": "nibling", "aunt": "nibling",
    "nephew": "auncle", "niece": "auncle", "grandson": "grandparent", "granddaughter": "grandparent",
    "son-in-law": "parent-in-law", "daughter-in-law": "parent-in-law", "father-in-law": "child-in-law",
    "mother-in-law": "child-in-law", "brother-in-law": "sibling-in-law", "sister-in-law": "sibling-in-law",
    "son": "parent1", "daughter": "parent1", "father": "child1", "mother": "child1",
}  # fmt: skip
GENDERED = {"grandchild": ("grandson", "granddaughter"), "nibling": ("nephew", "niece"), "auncle": ("uncle", "aunt"),
            "grandparent": ("grandfather", "grandmother"), "parent-in-law": ("father-in-law", "mother-in-law"),
            "child-in-law": ("son-in-law", "daughter-in-law"), "sibling-in-law": ("brother-in-law", "sister-in-law"),
            "parent1": ("father", "mother"), "child1": ("son", "daughter")}  # fmt: skip
OFF_BY_ONE = {"grandfather": "father", "grandmother": "mother", "grandson": "son", "granddaughter": "daughter",
              "uncle": "father", "aunt": "mother", "nephew": "son", "niece": "daughter", "son": "grandson",
              "daughter": "granddaughter", "father": "grandfather", "mother": "grandmother"}  # fmt: skip
RELATIONS = sorted({r for pair in [*COMPOSE.values(), *GENDERED.values(), *HOPS.values()] for r in pair})
SAYINGS = ("{a}'s {rel} is {b}.", "{b} is {a}'s {rel}.", "{a} went for a walk with {b}, {a_pos} {rel}.")


def _gender_of(name: str) -> int:
    return 1 if name in WOMEN else 0


def _say(rng, a: str, rel: str, b: str) -> str:
    return rng.choice(SAYINGS).format(a=a, b=b, rel=rel, a_pos="her" if _gender_of(a) else "his")


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    first, second = rng.choice(sorted(COMPOSE))
    people = []
    for _ in range(4):  # the first three are the chain; the fourth is in an irrelevant fact
        pool = [n for n in (WOMEN if rng.random() < 0.5 else MEN) if n not in people]
        people.append(rng.choice(pool))
    a, b, c, d = people
    if first == "spouse" or second == "spouse":  # keep couples of a man and a woman, as CLUTRR's stories are
        pairs = [(a, b)] if first == "spouse" else [(b, c)]
        for x, y in pairs:
            want = WOMEN if _gender_of(x) == 0 else MEN
            swap = rng.choice([n for n in want if n not in people])
            people[people.index(y)] = swap
        a, b, c, d = people
    rel1 = HOPS[first][_gender_of(b)]
    rel2 = HOPS[second][_gender_of(c)]
    gold = COMPOSE[first, second][_gender_of(c)]
    extra = HOPS[rng.choice(sorted(HOPS))][_gender_of(d)]
    facts = [_say(rng, a, rel1, b), _say(rng, b, rel2, c), _say(rng, rng.choice((a, c)), extra, d)]
    facts = facts[:2] + [facts[2]] if rng.random() < 0.5 else [facts[2], *facts[:2]]
    inverse = GENDERED[INVERSE[gold]][_gender_of(a)]
    flipped = next(pair[1 - pair.index(gold)] for pair in [*COMPOSE.values(), *GENDERED.values()] if gold in pair)
    fallback = [r for r in RELATIONS if r not in (gold, inverse, flipped)]
    rng.shuffle(fallback)
    candidates = [inverse, OFF_BY_ONE.get(gold, flipped), flipped, *fallback]
    return Problem(
        question=" ".join(facts) + f" How is {c} related to {a}? Complete: {c} is {a}'s ___.",
        answer=gold,
        kind="choice",
        distractors=distinct_wrong(candidates, gold, "choice", 2, RELATIONS),
        why=f"{b} is {a}'s {rel1} and {c} is {b}'s {rel2}, so {c} is {a}'s {gold}.",
        options=tuple(RELATIONS),
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "clutrr")
