"""P2's answer convention (kit.eval.tasks.short_answer): extraction, normalisation kinds, the twin."""

from __future__ import annotations

import pytest

from kit.eval.tasks import short_answer as sa


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("Let me think.\nAnswer: **Grandmother**.", "**Grandmother**."),
        ("The answer is 1,234 apples", "1,234 apples"),
        ("answer: 3\nsome more text\nAnswer: 5", "5"),
        ("Answer:\nAnswer: yes", "yes"),
        ("I cannot tell.", None),
        ("Answer: ", None),
        ("", None),
    ],
)
def test_extract_takes_the_last_answer_line(completion, expected):
    assert sa.extract(completion) == expected


@pytest.mark.parametrize(
    ("got", "expected", "kind", "right"),
    [
        ("The Grandmother.", "grandmother", "text", True),
        ("grand mother", "grandmother", "text", False),
        ("a b c", "abc", "letters", True),
        ('"A", "B"', "ab", "letters", True),
        ("abd", "abc", "letters", False),
        ("E-M-L", "EML", "letters", True),
        ("E.M.L.", "EML", "letters", True),
        ("[3, 2, 1]", "3, 2, 1", "list", True),
        ("3 2 1", "3, 2, 1", "list", True),
        ("[3, 1, 2]", "3, 2, 1", "list", False),
        ("$1,234.", "1234", "number", True),
        ("12 apples", "12", "number", True),
        ("13", "12", "number", False),
        ("11 * 3 - 5 = 28", "28", "number", True),
        ("7 + 5 = 12 apples", "12", "number", True),
        ("no number", "12", "number", False),
        ("Yes, it is.", "yes", "yesno", True),
        ("No.", "yes", "yesno", False),
        ("maybe", "no", "yesno", False),
    ],
)
def test_each_kind_normalises_as_its_docstring_says(got, expected, kind, right):
    assert sa.matches(got, expected, kind) is right


def test_score_reads_the_answer_line_only():
    item = sa.eval_item("x-1", "t", "How is Ann related to Bo?", "aunt", "text")
    assert item["messages"][0]["content"].endswith(sa.INSTRUCTION)
    assert sa.score(item, "Ann is Bo's aunt.")["reason"] == "no 'Answer:' line"  # no fallback to the text
    assert sa.score(item, "She is his aunt.\nAnswer: Aunt")["score"] == 1.0
    assert sa.score(item, "Answer: uncle")["score"] == 0.0


def test_dense_twin_scores_the_answer_words_only_and_refuses_a_right_distractor():
    item = sa.eval_item("x-2", "t", "Q?", "grandmother", "text")
    twin = sa.dense_item(item, ["aunt", "sister"])
    assert [[s["text"] for s in c if s["scored"]] for c in twin["choices"]] == [
        [" grandmother"],
        [" aunt"],
        [" sister"],
    ]
    assert all("".join(s["text"] for s in c).startswith("Answer:") for c in twin["choices"])
    with pytest.raises(ValueError, match="match the gold"):
        sa.dense_item(item, ["The Grandmother", "aunt"])
    with pytest.raises(ValueError, match="distinct"):
        sa.dense_item(item, ["aunt", "aunt"])


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown answer kind"):
        sa.eval_item("x", "t", "Q?", "a", "words")


def test_prose_is_recorded_per_reply_and_code_is_not_prose():
    item = sa.eval_item("x-3", "t", "Reverse [1, 2].", "2, 1", "list")
    assert sa.score(item, "Reversing the list gives 2 then 1.\nAnswer: 2, 1")["prose"] == 1.0
    code = "```python\ndef rev(xs):\n    return xs[::-1]\n```\nAnswer: 2, 1"
    assert sa.score(item, code)["prose"] == 0.0
    assert sa.score(item, "  ")["prose"] is None


@pytest.mark.parametrize(
    ("got", "right"),
    [("green", True), ("The green book.", True), ("the green one", True), ("red", False), ("green or red", False)],
)
def test_a_choice_names_the_gold_and_no_other_option(got, right):
    item = sa.eval_item("x-4", "t", "Which book is leftmost?", "green", "choice", ["red", "green", "blue"])
    assert sa.score(item, f"Answer: {got}")["score"] == float(right)
    with pytest.raises(ValueError, match="needs options"):
        sa.eval_item("x-5", "t", "Q?", "green", "choice")
