"""DoIT's built-in mirrors of reasoning, understanding, ethics and math: valid records, determinism, prefixes,
train/eval disjointness, uniform gold letters, and golds re-derived from each item's own text by other means
(ordering by transitive closure, conditionals by truth table, syllogisms by Venn diagrams, dialogues by who said
what last, ethics by the curated lists, math by redoing the worked steps)."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest

from kit.data import doit
from kit.data.builtin import get_generator
from kit.data.builtin.doit import LETTERS, ethics, reasoning, understanding
from kit.data.builtin.doit import math as doit_math
from kit.eval import doit_parse
from kit.eval.tasks.doit import chance, score_reply

MODULES = [reasoning, understanding, ethics, doit_math]
SINGLE_LETTER = [reasoning, understanding]


def prompt_of(r: dict) -> str:
    return r["messages"][0]["content"]


def options_of(prompt: str) -> list[str]:
    return re.findall(r"^[A-F]\. (.*)$", prompt, re.MULTILINE)


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_records_are_valid_and_the_scorer_accepts_the_gold(m):
    assert get_generator(f"doit_{m.TYPE}") is m
    assert m.VERSION == "1" and m.QUESTION_FORMAT == 0
    for split in ("train", "eval"):
        for r in m.records(60, 0, split):
            assert doit.problem(r) is None
            assert r["type"] == m.TYPE and r["question_format"] == 0
            assert [x["role"] for x in r["messages"]] == ["user", "assistant"]
            assert ("answer" in r) == (m is doit_math)
            item = doit.to_item(r, r["id"], "doit_mirror")
            assert score_reply(item["reference"], r["messages"][-1]["content"])["score"] == 1.0


@pytest.mark.parametrize("m", SINGLE_LETTER, ids=lambda m: m.__name__)
def test_gold_is_one_letter_and_letters_are_roughly_uniform(m):
    records = m.records(400, 0, "eval")
    golds = Counter()
    for r in records:
        prompt, gold = prompt_of(r), r["messages"][-1]["content"]
        assert re.search(r"\nA\..*\nB\..*\nC\.", prompt)
        n_options = len(options_of(prompt))
        assert n_options in ((3, 4) if m is understanding else (4,))
        assert len(gold) == 1 and gold in LETTERS[:n_options]
        assert len(set(options_of(prompt))) == n_options
        golds[gold] += 1
    for letter in "ABC":
        assert golds[letter] >= 0.1 * len(records), golds
    assert golds["D"] >= (0.1 if m is reasoning else 0.05) * len(records), golds  # understanding: D only of 4


# --- reasoning: re-derived from the text -------------------------------------------------------------------

SCALE_WORDS = {  # comparative: (scale, +1 if it means "more"); superlative likewise
    "taller": ("height", 1), "shorter": ("height", -1), "older": ("age", 1), "younger": ("age", -1),
    "faster": ("speed", 1), "slower": ("speed", -1), "heavier": ("weight", 1), "lighter": ("weight", -1),
    "richer": ("wealth", 1), "poorer": ("wealth", -1), "stronger": ("strength", 1), "weaker": ("strength", -1),
}  # fmt: skip
SUPERLATIVES = {w[:-2] + "est" if w.endswith("er") else w: v for w, v in SCALE_WORDS.items()}


def solve_ordering(stem: str) -> str:
    facts = re.findall(r"(\w+) is (\w+) than (\w+)\.", stem)
    above = set()  # (x, y): x has more than y
    for x, word, y in facts:
        above.add((x, y) if SCALE_WORDS[word][1] > 0 else (y, x))
    people = {p for pair in above for p in pair}
    for k, i, j in itertools.product(people, repeat=3):  # Floyd-Warshall closure (k outermost)
        if (i, k) in above and (k, j) in above:
            above.add((i, j))
    below_count = {p: sum((p, q) in above for q in people) for p in people}
    assert sorted(below_count.values()) == list(range(len(people)))  # the facts fix a total order
    m = re.search(r"Who is the (second |third )?(\w+)\?", stem)
    rank = {None: 0, "second ": 1, "third ": 2}[m.group(1)]
    sign = SUPERLATIVES[m.group(2)][1]
    ranked = sorted(people, key=lambda p: -sign * below_count[p])
    return ranked[rank]


def literal(clause: str) -> tuple[str, bool]:
    """An event by its person (each event has its own) and whether the clause says it happens."""
    return clause.split()[0], " does not " not in f" {clause} "


def conditional_models(stem: str):
    passage = stem.split("\n")[0]
    rules = []  # (kind, literal, literal): "if" the first then the second; "or": at least one
    rules += [("if", literal(a), literal(b)) for a, b in re.findall(r"If ([^,]+), then ([^.]+)\.", passage)]
    rules += [("or", literal(a), literal(b)) for a, b in re.findall(r"Either (.+?) or (.+?), or both\.", passage)]
    (fact,) = re.findall(r"In fact, ([^.]+)\.", passage)
    assert len(rules) == 2
    clauses = [c for pair in re.findall(r"If ([^,]+), then ([^.]+)\.|Either (.+?) or (.+?), or both\.", passage)
               for c in pair if c] + [fact]  # fmt: skip
    assert len(clauses) == 5
    people = sorted({literal(c)[0] for c in clauses})
    assert len(people) == 3
    worlds = [dict(zip(people, values)) for values in itertools.product((False, True), repeat=3)]

    def holds(rule, w) -> bool:
        kind, (p, v), (q, u) = rule
        return (w[p] != v or w[q] == u) if kind == "if" else (w[p] == v or w[q] == u)

    f = literal(fact)
    return [w for w in worlds if w[f[0]] == f[1] and all(holds(rule, w) for rule in rules)]


def split_habit(text: str) -> tuple[str, str]:
    """'play chess speak French' -> ('play chess', 'speak French'), by the generator's vocabulary of habits."""
    for habit in reasoning.HABITS:
        if text.startswith(habit + " ") and text[len(habit) + 1 :] in reasoning.HABITS:
            return habit, text[len(habit) + 1 :]
    raise AssertionError(text)


