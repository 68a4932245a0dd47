"""CLUTRR-style kinship (P2 names CLUTRR; logical): a short family story and the relation that follows from chaining
two or three of its facts: "Ann's brother is Bob. Bob's son is Carl. Dana is Carl's sister. ... How is Carl related
to Ann? Complete: Carl is Ann's ___." -> ``nephew``. Two- or three-hop chains (CLUTRR's test stories have 2 to 10)
and irrelevant facts about other relatives (6-8 facts in all); answer kind ``choice`` over CLUTRR's relation words.
Distractors: the relation the other way round (Ann is Carl's aunt), then the gold one generation off or with the
other gender.

CLUTRR's direction, which the question states: for a query ``(A, B)`` the target is B's relation to A ("B is A's
<target>"). Checked on the real data (kliang5/CLUTRR_huggingface_dataset, gen_train23_test2to10/test.csv): the query
``('Jason', 'Lewis')`` of "[Scott] and [Lewis] are brothers. [Jason] is father of their father" has the target
``grandson``; its proof state reads ``('Jason', 'grandson', 'Lewis')``, i.e. Lewis is Jason's grandson.

A chain is a list of CLUTRR's relation types (one fact each: ``child``, ``inv-child``, ``SO``, ``sibling``),
composed by CLUTRR's own family rules (facebookresearch/clutrr ``clutrr/store/rules_store.yaml``: A r1 B and
B r2 C give A r C) and named by its relation words (``relations_store.yaml``), less two rules that a story can
contradict (a child's uncle is one's sibling by CLUTRR's rule, but may be one's sibling-in-law; the same for a
child's grandfather). A chain is kept only when the rules reduce it to one relation, the same in every order they
can be applied; so a father's wife or a sister's husband, which CLUTRR's rules never compose, is never asked
(version 2 asked them, 3 chains in 10). The answers are the 18 relation words of CLUTRR's test sets.
"""

from __future__ import annotations

import functools

from kit.data.builtin import rng_for
from kit.data.builtin.reasoning import Problem, distinct_wrong, functions
from kit.data.builtin.reasoning.addsub import PRONOUN

VERSION = "3"  # 3: CLUTRR's own composition rules (2: our path algebra, with in-law siblings; 1: two hops)
TASK = "p2_clutrr"
SOURCE = "builtin:clutrr"
WOMEN = sorted(n for n, p in PRONOUN.items() if p == "She")
MEN = sorted(n for n, p in PRONOUN.items() if p == "He")
# CLUTRR's family relation types and their words (male, female); "niece" as the dataset's targets spell it.
WORDS = {
    "child": ("son", "daughter"),
    "inv-child": ("father", "mother"),
    "SO": ("husband", "wife"),
    "sibling": ("brother", "sister"),
    "grand": ("grandson", "granddaughter"),
    "inv-grand": ("grandfather", "grandmother"),
    "in-law": ("son-in-law", "daughter-in-law"),
    "inv-in-law": ("father-in-law", "mother-in-law"),
    "un": ("nephew", "niece"),
    "inv-un": ("uncle", "aunt"),
}
STEPS = ("child", "inv-child", "SO", "sibling")  # the types a story states as single facts
COMPOSE = {  # CLUTRR's compositional family rules, as rules_store.yaml lists them: (r1, r2) -> r
    ("child", "child"): "grand", ("child", "SO"): "in-law", ("child", "sibling"): "child",
    # ("child", "inv-un"): "sibling" and ("child", "inv-grand"): "inv-child" are left out: a child's uncle may be
    # one's sibling-in-law and a child's grandfather one's father-in-law (CLUTRR's own comments flag such rules)
    ("inv-child", "child"): "sibling", ("inv-child", "inv-child"): "inv-grand", ("inv-child", "sibling"): "inv-un",
    ("SO", "inv-child"): "inv-in-law", ("SO", "grand"): "grand", ("SO", "child"): "child",
    ("sibling", "sibling"): "sibling", ("sibling", "inv-grand"): "inv-grand", ("sibling", "child"): "un",
    ("sibling", "inv-child"): "inv-child",
    ("grand", "sibling"): "grand",
}  # fmt: skip
INVERSE = {  # CLUTRR's inverse-equivalence and symmetric rules
    "child": "inv-child", "inv-child": "child", "grand": "inv-grand", "inv-grand": "grand", "un": "inv-un",
    "inv-un": "un", "in-law": "inv-in-law", "inv-in-law": "in-law", "SO": "SO", "sibling": "sibling",
}  # fmt: skip
OFF_BY_ONE = {"grandfather": "father", "grandmother": "mother", "grandson": "son", "granddaughter": "daughter",
              "uncle": "father", "aunt": "mother", "nephew": "son", "niece": "daughter", "son": "grandson",
              "daughter": "granddaughter", "father": "grandfather", "mother": "grandmother",
              "father-in-law": "father", "mother-in-law": "mother", "son-in-law": "son",
              "daughter-in-law": "daughter", "brother": "uncle", "sister": "aunt", "husband": "father",
              "wife": "mother"}  # fmt: skip
