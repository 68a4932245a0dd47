"""Built-in grade-school math word problems with GSM8K-style step-by-step answers ending ``#### N``.

Ten templates with varied names, objects and numbers; item i of (seed, split) is fixed by the seed alone,
every number stays below 1000 and every problem takes 1-3 steps, so a 135M model has a chance.
"""

from __future__ import annotations

import random
import re

from kit.data.builtin import draw_distinct
from kit.data.schema import chat_row

VERSION = "1"
# Bumped whenever the dense items (segments, distractor values) of this generator or math_easy change.
DENSE_VERSION = "1"
TASK = "builtin_math"
SOURCE = "builtin:math"
# The eval prompt and the training prompt share this wording so that training teaches the answer format;
# the gsm8k task uses it too, so a change bumps PROMPT_VERSION.
PROMPT_VERSION = "1"
ANSWER_INSTRUCTION = "Solve it step by step, then write the final answer on the last line as '#### <number>'."

# fmt: off
NAMES = (
    ("Ava", "she"), ("Liam", "he"), ("Mia", "she"), ("Noah", "he"), ("Zoe", "she"), ("Omar", "he"),
    ("Priya", "she"), ("Mateo", "he"), ("Hana", "she"), ("Kofi", "he"), ("Lena", "she"), ("Ravi", "he"),
    ("Sofia", "she"), ("Jonas", "he"), ("Amara", "she"), ("Diego", "he"), ("Yuki", "she"), ("Ethan", "he"),
    ("Nadia", "she"), ("Felix", "he"), ("Chloe", "she"), ("Tariq", "he"), ("Grace", "she"), ("Leo", "he"),
    ("Ines", "she"), ("Samir", "he"), ("Maya", "she"), ("Owen", "he"), ("Aisha", "she"), ("Hugo", "he"),
)
OBJECTS = (
    "apples", "pencils", "stickers", "marbles", "cookies", "books", "toy cars", "seashells", "cupcakes",
    "stamps", "beads", "trading cards", "oranges", "balloons", "crayons", "postcards", "buttons", "shells",
)
SHOP_ITEMS = (
    "notebooks", "pens", "sandwiches", "juice boxes", "T-shirts", "candles", "mugs", "plants", "puzzles",
    "comic books", "hats", "water bottles", "bags of rice", "boxes of tea", "pairs of socks",
)
SALE_ITEMS = ("jacket", "bicycle", "lamp", "backpack", "pair of shoes", "board game", "guitar", "tent", "watch")
ACTIVITIES = (  # (verb, unit, per-hour range)
    ("reads", "pages", (5, 30)), ("bakes", "cookies", (6, 24)), ("paints", "tiles", (2, 15)),
    ("packs", "boxes", (4, 20)), ("knits", "rows", (3, 18)), ("folds", "paper cranes", (5, 25)),
    ("writes", "emails", (2, 12)), ("plants", "seedlings", (4, 20)),
)
GRIDS = (  # (place, row word, things)
    ("garden", "rows", "tulips"), ("classroom", "rows", "desks"), ("orchard", "rows", "trees"),
    ("parking lot", "lanes", "cars"), ("bookcase", "shelves", "books"), ("box", "layers", "chocolates"),
    ("theater", "rows", "seats"), ("greenhouse", "racks", "pots"),
)
PURCHASES = ("book", "game", "gift", "scarf", "ticket", "kite", "plant", "poster")
# fmt: on


def _person(rng: random.Random, *avoid: str) -> tuple[str, str]:
    while True:
        name, pronoun = rng.choice(NAMES)
        if name not in avoid:
            return name, pronoun


def _shopping(rng: random.Random) -> tuple[str, list[str], int]:
    name, _ = _person(rng)
    first, second = rng.sample(SHOP_ITEMS, 2)
    a, b, p, q = rng.randint(2, 9), rng.randint(2, 9), rng.randint(2, 20), rng.randint(2, 20)
    total = a * p + b * q
    question = (
        f"{name} buys {a} {first} for ${p} each and {b} {second} for ${q} each. "
        f"How many dollars does {name} spend in total?"
    )
    steps = [
        f"The {first} cost {a} x ${p} = ${a * p}.",
        f"The {second} cost {b} x ${q} = ${b * q}.",
        f"In total {name} spends ${a * p} + ${b * q} = ${total}.",
    ]
    return question, steps, total