def categorical(sentence: str) -> tuple[str, str, str]:
    patterns = (
        (r"All the \w+ who (.+) also (.+)\.", "all"),
        (r"None of the \w+ who (.+)\.", "no"),
        (r"Some of the \w+ who (.+) do not (.+)\.", "some-not"),
        (r"Some of the \w+ who (.+)\.", "some"),
    )
    for pattern, q in patterns:
        m = re.fullmatch(pattern, sentence)
        if m:
            return (q, *m.groups()) if len(m.groups()) == 2 else (q, *split_habit(m.group(1)))
    raise AssertionError(sentence)


def true_in(statement, world: set[frozenset[str]]) -> bool:
    """A world: the kinds of people present, each the set of habits they have."""
    q, s, p = statement
    subjects = [kind for kind in world if s in kind]
    return {
        "all": all(p in k for k in subjects),
        "no": not any(p in k for k in subjects),
        "some": any(p in k for k in subjects),
        "some-not": any(p not in k for k in subjects),
    }[q]


def syllogism_check(stem: str, gold_text: str, wrong_texts: list[str]) -> None:
    passage = stem.split("\n")[0].split(": ", 1)[1]
    premises = [categorical(s + ".") for s in passage.rstrip(".").split(". ")]
    assert len(premises) == 2
    habits = sorted({h for st in premises for h in st[1:]})
    assert len(habits) == 3
    kinds = [frozenset(h for h, on in zip(habits, bits) if on) for bits in itertools.product((0, 1), repeat=3)]
    worlds = [{k for k, on in zip(kinds, mask) if on} for mask in itertools.product((0, 1), repeat=8)]
    models = [w for w in worlds if all(true_in(p, w) for p in premises)]
    inhabited = [w for w in models if all(any(h in k for k in w) for h in habits)]
    assert all(true_in(categorical(gold_text), w) for w in models), (stem, gold_text)
    for text in wrong_texts:
        assert not all(true_in(categorical(text), w) for w in inhabited), (stem, text)


