"""DoIT's logical-reasoning ability (LogiQA 2.0: a passage, a question, four options, one correct), mirrored in
English with items whose answer follows mechanically from the passage:

- ``syllogism``: three groups of people defined by what they do ("the students who play chess") and two
  categorical premises (all / some / none / some ... do not); "which must be true?" The gold follows from one of six
  valid forms; the three wrong options are statements about the same groups that the premises do not entail, even
  when every group is non-empty (checked over every Venn diagram of the three groups);
- ``conditional``: two or three premises over three events ("If Ann goes swimming, then Ben bakes bread.", "Either
  ... or ..., or both.") and a fact; the gold is a literal that every truth assignment satisfying the premises makes
  true, the wrong options literals that some satisfying assignment makes false (checked by truth table);
- ``ordering``: four or five people compared on one scale (taller, older, faster...) by the adjacent pairs of a
  hidden order, stated in a random order and direction; "who is the tallest / shortest / second tallest?" over four
  of the people.

The prompt is DoIT's multiple-choice layout (``mc_prompt``); the gold reply is the letter alone.
"""

from __future__ import annotations

import functools
import itertools
import random
from typing import NamedTuple

from kit.data.builtin import draw_distinct, rng_for
from kit.data.builtin.doit import exchange, mc_prompt, protocol, record, shuffled

VERSION = "1"
TYPE = "reasoning"
QUESTION_FORMAT = 0

# fmt: off
NAMES = (
    "Ann", "Bob", "Cara", "Dan", "Eva", "Finn", "Gina", "Hugo", "Iris", "Jack", "Kira", "Leo", "Maya", "Nate", "Olga",
    "Paul", "Rosa", "Sam", "Tina", "Umar", "Vera", "Will", "Yara", "Zack", "Alice", "Brian", "Chloe", "David",
    "Emily", "Frank", "Grace", "Henry", "Isla", "James", "Laura", "Mark", "Nora", "Oscar", "Peter", "Ruth",
)
GROUPS = (
    "students at Hillside School", "employees of the Delta office", "members of the town hiking club",
    "guests at the Lakeview Hotel", "residents of Elm Street", "nurses at the city hospital",
    "players in the village orchestra", "volunteers at the food bank", "passengers on the morning ferry",
    "teachers at the summer camp",
)
# what a group's members do, as a plural present verb phrase ("the students who ___", "do not ___")
HABITS = (
    "play chess", "speak French", "own a bicycle", "sing in a choir", "like jazz", "play tennis", "keep a diary",
    "drink coffee", "grow tomatoes", "read poetry", "study Latin", "collect stamps", "wear glasses", "ride horses",
    "paint portraits", "bake bread", "write code", "run marathons", "play the violin", "watch birds",
    "swim every morning", "cook vegetarian food", "knit scarves", "fly kites",
)
# an event: (it happens, it does not happen), each a clause about {n}, a name
EVENTS = (
    ("{n} goes swimming", "{n} does not go swimming"), ("{n} bakes bread", "{n} does not bake bread"),
    ("{n} visits the museum", "{n} does not visit the museum"), ("{n} takes the bus", "{n} does not take the bus"),
    ("{n} plays the piano", "{n} does not play the piano"), ("{n} buys a newspaper", "{n} does not buy a newspaper"),
    ("{n} works late", "{n} does not work late"), ("{n} calls the plumber", "{n} does not call the plumber"),
    ("{n} waters the garden", "{n} does not water the garden"), ("{n} walks the dog", "{n} does not walk the dog"),
    ("{n} cooks dinner", "{n} does not cook dinner"), ("{n} attends the meeting", "{n} does not attend the meeting"),
    ("{n} rides a bike", "{n} does not ride a bike"), ("{n} goes to the gym", "{n} does not go to the gym"),
    ("{n} writes a letter", "{n} does not write a letter"), ("{n} drinks tea", "{n} does not drink tea"),
)
SCALES = (  # (comparative, its converse, the extreme of the first, the extreme of the second)
    ("taller", "shorter", "tallest", "shortest"), ("older", "younger", "oldest", "youngest"),
    ("faster", "slower", "fastest", "slowest"), ("heavier", "lighter", "heaviest", "lightest"),
    ("richer", "poorer", "richest", "poorest"), ("stronger", "weaker", "strongest", "weakest"),
)
# fmt: on
ORDINALS = ("", "second ", "third ")


