"""P2's symbolic and arithmetic tasks (kit/data/builtin/reasoning/ and kit/eval/tasks/p2_*): generator conventions,
answers checked by independent solvers that read the question text, the scorer on hand-written and tricky replies,
the multiple-choice twins, the task-module API and recipe validation. No model is loaded."""

from __future__ import annotations

import ast
import operator
import re
from collections import Counter
from functools import cache

import pytest

from kit.data.builtin import get_generator, split_of
from kit.data.builtin.reasoning import first_letter
from kit.eval.tasks import ABILITIES, get_task
from kit.eval.tasks import short_answer as sa
from kit.recipe import RecipeError, load_recipe
from tests.conftest import write_recipe

SYMBOLIC = ("p2_first_letter", "p2_last_letter", "p2_reverse_list", "p2_coin_flip")
ARITHMETIC = ("p2_multistep", "p2_addsub", "p2_compare")
TASKS = SYMBOLIC + ARITHMETIC
N_EVAL = 300  # items checked per task where every item is checked (DEFAULT_N is 1000)


def generator_of(task: str):
    return get_generator(task.removeprefix("p2_"))


@cache
def eval_items(task: str, n: int = N_EVAL, seed: int = 0) -> tuple[dict, ...]:
    return tuple(get_task(task).load_items(n, seed))


@cache
def dense(task: str, n: int = N_EVAL, seed: int = 0) -> tuple[dict, ...]:
    return tuple(get_task(task).dense_items(n, seed))


@cache
def train_rows(task: str, n: int = 200, seed: int = 0) -> tuple[dict, ...]:
    return tuple(generator_of(task).generate_train(n, seed))


def question(item_or_row: dict) -> str:
    """The question of an item or a training row: its user turn without the answer instruction."""
    content = item_or_row["messages"][0]["content"]
    assert content.endswith(f"\n\n{sa.INSTRUCTION}")
    return content.removesuffix(f"\n\n{sa.INSTRUCTION}")


def text_of(choice: list[dict]) -> str:
    return "".join(segment["text"] for segment in choice)


# -- independent solvers: each computes the answer from the question text alone ------------------------------------


def _letters(q: str, which: int) -> str:
    words = re.fullmatch(r'Take the \w+ letter of each word in "([^"]+)" and concatenate them\.', q).group(1).split()
    return "".join(w[which] for w in words)


def _reverse(q: str) -> str:
    return ", ".join(re.fullmatch(r"Reverse the list: \[([^\]]+)\]\.", q).group(1).split(", ")[::-1])


def _coin(q: str) -> str:
    assert q.startswith("A coin is heads up. ") and q.endswith(" Is the coin still heads up?")
    flips = len(re.findall(r"\w+ flips the coin\.", q))
    assert flips + len(re.findall(r"\w+ does not flip the coin\.", q)) in (2, 3, 4)
    return "yes" if flips % 2 == 0 else "no"


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _arith(node: ast.AST) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    assert isinstance(node, ast.BinOp) and type(node.op) in _OPS, ast.dump(node)
    return _OPS[type(node.op)](_arith(node.left), _arith(node.right))


def _multistep(q: str) -> str:
    return str(_arith(ast.parse(re.fullmatch(r"What is (.+)\?", q).group(1), mode="eval").body))


def _addsub(q: str) -> str:
    a, b = (int(x) for x in re.findall(r"\d+", q))
    taken = re.search(r"gave \d+ of them|took \d+ of them|lost \d+ of them", q)
    return str(a - b if taken else a + b)


def _compare(q: str) -> str:
    if m := re.fullmatch(r"Which number is (larger|smaller), (\d+) or (\d+)\?", q):
        pick = max if m.group(1) == "larger" else min
        return str(pick(int(m.group(2)), int(m.group(3))))
    m = re.fullmatch(r"(\w+) has (\d+) (\w+) and (\w+) has (\d+) \3\. Who has (more|fewer) \3\?", q)
    (x, nx), (y, ny) = (m.group(1), int(m.group(2))), (m.group(4), int(m.group(5)))
    return x if (nx > ny) == (m.group(6) == "more") else y


SOLVERS = {
    "p2_first_letter": lambda q: _letters(q, 0),
    "p2_last_letter": lambda q: _letters(q, -1),
    "p2_reverse_list": _reverse,
    "p2_coin_flip": _coin,
    "p2_multistep": _multistep,
    "p2_addsub": _addsub,
    "p2_compare": _compare,
}