def test_reasoning_golds_rederived_from_the_text():
    kinds = Counter()
    for i in range(600):
        item = reasoning.make(0, i)
        stem = item.prompt.split("\nA. ")[0]
        gold_text = item.options[LETTERS.index(item.gold)]
        wrong = [o for o in item.options if o != gold_text]
        kinds[item.kind] += 1
        if item.kind == "ordering":
            assert solve_ordering(stem) == gold_text, item.prompt
        elif item.kind == "conditional":
            models = conditional_models(stem)
            assert models
            person, value = literal(gold_text.rstrip("."))
            assert all(w[person] == value for w in models), item.prompt
            for text in wrong:
                person, value = literal(text.rstrip("."))
                assert not all(w[person] == value for w in models), (item.prompt, text)
        else:
            syllogism_check(stem, gold_text, wrong)
    assert min(kinds.values()) > 150, kinds


def test_the_checks_catch_a_wrong_gold():
    """The re-derivations are not vacuous: a swapped gold fails them."""
    for i in range(60):
        item = reasoning.make(1, i)
        stem = item.prompt.split("\nA. ")[0]
        gold_text = item.options[LETTERS.index(item.gold)]
        other = next(o for o in item.options if o != gold_text)
        if item.kind == "ordering":
            assert solve_ordering(stem) != other
        elif item.kind == "conditional":
            person, value = literal(other.rstrip("."))
            assert not all(w[person] == value for w in conditional_models(stem))
        else:
            with pytest.raises(AssertionError):
                syllogism_check(stem, other, [])


# --- understanding --------------------------------------------------------------------------------------------


def test_understanding_has_three_and_four_options_and_golds_follow_the_dialogue():
    counts = Counter()
    for r in understanding.records(400, 0, "eval"):
        prompt, gold = prompt_of(r), r["messages"][-1]["content"]
        options = options_of(prompt)
        counts[len(options)] += 1
        item = doit.to_item(r, r["id"], "doit_mirror")
        assert chance(item["reference"], item["messages"][-1]["content"]) == pytest.approx(1 / len(options))
        lines = [x for x in re.findall(r"^([A-Z][a-z]+): (.*)$", prompt, re.MULTILINE) if x[0] != "Question"]
        assert 3 <= len(lines) <= 6
        speakers = {name for name, _ in lines}
        assert len(speakers) == 2
        question = re.search(r"Question: (.*)", prompt).group(1)
        answer = options[LETTERS.index(gold)]
        said = [text.lower() for _, text in lines]
        if question.startswith("Who will bring"):
            food = re.fullmatch(r"Who will bring (.+) to the party\?", question).group(1)
            (who,) = [
                name if f"i'll bring {food}" in text.lower() else re.search(rf"(\w+) is bringing {food}", text).group(1)
                for name, text in lines
                if food in text
            ]
            assert answer == who
        elif question.startswith("What will"):
            person = re.fullmatch(r"What will (\w+) do this weekend\?", question).group(1)
            (line,) = [text for name, text in lines if name == person and "I'm going to" in text]
            plan = re.search(r"I'm going to (.+) instead", line).group(1)
            assert answer == plan.replace(" my ", f" {person}'s ")
        else:  # time, place, thing bought: the value the speakers agree on ("X is perfect", "X it is", "I'll take X")
            sentences = [x for text in said for x in re.split(r"(?<=[.?!]) ", text)]
            agreement = r"(.+) is perfect\.|(.+) it is\.|all right, i'll take (.+)\."
            agreed = [next(g for g in m.groups() if g) for m in (re.fullmatch(agreement, x) for x in sentences) if m]
            assert agreed == [answer.lower()], prompt
    assert counts[3] >= 150 and counts[4] >= 150, counts