class Item(NamedTuple):
    prompt: str
    gold: str  # the letter
    kind: str  # syllogism, conditional or ordering
    options: tuple[str, ...]


# --- syllogisms: statements (quantifier, subject, predicate) over the groups 0, 1, 2 -----------------------------

ALL, SOME, NO, SOME_NOT = "all", "some", "no", "some_not"
# valid forms over terms a, b, c: (premises, conclusion); each term index is renamed at random
FORMS = (
    (((ALL, 0, 1), (SOME, 2, 0)), (SOME, 2, 1)),
    (((ALL, 0, 1), (NO, 1, 2)), (NO, 2, 0)),
    (((ALL, 0, 1), (ALL, 1, 2)), (ALL, 0, 2)),
    (((NO, 0, 1), (SOME, 2, 0)), (SOME_NOT, 2, 1)),
    (((NO, 0, 1), (ALL, 2, 0)), (NO, 2, 1)),
    (((ALL, 1, 0), (SOME_NOT, 2, 0)), (SOME_NOT, 2, 1)),
)


def holds(statement: tuple[str, int, int], regions: frozenset[tuple[bool, bool, bool]]) -> bool:
    """Whether a statement is true in a world given by its non-empty Venn regions (membership of the 3 groups)."""
    q, s, p = statement
    members = [r for r in regions if r[s]]
    if q == ALL:
        return all(r[p] for r in members)
    if q == SOME:
        return any(r[p] for r in members)
    if q == NO:
        return not any(r[p] for r in members)
    return any(not r[p] for r in members)


REGIONS = list(itertools.product((False, True), repeat=3))
WORLDS = [
    frozenset(r for r, on in zip(REGIONS, mask) if on) for mask in itertools.product((False, True), repeat=len(REGIONS))
]
FULL_WORLDS = [w for w in WORLDS if all(any(r[t] for r in w) for t in range(3))]  # every group non-empty


def entailed(premises, statement, worlds) -> bool:
    return all(holds(statement, w) for w in worlds if all(holds(p, w) for p in premises))


@functools.cache
def _wrong_for(premises, conclusion) -> tuple[list, list]:
    """The statements the premises do not entail even when every group has members (so with or without
    existential import), and those of them that some such world makes true along with the premises."""
    assert entailed(premises, conclusion, WORLDS)
    candidates = [(q, s, p) for q in (ALL, SOME, NO, SOME_NOT) for s in range(3) for p in range(3) if s != p]
    wrong = [st for st in candidates if not entailed(premises, st, FULL_WORLDS)]
    consistent = [st for st in wrong if any(all(holds(p, w) for p in premises) and holds(st, w) for w in FULL_WORLDS)]
    return wrong, consistent


def say(statement: tuple[str, int, int], group: str, habits: list[str]) -> str:
    q, s, p = statement
    who = f"{group.split(' ')[0]} who {habits[s]}"  # "students who play chess"
    return {
        ALL: f"All the {who} also {habits[p]}.",
        SOME: f"Some of the {who} {habits[p]}.",
        NO: f"None of the {who} {habits[p]}.",
        SOME_NOT: f"Some of the {who} do not {habits[p]}.",
    }[q]


def _syllogism(rng: random.Random) -> tuple[str, str, list[str]]:
    premises, conclusion = rng.choice(FORMS)
    habits = rng.sample(HABITS, 3)
    group = rng.choice(GROUPS)
    wrong, consistent = _wrong_for(premises, conclusion)
    n_consistent = min(len(consistent), rng.choice((2, 3)))
    picked = rng.sample(consistent, n_consistent)
    picked += rng.sample([st for st in wrong if st not in picked], 3 - n_consistent)
    order = list(premises)
    rng.shuffle(order)
    passage = f"Among the {group}: " + " ".join(say(st, group, habits) for st in order)
    question = "If the statements above are true, which of the following must also be true?"
    return f"{passage}\n{question}", say(conclusion, group, habits), [say(st, group, habits) for st in picked]


# --- conditionals: literals (event, truth) over the events 0, 1, 2 ---------------------------------------------