# -- kit.data.builtin's conventions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_gives_the_same_items_and_another_seed_different_ones(task):
    gen = generator_of(task)
    for make in (gen.generate_train, gen.generate_eval, gen.generate_dense):
        assert make(20, 3) == make(20, 3)
        assert make(20, 3) != make(20, 4)


@pytest.mark.parametrize("task", TASKS)
def test_a_smaller_n_is_a_prefix_of_a_larger_n(task):
    gen = generator_of(task)
    for make in (gen.generate_train, gen.generate_eval, gen.generate_dense):
        assert make(60, 1)[:25] == make(25, 1)
    assert list(eval_items(task))[:40] == get_task(task).load_items(40, 0)


@pytest.mark.parametrize("task", TASKS)
def test_train_and_eval_never_share_a_question_whatever_the_seeds(task):
    train = {question(r) for seed in (0, 1) for r in train_rows(task, 200, seed)}
    held_out = {question(i) for seed in (0, 1) for i in eval_items(task, N_EVAL, seed)}
    assert not train & held_out
    assert {split_of(q) for q in train} == {"train"} and {split_of(q) for q in held_out} == {"eval"}


@pytest.mark.parametrize("task", TASKS)
def test_ids_and_questions_are_distinct_and_the_default_n_is_reachable(task):
    items = get_task(task).load_items(None, 0)
    assert len(items) == get_task(task).DEFAULT_N == 1000
    assert len({i["id"] for i in items}) == len({question(i) for i in items}) == 1000
    rows = train_rows(task)
    assert len({r["id"] for r in rows}) == len(rows) and all(r["source"] == f"builtin:{task[3:]}" for r in rows)
    assert all(i["task"] == task for i in items)


# -- answers ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_every_eval_reference_is_the_answer_an_independent_solver_reads_from_the_question(task):
    for item in eval_items(task):
        expected = SOLVERS[task](question(item))
        assert item["reference"]["answer"] == expected, question(item)


@pytest.mark.parametrize("task", TASKS)
def test_every_training_reply_reasons_briefly_then_gives_the_right_answer(task):
    """The training rows are positive controls: a model that learns them answers the eval format right."""
    for row in train_rows(task):
        reply = row["messages"][1]["content"]
        reasoning, answer_line = reply.split("\n")
        assert 0 < len(reasoning) < 200 and answer_line == sa.reply(SOLVERS[task](question(row)))


@pytest.mark.parametrize("task", TASKS)
def test_the_gold_scores_one_and_every_distractor_zero_through_the_tasks_scorer(task):
    score = get_task(task).score
    items, twins = eval_items(task), dense(task)
    for item, twin in zip(items, twins, strict=True):
        assert twin["id"] == item["id"] and twin["messages"] == item["messages"]
        gold, *distractors = (text_of(c) for c in twin["choices"])
        assert gold == sa.reply(item["reference"]["answer"])
        assert score(item, f"Let me think step by step.\n{gold}")["score"] == 1.0
        for wrong in distractors:
            assert score(item, f"Let me think step by step.\n{wrong}")["score"] == 0.0, (question(item), wrong)


# A reply that is right only under the item's own normalisation (not the gold's exact text), per kind.
SAME_UNDER_KIND = {
    "letters": lambda g: " ".join(g.lower()),
    "list": lambda g: f"[{g.upper()}]",
    "number": lambda g: f"{g}.0",
    "yesno": lambda g: f"{g.capitalize()}.",
    "choice": lambda g: f"the {g.upper()}",
}


@pytest.mark.parametrize("task", TASKS)
def test_twins_are_valid_and_a_distractor_right_under_the_kind_is_refused(task):
    module = get_task(task)
    for twin in dense(task, 64):
        assert len(twin["choices"]) == round(1 / module.CHANCE)
        texts = [text_of(c) for c in twin["choices"]]
        assert len(set(texts)) == len(texts) and all(t.startswith("Answer: ") for t in texts)
        assert all(any(s["scored"] for s in c) for c in twin["choices"])
    item = eval_items(task)[0]
    gold, kind = item["reference"]["answer"], item["reference"]["kind"]
    assert sa.score(item, sa.reply(SAME_UNDER_KIND[kind](gold)))["score"] == 1.0
    with pytest.raises(ValueError, match="match the gold"):
        sa.dense_item(item, ["zzz 999", SAME_UNDER_KIND[kind](gold)])


# -- hand-written known answers and tricky replies -----------------------------------------------------------------