RELATIONS = sorted(word for pair in WORDS.values() for word in pair)
SAYINGS = (
    "{a}'s {rel} is {b}.",
    "{b} is {a}'s {rel}.",
    "{a} went for a walk with {b}, {a_pos} {rel}.",
    "{a} invited {a_pos} {rel} {b} to dinner.",
)


@functools.cache
def _reductions(types: tuple[str, ...]) -> frozenset[str]:
    """Every relation CLUTRR's rules reduce ``types`` to, over every order of applying them."""
    if len(types) == 1:
        return frozenset(types)
    out: set[str] = set()
    for k in range(len(types) - 1):
        composed = COMPOSE.get(types[k : k + 2])
        if composed:
            out |= _reductions((*types[:k], composed, *types[k + 2 :]))
    return frozenset(out)


def reduce(path) -> str | None:
    """The relation type a chain of types composes to by CLUTRR's rules; None when none does, or orders disagree."""
    found = _reductions(tuple(path))
    return next(iter(found)) if len(found) == 1 else None


def name_of(path, female: bool) -> str | None:
    """CLUTRR's word for the relation ``path`` leads to (by the last person's gender), None if its rules give none."""
    relation = reduce(path)
    return None if relation is None else WORDS[relation][int(female)]


def _female(name: str) -> bool:
    return name in WOMEN


def _say(rng, a: str, rel: str, b: str) -> str:
    return rng.choice(SAYINGS).format(a=a, b=b, rel=rel, a_pos="her" if _female(a) else "his")


def _person(rng, used: list[str], female: bool) -> str:
    name = rng.choice([n for n in (WOMEN if female else MEN) if n not in used])
    used.append(name)
    return name


def _chain(rng) -> tuple[tuple[str, ...], list[str]]:
    """A chain of 2 or 3 facts that CLUTRR's rules compose, and its people (the first asks, the last is asked
    about); spouses are a man and a woman, as in CLUTRR's stories."""
    while True:
        path = tuple(rng.choice(STEPS) for _ in range(rng.choice((2, 3))))
        if reduce(path) is not None:
            break
    people: list[str] = []
    female = rng.random() < 0.5
    _person(rng, people, female)
    for step in path:
        female = (not female) if step == "SO" else rng.random() < 0.5
        _person(rng, people, female)
    return path, people


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    path, people = _chain(rng)
    facts, reasons = [], []
    for k, step in enumerate(path):
        a, b = people[k], people[k + 1]
        rel = WORDS[step][int(_female(b))]
        facts.append(_say(rng, a, rel, b))
        reasons.append(f"{b} is {a}'s {rel}")
    used = list(people)
    for _ in range(rng.randint(6, 8) - len(path)):  # 6-8 facts in all
        # only new children and siblings: they never contradict the chain (a second father or spouse would)
        anchor, step = rng.choice(used), rng.choice(("child", "sibling"))
        other = _person(rng, used, rng.random() < 0.5)
        facts.insert(rng.randint(0, len(facts)), _say(rng, anchor, WORDS[step][int(_female(other))], other))
    first, last = people[0], people[-1]
    relation = reduce(path)
    gold = WORDS[relation][int(_female(last))]
    back = WORDS[INVERSE[relation]][int(_female(first))]
    swapped = WORDS[relation][1 - int(_female(last))]
    near = [OFF_BY_ONE[gold], swapped] if rng.random() < 0.5 else [swapped, OFF_BY_ONE[gold]]
    fallback = [r for r in RELATIONS if r not in (gold, back, *near)]
    rng.shuffle(fallback)
    return Problem(
        question=" ".join(facts) + f" How is {last} related to {first}? Complete: {last} is {first}'s ___.",
        answer=gold,
        kind="choice",
        distractors=distinct_wrong([back, *near, *fallback], gold, "choice", 2, RELATIONS),
        why=f"{', '.join(reasons)}, so {last} is {first}'s {gold}.",
        options=tuple(RELATIONS),
    )


generate_train, generate_eval, generate_dense = functions(make, TASK, SOURCE, "clutrr")