# a premise: ("if", (e, v), (e, v)) "if literal then literal"; ("or", (e, v), (e, v)) "at least one"; ("fact", (e, v))
COND_FORMS = (
    (("if", (0, True), (1, True)), ("if", (1, True), (2, True)), ("fact", (0, True))),
    (("if", (0, True), (1, True)), ("if", (1, True), (2, True)), ("fact", (2, False))),
    (("or", (0, True), (1, True)), ("if", (0, True), (2, True)), ("fact", (2, False))),
    (("if", (0, True), (1, False)), ("if", (2, False), (1, True)), ("fact", (0, True))),
    (("or", (0, True), (1, True)), ("if", (1, True), (2, False)), ("fact", (2, True))),
    (("if", (0, True), (1, True)), ("if", (0, False), (2, True)), ("fact", (1, False))),
    (("if", (0, False), (1, True)), ("if", (1, True), (2, False)), ("fact", (2, True))),
    (("or", (0, False), (1, True)), ("if", (1, True), (2, True)), ("fact", (2, False))),
)


def satisfies(premise, world: tuple[bool, bool, bool]) -> bool:
    kind, *lits = premise
    truth = [world[e] == v for e, v in lits]
    if kind == "if":
        return not truth[0] or truth[1]
    if kind == "or":
        return truth[0] or truth[1]
    return truth[0]


def _conditional(rng: random.Random) -> tuple[str, str, list[str]]:
    premises = rng.choice(COND_FORMS)
    names = rng.sample(NAMES, 3)
    events = rng.sample(EVENTS, 3)
    clauses = [(events[k][0].format(n=names[k]), events[k][1].format(n=names[k])) for k in range(3)]

    def lit(e: int, v: bool) -> str:
        return clauses[e][0 if v else 1]

    worlds = [w for w in itertools.product((False, True), repeat=3) if all(satisfies(p, w) for p in premises)]
    facts = {p[1] for p in premises if p[0] == "fact"}
    literals = [(e, v) for e in range(3) for v in (True, False)]
    must = [x for x in literals if x not in facts and all((w[x[0]] == x[1]) for w in worlds)]
    wrong = [x for x in literals if not all((w[x[0]] == x[1]) for w in worlds)]
    gold = rng.choice(must)
    picked = rng.sample(wrong, 3)
    sentences = []
    for p in premises:
        if p[0] == "if":
            sentences.append(f"If {lit(*p[1])}, then {lit(*p[2])}.")
        elif p[0] == "or":
            sentences.append(f"Either {lit(*p[1])} or {lit(*p[2])}, or both.")
    rules = sentences[:]
    rng.shuffle(rules)
    fact = next(p[1] for p in premises if p[0] == "fact")
    passage = " ".join(rules) + f" In fact, {lit(*fact)}."
    passage = passage[0].upper() + passage[1:]
    question = "Which of the following must be true?"

    def cap(s: str) -> str:
        return s[0].upper() + s[1:] + "."

    return f"{passage}\n{question}", cap(lit(*gold)), [cap(lit(*x)) for x in picked]


# --- ordering ---------------------------------------------------------------------------------------------------


def _ordering(rng: random.Random) -> tuple[str, str, list[str]]:
    more, less, most, least = rng.choice(SCALES)
    k = rng.choice((4, 5))
    people = rng.sample(NAMES, k)  # people[0] has the most
    facts = []
    for j in range(k - 1):
        a, b = people[j], people[j + 1]
        facts.append(f"{a} is {more} than {b}." if rng.random() < 0.5 else f"{b} is {less} than {a}.")
    rng.shuffle(facts)
    rank = rng.randrange(2 if k == 4 else 3)
    top = rng.random() < 0.5
    gold = people[rank] if top else people[k - 1 - rank]
    word = f"{ORDINALS[rank]}{most if top else least}"
    others = [p for p in people if p != gold]
    wrong = rng.sample(others, 3)
    passage = " ".join(facts)
    return f"{passage}\nWho is the {word}?", gold, wrong


KINDS = {"syllogism": _syllogism, "conditional": _conditional, "ordering": _ordering}


def make(seed: int, i: int) -> Item:
    rng = rng_for("doit_reasoning", seed, i)
    kind = rng.choice(sorted(KINDS))
    stem, gold, wrong = KINDS[kind](rng)
    options, letter = shuffled(rng, gold, wrong)
    return Item(mc_prompt(stem, options), letter, kind, tuple(options))


def records(n: int, seed: int, split: str) -> list[dict]:
    return [
        record(item_id, exchange(prompt, gold), TYPE, QUESTION_FORMAT)
        for item_id, prompt, gold, *_ in draw_distinct(make, n, seed, split, "doit-reasoning")
    ]


generate_train, generate_eval = protocol(__name__)