def hand_item(task: str, q: str, answer: str, kind: str, options: list[str] | None = None) -> dict:
    return sa.eval_item("hand-1", task, q, answer, kind, options)


@pytest.mark.parametrize(
    ("reply", "right"),
    [
        ("Answer: em", True),
        ("Answer: EM", True),
        ("The first letters are E and M.\nAnswer: E M", True),
        ("The answer is **EM**.", True),
        ('Answer: "E", "M"', True),
        ("Answer: `EM`", True),
        ("Answer: EK", False),
        ("Answer: ME", False),
        ("Answer: NK", False),
        ("Answer: EM\nWait, no.\nAnswer: EN", False),  # the last Answer line counts
        ("EM", False),  # no Answer line: no fallback to the text
    ],
)
def test_first_letters_of_elon_musk_are_em(reply, right):
    problem = first_letter.letters_problem(["Elon", "Musk"], "first")
    assert problem.answer == "EM" and problem.question == (
        'Take the first letter of each word in "Elon Musk" and concatenate them.'
    )
    item = hand_item("p2_first_letter", problem.question, problem.answer, problem.kind)
    assert get_task("p2_first_letter").score(item, reply)["score"] == float(right)


def test_letter_distractors_are_the_other_letters_and_another_order():
    first = first_letter.letters_problem(["Elon", "Musk", "Larry", "Page"], "first")
    assert (first.answer, first.distractors) == ("EMLP", ("NKYE", "PLME"))
    last = first_letter.letters_problem(["Elon", "Musk", "Larry", "Page"], "last")
    assert (last.answer, last.distractors) == ("nkye", ("emlp", "eykn"))
    assert first.why == 'The first letters of "Elon", "Musk", "Larry", "Page" are E, M, L, P.'


@pytest.mark.parametrize(
    ("reply", "right"),
    [
        ("Answer: dog, blue, 7, cat", True),
        ("Answer: [dog, blue, 7, cat]", True),
        ("Answer: Dog, Blue, 7, Cat.", True),
        ("Answer: dog blue 7 cat", True),
        ("Answer: **[dog, blue, 7, cat]**", True),
        ("Answer: cat, 7, blue, dog", False),  # the list as given
        ("Answer: dog, 7, blue, cat", False),  # one adjacent swap
        ("Answer: dog, blue, 7", False),  # one element lost
        ("Answer: dog, blue, 7, cat, cat", False),
    ],
)
def test_reverse_list_scores_the_order_of_every_element(reply, right):
    q = "Reverse the list: [cat, 7, blue, dog]."
    item = hand_item("p2_reverse_list", q, _reverse(q), "list")
    assert item["reference"]["answer"] == "dog, blue, 7, cat"
    assert get_task("p2_reverse_list").score(item, reply)["score"] == float(right)


@pytest.mark.parametrize(
    ("reply", "right"),
    [
        ("Answer: no", True),
        ("Ann flipped it once, so it is tails up.\nAnswer: No.", True),
        ("Answer: **No**, it is tails up", True),
        ("Answer: yes", False),
        ("Answer: tails", False),  # not a yes or a no
        ("Answer: Not heads up", False),
    ],
)
def test_coin_flipped_once_is_no_longer_heads_up(reply, right):
    q = "A coin is heads up. Ann flips the coin. Bob does not flip the coin. Is the coin still heads up?"
    item = hand_item("p2_coin_flip", q, _coin(q), "yesno")
    assert get_task("p2_coin_flip").score(item, reply)["score"] == float(right)


@pytest.mark.parametrize(
    ("reply", "right"),
    [
        ("Answer: 28", True),
        ("7 + 4 = 11, 11 * 3 = 33, 33 - 5 = 28.\nAnswer: 28.", True),
        ("The answer is **28**", True),
        ("Answer: 28 (11 * 3 - 5)", True),
        ("Answer: 28.0", True),
        ("Answer: 14", False),  # the precedence slip: 7 + 4 * 3 - 5
        ("Answer: 38", False),  # the last sign slipped
        ("Answer: twenty-eight", False),  # no digits: no number
        ("Answer: 11 * 3 - 5 = 28", True),  # the number after the last "=" (short_answer 2)
    ],
)
def test_multistep_known_answer(reply, right):
    q = "What is (7 + 4) * 3 - 5?"
    item = hand_item("p2_multistep", q, _multistep(q), "number")
    assert item["reference"]["answer"] == "28"
    assert get_task("p2_multistep").score(item, reply)["score"] == float(right)


