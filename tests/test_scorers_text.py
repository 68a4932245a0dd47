"""Text scorers: GSM8K answer extraction, constraint verifiers, and the math/general/gsm8k task modules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit.data.schema import DataError
from kit.eval import verifiers
from kit.eval.tasks import builtin_general, builtin_math, get_task, gsm8k, math_answer

SHARED = Path(__file__).parents[2] / "shared" / "data"


# --- #### extraction ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48 + 24 = 72\n#### 72", "72"),
        ("#### 1,234", "1234"),
        ("#### -5", "-5"),
        ("#### 3.5", "3.5"),
        ("#### 18.", "18"),
        ("first #### 1\nthen\n#### 2", "2"),
        ("The answer is 72.", None),
        ("####72", None),
        ("#### x", None),
        ("", None),
    ],
)
def test_extract_answer_takes_the_number_after_the_last_hashes(text, expected):
    assert math_answer.extract_answer(text) == expected


def test_numbers_equal_compares_values_not_spellings():
    assert math_answer.numbers_equal("72", 72)
    assert math_answer.numbers_equal("72.0", "72")
    assert math_answer.numbers_equal("1,000", 1000)
    assert not math_answer.numbers_equal("72", 73)
    assert not math_answer.numbers_equal(None, 0)
    assert not math_answer.numbers_equal("1.2.3", "1.2")


def math_item(answer) -> dict:
    return {"id": "x", "task": "builtin_math", "messages": [], "reference": {"answer": answer}}


def test_math_score_is_one_for_the_right_answer_and_zero_otherwise():
    assert math_answer.score(math_item(72), "So 48 + 24 = 72.\n#### 72")["score"] == 1.0
    wrong = math_answer.score(math_item(72), "So 48 + 20 = 68.\n#### 68")
    assert wrong["score"] == 0.0 and wrong["reason"] == "wrong answer" and wrong["extracted"] == "68"


def test_a_right_number_without_the_hash_line_scores_zero():
    result = builtin_math.score(math_item(72), "The answer is 72")
    assert result["score"] == 0.0 and result["extracted"] is None


def test_builtin_math_items_score_one_on_their_own_reference():
    for item in builtin_math.load_items(20, seed=0):
        assert builtin_math.score(item, f"Steps.\n#### {item['reference']['answer']}")["score"] == 1.0
        assert builtin_math.score(item, f"Steps.\n#### {item['reference']['answer'] + 1}")["score"] == 0.0


# --- constraint verifiers ---

VERIFIER_CASES = [
    ({"kind": "bullets", "n": 2}, "- one\n- two", "- one\n- two\n- three"),
    ({"kind": "bullets", "n": 2}, "Intro\n* one\n  * two", "-one\n-two"),
    ({"kind": "lowercase"}, "all quiet here.", "All quiet here."),
    ({"kind": "keywords", "words": ["garden", "rain"]}, "Rain helps gardens grow.", "Rain helps plants grow."),
    ({"kind": "keywords", "words": ["art"]}, "Art is fun.", "Let us start."),
    ({"kind": "max_words", "n": 5}, "one two three four five", "one two three four five six"),
    ({"kind": "end_phrase", "phrase": "Thanks for reading."}, "Hi. Thanks for reading.\n", "Thanks for reading. Bye."),
    ({"kind": "quoted"}, '  "Hello there."  ', 'Hello "there".'),
    ({"kind": "json_answer", "key": "answer"}, '{"answer": "yes"}', '{"reply": "yes"}'),
    ({"kind": "json_answer", "key": "answer"}, '```json\n{"answer": "yes"}\n```', "answer: yes"),
    ({"kind": "json_answer", "key": "answer"}, '{"answer": "yes"}', '{"answer": ""}'),
    ({"kind": "start_word", "word": "Sure"}, '"Sure, here it is.', "Surely not."),
    ({"kind": "sentences", "n": 2}, "One thing. Another thing!", "One thing. Another. A third?"),
    ({"kind": "sentences", "n": 1}, "It costs 3.5 dollars.", "It costs. 3 dollars."),
    ({"kind": "no_commas"}, "No commas here.", "One, two."),
]


@pytest.mark.parametrize(("constraint", "good", "bad"), VERIFIER_CASES)
def test_each_verifier_accepts_a_meeting_text_and_rejects_a_failing_one(constraint, good, bad):
    assert verifiers.check(constraint, good)
    assert not verifiers.check(constraint, bad)


@pytest.mark.parametrize("kind", verifiers.KINDS)
def test_a_blank_response_meets_no_constraint(kind):
    constraint = {"kind": kind, "n": 3, "words": ["a"], "phrase": "x", "key": "answer", "word": "a"}
    assert not verifiers.check(constraint, "   \n")


def test_every_kind_has_a_case_above():
    assert {c["kind"] for c, _, _ in VERIFIER_CASES} == set(verifiers.KINDS)


def test_an_unknown_constraint_kind_lists_the_valid_ones():
    with pytest.raises(ValueError, match="lowercase"):
        verifiers.check({"kind": "shouting"}, "HI")


def test_general_score_is_the_fraction_of_constraints_met():
    item = {"reference": {"constraints": [{"kind": "lowercase"}, {"kind": "no_commas"}]}}
    assert builtin_general.score(item, "yes, indeed") == {
        "score": 0.5,
        "all_met": False,
        "met": {"lowercase": True, "no_commas": False},
    }
    assert builtin_general.score(item, "yes indeed")["score"] == 1.0
    assert builtin_general.score(item, "Yes, indeed")["score"] == 0.0


# --- task modules ---


@pytest.mark.parametrize("name", ["builtin_math", "builtin_general", "gsm8k"])
def test_task_modules_follow_the_contract(name):
    task = get_task(name)
    assert isinstance(task.VERSION, str) and task.VERSION
    assert isinstance(task.MAX_NEW_TOKENS, int) and task.MAX_NEW_TOKENS > 0
    assert callable(task.load_items) and callable(task.score)


@pytest.mark.parametrize("task", [builtin_math, builtin_general], ids=["builtin_math", "builtin_general"])
def test_builtin_task_items_nest_and_default_to_a_fixed_size(task):
    assert task.load_items(10, seed=1) == task.load_items(40, seed=1)[:10]
    assert len(task.load_items(None, seed=1)) == task.DEFAULT_N


@pytest.fixture
def gsm8k_test_file(monkeypatch):
    path = SHARED / "gsm8k" / "test.jsonl"
    if not path.is_file():
        pytest.skip(f"sample data not present: {path}")
    monkeypatch.setenv(gsm8k.ENV_VAR, str(path))
    return path


def test_gsm8k_items_carry_the_hash_answer_and_the_format_instruction(gsm8k_test_file):
    items = {item["id"]: item for item in gsm8k.load_items(None, seed=0)}
    assert len(items) == 1319
    first = items["gsm8k-test-0"]  # Janet's ducks, answer 18
    assert first["reference"] == {"answer": "18"}
    assert first["messages"][0]["content"].startswith("Janet") and "'#### <number>'" in first["messages"][0]["content"]
    assert gsm8k.score(first, "16 - 3 - 4 = 9; 9 * 2 = 18\n#### 18")["score"] == 1.0
    assert gsm8k.score(first, "#### 17")["score"] == 0.0


def test_gsm8k_subsets_nest_across_n_and_differ_across_seeds(gsm8k_test_file):
    ten, fifty = gsm8k.load_items(10, seed=0), gsm8k.load_items(50, seed=0)
    assert ten == fifty[:10]
    assert [i["id"] for i in ten] != [i["id"] for i in gsm8k.load_items(10, seed=1)]


def test_gsm8k_reads_any_file_named_by_the_env_var(tmp_path, monkeypatch):
    path = tmp_path / "test.jsonl"
    records = [{"question": f"Q{k}?", "answer": f"steps\n#### {k}"} for k in range(5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    monkeypatch.setenv(gsm8k.ENV_VAR, str(path))
    items = gsm8k.load_items(None, seed=0)
    assert sorted(i["reference"]["answer"] for i in items) == ["0", "1", "2", "3", "4"]
    with pytest.raises(DataError, match="n=6"):
        gsm8k.load_items(6, seed=0)
