"""Built-in Python function-writing tasks (a small stand-in for Code Alpaca / HumanEval) with hidden unit tests.

Twenty-two families with random names, parameter names and constants; training rows answer with the reference
implementation in a ```python block, eval items keep 3-5 asserts for kit.eval.tasks.builtin_code to run.

Over 400 lines: most of it is the task families' tables (names, templates, asserts), data rather than logic.
"""

from __future__ import annotations

import copy
import hashlib
import io
import random
import string
import sys
import textwrap
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kit.data.builtin import split_of
from kit.data.schema import DataError, chat_row

VERSION = "1"
TASK = "builtin_code"
SOURCE = "builtin:code"
# Shared by training and eval prompts so that training teaches the answer format the scorer extracts.
ANSWER_INSTRUCTION = "Reply with the function in a ```python code block."
# Candidates drawn for one item before giving up: far more than the few repeats a large space produces.
MAX_DRAWS_PER_ITEM = 10_000

# fmt: off
LIST_PARAMS = ("xs", "nums", "values", "numbers", "items", "data")
TEXT_PARAMS = ("s", "text", "line", "phrase")
WORDS = (
    "apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "rocket", "garden", "silver", "bread",
    "ocean", "pencil", "window", "forest", "candle", "mirror", "planet", "violin", "butter", "dragon", "cat",
    "dog", "sun", "map", "key", "owl", "tea", "ink", "box", "level", "radar", "noon", "kayak", "civic",
    "a", "an", "is", "of", "to", "go", "up", "sky", "umbrella", "elephant", "keyboard", "blanket", "lantern",
    "morning", "teacher",
)
COMPARISONS = (
    (">", "strictly greater than"), (">=", "greater than or equal to"),
    ("<", "strictly less than"), ("<=", "less than or equal to"),
)
LABELS = ("Fizz", "Buzz", "Foo", "Bar", "Ping", "Pong", "Tick", "Tock", "Zip", "Zap", "Hop", "Bop")
SEPARATORS = (" ", ",", ";", "-", "|", "/")
JOINERS = (" ", ",", ", ", "-", "+", "|", " / ", "")
# fmt: on


@dataclass(frozen=True)
class Spec:
    """One task before its tests are computed: ``does`` completes "Write ... `name(params)` that ..."."""

    name: str
    params: tuple[str, ...]
    does: str
    body: str
    cases: list[tuple]


@dataclass(frozen=True)
class CodeTask:
    prompt: str
    entry_point: str
    solution: str
    tests: str


# --- test-input helpers -------------------------------------------------------------------------------


def _ints(rng: random.Random, lo: int, hi: int, min_len: int = 1, max_len: int = 8) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(rng.randint(min_len, max_len))]


def _sentence(rng: random.Random, min_words: int = 1, max_words: int = 6, sep: str = " ") -> str:
    return sep.join(rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words)))


def _mixed_case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.3 else c for c in text)


def _n_cases(rng: random.Random, make: Callable[[], tuple], *fixed: tuple) -> list[tuple]:
    """3-5 distinct argument tuples: the fixed edge cases plus random ones (fewer if make() keeps repeating)."""
    cases, want = list(fixed), rng.randint(3, 5)
    for _ in range(50):
        if len(cases) == want:
            break
        case = make()
        if case not in cases:
            cases.append(case)
    return cases


# --- families: each draws one Spec from its rng -------------------------------------------------------


def _threshold_sum(rng: random.Random) -> Spec:
    xs, (op, words), t = rng.choice(LIST_PARAMS), rng.choice(COMPARISONS), rng.randint(-20, 20)
    return Spec(
        rng.choice(("sum_where", "threshold_sum", "conditional_sum", "sum_filtered")),
        (xs,),
        f"returns the sum of the elements of the list `{xs}` that are {words} {t} (0 when there are none)",
        f"return sum(x for x in {xs} if x {op} {t})",
        _n_cases(rng, lambda: (_ints(rng, t - 10, t + 10),), ([],)),
    )


