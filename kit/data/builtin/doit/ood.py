"""DoIT's held-out out-of-domain family (3 C-Eval subjects, 5-shot multiple choice in chat form, question_format 0),
mirrored in English by three subjects of our own, each its own DoIT type: ``ood_calendar`` (days of the week and
months: counting forward and back, days in a month, weeks to days), ``ood_units`` (minutes/hours/seconds,
mm/cm/m/km, grams/kilograms) and ``ood_shapes`` (sides and corners of polygons, perimeters, rectangle areas,
angle sums). Four options each, the gold reply a letter.

A record is 12 messages: five solved questions of the same subject from its TRAIN half (never the question itself),
then the question and its gold letter. Item k is of subject k % 3, so any prefix is balanced. Train and eval are
split by the question's stem (``draw_distinct`` per subject), so no stem is in both, whatever the option order.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from kit.data.builtin import draw_distinct, rng_for
from kit.data.builtin.doit import exchange, mc_prompt, protocol, record, shuffled

VERSION = "1"
TYPE = "ood"
QUESTION_FORMAT = 0
SUBJECTS = ("ood_calendar", "ood_units", "ood_shapes")
N_SHOTS = 5
SHOT_POOL = 64  # the first train questions of a subject, from which each record's shots are drawn

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # not a leap year
POLYGONS = (
    ("triangle", 3), ("square", 4), ("pentagon", 5), ("hexagon", 6), ("heptagon", 7), ("octagon", 8),
    ("nonagon", 9), ("decagon", 10),
)  # fmt: skip

Question = tuple[str, str, list[str]]  # (stem, gold option, three wrong options)


def _others(rng: random.Random, gold: object, candidates: list, fmt: Callable[[object], str] = str) -> list[str]:
    """Three distinct wrong options, preferring the given candidates (in random order), as text."""
    seen, out = {fmt(gold)}, []
    pool = list(candidates)
    rng.shuffle(pool)
    if isinstance(gold, int):  # near misses, in case the candidates run short
        pool += [gold + d for d in (1, -1, 2, -2, 3, 10)]
    for c in pool:
        if fmt(c) not in seen and (not isinstance(c, int | float) or c > 0):
            seen.add(fmt(c))
            out.append(fmt(c))
        if len(out) == 3:
            return out
    raise ValueError(f"not enough distractors for {gold!r}")


def _calendar(rng: random.Random) -> Question:
    kind = rng.randrange(6)
    if kind in (0, 1):
        d, k = rng.randrange(7), rng.randint(2, 99)
        if k % 7 == 0:
            k += 1
        if kind == 0:
            stem, gold = f"If today is {DAYS[d]}, what day of the week will it be in {k} days?", (d + k) % 7
        else:
            stem, gold = f"If today is {DAYS[d]}, what day of the week was it {k} days ago?", (d - k) % 7
        return stem, DAYS[gold], _others(rng, DAYS[gold], [DAYS[(gold + j) % 7] for j in range(1, 7)])
    if kind == 2:
        m, d, date = rng.randrange(12), rng.randrange(7), rng.randint(2, 28)
        stem = f"If {MONTHS[m]} 1 is a {DAYS[d]}, what day of the week is {MONTHS[m]} {date}?"
        gold = (d + date - 1) % 7
        return stem, DAYS[gold], _others(rng, DAYS[gold], [DAYS[(gold + j) % 7] for j in range(1, 7)])
    if kind == 3:
        m, k = rng.randrange(12), rng.randint(1, 30)
        if k % 12 == 0:
            k += 1
        if rng.random() < 0.5:
            stem, gold = f"Which month comes {k} month{'s' * (k > 1)} after {MONTHS[m]}?", (m + k) % 12
        else:
            stem, gold = f"Which month was it {k} month{'s' * (k > 1)} before {MONTHS[m]}?", (m - k) % 12
        return stem, MONTHS[gold], _others(rng, MONTHS[gold], [MONTHS[(gold + j) % 12] for j in (-2, -1, 1, 2)])
    if kind == 4:
        m = rng.randrange(12)
        stem = f"In a year that is not a leap year, how many days does {MONTHS[m]} have?"
        return stem, str(MONTH_DAYS[m]), _others(rng, MONTH_DAYS[m], [28, 29, 30, 31])
    w = rng.randint(2, 60)
    stem = f"How many days are there in {w} weeks?"
    return stem, str(7 * w), _others(rng, 7 * w, [5 * w, 7 * w + 7, 7 * w - 7, 7 * w + 1, 10 * w])


# (big unit, small unit, how many small in one big)
CONVERSIONS = (
    ("hour", "minute", 60), ("minute", "second", 60), ("hour", "second", 3600), ("meter", "centimeter", 100),
    ("centimeter", "millimeter", 10), ("meter", "millimeter", 1000), ("kilometer", "meter", 1000),
    ("kilogram", "gram", 1000), ("liter", "milliliter", 1000),
)  # fmt: skip
FACTORS = (10, 24, 60, 100, 1000, 3600)


def _units(rng: random.Random) -> Question:
    big, small, factor = rng.choice(CONVERSIONS)
    wrong_factors = [f for f in FACTORS if f != factor]
    kind = rng.randrange(3)
    if kind == 0:  # big to small
        q = rng.randint(2, 150)
        stem, gold = f"How many {small}s are there in {q} {big}s?", q * factor
        return stem, str(gold), _others(rng, gold, [q * f for f in wrong_factors] + [gold + factor, gold - factor])
    if kind == 1:  # small to big
        q = rng.randint(2, 150)
        stem, gold = f"How many {big}s are there in {q * factor} {small}s?", q
        wrong = [q * factor // f for f in wrong_factors if q * factor % f == 0] + [q + 1, q - 1, 2 * q, q + 10]
        return stem, str(gold), _others(rng, gold, wrong)
    q, r = rng.randint(1, 20), rng.choice([x for x in (1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 45, 50) if x < factor])
    stem, gold = f"How many {small}s are there in {q} {big}{'s' * (q > 1)} and {r} {small}s?", q * factor + r
    wrong = [q * factor, q * factor - r, q * 100 + r, (q + 1) * factor + r, q * factor + 2 * r, q * 10 + r]
    return stem, str(gold), _others(rng, gold, wrong)


def _shapes(rng: random.Random) -> Question:
    kind = rng.randrange(7)
    name, n = rng.choice(POLYGONS)
    if kind == 0:
        part = rng.choice(("sides", "corners"))
        return f"How many {part} does a {name} have?", str(n), _others(rng, n, [n - 2, n - 1, n + 1, n + 2])
    if kind == 1:
        stem = f"Which shape has exactly {n} sides?"
        return stem, name, _others(rng, name, [p for p, m in POLYGONS if abs(m - n) <= 3])
    if kind == 2:
        stem = f"What is the sum of the interior angles of a {name}, in degrees?"
        gold = (n - 2) * 180
        return stem, str(gold), _others(rng, gold, [(n - 1) * 180, n * 180, (n - 2) * 90, (n - 3) * 180, 360])
    if kind == 3:
        s = rng.randint(2, 99)
        stem = f"What is the perimeter of a regular {name} whose sides are each {s} cm long?"
        gold = n * s
        return (
            stem,
            f"{gold} cm",
            _others(rng, gold, [(n - 1) * s, (n + 1) * s, s * s, n + s, n * s + n, 2 * n * s], lambda v: f"{v} cm"),
        )
    if kind == 4:
        s = rng.randint(2, 99)
        stem = f"A regular {name} has a perimeter of {n * s} cm. How long is each side?"
        wrong = [s + 1, s - 1, 2 * s, n * s // 2 if n * s % 2 == 0 else s + 2, s + n]
        return stem, f"{s} cm", _others(rng, s, wrong, lambda v: f"{v} cm")
    a, b = sorted(rng.sample(range(2, 51), 2), reverse=True)  # the length is the longer side
    if kind == 5:
        stem, sq = f"A rectangle is {a} cm long and {b} cm wide. What is its area?", "square cm"
        return stem, f"{a * b} {sq}", _others(rng, a * b, [2 * (a + b), a + b, a * b + a, a * b - b, a * (b + 1)],
                                            lambda v: f"{v} {sq}")  # fmt: skip
    stem = f"A rectangle is {a} cm long and {b} cm wide. What is its perimeter?"
    gold = 2 * (a + b)
    return stem, f"{gold} cm", _others(rng, gold, [a * b, a + b, 2 * a + b, a + 2 * b, 4 * a], lambda v: f"{v} cm")


MAKERS = {"ood_calendar": _calendar, "ood_units": _units, "ood_shapes": _shapes}


def question(subject: str) -> Callable[[int, int], tuple[str, str, str]]:
    """``make(seed, i)`` for one subject: (stem, the user prompt, the gold letter)."""

    def make(seed: int, i: int) -> tuple[str, str, str]:
        rng = rng_for(f"doit_{subject}", seed, i)
        stem, gold, wrong = MAKERS[subject](rng)
        options, letter = shuffled(rng, gold, wrong)
        return stem, mc_prompt(stem, options), letter

    return make


def records(n: int, seed: int, split: str) -> list[dict]:
    drawn, pools = {}, {}
    for s, subject in enumerate(SUBJECTS):
        make = question(subject)
        drawn[subject] = list(draw_distinct(make, len(range(s, n, 3)), seed, split, f"doit-{subject}"))
        pools[subject] = list(draw_distinct(make, SHOT_POOL, seed, "train", f"doit-{subject}"))
    out = []
    for k in range(n):
        subject = SUBJECTS[k % 3]
        item_id, stem, prompt, letter = drawn[subject][k // 3]
        shots = rng_for(f"doit_ood_shots:{subject}", seed, k).sample(
            [shot for shot in pools[subject] if shot[1] != stem], N_SHOTS
        )
        messages = [m for _, _, p, a in shots for m in exchange(p, a)] + exchange(prompt, letter)
        out.append(record(item_id, messages, subject, QUESTION_FORMAT))
    return out


generate_train, generate_eval = protocol(__name__)
