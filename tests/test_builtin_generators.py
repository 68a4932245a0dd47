"""Built-in math and general generators: determinism, prefixes, train/eval disjointness, self-consistent answers."""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest

from kit.data.builtin import general, get_generator, math, math_easy, split_of
from kit.data.schema import validate_row
from kit.eval import verifiers
from kit.eval.tasks import builtin_general, builtin_math, builtin_math_easy, get_task, math_answer

GENERATORS = [math, math_easy, general]
MATH_TASKS = [builtin_math, builtin_math_easy]


def user_text(row: dict) -> str:
    return row["messages"][0]["content"]


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_same_seed_gives_the_same_items_and_another_seed_different_ones(gen):
    assert gen.generate_train(30, seed=3) == gen.generate_train(30, seed=3)
    assert gen.generate_eval(30, seed=3) == gen.generate_eval(30, seed=3)
    assert [r["id"] for r in gen.generate_train(30, seed=3)] != [r["id"] for r in gen.generate_train(30, seed=4)]


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_a_smaller_n_is_a_prefix_of_a_larger_n(gen):
    assert gen.generate_train(10, seed=5) == gen.generate_train(100, seed=5)[:10]
    assert gen.generate_eval(10, seed=5) == gen.generate_eval(60, seed=5)[:10]


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_train_and_eval_never_share_a_prompt_whatever_the_seeds(gen):
    train = {user_text(r) for r in gen.generate_train(2000, seed=0)}
    for seed in (0, 1):
        evals = {user_text(item) for item in gen.generate_eval(300, seed=seed)}
        assert len(evals) == 300
        assert not train & evals


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_items_are_distinct_valid_rows_in_their_own_split(gen):
    rows = gen.generate_train(500, seed=2)
    assert len({r["id"] for r in rows}) == len({user_text(r) for r in rows}) == 500
    for row in rows:
        validate_row(row)
    items = gen.generate_eval(100, seed=2)
    assert all(item["messages"][-1]["role"] == "user" and item["task"] == gen.TASK for item in items)


@pytest.mark.parametrize("gen", [math, math_easy], ids=lambda g: g.__name__)
def test_math_split_is_decided_by_the_question_alone(gen):
    for row in gen.generate_train(200, seed=9):
        assert split_of(user_text(row).removesuffix(gen.prompt(""))) == "train"
    for item in gen.generate_eval(50, seed=9):
        assert split_of(user_text(item).removesuffix(gen.prompt(""))) == "eval"


def test_math_item_space_is_large():
    questions = {math.make_problem(seed=0, i=i)[0] for i in range(20000)}
    assert len(questions) > 19000  # nearly every draw is new, so the space is far beyond 100k


def test_math_has_many_templates_each_with_many_variants():
    assert len(math.TEMPLATES) >= 8
    for template in math.TEMPLATES:
        assert len({template(random.Random(k))[0] for k in range(300)}) > 250, template.__name__


def test_math_solution_steps_are_true_and_the_last_result_is_the_answer():
    for row in math.generate_train(400, seed=1):
        solution = row["messages"][1]["content"]
        *steps, last = solution.splitlines()
        assert re.fullmatch(r"#### \d+", last) and 1 <= len(steps) <= 3
        results = []
        for a, op, b, c in re.findall(r"\$?(\d+(?:/100)?) ([-+x/]) \$?(\d+) = \$?(\d+)", "\n".join(steps)):
            a, b, c = Fraction(a), int(b), int(c)
            assert {"+": a + b, "-": a - b, "x": a * b, "/": a / b}[op] == c, solution
            results.append(c)
        assert results and results[-1] == int(last.removeprefix("#### ")) < 1000
        assert math.ANSWER_INSTRUCTION in user_text(row)


@pytest.mark.parametrize("gen, task", [(math, builtin_math), (math_easy, builtin_math_easy)], ids=["math", "easy"])
def test_math_eval_reference_equals_the_hash_number_of_the_items_solution(gen, task):
    solutions = {gen.prompt(q): s for q, s, _ in (gen.make_problem(seed=4, i=i) for i in range(2000))}
    items = task.load_items(100, seed=4)
    for item in items:
        reference = item["reference"]["answer"]
        assert isinstance(reference, int)
        assert math_answer.extract_answer(solutions[user_text(item)]) == str(reference)


def test_easy_math_is_two_true_steps_with_every_number_below_100():
    for row in math_easy.generate_train(600, seed=1):
        question, solution = user_text(row), row["messages"][1]["content"]
        *steps, last = solution.splitlines()
        assert len(steps) == 2 and re.fullmatch(r"#### \d+", last), solution
        previous = None
        for step in steps:
            a, op, b, c = re.fullmatch(r"(\d+) ([-+x]) (\d+) = (\d+)", step).groups()
            a, b, c = int(a), int(b), int(c)
            assert {"+": a + b, "-": a - b, "x": a * b}[op] == c and previous in (None, a), solution
            previous = c
        assert previous == int(last.removeprefix("#### "))
        numbers = [int(x) for x in re.findall(r"\d+", question.removesuffix(math_easy.prompt("")) + solution)]
        assert all(0 <= x < math_easy.LIMIT for x in numbers), (question, solution)


def test_easy_math_has_several_templates_each_with_many_variants():
    assert len(math_easy.TEMPLATES) >= 5
    for template in math_easy.TEMPLATES:
        assert len({template(random.Random(k))[0] for k in range(300)}) > 250, template.__name__