@pytest.mark.parametrize(
    ("reply", "right"),
    [("Answer: 7", True), ("Answer: 7 marbles.", True), ("Answer: $7", True), ("Answer: 17", False)],
)
def test_addsub_known_answer(reply, right):
    q = "Tom had 12 marbles. He gave 5 of them to Sara. How many marbles does Tom have now?"
    item = hand_item("p2_addsub", q, _addsub(q), "number")
    assert get_task("p2_addsub").score(item, reply)["score"] == float(right)


@pytest.mark.parametrize(
    ("q", "reply", "right"),
    [
        ("Which number is larger, 37 or 52?", "Answer: 52", True),
        ("Which number is larger, 37 or 52?", "Answer: 52 is larger.", True),
        ("Which number is larger, 37 or 52?", "Answer: 37", False),
        ("Which number is smaller, 37 or 52?", "Answer: 37", True),
        ("Ann has 14 apples and Ben has 9 apples. Who has more apples?", "Answer: Ann", True),
        ("Ann has 14 apples and Ben has 9 apples. Who has more apples?", "Answer: ann has more apples.", True),
        ("Ann has 14 apples and Ben has 9 apples. Who has more apples?", "Answer: Ben", False),
        ("Ann has 14 apples and Ben has 9 apples. Who has more apples?", "Answer: Ann or Ben", False),
        ("Ann has 14 apples and Ben has 9 apples. Who has more apples?", "Answer: 14", False),
        ("Ann has 14 apples and Ben has 9 apples. Who has fewer apples?", "Answer: Ben", True),
    ],
)
def test_compare_known_answers_in_both_forms(q, reply, right):
    gold = _compare(q)
    names = re.findall(r"([A-Z]\w+) has", q)
    item = hand_item("p2_compare", q, gold, "choice", names) if names else hand_item("p2_compare", q, gold, "number")
    assert get_task("p2_compare").score(item, reply)["score"] == float(right)


# The first eval item for seed 0 at each generator version: a change to the items must bump the version.
PINNED = {
    "p2_first_letter": (
        "1",
        'Take the first letter of each word in "Sam Maya Jacket" and concatenate them.',
        "SMJ",
        ["MAT", "JMS"],
    ),
    "p2_last_letter": (
        "1",
        'Take the last letter of each word in "Frank Will Emily Oscar" and concatenate them.',
        "klyr",
        ["fweo", "rylk"],
    ),
    "p2_reverse_list": (
        "2",
        "Reverse the list: [jungle, umbrella, wallet, zebra, 12, candle].",
        "candle, 12, zebra, wallet, umbrella, jungle",
        ["12, candle, zebra, wallet, umbrella, jungle", "candle, 12, wallet, zebra, umbrella, jungle"],
    ),
    "p2_coin_flip": (
        "1",
        "A coin is heads up. Tom does not flip the coin. Frank does not flip the coin. Kenji flips the coin. "
        "Mark does not flip the coin. Is the coin still heads up?",
        "no",
        ["yes"],
    ),
    "p2_multistep": ("2", "What is 8 * (10 + 4)?", "112", ["84", "114"]),
    "p2_addsub": (
        "2",
        "Oscar has 14 stamps. He buys 11 more at a shop. How many stamps does Oscar have now?",
        "25",
        ["3", "26"],
    ),
    "p2_compare": ("1", "Which number is smaller, 18 or 24?", "18", ["24"]),
}


@pytest.mark.parametrize("task", TASKS)
def test_the_first_item_is_pinned_to_the_generators_version(task):
    version, q, answer, distractors = PINNED[task]
    assert generator_of(task).VERSION == version, "the generator's version changed: update PINNED to its new items"
    item, twin = eval_items(task)[0], dense(task)[0]
    assert (question(item), item["reference"]["answer"]) == (q, answer), "items changed: bump the generator VERSION"
    assert [text_of(c) for c in twin["choices"][1:]] == [sa.reply(d) for d in distractors]