def _rate(rng: random.Random) -> tuple[str, list[str], int]:
    name, pronoun = _person(rng)
    verb, unit, (low, high) = rng.choice(ACTIVITIES)
    rate, h1, h2 = rng.randint(low, high), rng.randint(1, 6), rng.randint(1, 6)
    hours = h1 + h2
    question = (
        f"{name} {verb} {rate} {unit} every hour. {pronoun.capitalize()} works for {h1} hours on Saturday "
        f"and {h2} hours on Sunday. How many {unit} does {name} finish over the weekend?"
    )
    steps = [
        f"{name} works for {h1} + {h2} = {hours} hours.",
        f"So {pronoun} finishes {hours} x {rate} = {hours * rate} {unit}.",
    ]
    return question, steps, hours * rate


def _sharing(rng: random.Random) -> tuple[str, list[str], int]:
    name, pronoun = _person(rng)
    thing = rng.choice(OBJECTS)
    friends, each, kept = rng.randint(2, 8), rng.randint(2, 20), rng.randint(1, 15)
    rest = friends * each
    total = kept + rest
    self_word = "herself" if pronoun == "she" else "himself"
    question = (
        f"{name} has {total} {thing}. {pronoun.capitalize()} keeps {kept} for {self_word} and shares the rest "
        f"equally among {friends} friends. How many {thing} does each friend get?"
    )
    steps = [
        f"After keeping {kept}, {name} has {total} - {kept} = {rest} {thing} left.",
        f"Each friend gets {rest} / {friends} = {each} {thing}.",
    ]
    return question, steps, each


def _give_and_buy(rng: random.Random) -> tuple[str, list[str], int]:
    name, pronoun = _person(rng)
    friend, _ = _person(rng, name)
    thing = rng.choice(OBJECTS)
    had = rng.randint(20, 200)
    gave, bought = rng.randint(1, had - 1), rng.randint(1, 100)
    left = had - gave
    question = (
        f"{name} had {had} {thing}. {pronoun.capitalize()} gave {gave} to {friend} and then bought {bought} "
        f"more. How many {thing} does {name} have now?"
    )
    steps = [
        f"After giving away {gave}, {name} has {had} - {gave} = {left} {thing}.",
        f"After buying {bought} more, {pronoun} has {left} + {bought} = {left + bought} {thing}.",
    ]
    return question, steps, left + bought


