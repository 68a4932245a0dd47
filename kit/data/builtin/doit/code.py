"""DoIT's code ability (leetcode.cn problems, question_format 1), mirrored in English: a one-paragraph task for a
short Python function (sum of multiples, count letters, best neighbouring pair, reverse words, running totals,
clamp, count above a threshold, product, find an index, largest/smallest, a two-way label), with random names,
parameter names and constants. The gold reply is a correct function in a ```python block; the fine distractor is
the gold with one semantic corruption (a flipped comparison or operator, a constant off by one, a wrong index or
slice) that makes it wrong, one changing a constant the prompt states where the family has one (version 2: with
version 1's free choice the untrained 135M model already ranked the gold first on 97% of items, by its prior that
counters start at 0); the coarse one is a correct-looking function for another task of this generator.

``make(seed, i)`` also returns test cases (arguments, expected result) that the gold passes and the fine
distractor fails; the tests run them.
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

from kit.data.builtin import draw_distinct, rng_for
from kit.data.builtin.doit import exchange, protocol, record

VERSION = "2"
TYPE = "code"
QUESTION_FORMAT = 1

LIST_PARAMS = ("xs", "nums", "values", "items", "numbers", "data")
TEXT_PARAMS = ("s", "text", "sentence", "line", "phrase")
WORDS = (
    "apple", "river", "stone", "garden", "window", "orange", "pencil", "cloud", "market", "tiger", "lemon", "bridge",
    "candle", "forest", "honey", "island", "jacket", "kettle", "meadow", "needle", "ocean", "puzzle", "rocket",
    "silver", "tunnel", "violin", "wagon", "yellow", "zebra", "button",
)  # fmt: skip


class Spec(NamedTuple):
    name: str
    params: tuple[str, ...]
    desc: str  # what the function does, after "that"
    body: tuple[str, ...]  # the gold's lines, unindented (nested lines carry their own 4 spaces)
    corruptions: tuple[tuple[int, str, str], ...]  # (line, old, new): one of them makes the fine distractor
    cases: tuple[tuple[tuple, object], ...]  # (arguments, expected result)


class Item(NamedTuple):
    prompt: str
    gold: str
    fine: str
    coarse: str
    name: str
    cases: tuple[tuple[tuple, object], ...]


def _ints(rng: random.Random, lo: int, hi: int, n_lo: int = 4, n_hi: int = 7) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(rng.randint(n_lo, n_hi))]


def _sum_multiples(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(2, 5)
    what = "even numbers" if k == 2 else f"numbers divisible by {k}"
    name = rng.choice(("sum_evens" if k == 2 else f"sum_multiples_of_{k}", "add_selected", "total_of_multiples"))
    body = ("total = 0", f"for x in {xs}:", f"    if x % {k} == 0:", "        total += x", "return total")
    corruptions = ((2, "== 0", "!= 0"), (3, "+=", "-="), (2, f"% {k}", f"% {k + 1}"), (0, "= 0", "= 1"))
    cases = []
    for _ in range(3):
        values = [*_ints(rng, 1, 30, 3, 5), k * rng.randint(1, 5)]
        values.append(k)  # k is never a multiple of k + 1, so the sums differ
        rng.shuffle(values)
        cases.append(((values,), sum(x for x in values if x % k == 0)))
    return Spec(name, (xs,), f"takes a list of integers `{xs}` and returns the sum of its {what}", body,
                corruptions, tuple(cases))  # fmt: skip


def _count_letters(rng: random.Random) -> Spec:
    s = rng.choice(TEXT_PARAMS)
    if rng.random() < 0.4:
        letters, what, name = "aeiou", "vowels (a, e, i, o, u)", rng.choice(("count_vowels", "vowel_count"))
    else:
        letters = "".join(sorted(rng.sample("bcdfghklmnprstw", rng.randint(1, 2))))
        what = f"letter '{letters}'" if len(letters) == 1 else f"letters '{letters[0]}' and '{letters[1]}'"
        what = f"occurrences of the {what}"
        name = rng.choice(("count_letters", "letter_count", f"count_{letters}"))
    body = ("count = 0", f"for ch in {s}:", f'    if ch in "{letters}":', "        count += 1", "return count")
    corruptions = ((3, "+= 1", "+= 2"), (2, " in ", " not in "), (0, "= 0", "= 1"))
    cases = []
    for _ in range(3):
        words = rng.sample(WORDS, rng.randint(2, 3))
        words.append(rng.choice(letters) + "x")
        text = " ".join(words)
        cases.append(((text,), sum(ch in letters for ch in text)))
    return Spec(name, (s,), f"takes a lowercase string `{s}` and returns the number of {what} in it", body,
                corruptions, tuple(cases))  # fmt: skip


def _best_pair(rng: random.Random) -> Spec:
    xs = rng.choice(LIST_PARAMS)
    if rng.random() < 0.5:
        what, op, name = "the largest sum of two neighbouring elements", "+", rng.choice(("max_pair_sum", "best_pair"))
        expr = f"{xs}[i] + {xs}[i + 1]"
        first = f"{xs}[0] + {xs}[1]"
    else:
        what, op, name = "the largest rise from one element to the next (next minus current)", "-", "max_rise"
        expr = f"{xs}[i + 1] - {xs}[i]"
        first = f"{xs}[1] - {xs}[0]"
    body = (f"best = {first}", f"for i in range(1, len({xs}) - 1):", f"    best = max(best, {expr})", "return best")
    corruptions = ((1, "- 1)", "- 2)"), (2, "max(", "min("), (2, "[i + 1]", "[i - 1]"))
    cases = []
    for _ in range(3):
        values = _ints(rng, 0, 9, 3, 5)
        values += [values[-1] + 5, values[-1] + 45] if op == "-" else [50, 60]
        pairs = [
            (values[j + 1] - values[j]) if op == "-" else values[j] + values[j + 1] for j in range(len(values) - 1)
        ]
        cases.append(((values,), max(pairs)))
    return Spec(name, (xs,), f"takes a list of at least two integers `{xs}` and returns {what}", body, corruptions,
                tuple(cases))  # fmt: skip


def _reverse_words(rng: random.Random) -> Spec:
    s = rng.choice(TEXT_PARAMS)
    sep = rng.choice((" ", "-", ", ", " | "))
    if rng.random() < 0.5:
        what = f"its words in reverse order, joined by '{sep}'"
        body = (f"words = {s}.split()", f'return "{sep}".join(words[::-1])')
        corruptions = ((1, "[::-1]", "[:0:-1]"), (1, "[::-1]", "[-2::-1]"))
        name = rng.choice(("reverse_words", "flip_words", "words_backwards"))
    else:
        what = f"each word spelled backwards, in the original order, joined by '{sep}'"
        body = (f"words = {s}.split()", f'return "{sep}".join(w[::-1] for w in words)')
        corruptions = ((1, "w[::-1]", "w[:0:-1]"), (1, "w[::-1]", "w[-2::-1]"))
        name = rng.choice(("reverse_each_word", "mirror_words", "spell_backwards"))
    cases = []
    for _ in range(3):
        words = rng.sample(WORDS, rng.randint(2, 4))
        out = words[::-1] if "[::-1])" in body[1] else [w[::-1] for w in words]
        cases.append(((" ".join(words),), sep.join(out)))
    return Spec(name, (s,), f"takes a string `{s}` of words separated by spaces and returns {what}", body,
                corruptions, tuple(cases))  # fmt: skip


def _running_totals(rng: random.Random) -> Spec:
    xs, c = rng.choice(LIST_PARAMS), rng.randint(0, 20)
    start = "" if c == 0 else f" starting from {c} (each total includes {c})"
    body = ("out = []", f"total = {c}", f"for x in {xs}:", "    total += x", "    out.append(total)", "return out")
    corruptions = ((1, f"= {c}", f"= {c + 1}"), (3, "+=", "-="), (4, "(total)", "(x)"))
    cases = []
    for _ in range(3):
        values = _ints(rng, 1, 9, 3, 5)
        totals, t = [], c
        for x in values:
            t += x
            totals.append(t)
        cases.append(((values,), totals))
    name = rng.choice(("running_totals", "prefix_sums", "cumulative", "running_sum"))
    return Spec(name, (xs,), f"takes a list of integers `{xs}` and returns the list of its running totals{start}",
                body, corruptions, tuple(cases))  # fmt: skip


def _clamp(rng: random.Random) -> Spec:
    x = rng.choice(("x", "n", "value", "score", "level"))
    lo = rng.randint(-10, 10)
    hi = lo + rng.randint(5, 40)
    body = (f"if {x} < {lo}:", f"    return {lo}", f"if {x} > {hi}:", f"    return {hi}", f"return {x}")
    corruptions = ((3, f"return {hi}", f"return {hi - 1}"), (1, f"return {lo}", f"return {lo + 1}"),
                   (2, f"{x} > {hi}", f"{x} < {hi}"))  # fmt: skip
    args = [lo - rng.randint(1, 9), hi + rng.randint(1, 9), rng.randint(lo, hi)]
    cases = tuple(((a,), min(max(a, lo), hi)) for a in args)
    name = rng.choice(("clamp", "limit", "bound", "keep_in_range"))
    return Spec(name, (x,), f"returns the integer `{x}` limited to the range {lo} to {hi}: {lo} if it is below "
                f"{lo}, {hi} if it is above {hi}, else `{x}` itself", body, corruptions, cases)  # fmt: skip


def _count_above(rng: random.Random) -> Spec:
    xs, t = rng.choice(LIST_PARAMS), rng.randint(0, 20)
    above = rng.random() < 0.5
    cmp, what = (">", "greater than") if above else ("<", "less than")
    body = ("count = 0", f"for x in {xs}:", f"    if x {cmp} {t}:", "        count += 1", "return count")
    corruptions = ((2, f"{cmp} {t}", f"{cmp}= {t}"), (3, "+= 1", "+= 2"), (0, "= 0", "= 1"))
    cases = []
    for _ in range(3):
        values = [*_ints(rng, t - 9, t + 9, 3, 5), t, t + 3 if above else t - 3]
        rng.shuffle(values)
        cases.append(((values,), sum((v > t) if above else (v < t) for v in values)))
    name = rng.choice(("count_above" if above else "count_below", "count_over" if above else "count_under", "tally"))
    return Spec(name, (xs,), f"takes a list of integers `{xs}` and returns how many of them are {what} {t}", body,
                corruptions, tuple(cases))  # fmt: skip


def _product(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(1, 5)
    times = "" if k == 1 else f", times {k}"
    ret = "return result" if k == 1 else f"return result * {k}"
    body = ("result = 1", f"for x in {xs}:", "    result *= x", ret)
    corruptions = ((0, "= 1", "= 0"), (2, "*=", "+="), (3, "return result", "return result + 1"))
    cases = []
    for _ in range(3):
        values = [*_ints(rng, 1, 6, 1, 2), 3]
        rng.shuffle(values)
        p = 1
        for v in values:
            p *= v
        cases.append(((values,), p * k))
    name = rng.choice(("product", "multiply_all", "list_product", "scaled_product"))
    return Spec(name, (xs,), f"takes a list of positive integers `{xs}` and returns the product of its elements"
                f"{times}", body, corruptions, tuple(cases))  # fmt: skip


def _find_index(rng: random.Random) -> Spec:
    xs, target = rng.choice(LIST_PARAMS), rng.choice(("target", "key", "wanted", "x"))
    miss = rng.choice((-1, -1, 0, None))
    miss_text = {-1: "-1", 0: "0", None: "None"}[miss]
    wrong = {-1: "0", 0: "-1", None: "-1"}[miss]
    body = (f"for i, v in enumerate({xs}):", f"    if v == {target}:", "        return i", f"return {miss_text}")
    corruptions = ((2, "return i", "return i + 1"), (3, f"return {miss_text}", f"return {wrong}"),
                   (1, "==", "!="))  # fmt: skip
    cases = []
    for j in range(3):
        values = list(dict.fromkeys(_ints(rng, 0, 50, 3, 6)))
        if j == 2:
            want = 51 + rng.randint(0, 9)
            cases.append(((values, want), miss))
        else:
            want = values[rng.randint(1, len(values) - 1)] if len(values) > 1 else values[0]
            cases.append(((values, want), values.index(want)))
    name = rng.choice(("find_index", "index_of", "position_of", "locate"))
    return Spec(name, (xs, target), f"returns the index of the first element of the list `{xs}` equal to "
                f"`{target}`, or {miss_text} if there is none", body, corruptions, tuple(cases))  # fmt: skip


def _extreme(rng: random.Random) -> Spec:
    xs = rng.choice(LIST_PARAMS)
    largest = rng.random() < 0.5
    cmp, flip, what = (">", "<", "largest") if largest else ("<", ">", "smallest")
    body = (f"best = {xs}[0]", f"for x in {xs}:", f"    if x {cmp} best:", "        best = x", "return best")
    corruptions = ((2, f"x {cmp}", f"x {flip}"), (0, f"{xs}[0]", "0"))
    cases = []
    for j in range(3):
        values = _ints(rng, -40, -1, 3, 5) if (j == 0) == largest else _ints(rng, 1, 40, 3, 5)
        cases.append(((values,), max(values) if largest else min(values)))
    name = rng.choice((f"find_{'max' if largest else 'min'}", f"{what}_value", f"{'highest' if largest else 'lowest'}"))
    return Spec(name, (xs,), f"returns the {what} element of the non-empty list of integers `{xs}` without using "
                f"the built-in {'max' if largest else 'min'}", body, corruptions, tuple(cases))  # fmt: skip


def _label(rng: random.Random) -> Spec:
    x, t = rng.choice(("x", "n", "score", "value", "points")), rng.randint(5, 90)
    yes, no = rng.choice((("high", "low"), ("big", "small"), ("pass", "fail"), ("hot", "cold"), ("long", "short")))
    body = (f"if {x} >= {t}:", f'    return "{yes}"', f'return "{no}"')
    corruptions = ((0, ">=", ">"), (0, f"= {t}", f"= {t + 1}"), (0, ">=", "<="))
    args = (t, t - rng.randint(1, 9), t + rng.randint(1, 9))
    cases = tuple(((a,), yes if a >= t else no) for a in args)
    name = rng.choice(("label", "classify", f"{yes}_or_{no}", "grade"))
    return Spec(name, (x,), f'returns "{yes}" if the integer `{x}` is at least {t}, otherwise "{no}"', body,
                corruptions, cases)  # fmt: skip


FAMILIES = (_sum_multiples, _count_letters, _best_pair, _reverse_words, _running_totals, _clamp, _count_above,
            _product, _find_index, _extreme, _label)  # fmt: skip
PHRASINGS = (
    "Write a Python function `{sig}` that {desc}.",
    "Implement `{sig}` in Python: it {desc}.",
    "Problem: write a function `{sig}` that {desc}. Reply with the code.",
)


def render(spec: Spec, body: tuple[str, ...] | None = None) -> str:
    lines = "\n".join(f"    {line}" for line in (body or spec.body))
    return f"```python\ndef {spec.name}({', '.join(spec.params)}):\n{lines}\n```"


def prompt_decided(spec: Spec, prompt: str) -> list[tuple[int, str, str]]:
    """The corruptions that change a constant the prompt states (a threshold, a divisor, a start value): only the
    prompt tells the gold from them, not the language model's prior (``count = 0`` over ``count = 1`` is the prior)."""
    stated = set(re.findall(r"\d+", prompt))
    return [c for c in spec.corruptions if set(re.findall(r"\d+", c[1])) & stated]