# -- what the items look like ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_prompts_and_answers_are_short(task):
    """Many models score these through llama.cpp on 2 cores: prompts well under 100 tokens (~4 characters each)."""
    module = get_task(task)
    assert all(len(i["messages"][0]["content"]) < 400 for i in eval_items(task))
    assert all(len(i["reference"]["answer"]) < 4 * module.MAX_NEW_TOKENS // 3 for i in eval_items(task))
    assert module.MAX_NEW_TOKENS <= 64


def test_each_symbolic_task_varies_its_size_as_stated():
    sizes = {
        "p2_first_letter": Counter(len(i["reference"]["answer"]) for i in eval_items("p2_first_letter")),
        "p2_reverse_list": Counter(i["reference"]["answer"].count(",") + 1 for i in eval_items("p2_reverse_list")),
        "p2_coin_flip": Counter(question(i).count("flip") for i in eval_items("p2_coin_flip")),
    }
    assert set(sizes["p2_first_letter"]) == {3, 4}
    assert set(sizes["p2_reverse_list"]) == {4, 5, 6}
    assert set(sizes["p2_coin_flip"]) == {2, 3, 4}
    assert all(re.search(r"\b\d+\b", i["reference"]["answer"]) for i in eval_items("p2_reverse_list"))


@pytest.mark.parametrize(
    ("task", "which"),
    [
        ("p2_coin_flip", lambda i: i["reference"]["answer"] == "yes"),
        ("p2_compare", lambda i: i["reference"]["kind"] == "choice"),
        ("p2_compare", lambda i: i["reference"]["answer"] == re.search(r"(\w+) (?:has|or)", question(i)).group(1)),
        ("p2_addsub", lambda i: _addsub(question(i)) == str(sum(map(int, re.findall(r"\d+", question(i)))))),
    ],
    ids=["coin-yes", "compare-names", "compare-gold-first", "addsub-sums"],
)
def test_answers_are_balanced_so_a_constant_guess_scores_near_chance(task, which):
    share = sum(map(which, eval_items(task))) / N_EVAL
    assert 0.38 < share < 0.62


def test_multistep_parentheses_always_change_the_result_and_the_slip_is_a_distractor():
    for item, twin in zip(eval_items("p2_multistep"), dense("p2_multistep"), strict=True):
        text = re.fullmatch(r"What is (.+)\?", question(item)).group(1)
        flat = str(_arith(ast.parse(text.replace("(", "").replace(")", ""), mode="eval").body))
        assert "(" in text and flat != item["reference"]["answer"]
        assert text_of(twin["choices"][1]) == sa.reply(flat)
        assert 0 <= int(item["reference"]["answer"]) < 200


def test_addsub_offers_the_other_operation_as_a_distractor():
    for item, twin in zip(eval_items("p2_addsub"), dense("p2_addsub"), strict=True):
        a, b = (int(x) for x in re.findall(r"\d+", question(item)))
        other = a + b if int(item["reference"]["answer"]) == a - b else abs(a - b)
        assert text_of(twin["choices"][1]) == sa.reply(str(other))


# -- the task modules and recipes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_task_module_states_its_domain_origin_name_chance_and_versions(task):
    module = get_task(task)
    assert module.DOMAIN == ABILITIES[task] == ("symbolic" if task in SYMBOLIC else "arithmetic")
    assert module.ORIGIN == ("P2" if task in ("p2_first_letter", "p2_reverse_list") else "ours")
    assert isinstance(module.PAPER_NAME, str) and module.PAPER_NAME
    assert module.CHANCE == pytest.approx(0.5 if task in ("p2_coin_flip", "p2_compare") else 1 / 3)
    gen = generator_of(task)
    assert f"gen{gen.VERSION}" in module.VERSION and f"sa{sa.VERSION}" in module.VERSION
    assert module.DENSE_VERSION == module.VERSION
    assert module.load_items(5, 2) == gen.generate_eval(5, 2) and module.dense_items(5, 2) == gen.generate_dense(5, 2)


RECIPE = """
name: p2s
model: {base: tiny-random-llama}
data:
  mixture:
    - {source: "builtin:math", n: 8}
"""


def test_a_recipe_naming_every_task_with_dense_items_validates_and_a_misspelt_one_does_not(tmp_path):
    entries = ", ".join(f"{{task: {t}, n: 32, dense_n: 64}}" for t in TASKS)
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", RECIPE + f"eval: {{tasks: [{entries}]}}\n"), profile="cpu")
    assert [(t.task, t.n, t.dense_n) for t in recipe.eval.tasks] == [(t, 32, 64) for t in TASKS]
    typo = RECIPE + "eval: {tasks: [{task: p2_first_leter, n: 32, dense_n: 64}]}\n"
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "typo.yaml", typo), profile="cpu")
    assert "did you mean 'p2_first_letter'" in dict(err.value.problems)["eval.tasks.0.task"]
