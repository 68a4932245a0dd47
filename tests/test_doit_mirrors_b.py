"""DoIT's built-in mirrors of code, creative writing, role play and the out-of-domain family: valid records,
determinism, prefixes, train/eval disjointness, distractors of the right grain, golds checked independently."""

from __future__ import annotations

import calendar
import datetime
import difflib
import re
from collections import Counter

import pytest

from kit.data import doit
from kit.data.builtin import get_generator, split_of
from kit.data.builtin.doit import code, creative_writing, ood, role_play

MODULES = [code, creative_writing, role_play, ood]
QF1 = [code, creative_writing, role_play]


def context(r: dict) -> str:
    """Everything before the gold reply: the item's prompt."""
    return "\n".join(f"{m['role']}: {m['content']}" for m in r["messages"][:-1])


def ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_records_are_valid_doit_records_that_alternate_and_end_on_the_gold(m):
    assert get_generator(f"doit_{m.TYPE}") is m
    for split in ("train", "eval"):
        for r in m.records(60, 0, split):
            assert doit.problem(r) is None
            assert r["question_format"] == m.QUESTION_FORMAT
            assert r["type"] in (ood.SUBJECTS if m is ood else (m.TYPE,))
            roles = [x["role"] for x in r["messages"]]
            assert roles == ["user", "assistant"] * (len(roles) // 2)


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_the_last_question_alone_does_not_repeat_across_splits(m):
    if m is role_play:  # its prompt is the whole conversation: the last question alone repeats ("How much is ...?")
        return
    questions = {r["messages"][-2]["content"] for r in m.records(300, 0, "train")}
    assert not questions & {r["messages"][-2]["content"] for r in m.records(300, 0, "eval")}


@pytest.mark.parametrize("m", QF1, ids=lambda m: m.__name__)
def test_choices_gold_first_fine_is_a_small_edit_coarse_is_not(m):
    coarse_close = 0
    records = m.records(300, 0, "eval") + m.records(300, 0, "train")
    for r in records:
        gold, fine, coarse = r["choices"]
        assert gold == r["messages"][-1]["content"]
        assert len({gold, fine, coarse}) == 3
        assert ratio(gold, fine) > 0.8, (gold, fine)
        coarse_close += ratio(gold, coarse) >= 0.8
    assert coarse_close < 0.05 * len(records)


def test_replies_are_short():
    for r in code.records(200, 0, "train"):
        assert all(c.count("\n") <= 14 for c in r["choices"])  # the fence lines + at most 12 lines of code
    for m in (creative_writing, role_play):
        for r in m.records(200, 0, "train"):
            assert all(len(c.split()) < 60 for c in r["choices"])


# --- code: the gold passes, the fine distractor fails ------------------------------------------------------


def function_of(reply: str, name: str):
    source = re.fullmatch(r"```python\n(.*)\n```", reply, re.DOTALL)
    assert source, reply
    namespace: dict = {}
    exec(source.group(1), namespace)  # noqa: S102 (our own generated code)
    return namespace[name]


def passes(fn, cases) -> bool:
    try:
        return all(fn(*args) == expected for args, expected in cases)
    except Exception:  # noqa: BLE001 (a crash is a failure)
        return False


def test_code_gold_passes_and_fine_fails_the_generated_asserts():
    for i in range(400):
        item = code.make(0, i)
        assert f"`{item.name}(" in item.prompt
        assert passes(function_of(item.gold, item.name), item.cases), (item.gold, item.cases)
        assert not passes(function_of(item.fine, item.name), item.cases), (item.fine, item.cases)
        assert f"def {item.name}(" not in item.coarse or item.coarse != item.gold


def test_code_records_are_the_made_items():
    made = {code.make(0, i).prompt: code.make(0, i) for i in range(200)}
    for r in code.records(20, 0, "train"):
        item = made[r["messages"][0]["content"]]
        assert r["choices"] == [item.gold, item.fine, item.coarse]


# --- creative writing: an independent constraint checker ----------------------------------------------------

NUMBERS = {"two": 2, "three": 3, "four": 4}


def follows(prompt: str, text: str) -> bool:
    """Whether ``text`` meets every constraint that ``prompt`` states (read back from the prompt alone)."""
    if m := re.search(r"(\w+)-line poem about (.+?) that mentions the word '(\w+)'", prompt) or re.search(
        r"exactly (\w+) lines about (.+?)\. Use the word '(\w+)'", prompt
    ):
        n, topic, word = NUMBERS[m[1]], m[2], m[3]
        return len(text.split("\n")) == n and topic in text.lower() and re.search(rf"\b{word}\b", text) is not None
    if m := re.search(r"story about (\w+) who (.+?), ending with (.+?)\.$", prompt) or re.search(
        r"story \(three sentences\) about (\w+), who (.+?)\. The last sentence must mention (.+?)\.$", prompt
    ):
        name, thing = m[1], m[3]
        sentences = re.split(r"(?<=\.) ", text)
        return len(sentences) == 3 and all(name in s for s in (sentences[0], sentences[-1])) and thing in sentences[-1]
    if m := re.search(r"at most (\d+) words for a (.+?) called (.+?)\.$", prompt) or re.search(
        r"no more than (\d+) words\) for (.+?), a (.+?)\. Use its name\.$", prompt
    ):
        limit = int(m[1])
        brand = m[3] if "called" in prompt else m[2]
        return brand in text and len(text.split()) <= limit and "\n" not in text
    if m := re.search(r"letter to (.+?) thanking them for (.+?)\. Sign it '(\w+)'\.$", prompt) or re.search(
        r"note to (.+?) for (.+?), signed by (\w+)\.$", prompt
    ):
        return text.startswith(f"Dear {m[1]},\n") and m[2] in text and text.endswith(f"\n{m[3]}")
    raise AssertionError(f"unknown instruction: {prompt}")


def test_creative_writing_gold_follows_the_instruction_and_the_distractors_do_not():
    kinds = Counter()
    for split in ("train", "eval"):
        for r in creative_writing.records(300, 0, split):
            prompt = r["messages"][0]["content"]
            gold, fine, coarse = r["choices"]
            kinds[prompt.split()[2]] += 1
            assert follows(prompt, gold), (prompt, gold)
            assert not follows(prompt, fine), (prompt, fine)
            assert not follows(prompt, coarse), (prompt, coarse)
    assert len(kinds) >= 4


# --- role play: the gold states facts given earlier, the fine one a fact that was not ----------------------

FACT_PATTERNS = [r"\$\d+", r"\b\d+ [ap]\.m\.", *(rf"\b{n}\b" for n in role_play.NAMES)]
FACT_PATTERNS += [re.escape(x) for role in role_play.ROLES for x in (*role.places, *role.specials)]


def facts(text: str) -> set[str]:
    return {hit for pattern in FACT_PATTERNS for hit in re.findall(pattern, text)}


def test_role_play_gold_is_consistent_with_the_conversation_and_the_fine_reply_is_not():
    lengths = Counter()
    for split in ("train", "eval"):
        for r in role_play.records(300, 0, split):
            before = context(r)
            gold, fine, _ = r["choices"]
            lengths[len(r["messages"])] += 1
            assert r["messages"][0]["content"].startswith("You are ")
            assert facts(gold) and facts(gold) <= facts(before), (before, gold)
            assert not facts(fine) <= facts(before), (before, fine)
    assert set(lengths) == {4, 6}


# --- ood: 5-shot, balanced, the gold re-computed ------------------------------------------------------------

SIDES = {"triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6, "heptagon": 7, "octagon": 8, "nonagon": 9,
         "decagon": 10}  # fmt: skip
UNIT = {"second": 1, "minute": 60, "hour": 3600, "millimeter": 1, "centimeter": 10, "meter": 1000,
        "kilometer": 1_000_000, "gram": 1, "kilogram": 1000, "milliliter": 1, "liter": 1000}  # fmt: skip
MONDAY = datetime.date(2024, 1, 1)  # a Monday
MONTH = {name: k for k, name in enumerate(calendar.month_name) if name}


def weekday_after(day: str, k: int) -> str:
    start = MONDAY + datetime.timedelta(days=list(calendar.day_name).index(day))
    return calendar.day_name[(start + datetime.timedelta(days=k)).weekday()]


def month_after(month: str, k: int) -> str:
    return calendar.month_name[(MONTH[month] - 1 + k) % 12 + 1]


def solve(stem: str) -> str:
    """The right option's text, computed from the stem with the standard library."""
    if m := re.fullmatch(r"If today is (\w+), what day of the week will it be in (\d+) days\?", stem):
        return weekday_after(m[1], int(m[2]))
    if m := re.fullmatch(r"If today is (\w+), what day of the week was it (\d+) days ago\?", stem):
        return weekday_after(m[1], -int(m[2]))
    if m := re.fullmatch(r"If yesterday was (\w+), what day will it be tomorrow\?", stem):
        return weekday_after(m[1], 2)
    if m := re.fullmatch(r"If (\w+) 1 is a (\w+), what day of the week is \1 (\d+)\?", stem):
        return weekday_after(m[2], int(m[3]) - 1)
    if m := re.fullmatch(r"Which month comes (\d+) months? after (\w+)\?", stem):
        return month_after(m[2], int(m[1]))
    if m := re.fullmatch(r"Which month was it (\d+) months? before (\w+)\?", stem):
        return month_after(m[2], -int(m[1]))
    if m := re.fullmatch(r"In a year that is not a leap year, how many days does (\w+) have\?", stem):
        return str(calendar.monthrange(2023, MONTH[m[1]])[1])
    if m := re.fullmatch(r"How many days are there in (\d+) weeks\?", stem):
        return str((datetime.timedelta(weeks=int(m[1]))).days)
    if m := re.fullmatch(r"How many (\w+)s are there in (\d+) (\w+?)s?(?: and (\d+) (\w+)s)?\?", stem):
        total = int(m[2]) * UNIT[m[3]] + (int(m[4]) * UNIT[m[5]] if m[4] else 0)
        assert total % UNIT[m[1]] == 0
        return str(total // UNIT[m[1]])
    if m := re.fullmatch(r"How many (?:sides|corners) does a (\w+) have\?", stem):
        return str(SIDES[m[1]])
    if m := re.fullmatch(r"Which shape has exactly (\d+) sides\?", stem):
        return next(name for name, n in SIDES.items() if n == int(m[1]))
    if m := re.fullmatch(r"What is the sum of the interior angles of a (\w+), in degrees\?", stem):
        return str((SIDES[m[1]] - 2) * 180)
    if m := re.fullmatch(r"What is the perimeter of a regular (\w+) whose sides are each (\d+) cm long\?", stem):
        return f"{SIDES[m[1]] * int(m[2])} cm"
    if m := re.fullmatch(r"A regular (\w+) has a perimeter of (\d+) cm\. How long is each side\?", stem):
        return f"{int(m[2]) // SIDES[m[1]]} cm"
    if m := re.fullmatch(r"A rectangle is (\d+) cm long and (\d+) cm wide\. What is its (area|perimeter)\?", stem):
        a, b = int(m[1]), int(m[2])
        return f"{a * b} square cm" if m[3] == "area" else f"{2 * (a + b)} cm"
    raise AssertionError(f"unknown question: {stem}")


def parse(prompt: str) -> tuple[str, dict[str, str]]:
    stem, *lines, instruction = prompt.split("\n")
    assert instruction.startswith("Answer with the letter")
    options = dict(line.split(". ", 1) for line in lines)
    assert list(options) == ["A", "B", "C", "D"] and len(set(options.values())) == 4
    return stem, options


def test_ood_records_are_five_shot_balanced_and_the_gold_is_right():
    assert ood.SUBJECTS == ("ood_calendar", "ood_units", "ood_shapes")
    letters, subjects = Counter(), Counter()
    for split in ("eval", "train"):
        records = ood.records(300, 0, split)
        assert [r["type"] for r in records] == [ood.SUBJECTS[k % 3] for k in range(300)]
        for r in records:
            assert len(r["messages"]) == 12 and r["question_format"] == 0
            stem, options = parse(r["messages"][-2]["content"])
            assert split_of(stem) == split
            assert options[r["messages"][-1]["content"]] == solve(stem), (stem, options)
            for user, assistant in zip(r["messages"][0:10:2], r["messages"][1:10:2], strict=True):
                shot_stem, shot_options = parse(user["content"])
                assert shot_stem != stem and split_of(shot_stem) == "train"
                assert shot_options[assistant["content"]] == solve(shot_stem)
            if split == "eval":
                letters[r["messages"][-1]["content"]] += 1
                subjects[r["type"]] += 1
    assert all(50 <= letters[x] <= 100 for x in "ABCD"), letters
    assert set(subjects.values()) == {100}


def test_ood_shots_are_of_the_question_subject():
    def subject_of(stem: str) -> str:
        if re.search(r"day|month", stem):
            return "ood_calendar"
        if re.search(r"sides|corners|shape|angles|perimeter|rectangle", stem):
            return "ood_shapes"
        return "ood_units"

    for r in ood.records(60, 2, "eval"):
        stems = [parse(m["content"])[0] for m in r["messages"] if m["role"] == "user"]
        assert {subject_of(s) for s in stems} == {r["type"]}, stems