def test_understanding_letters_uniform_within_each_option_count():
    by_count: dict[int, Counter] = {3: Counter(), 4: Counter()}
    for r in understanding.records(600, 0, "train"):
        by_count[len(options_of(prompt_of(r)))][r["messages"][-1]["content"]] += 1
    for n, golds in by_count.items():
        total = sum(golds.values())
        assert set(golds) == set(LETTERS[:n])
        assert all(golds[c] >= 0.6 * total / n for c in LETTERS[:n]), (n, golds)


# --- ethics ---------------------------------------------------------------------------------------------------


def scenario_pattern(scenario) -> str:
    return re.escape(scenario.question).replace(re.escape("{name}"), r"(\w+)", 1).replace(re.escape("{name}"), r"\w+")


def test_ethics_gold_letters_are_exactly_the_acceptable_options():
    sizes, letters = Counter(), Counter()
    records = ethics.records(400, 0, "eval")
    for r in records:
        prompt, gold = prompt_of(r), r["messages"][-1]["content"]
        assert re.fullmatch(r"[A-D]{1,3}", gold) and "".join(sorted(set(gold))) == gold
        assert doit_parse.letter_set(gold) == set(gold)
        options = options_of(prompt)
        assert len(options) == 4 and len(set(options)) == 4
        stem = prompt.split(" (There may be")[0]
        (scenario,) = [s for s in ethics.SCENARIOS if re.fullmatch(scenario_pattern(s), stem)]
        name = re.fullmatch(scenario_pattern(scenario), stem).group(1)
        good = {g.format(name=name) for g in scenario.good}
        bad = {b.format(name=name) for b in scenario.bad}
        for letter, text in zip(LETTERS, options):
            assert (text in good) == (letter in gold), (prompt, gold)
            assert (text in bad) == (letter not in gold), (prompt, gold)
            assert text not in gold
        sizes[len(gold)] += 1
        letters.update(gold)
    assert all(sizes[k] >= 0.25 * len(records) for k in (1, 2, 3)), sizes
    assert all(0.35 * len(records) <= letters[c] <= 0.65 * len(records) for c in "ABCD"), letters


def test_ethics_lists_are_disjoint_and_big_enough():
    for s in ethics.SCENARIOS:
        assert len(s.good) >= 3 and len(s.bad) >= 3
        assert not set(s.good) & set(s.bad)


# --- math -----------------------------------------------------------------------------------------------------

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "×": lambda a, b: a * b, "÷": lambda a, b: a / b}


def test_math_worked_steps_are_right_and_end_in_the_boxed_answer():
    for r in doit_math.records(300, 0, "eval") + doit_math.records(100, 0, "train"):
        prompt, reply = prompt_of(r), r["messages"][-1]["content"]
        assert prompt.endswith("\\boxed{}.")
        *steps, last = reply.split("\n")
        assert 2 <= len(steps) <= 3
        results, operands = [], []
        for step in steps:
            a, op, b, c = re.fullmatch(r"(\d+) ([-+×÷]) (\d+) = (\d+)", step).groups()
            a, b, c = int(a), int(b), int(c)
            assert OPS[op](a, b) == c, step
            assert all(0 <= x < 1000 for x in (a, b, c))
            if results:
                assert a in results or b in results, reply  # each step uses an earlier result
            results.append(c)
            operands += [a, b]
        assert last == f"The answer is \\boxed{{{results[-1]}}}."
        assert r["answer"] == str(results[-1])
        assert doit_parse.math_equal(doit_parse.math_answer(reply), r["answer"])
        question_numbers = [int(x) for x in re.findall(r"\d+", prompt.split("\n")[0])]
        assert all(x in operands for x in question_numbers), (prompt, reply)  # every given quantity is used
        assert all(x < 1000 for x in question_numbers)


def test_math_items_span_the_families():
    first_words = Counter(prompt_of(r).split()[1] for r in doit_math.records(300, 0, "train"))
    assert len(first_words) >= 5