def _product_mod(rng: random.Random) -> Spec:
    xs, m = rng.choice(LIST_PARAMS), rng.randint(2, 1000)
    body = f"result = 1\nfor x in {xs}:\n    result = result * x % {m}\nreturn result"
    return Spec(
        rng.choice(("product_mod", "mod_product", "product_modulo")),
        (xs,),
        f"returns the product of all elements of the list `{xs}` modulo {m}, as a number from 0 to {m - 1} "
        "(the product of an empty list is 1)",
        body,
        _n_cases(rng, lambda: (_ints(rng, -20, 60),), ([],)),
    )


def _count_letters(rng: random.Random) -> Spec:
    s = rng.choice(TEXT_PARAMS)
    if rng.random() < 0.25:
        letters, names = "aeiou", ("count_vowels", "vowel_count", "num_vowels")
    else:
        letters = "".join(sorted(rng.sample(string.ascii_lowercase, rng.randint(2, 5))))
        names = ("count_letters", "letter_count", "count_matches")
    ignore_case = rng.random() < 0.5
    source = f"{s}.lower()" if ignore_case else s
    case = "upper- or lower-case" if ignore_case else "lower-case only; upper-case letters do not count"
    return Spec(
        rng.choice(names),
        (s,),
        f"returns how many characters of the string `{s}` are one of the letters '{letters}' ({case})",
        f'return sum(1 for c in {source} if c in "{letters}")',
        _n_cases(rng, lambda: (_mixed_case(rng, _sentence(rng) + " " + "".join(rng.sample(letters, len(letters)))),)),
    )


def _reverse_parts(rng: random.Random) -> Spec:
    s, sep, joiner = rng.choice(TEXT_PARAMS), rng.choice(SEPARATORS), rng.choice(JOINERS)
    return Spec(
        rng.choice(("reverse_words", "reverse_parts", "flip_order", "reverse_tokens")),
        (s,),
        f"splits the string `{s}` on every '{sep}' and returns the pieces in reverse order joined with '{joiner}'",
        f'return "{joiner}".join(reversed({s}.split("{sep}")))',
        _n_cases(rng, lambda: (_sentence(rng, sep=sep),)),
    )


def _transform_words(rng: random.Random) -> Spec:
    s, k = rng.choice(TEXT_PARAMS), rng.randint(1, 4)
    what, expr = rng.choice(
        (
            ("reversed letter by letter", "w[::-1]"),
            ("in upper case", "w.upper()"),
            ("starting with an upper-case letter (only its first letter changes)", "w[:1].upper() + w[1:]"),
            (f"cut to its first {k} characters", f"w[:{k}]"),
            (f"cut to its last {k} characters", f"w[-{k}:]"),
            (f"without its first {k} characters", f"w[{k}:]"),
            ("written twice in a row", "w * 2"),
        )
    )
    return Spec(
        rng.choice(("transform_words", "map_words", "rewrite_words", "edit_words", "change_words", "process_words")),
        (s,),
        f"returns the string `{s}` with every word {what}; words are separated by single spaces, "
        "which are kept as they are",
        f'return " ".join({expr} for w in {s}.split(" "))',
        _n_cases(rng, lambda: (_sentence(rng),)),
    )


def _clamp(rng: random.Random) -> Spec:
    x, lo = rng.choice(("x", "n", "value", "v")), rng.randint(-50, 50)
    hi = lo + rng.randint(1, 100)
    return Spec(
        rng.choice(("clamp", "clip", "bound", "limit", "clamp_value")),
        (x,),
        f"returns the integer `{x}` clamped to the range [{lo}, {hi}]: {lo} if `{x}` is below {lo}, "
        f"{hi} if it is above {hi}, and `{x}` itself otherwise",
        f"return max({lo}, min({hi}, {x}))",
        _n_cases(rng, lambda: (rng.randint(lo - 20, hi + 20),), (lo - rng.randint(1, 9),), (hi + rng.randint(1, 9),)),
    )