def corrupt(spec: Spec, rng: random.Random, prompt: str = "") -> tuple[str, ...]:
    """The gold's body with one corruption, one the prompt decides where the family has any (version 2)."""
    line, old, new = rng.choice(prompt_decided(spec, prompt) or spec.corruptions)
    body = list(spec.body)
    assert old in body[line], (spec.name, body[line], old)
    body[line] = body[line].replace(old, new, 1)
    return tuple(body)


def make(seed: int, i: int) -> Item:
    rng = rng_for("doit_code", seed, i)
    family, other = rng.sample(FAMILIES, 2)
    spec = family(rng)
    sig = f"{spec.name}({', '.join(spec.params)})"
    prompt = rng.choice(PHRASINGS).format(sig=sig, desc=spec.desc)
    fine = render(spec, corrupt(spec, rng, prompt))
    return Item(prompt, render(spec), fine, render(other(rng)), spec.name, spec.cases)


def records(n: int, seed: int, split: str) -> list[dict]:
    return [
        record(item_id, exchange(prompt, gold), TYPE, QUESTION_FORMAT, choices=[gold, fine, coarse])
        for item_id, prompt, gold, fine, coarse, *_ in draw_distinct(make, n, seed, split, "doit-code")
    ]


generate_train, generate_eval = protocol(__name__)
