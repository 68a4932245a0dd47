"""CLUTRR-style kinship (P2 names CLUTRR; logical): a short family story and the relation that follows from chaining
two or three of its facts: "Ann's brother is Bob. Bob's son is Carl. Dana is Carl's sister. ... How is Carl related
to Ann? Complete: Carl is Ann's ___." -> ``nephew`` (CLUTRR's direction: the answer is what the SECOND name is to
the first). Two- or three-hop chains (CLUTRR's test stories have 2 to 10) and irrelevant facts about
other relatives (6-8 facts in all), in CLUTRR's relation words; answer kind ``choice`` over them. Distractors: the
relation the other way round (Ann is Carl's aunt), then the gold one generation off or with the other gender.

A chain is a path of steps (up: a parent, down: a child, sib: a sibling, sp: a spouse), reduced by CLUTRR's own
assumptions (a spouse's child is one's child, a parent's spouse one's parent, a sibling's parent one's parent, a
child's sibling one's child) and kept only when it reduces to a path CLUTRR names; paths that may return to oneself
(a parent's child, a sibling's sibling, a spouse's spouse, a child's parent) are never drawn.
"""

from __future__ import annotations

from kit.data.builtin.reasoning import Problem, distinct_wrong, functions, rng_for
from kit.data.builtin.reasoning.addsub import PRONOUN

VERSION = "2"  # 2: two- or three-hop chains and irrelevant facts (1: two hops, one irrelevant fact)
TASK = "p2_clutrr"
SOURCE = "builtin:clutrr"
WOMEN = sorted(n for n, p in PRONOUN.items() if p == "She")
MEN = sorted(n for n, p in PRONOUN.items() if p == "He")
STEPS = ("up", "down", "sib", "sp")
# The relation a path names, by the last person's gender (male, female).
NAMED = {
    ("up",): ("father", "mother"),
    ("down",): ("son", "daughter"),
    ("sib",): ("brother", "sister"),
    ("sp",): ("husband", "wife"),
    ("up", "up"): ("grandfather", "grandmother"),
    ("down", "down"): ("grandson", "granddaughter"),
    ("up", "sib"): ("uncle", "aunt"),
    ("sib", "down"): ("nephew", "niece"),
    ("sp", "up"): ("father-in-law", "mother-in-law"),
    ("down", "sp"): ("son-in-law", "daughter-in-law"),
    ("sp", "sib"): ("brother-in-law", "sister-in-law"),
    ("sib", "sp"): ("brother-in-law", "sister-in-law"),
}
REDUCE = {("sp", "down"): "down", ("up", "sp"): "up", ("sib", "up"): "up", ("down", "sib"): "down"}
AMBIGUOUS = {("up", "down"), ("sib", "sib"), ("sp", "sp"), ("down", "up")}
INVERSE_STEP = {"up": "down", "down": "up", "sib": "sib", "sp": "sp"}
OFF_BY_ONE = {"grandfather": "father", "grandmother": "mother", "grandson": "son", "granddaughter": "daughter",
              "uncle": "father", "aunt": "mother", "nephew": "son", "niece": "daughter", "son": "grandson",
              "daughter": "granddaughter", "father": "grandfather", "mother": "grandmother",
              "father-in-law": "father", "mother-in-law": "mother", "son-in-law": "son",
              "daughter-in-law": "daughter", "brother-in-law": "brother", "sister-in-law": "sister",
              "brother": "uncle", "sister": "aunt", "husband": "father", "wife": "mother"}  # fmt: skip
RELATIONS = sorted({r for pair in NAMED.values() for r in pair})
SAYINGS = (
    "{a}'s {rel} is {b}.",
    "{b} is {a}'s {rel}.",
    "{a} went for a walk with {b}, {a_pos} {rel}.",
    "{a} invited {a_pos} {rel} {b} to dinner.",
)


def reduce(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """``path`` under CLUTRR's assumptions (see the module docstring); None when it may return to oneself."""
    path = tuple(path)
    changed = True
    while changed:
        changed = False
        for k in range(len(path) - 1):
            pair = path[k : k + 2]
            if pair in AMBIGUOUS:
                return None
            if pair in REDUCE:
                path, changed = (*path[:k], REDUCE[pair], *path[k + 2 :]), True
                break
    return path


def name_of(path: tuple[str, ...], female: bool) -> str | None:
    """CLUTRR's word for the relation ``path`` leads to (the last person's gender), None if it has none."""
    reduced = reduce(path)
    return NAMED[reduced][int(female)] if reduced in NAMED else None


def inverse(path: tuple[str, ...]) -> tuple[str, ...]:
    """The same path walked back: A's uncle (up, sib) seen from the uncle is his nephew (sib, down)."""
    return tuple(INVERSE_STEP[s] for s in reversed(path))


def _female(name: str) -> bool:
    return name in WOMEN


def _say(rng, a: str, rel: str, b: str) -> str:
    return rng.choice(SAYINGS).format(a=a, b=b, rel=rel, a_pos="her" if _female(a) else "his")


def _person(rng, used: list[str], female: bool) -> str:
    name = rng.choice([n for n in (WOMEN if female else MEN) if n not in used])
    used.append(name)
    return name


def _chain(rng) -> tuple[tuple[str, ...], list[str]]:
    """A named path of 2 or 3 steps and its people (the first asks, the last is asked about); spouses are a man and
    a woman, as in CLUTRR's stories."""
    while True:
        path = tuple(rng.choice(STEPS) for _ in range(rng.choice((2, 3))))
        if reduce(path) in NAMED and all(reduce(path[: k + 1]) in NAMED for k in range(len(path))):
            break
    people: list[str] = []
    female = rng.random() < 0.5
    _person(rng, people, female)
    for step in path:
        female = (not female) if step == "sp" else rng.random() < 0.5
        _person(rng, people, female)
    return path, people


def make(seed: int, i: int) -> Problem:
    rng = rng_for(TASK, seed, i)
    path, people = _chain(rng)
    facts, reasons = [], []
    for k, step in enumerate(path):
        a, b = people[k], people[k + 1]
        rel = NAMED[(step,)][int(_female(b))]
        facts.append(_say(rng, a, rel, b))
        reasons.append(f"{b} is {a}'s {rel}")
    used = list(people)
    for _ in range(rng.randint(6, 8) - len(path)):  # 6-8 facts in all
        # only children and siblings: they never contradict the chain (a second father or spouse would)
        anchor, step = rng.choice(used), rng.choice(("down", "sib"))
        other = _person(rng, used, rng.random() < 0.5)
        facts.insert(rng.randint(0, len(facts)), _say(rng, anchor, NAMED[(step,)][int(_female(other))], other))
    first, last = people[0], people[-1]
    gold = name_of(path, _female(last))
    back = name_of(inverse(reduce(path)), _female(first))
    pair = next(p for p in NAMED.values() if gold in p)
    swapped = pair[1 - pair.index(gold)]
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