def _fizzbuzz(rng: random.Random) -> Spec:
    n = rng.choice(("n", "limit", "count"))
    a, b = rng.sample(range(2, 10), 2)
    la, lb = rng.sample(LABELS, 2)
    body = (
        f"result = []\nfor i in range(1, {n} + 1):\n"
        f'    if i % {a} == 0 and i % {b} == 0:\n        result.append("{la}{lb}")\n'
        f'    elif i % {a} == 0:\n        result.append("{la}")\n'
        f'    elif i % {b} == 0:\n        result.append("{lb}")\n'
        "    else:\n        result.append(str(i))\nreturn result"
    )
    return Spec(
        rng.choice(("fizzbuzz", "fizz_buzz", "label_numbers", "play_fizzbuzz")),
        (n,),
        f"returns a list of strings for the numbers 1 to `{n}` inclusive: '{la}{lb}' for multiples of both "
        f"{a} and {b}, '{la}' for the other multiples of {a}, '{lb}' for the other multiples of {b}, "
        "and the number itself as a string otherwise",
        body,
        _n_cases(rng, lambda: (rng.randint(1, a * b + 3),), (0,)),
    )


def _fib_mod(rng: random.Random) -> Spec:
    n, m = rng.choice(("n", "k", "index")), rng.randint(2, 1000)
    f0, f1 = (0, 1) if rng.random() < 0.5 else (rng.randint(0, 5), rng.randint(1, 5))
    what = "Fibonacci number" if (f0, f1) == (0, 1) else "term of the Fibonacci-like sequence"
    return Spec(
        rng.choice(("fib_mod", "fibonacci_mod", "nth_term_mod", "sequence_mod")),
        (n,),
        f"returns the `{n}`-th {what} F({n}) modulo {m}, where F(0) = {f0}, F(1) = {f1} and F(i) = F(i-1) + F(i-2)",
        f"a, b = {f0}, {f1}\nfor _ in range({n}):\n    a, b = b, (a + b) % {m}\nreturn a % {m}",
        _n_cases(rng, lambda: (rng.randint(2, 80),), (0,), (1,)),
    )


def _palindrome(rng: random.Random) -> Spec:
    s = rng.choice(("s", "text", "word", "phrase", "string", "candidate"))
    ignore_case = rng.random() < 0.5
    keep_words, condition = rng.choice(
        (
            ("", ""),
            (" after removing all spaces", ' if c != " "'),
            (" after removing every character that is not a letter or a digit", " if c.isalnum()"),
        )
    )
    chars = "c.lower()" if ignore_case else "c"
    case_words = ", ignoring upper/lower case," if ignore_case else " (case matters)"
    body = f"t = [{chars} for c in {s}{condition}]\nreturn t == t[::-1]"
    if not condition and not ignore_case:
        body = f"return {s} == {s}[::-1]"

    def make() -> tuple:
        # A palindrome, then each kind of noise that one variant or another ignores, each only sometimes.
        core = "".join(rng.choice("abcde") for _ in range(rng.randint(1, 4)))
        text = core + rng.choice(("", "x")) + core[::-1]
        if rng.random() < 0.3:
            text = text[:-1] + rng.choice("ab")
        if rng.random() < 0.4:
            text = _mixed_case(rng, text)
        for noise in " ,!":
            if rng.random() < 0.3:
                at = rng.randint(0, len(text))
                text = text[:at] + noise + text[at:]
        return (text,)

    return Spec(
        rng.choice(("is_palindrome", "palindrome", "check_palindrome", "reads_same_backwards", "is_mirror", "mirror")),
        (s,),
        f"returns True if the string `{s}`{case_words} reads the same forwards and backwards{keep_words}, "
        "and False otherwise",
        body,
        _n_cases(rng, make),
    )


def _repeat(rng: random.Random) -> Spec:
    s, n = rng.choice(("s", "text", "word")), rng.choice(("n", "times", "count", "k"))
    sep = rng.choice(("", " ", "-", ",", ", ", "|"))
    how, expr = rng.choice(((" ", s), (" in upper case ", f"{s}.upper()"), (" reversed ", f"{s}[::-1]")))
    return Spec(
        rng.choice(("repeat", "repeat_string", "join_copies", "echo")),
        (s, n),
        f"returns `{n}` copies of the string `{s}`{how}joined with '{sep}' between them "
        f"(the empty string when `{n}` is 0)",
        f'return "{sep}".join([{expr}] * {n})',
        _n_cases(rng, lambda: (rng.choice(WORDS), rng.randint(1, 4)), (rng.choice(WORDS), 0)),
    )