def test_easy_math_item_space_holds_every_pool_the_recipes_ask_for():
    questions = {math_easy.make_problem(seed=0, i=i)[0] for i in range(20000)}
    assert len(questions) > 19000


def test_easy_math_answers_are_short_and_asked_for_in_builtin_maths_format():
    for row in math_easy.generate_train(200, seed=0):
        assert len(row["messages"][1]["content"]) <= 40
        assert user_text(row).endswith(math.ANSWER_INSTRUCTION + " For example, the last line could be '#### 7'.")


# --- dense items -----------------------------------------------------------------------------------------


def text_of(choice: list[dict]) -> str:
    return "".join(segment["text"] for segment in choice)


@pytest.mark.parametrize("task", MATH_TASKS, ids=lambda t: t.__name__)
def test_math_dense_gold_is_the_training_solution_and_distractors_differ_only_in_scored_result_digits(task):
    gen = math if task is builtin_math else math_easy
    solutions = {gen.prompt(q): (s, a) for q, s, a in (gen.make_problem(seed=2, i=i) for i in range(3000))}
    items = task.dense_items(60, seed=2)
    assert [i["id"] for i in items] == [i["id"] for i in task.load_items(60, seed=2)]
    for item in items:
        solution, answer = solutions[user_text(item)]
        gold, *wrong = item["choices"]
        assert text_of(gold) == solution and len(wrong) == 2
        scored = [s["text"] for s in gold if s["scored"]]
        assert scored == [str(answer), str(answer)] and gold[-1]["scored"]
        values = set()
        for choice in wrong:
            assert [s["scored"] for s in choice] == [s["scored"] for s in gold]
            assert [s["text"] for s in choice if not s["scored"]] == [s["text"] for s in gold if not s["scored"]]
            numbers = {s["text"] for s in choice if s["scored"]}
            assert len(numbers) == 1 and numbers.pop().isdigit()
            assert math_answer.extract_answer(text_of(choice)) not in (None, str(answer))
            values.add(math_answer.extract_answer(text_of(choice)))
        assert len(values) == 2


@pytest.mark.parametrize("task", MATH_TASKS, ids=lambda t: t.__name__)
def test_math_dense_items_are_deterministic_nested_and_versioned(task):
    assert task.dense_items(10, seed=3) == task.dense_items(30, seed=3)[:10]
    assert task.dense_items(10, seed=3) != task.dense_items(10, seed=4)
    assert isinstance(task.DENSE_VERSION, str) and get_task(task.__name__.rsplit(".", 1)[1]) is task


def test_math_dense_prefers_an_operator_slip_for_the_wrong_result():
    choices = math.dense_choices("12 + 5 = 17\n17 - 3 = 14\n#### 14", "k")
    assert [s["text"] for s in choices[1] if s["scored"]] == ["20", "20"]  # 17 + 3: the operator confused
    with pytest.raises(ValueError, match="not the '#### N' answer"):
        math.dense_choices("12 + 5 = 17\n#### 18", "k")


def test_every_general_training_response_meets_all_its_constraints():
    for seed in range(4):
        for i in range(1500):
            _, response, constraints = general.make_instruction(seed, i)
            assert 1 <= len(constraints) <= 2
            for c in constraints:
                assert verifiers.check(c, response), (c, response)


def test_general_training_rows_score_full_marks_with_the_eval_scorer():
    rows = general.generate_train(300, seed=8)
    by_prompt = {p: c for p, _, c in (general.make_instruction(8, i) for i in range(3000))}
    for row in rows:
        item = {"reference": {"constraints": by_prompt[user_text(row)]}}
        result = builtin_general.score(item, row["messages"][1]["content"])
        assert result["score"] == 1.0 and result["all_met"]


def test_general_items_use_every_constraint_kind_and_pairs():
    items = general.generate_eval(300, seed=0)
    kinds = {c["kind"] for item in items for c in item["reference"]["constraints"]}
    assert kinds == set(verifiers.KINDS)
    assert any(len(item["reference"]["constraints"]) == 2 for item in items)
    assert any(len(item["reference"]["constraints"]) == 1 for item in items)


def test_general_counts_words_like_the_verifier():
    for i in range(300):
        _, response, _ = general.make_instruction(1, i)
        assert general._count_words(response) == verifiers.count_words(response)


def test_generators_are_found_by_name():
    assert get_generator("math") is math and get_generator("general") is general
    assert get_generator("math_easy") is math_easy and get_task("builtin_math_easy") is builtin_math_easy
    with pytest.raises(KeyError, match="did you mean 'math'"):
        get_generator("maths")


def test_a_generator_asked_for_more_items_than_it_has_says_so_instead_of_drawing_forever(monkeypatch):
    from kit.data import builtin

    monkeypatch.setattr(builtin, "MAX_DRAWS_WITHOUT_NEW", 500)
    make = lambda seed, i: (f"question {i % 40}",)  # noqa: E731  (40 keys: about 35 train, 5 eval)
    found = list(builtin.draw_distinct(make, 3, 0, "train", "tiny"))
    assert len(found) == 3
    with pytest.raises(ValueError, match="tiny: 500 draws in a row found no new train item after"):
        list(builtin.draw_distinct(make, 100, 0, "train", "tiny"))