def _discount(rng: random.Random) -> tuple[str, list[str], int]:
    item = rng.choice(SALE_ITEMS)
    pct = rng.choice((5, 10, 15, 20, 25, 30, 40, 50, 60, 75))
    step = 100 // _gcd(pct, 100)  # the smallest price whose pct% is a whole number of dollars
    price = step * rng.randint(1, 900 // step)
    off = price * pct // 100
    question = (
        f"A {item} costs ${price}. During a sale it is {pct}% off. "
        f"How many dollars does the {item} cost during the sale?"
    )
    steps = [
        f"The discount is {pct}% of ${price} = {pct}/100 x {price} = ${off}.",
        f"The sale price is ${price} - ${off} = ${price - off}.",
    ]
    return question, steps, price - off


def _test_score(rng: random.Random) -> tuple[str, list[str], int]:
    name, _ = _person(rng)
    pct = rng.choice((20, 25, 40, 50, 60, 75, 80, 90))
    step = 100 // _gcd(pct, 100)
    questions = step * rng.randint(1, 120 // step)
    right = questions * pct // 100
    question = (
        f"A test has {questions} questions. {name} answers {pct}% of them correctly. "
        f"How many questions does {name} answer correctly?"
    )
    steps = [f"{name} answers {pct}/100 x {questions} = {right} questions correctly."]
    return question, steps, right


def _grid(rng: random.Random) -> tuple[str, list[str], int]:
    name, _ = _person(rng)
    place, row_word, things = rng.choice(GRIDS)
    rows, per_row = rng.randint(2, 12), rng.randint(2, 20)
    total = rows * per_row
    taken = rng.randint(1, total - 1)
    question = (
        f"A {place} has {rows} {row_word} with {per_row} {things} in each. {name} takes away {taken} {things}. "
        f"How many {things} are left?"
    )
    steps = [
        f"At first there are {rows} x {per_row} = {total} {things}.",
        f"After {name} takes {taken}, there are {total} - {taken} = {total - taken} {things} left.",
    ]
    return question, steps, total - taken


def _ages(rng: random.Random) -> tuple[str, list[str], int]:
    first, _ = _person(rng)
    second, _ = _person(rng, first)
    age, later = rng.randint(8, 70), rng.randint(1, 20)
    diff = rng.randint(1, min(30, age - 1))
    older = rng.random() < 0.5
    now = age + diff if older else age - diff
    relation, sign = ("older", "+") if older else ("younger", "-")
    question = (
        f"{first} is {age} years old. {second} is {diff} years {relation} than {first}. "
        f"How old will {second} be in {later} years?"
    )
    steps = [
        f"{second} is {age} {sign} {diff} = {now} years old now.",
        f"In {later} years {second} will be {now} + {later} = {now + later} years old.",
    ]
    return question, steps, now + later


def _savings(rng: random.Random) -> tuple[str, list[str], int]:
    name, pronoun = _person(rng)
    weekly, weeks = rng.randint(3, 40), rng.randint(2, 12)
    saved = weekly * weeks
    spent = rng.randint(1, saved - 1)
    question = (
        f"{name} saves ${weekly} every week. After {weeks} weeks, {pronoun} spends ${spent} on a "
        f"{rng.choice(PURCHASES)}. How many dollars does {name} have left?"
    )
    steps = [
        f"{name} saves {weeks} x ${weekly} = ${saved}.",
        f"After spending ${spent}, {pronoun} has ${saved} - ${spent} = ${saved - spent} left.",
    ]
    return question, steps, saved - spent


def _times_as_many(rng: random.Random) -> tuple[str, list[str], int]:
    name, _ = _person(rng)
    thing = rng.choice(OBJECTS)
    word, factor = rng.choice((("twice", 2), ("three times", 3), ("four times", 4), ("half", None)))
    monday = rng.randrange(2, 200, 2) if factor is None else rng.randint(2, 200)
    tuesday = monday // 2 if factor is None else monday * factor
    work = f"{monday} / 2" if factor is None else f"{monday} x {factor}"
    question = (
        f"{name} collected {monday} {thing} on Monday and {word} as many on Tuesday. "
        f"How many {thing} did {name} collect on the two days?"
    )
    steps = [
        f"On Tuesday {name} collected {work} = {tuesday} {thing}.",
        f"Altogether {name} collected {monday} + {tuesday} = {monday + tuesday} {thing}.",
    ]
    return question, steps, monday + tuesday


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


TEMPLATES = (_shopping, _rate, _sharing, _give_and_buy, _discount, _test_score, _grid, _ages, _savings, _times_as_many)


def make_problem(seed: int, i: int) -> tuple[str, str, int]:
    """Candidate i for ``seed``: (question, step-by-step solution ending ``#### N``, N)."""
    rng = random.Random(f"math:{seed}:{i}")
    question, steps, answer = rng.choice(TEMPLATES)(rng)
    return question, "\n".join([*steps, f"#### {answer}"]), answer


def prompt(question: str) -> str:
    return f"{question}\n{ANSWER_INSTRUCTION}"


def _problems(n: int, seed: int, split: str):
    return draw_distinct(make_problem, n, seed, split, "math")


def generate_train(n: int, seed: int) -> list[dict]:
    """n training rows: the user asks the problem with the answer-format instruction; the assistant solves it."""
    return train_rows(_problems(n, seed, "train"), prompt, SOURCE)


def generate_eval(n: int, seed: int) -> list[dict]:
    """n evaluation items whose reference is ``{"answer": N}``."""
    return eval_items(_problems(n, seed, "eval"), prompt, TASK)


def generate_dense(n: int, seed: int) -> list[dict]:
    """The first n eval problems as dense items: gold worked solution and two with a wrong final result."""
    return dense_items(_problems(n, seed, "eval"), prompt)


# Shared with the easy level (kit.data.builtin.math_easy), which draws other problems in the same format.
def train_rows(problems, prompt_of, source: str) -> list[dict]:
    return [
        chat_row(row_id, source, [{"role": "user", "content": prompt_of(q)}, {"role": "assistant", "content": s}])
        for row_id, q, s, _ in problems
    ]


def eval_items(problems, prompt_of, task: str) -> list[dict]:
    return [
        {
            "id": item_id,
            "task": task,
            "messages": [{"role": "user", "content": prompt_of(q)}],
            "reference": {"answer": a},
        }
        for item_id, q, _, a in problems
    ]


def dense_items(problems, prompt_of) -> list[dict]:
    return [
        {"id": item_id, "messages": [{"role": "user", "content": prompt_of(q)}], "choices": dense_choices(s, item_id)}
        for item_id, q, s, _ in problems
    ]


# --- dense items: the worked solution with its final result right or wrong ----------------------------

# The last equation of a solution, e.g. "$12 + $20 = $32" or "12 - 3 = 9": operands, operator, result.
_LAST_EQUATION = re.compile(r"(\d+)(/100)? ([-+x/]) \$?(\d+) = \$?(\d+)(?!.*=)", re.S)
_FINAL = re.compile(r"\n#### (\d+)$")
WRONG_OFFSETS = (1, -1, 2, -2, 10, -10)


def dense_choices(solution: str, key: str) -> list[list[dict]]:
    """[gold, distractor, distractor], each a list of ``{"text", "scored"}`` segments of the whole solution.

    A distractor is the same text with the final equation's result and the ``#### N`` both set to one wrong
    value (so the wrong line still agrees with its ``####``; earlier lines are untouched): an operator
    confusion (a - b for a + b, a + b for a x b ...) when that differs from the gold, else N +- 1, 2 or 10.
    Only those two numbers' digits are scored, in all three candidates, so a model that knows the format but
    not the arithmetic ranks them at chance. Deterministic in (solution, key).
    """
    final, equation = _FINAL.search(solution), _LAST_EQUATION.search(solution)
    if final is None or equation is None or equation.group(5) != final.group(1):
        raise ValueError(f"math dense item {key}: the last equation's result is not the '#### N' answer: {solution!r}")
    a, percent, op, b, c = equation.groups()
    gold = int(c)
    wrong = _wrong_values(None if percent else int(a), op, int(b), gold, random.Random(f"dense:{key}"))
    spans = [equation.span(5), final.span(1)]
    return [_segments(solution, spans, str(value)) for value in (gold, *wrong)]


def _wrong_values(a: int | None, op: str, b: int, gold: int, rng: random.Random) -> list[int]:
    """Two distinct non-negative values other than ``gold``: a plausible slip first, then a near miss."""
    confusion = None if a is None else {"+": a - b, "-": a + b, "x": a + b, "/": a * b}[op]
    near = [gold + d for d in WRONG_OFFSETS if gold + d >= 0]
    rng.shuffle(near)
    candidates = ([confusion] if confusion is not None else []) + near
    wrong: list[int] = []
    for value in candidates:
        if value >= 0 and value != gold and value not in wrong:
            wrong.append(value)
    return wrong[:2]


def _segments(text: str, spans: list[tuple[int, int]], value: str) -> list[dict]:
    """``text`` cut at ``spans`` (sorted, disjoint), each span replaced by ``value`` and scored."""
    segments, at = [], 0
    for start, end in spans:
        segments += [{"text": text[at:start], "scored": False}, {"text": value, "scored": True}]
        at = end
    if at < len(text):
        segments.append({"text": text[at:], "scored": False})
    return segments