def _pairwise(rng: random.Random) -> Spec:
    a, b = rng.choice((("a", "b"), ("xs", "ys"), ("left", "right"), ("first", "second")))
    k = rng.randint(-10, 10)
    what, expr = rng.choice(
        (
            (f"the larger of `{a}[i]` and `{b}[i]`", "max(x, y)"),
            (f"the smaller of `{a}[i]` and `{b}[i]`", "min(x, y)"),
            (f"`{a}[i] * {b}[i]`", "x * y"),
            (f"the absolute difference between `{a}[i]` and `{b}[i]`", "abs(x - y)"),
        )
    )
    plus = "" if k == 0 else f" plus {k}" if k > 0 else f" minus {-k}"
    tail = "" if k == 0 else f" + {k}" if k > 0 else f" - {-k}"

    def make() -> tuple:
        length = rng.randint(0, 6)
        return [rng.randint(-9, 9) for _ in range(length)], [rng.randint(-9, 9) for _ in range(length)]

    return Spec(
        rng.choice(("pairwise", "combine_pairs", "elementwise", "merge_lists", "zip_with")),
        (a, b),
        f"takes two lists of integers `{a}` and `{b}` of the same length and returns a list whose i-th element is "
        f"{what}{plus}",
        f"return [{expr}{tail} for x, y in zip({a}, {b})]",
        _n_cases(rng, make),
    )


def _filter_parity(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(-20, 50)
    parity, remainder = rng.choice((("even", 0), ("odd", 1)))
    op, words = rng.choice(COMPARISONS)
    return Spec(
        rng.choice((f"{parity}s_filtered", f"filter_{parity}s", f"select_{parity}", f"{parity}_numbers")),
        (xs,),
        f"returns the {parity} elements of the list `{xs}` that are {words} {k}, in their original order",
        f"return [x for x in {xs} if x % 2 == {remainder} and x {op} {k}]",
        _n_cases(rng, lambda: (_ints(rng, k - 10, k + 10, 0, 9),)),
    )


def _running(rng: random.Random) -> Spec:
    xs, m, c = rng.choice(LIST_PARAMS), rng.randint(2, 100), rng.randint(-20, 20)
    what, start, update = rng.choice(
        (
            (f"sum of its first i + 1 elements plus {c}", str(c), "total = total + x"),
            (f"sum of its first i + 1 elements modulo {m}", "0", f"total = (total + x) % {m}"),
            ("largest of its first i + 1 elements", f"{xs}[0] if {xs} else 0", "total = max(total, x)"),
            ("smallest of its first i + 1 elements", f"{xs}[0] if {xs} else 0", "total = min(total, x)"),
        )
    )
    body = f"result = []\ntotal = {start}\nfor x in {xs}:\n    {update}\n    result.append(total)\nreturn result"
    return Spec(
        rng.choice(("running", "prefix_values", "cumulative", "accumulate")),
        (xs,),
        f"returns a list of the same length as the list `{xs}` whose i-th element is the {what}",
        body,
        _n_cases(rng, lambda: (_ints(rng, -30, 30),), ([],)),
    )


def _char_frequency(rng: random.Random) -> Spec:
    s, k = rng.choice(TEXT_PARAMS), rng.randint(1, 4)
    which, condition = rng.choice(
        (("character", ""), ("letter", "c.isalpha()"), ("character other than a space", 'c != " "'))
    )
    lower = rng.random() < 0.5
    source = f"{s}.lower()" if lower else s
    result = "counts" if k == 1 else f"{{c: n for c, n in counts.items() if n >= {k}}}"
    count = "counts[c] = counts.get(c, 0) + 1"
    loop = f"for c in {source}:\n    " + (f"if {condition}:\n        {count}" if condition else count)
    body = f"counts = {{}}\n{loop}\nreturn {result}"
    at_least = "" if k == 1 else f", keeping only those that occur at least {k} times"
    lowered = " (after converting it to lower case)" if lower else ""
    return Spec(
        rng.choice(("char_frequency", "count_chars", "letter_counts", "frequencies", "histogram", "tally")),
        (s,),
        f"returns a dict mapping each {which} of the string `{s}`{lowered} to the number of times it occurs{at_least}",
        body,
        _n_cases(rng, lambda: (_mixed_case(rng, _sentence(rng, k, 3 + k)) + rng.choice(("", "!", " 42")),)),
    )


def _digit_sum(rng: random.Random) -> Spec:
    n, base, p = rng.choice(("n", "number", "x")), rng.randint(2, 16), rng.randint(1, 3)
    powered = "" if p == 1 else f", each digit raised to the power {p}"
    term = f"{n} % {base}" if p == 1 else f"({n} % {base}) ** {p}"
    body = f"total = 0\nwhile {n} > 0:\n    total += {term}\n    {n} //= {base}\nreturn total"
    return Spec(
        rng.choice(("digit_sum", "sum_of_digits", "digits_total", "base_digit_sum")),
        (n,),
        f"returns the sum of the digits of the non-negative integer `{n}` written in base {base}{powered}",
        body,
        _n_cases(rng, lambda: (rng.randint(1, 10**6),), (0,)),
    )


def _count_multiples(rng: random.Random) -> Spec:
    lo, hi = rng.choice((("lo", "hi"), ("start", "end"), ("a", "b"), ("low", "high")))
    d = rng.randint(2, 12)
    e = rng.choice([e for e in range(2, 21) if d % e])  # a divisor of d would leave nothing to count
    body = f"return sum(1 for i in range({lo}, {hi} + 1) if i % {d} == 0 and i % {e} != 0)"
    return Spec(
        rng.choice(("count_multiples", "count_divisible", "multiples_between")),
        (lo, hi),
        f"returns how many integers from `{lo}` to `{hi}` (both included) are divisible by {d} but not by {e} "
        f"(0 when `{lo}` is greater than `{hi}`)",
        body,
        _n_cases(rng, lambda: (rng.randint(-50, 100), rng.randint(0, 200)), (30, 10)),
    )


def _caesar(rng: random.Random) -> Spec:
    s, k = rng.choice(TEXT_PARAMS), rng.randint(1, 25)
    direction, shift = rng.choice((("forward", f"+ {k}"), ("backward", f"- {k}")))
    body = (
        f'return "".join(\n    chr((ord(c) - ord("a") {shift}) % 26 + ord("a")) if "a" <= c <= "z" else c\n'
        f"    for c in {s}\n)"
    )
    return Spec(
        rng.choice(("caesar", "shift_letters", "rotate_letters", "encode")),
        (s,),
        f"shifts every lower-case letter a-z of the string `{s}` {k} places {direction} in the alphabet, "
        "wrapping around between 'z' and 'a', and leaves every other character unchanged",
        body,
        _n_cases(rng, lambda: (_mixed_case(rng, _sentence(rng)) + rng.choice(("", "!", "?", " 7")),)),
    )


def _kth_value(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(1, 5)
    largest = rng.random() < 0.5
    ordinal = {1: "", 2: "second ", 3: "third ", 4: "fourth ", 5: "fifth "}[k]
    order = "largest" if largest else "smallest"
    body = (
        f"distinct = sorted(set({xs}){', reverse=True' if largest else ''})\n"
        f"return distinct[{k - 1}] if len(distinct) >= {k} else None"
    )
    return Spec(
        rng.choice((f"kth_{order}", f"nth_{order}", f"{order}_distinct", f"pick_{order}")),
        (xs,),
        f"returns the {ordinal}{order} distinct value in the list `{xs}`, or None when `{xs}` has fewer than "
        f"{k} distinct values",
        body,
        _n_cases(rng, lambda: (_ints(rng, -9, 9, k, 8),), (_ints(rng, 0, 5, 0, k - 1) if k > 1 else [],)),
    )


def _chunks(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(2, 9)
    what, expr = rng.choice(
        (("the list of chunks", f"{xs}[i:i + {k}]"), ("the list of chunk sums", f"sum({xs}[i:i + {k}])"))
    )
    return Spec(
        rng.choice(("chunks", "split_chunks", "group", "batch", "partition", "in_groups")),
        (xs,),
        f"splits the list `{xs}` into consecutive chunks of {k} elements (the last chunk may be shorter) "
        f"and returns {what}",
        f"return [{expr} for i in range(0, len({xs}), {k})]",
        _n_cases(rng, lambda: (_ints(rng, -9, 20, 1, 13),), ([],)),
    )


def _rotate(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(1, 12)
    side = rng.choice(("left", "right"))
    cut = "k" if side == "left" else f"len({xs}) - k"
    body = f"if not {xs}:\n    return []\nk = {k} % len({xs})\nreturn {xs}[{cut}:] + {xs}[:{cut}]"
    return Spec(
        rng.choice(("rotate", f"rotate_{side}", "shift_list", "cycle")),
        (xs,),
        f"returns a new list with the elements of the list `{xs}` rotated {k} places to the {side}; "
        "elements pushed off one end come back at the other, and an empty list gives an empty list",
        body,
        _n_cases(rng, lambda: (_ints(rng, 0, 9, 1, 7),), ([],)),
    )


def _count_words(rng: random.Random) -> Spec:
    s, k = rng.choice(TEXT_PARAMS), rng.randint(2, 7)
    words, op = rng.choice((("more than", ">"), ("exactly", "=="), ("fewer than", "<")))
    return Spec(
        rng.choice(("count_words", "word_count", "words_matching", "count_by_length", "tally_words")),
        (s,),
        f"returns how many words of the string `{s}` (split on whitespace) have {words} {k} characters",
        f"return sum(1 for w in {s}.split() if len(w) {op} {k})",
        _n_cases(rng, lambda: (_sentence(rng, 0, 7),)),
    )


def _first_index(rng: random.Random) -> Spec:
    xs, k = rng.choice(LIST_PARAMS), rng.randint(-10, 30)
    op, words = rng.choice(COMPARISONS)
    last = rng.random() < 0.5
    which = "last" if last else "first"
    loop = f"range(len({xs}) - 1, -1, -1)" if last else f"range(len({xs}))"
    return Spec(
        rng.choice((f"{which}_index", f"find_{which}", f"index_of_{which}", "locate")),
        (xs,),
        f"returns the index of the {which} element of the list `{xs}` that is {words} {k}, or -1 if there is none",
        f"for i in {loop}:\n    if {xs}[i] {op} {k}:\n        return i\nreturn -1",
        _n_cases(rng, lambda: (_ints(rng, k - 8, k + 8, 0, 8),)),
    )


FAMILIES = (
    _threshold_sum,
    _product_mod,
    _count_letters,
    _reverse_parts,
    _transform_words,
    _clamp,
    _fizzbuzz,
    _fib_mod,
    _palindrome,
    _repeat,
    _pairwise,
    _filter_parity,
    _running,
    _char_frequency,
    _digit_sum,
    _count_multiples,
    _caesar,
    _kth_value,
    _chunks,
    _rotate,
    _count_words,
    _first_index,
)


# --- from a spec to prompt, solution and tests ---------------------------------------------------------


def draw_spec(seed: int, i: int) -> Spec:
    """Candidate i for ``seed``: fixed by (seed, i) alone."""
    rng = random.Random(f"code:{seed}:{i}")
    return rng.choice(FAMILIES)(rng)


def prompt(spec: Spec) -> str:
    return f"Write a Python function `{spec.name}({', '.join(spec.params)})` that {spec.does}.\n{ANSWER_INSTRUCTION}"


def build_task(spec: Spec) -> CodeTask | None:
    """The reference solution and asserts whose expected values come from running that solution;
    None when every assert expects the same value, since a constant function would then pass."""
    solution = f"def {spec.name}({', '.join(spec.params)}):\n{textwrap.indent(spec.body, '    ')}\n"
    # Our own template, not model output, so running it in-process is safe; expected values then cannot
    # drift from the reference answer the training rows teach.
    namespace: dict = {}
    exec(compile(solution, f"<builtin code {spec.name}>", "exec"), namespace)
    function = namespace[spec.name]
    expected = [repr(function(*copy.deepcopy(args))) for args in spec.cases]
    if len(set(expected)) < 2:
        return None
    lines = [f"assert {spec.name}({', '.join(map(repr, args))}) == {e}" for args, e in zip(spec.cases, expected)]
    return CodeTask(prompt(spec), spec.name, solution, "\n".join(lines) + "\n")


def _tasks(
    n: int, seed: int, split: str, draw: Callable[[int, int], Spec] = draw_spec, prefix: str = "code"
) -> Iterator[tuple[str, CodeTask]]:
    """The first n distinct tasks of ``split``, candidates drawn in index order (hence the prefix property)."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    seen: set[str] = set()
    i = misses = 0
    while len(seen) < n:
        spec = draw(seed, i)
        i += 1
        key = prompt(spec)
        task = None if key in seen or split_of(key) != split else build_task(spec)
        if task is None:
            misses += 1
            if misses > MAX_DRAWS_PER_ITEM:
                raise DataError(f"built-in {prefix}: found only {len(seen)} distinct {split} tasks; ask for fewer")
            continue
        misses = 0
        seen.add(key)
        yield f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}", task


def answer(task: CodeTask) -> str:
    return f"```python\n{task.solution}```"


def rows_of(tasks: Iterator[tuple[str, CodeTask]], source: str) -> list[dict]:
    """Training rows: the user asks for a function; the assistant gives the reference implementation."""
    return [
        chat_row(row_id, source, [{"role": "user", "content": t.prompt}, {"role": "assistant", "content": answer(t)}])
        for row_id, t in tasks
    ]


def items_of(tasks: Iterator[tuple[str, CodeTask]], task_name: str) -> list[dict]:
    """Eval items whose reference is ``{"entry_point", "tests"}``; the asserts are not in the prompt."""
    return [
        {
            "id": item_id,
            "task": task_name,
            "messages": [{"role": "user", "content": t.prompt}],
            "reference": {"entry_point": t.entry_point, "tests": t.tests},
        }
        for item_id, t in tasks
    ]


def generate_train(n: int, seed: int) -> list[dict]:
    """n training rows: the user asks for a function; the assistant gives the reference implementation."""
    return rows_of(_tasks(n, seed, "train"), SOURCE)


def generate_eval(n: int, seed: int) -> list[dict]:
    """n evaluation items whose reference is ``{"entry_point", "tests"}``; the asserts are not in the prompt."""
    return items_of(_tasks(n, seed, "eval"), TASK)


def generate_dense(n: int, seed: int) -> list[dict]:
    """The first n eval tasks that have two failing mutants, as gold-vs-mutant dense items."""
    return dense_of(_tasks(sys.maxsize, seed, "eval"), n)


# --- dense items: the reference answer against mutants that fail its asserts ------------------------------

# Bumped whenever the mutations, their order or the scored spans change.
DENSE_VERSION = "1"
# Single-token mutations: an operator or comparison flipped, a builtin or method swapped for its opposite;
# numbers go +-1 and a parameter name becomes another parameter (see _mutations).
SWAPS = {
    "+": ("-",), "-": ("+",), "*": ("+", "-"), "//": ("%",), "%": ("//",),
    ">": ("<", ">="), "<": (">", "<="), ">=": ("<=", ">"), "<=": (">=", "<"), "==": ("!=",), "!=": ("==",),
    "max": ("min",), "min": ("max",), "upper": ("lower",), "lower": ("upper",), "sum": ("len",), "len": ("sum",),
    "True": ("False",), "False": ("True",), "and": ("or",), "or": ("and",),
}  # fmt: skip
# A mutant may loop forever (a flipped loop condition): it fails once it has traced this many events.
MAX_TRACE_EVENTS = 100_000


class _TooLong(Exception):
    pass


def dense_of(tasks: Iterator[tuple[str, CodeTask]], n: int) -> list[dict]:
    """The first n tasks with two failing mutants (skipping the rare others, so the prefix property holds)."""
    items: list[dict] = []
    for item_id, task in tasks:
        if len(items) == n:
            break
        choices = dense_choices(task, item_id)
        if choices is not None:
            items.append({"id": item_id, "messages": [{"role": "user", "content": task.prompt}], "choices": choices})
    return items


def dense_choices(task: CodeTask, key: str) -> list[list[dict]] | None:
    """[gold, mutant, mutant] as segments of the whole training-format answer, or None without two mutants.

    Each mutant changes one token of the function body and fails at least one of the task's asserts (run
    here: it is our own template). The scored segments are the mutated tokens' spans (with the space a BPE
    token carries in front of a word or operator), the same spans in all three candidates: the signature and
    fences, identical everywhere and learnt from the first examples, do not dilute the choice that matters.
    """
    tests = task.tests.splitlines()
    candidates = _mutations(task.solution, task.entry_point)
    random.Random(f"dense:{key}").shuffle(candidates)
    mutants: list[tuple[int, int, str]] = []
    for start, end, text in candidates:
        mutated = task.solution[:start] + text + task.solution[end:]
        if _compiles(mutated) and _fails(mutated, tests):
            mutants.append((start, end, text))
            if len(mutants) == 2:
                break
    if len(mutants) < 2:
        return None
    full = answer(task)
    offset = full.index(task.solution)
    spans = sorted({(start + offset, end + offset) for start, end, _ in mutants})
    gold = _cut(full, spans, {})
    return [gold] + [_cut(full, spans, {(s + offset, e + offset): t}) for s, e, t in mutants]


def _mutations(solution: str, entry_point: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) in ``solution`` for every single-token mutation of the body (not the def line)."""
    lines = solution.splitlines(keepends=True)
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line))
    params = _params(solution, entry_point)
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(solution).readline):
        row, col = tok.start
        if row < 2 or tok.type not in (tokenize.OP, tokenize.NAME, tokenize.NUMBER):
            continue
        start = line_starts[row - 1] + col
        end = start + len(tok.string)
        if tok.type == tokenize.NUMBER:
            if not tok.string.isdigit():
                continue
            value = int(tok.string)
            replacements = [str(value + 1)] + ([str(value - 1)] if value > 0 else [])
        elif tok.string in params:
            replacements = [p for p in params if p != tok.string]
        else:
            replacements = list(SWAPS.get(tok.string, ()))
        if tok.type != tokenize.NUMBER and start > 0 and solution[start - 1] == " ":
            start -= 1  # the BPE token is " +", " max": score it whole
            replacements = [" " + r for r in replacements]
        found += [(start, end, r) for r in replacements]
    return found


def _params(solution: str, entry_point: str) -> list[str]:
    head = solution.splitlines()[0]
    inside = head[head.index(f"def {entry_point}(") + len(entry_point) + 5 : head.rindex(")")]
    return [p.strip() for p in inside.split(",") if p.strip()]


def _compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True


def _fails(source: str, tests: list[str]) -> bool:
    """True when the code raises or fails one of the asserts (a trace counter stops endless loops)."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        count += 1
        if count > MAX_TRACE_EVENTS:
            raise _TooLong
        return tracer

    namespace: dict = {}
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        exec(compile(source, "<mutant>", "exec"), namespace)
        for line in tests:
            exec(compile(line, "<mutant test>", "exec"), namespace)
    except Exception:
        return True
    finally:
        sys.settrace(previous)
    return False


def _cut(text: str, spans: list[tuple[int, int]], replaced: dict[tuple[int, int], str]) -> list[dict]:
    """``text`` as segments cut at ``spans`` (scored), a span's text swapped where ``replaced`` says."""
    segments, at = [], 0
    for start, end in spans:
        if start > at:
            segments.append({"text": text[at:start], "scored": False})
        segments.append({"text": replaced.get((start, end), text[start:end]), "scored": True})
        at = end
    if at < len(text):
        segments.append({"text": text[at:], "scored": False})
    return segments
