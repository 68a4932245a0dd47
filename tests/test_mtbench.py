"""MT-Bench with a local judge: FastChat's prompt filling and rating parse, item selection, and evaluate() with
fake engines (no model is loaded)."""

from __future__ import annotations

import pytest

from kit.data.schema import DataError
from kit.eval import judge as judging
from kit.eval.tasks import get_task, mtbench
from tests.conftest import SHARED_DATA

MT_BENCH = SHARED_DATA / "mt_bench"
needs_data = pytest.mark.skipif(not (MT_BENCH / "question.jsonl").is_file(), reason="../shared/data/mt_bench absent")


@pytest.fixture
def data(monkeypatch):
    monkeypatch.setenv("KIT_MTBENCH_DIR", str(MT_BENCH))
    return MT_BENCH


@pytest.fixture
def templates():
    if not (MT_BENCH / "judge_prompts.jsonl").is_file():
        pytest.skip("../shared/data/mt_bench absent")
    return judging.load_templates(MT_BENCH / "judge_prompts.jsonl")


def test_mtbench_is_a_registered_general_task():
    from kit.eval.tasks import ABILITIES

    assert get_task("mtbench") is mtbench and ABILITIES["mtbench"] == "general"


def test_general_question_fills_single_v1_like_fastchat(templates):
    name, messages = judging.fill(templates, "writing", ["Q1?", "Q2?"], ["A1 {braces}", "A2"], None, multi_turn=False)
    assert name == "single-v1"
    assert messages[0] == {"role": "system", "content": "You are a helpful assistant."}
    user = messages[1]["content"]
    assert user.startswith("[Instruction]\nPlease act as an impartial judge")
    assert user.endswith(
        "[Question]\nQ1?\n\n[The Start of Assistant's Answer]\nA1 {braces}\n[The End of Assistant's Answer]"
    )

    name, messages = judging.fill(templates, "writing", ["Q1?", "Q2?"], ["A1", "A2"], None, multi_turn=True)
    assert name == "single-v1-multi-turn"
    assert messages[0]["content"].endswith(
        "focus on the assistant's answer to the second user question. Begin your evaluation by providing a short "
        "explanation. Be as objective as possible. After providing your explanation, you must rate the response on "
        'a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: [[5]]".\n\n'
    )
    assert messages[1]["content"] == (
        "<|The Start of Assistant A's Conversation with User|>\n\n### User:\nQ1?\n\n### Assistant A:\nA1\n\n"
        "### User:\nQ2?\n\n### Assistant A:\nA2\n\n<|The End of Assistant A's Conversation with User|>"
    )


def test_math_question_uses_math_template_with_reference(templates):
    name, messages = judging.fill(templates, "math", ["Q1?", "Q2?"], ["A1", "A2"], ["R1", "R2"], multi_turn=False)
    assert name == "single-math-v1"
    assert messages[1]["content"].endswith(
        "[Question]\nQ1?\n\n[The Start of Reference Answer]\nR1\n[The End of Reference Answer]\n\n"
        "[The Start of Assistant's Answer]\nA1\n[The End of Assistant's Answer]"
    )
    name, messages = judging.fill(templates, "coding", ["Q1?", "Q2?"], ["A1", "A2"], ["R1", "R2"], multi_turn=True)
    assert name == "single-math-v1-multi-turn"
    assert messages[1]["content"].startswith(
        "<|The Start of Reference Answer|>\n\n### User:\nQ1?\n\n### Reference answer:\nR1\n\n"
        "### User:\nQ2?\n\n### Reference answer:\nR2\n\n<|The End of Reference Answer|>"
    )
    with pytest.raises(DataError, match="reference"):
        judging.fill(templates, "reasoning", ["Q1?"], ["A1"], None, multi_turn=False)


@pytest.mark.parametrize(
    ("judgment", "rating"),
    [("Rating: [[8]]", 8.0), ("Good. [[7.5]]", 7.5), ("Rating: [8]", 8.0), ("[[3]] then [9]", 3.0), ("fine", None)],
)
def test_rating_parse_follows_fastchat_patterns(judgment, rating):
    assert judging.parse_rating(judgment) == rating


@needs_data
def test_smaller_n_is_a_prefix_and_math_items_carry_references(data):
    ids_10 = [it["id"] for it in mtbench.load_items(10, seed=0)]
    items = mtbench.load_items(None, seed=0)
    assert len(items) == 80 and [it["id"] for it in items[:10]] == ids_10
    assert [it["id"] for it in mtbench.load_items(10, seed=1)] != ids_10
    for item in items:
        assert item["messages"] == [{"role": "user", "content": item["turns"][0]}]
        assert (item["reference"] is not None) == (item["category"] in judging.NEED_REF_CATS)
    with pytest.raises(DataError, match="80"):
        mtbench.load_items(81, seed=0)


def test_load_items_without_data_dir_says_what_to_set(monkeypatch):
    monkeypatch.delenv("KIT_MTBENCH_DIR", raising=False)
    with pytest.raises(DataError, match="KIT_MTBENCH_DIR.*llm_judge/data/mt_bench"):
        mtbench.load_items(5, seed=0)


EVENTS: list[str] = []  # the order in which the answering and judging models come and go


class FakeAnswerer:
    def __init__(self):
        self.calls = []

    def chat(self, messages, max_tokens):
        self.calls.append(messages)
        return f" answer to turn {len(messages) // 2 + 1} "

    def close(self):
        EVENTS.append("answerer closed")


class FakeJudgeEngine:
    opened = []

    def __init__(self, path, *, n_ctx, n_threads):
        self.prompts, self.closed = [], False
        FakeJudgeEngine.opened.append(self)
        EVENTS.append("judge opened")

    def chat(self, messages, max_tokens):
        self.prompts.append(messages)
        return "Explanation... Rating: [[7]]"

    def close(self):
        self.closed = True


@needs_data
def test_evaluate_answers_two_turns_then_grades_each(data, tmp_path, monkeypatch):
    gguf = tmp_path / "judge-Q4_K_M.gguf"
    gguf.write_bytes(b"")
    monkeypatch.setenv("KIT_JUDGE_GGUF", str(gguf))
    monkeypatch.setattr("kit.eval.engine.Engine", FakeJudgeEngine)
    FakeJudgeEngine.opened.clear()
    EVENTS.clear()
    items = mtbench.load_items(6, seed=0)
    answerer = FakeAnswerer()

    records = mtbench.evaluate(answerer, items, desc="mtbench")

    assert EVENTS == ["answerer closed", "judge opened"]  # one 7B model in VRAM at a time
    assert len(answerer.calls) == 12
    turn2 = answerer.calls[1]
    assert [m["role"] for m in turn2] == ["user", "assistant", "user"]
    assert turn2[1]["content"] == "answer to turn 1"  # stripped, as FastChat feeds it back
    assert turn2[2]["content"] == items[0]["turns"][1]
    (judge,) = FakeJudgeEngine.opened
    assert judge.closed and len(judge.prompts) == 12
    assert "### Assistant A:\nanswer to turn 1" in judge.prompts[1][1]["content"]
    for record, item in zip(records, items, strict=True):
        assert record["id"] == item["id"] and record["judge"] == "judge-Q4_K_M.gguf"
        assert record["answers"] == ["answer to turn 1", "answer to turn 2"]
        assert record["ratings"] == [7.0, 7.0] and record["score"] == pytest.approx(0.7)
        assert record["rating_mean"] == 7.0 and record["unparsed"] == 0
    assert mtbench.summarize(records)["turn_2"] == 7.0


@needs_data
def test_unparsed_judgments_give_none_ratings_and_none_score(data, tmp_path, monkeypatch):
    gguf = tmp_path / "judge.gguf"
    gguf.write_bytes(b"")
    monkeypatch.setenv("KIT_JUDGE_GGUF", str(gguf))

    class Rambling(FakeJudgeEngine):
        def chat(self, messages, max_tokens):
            self.prompts.append(messages)
            return "no verdict" if len(self.prompts) == 1 else "I cannot decide. [[12]]"  # out of the 1-10 scale

    monkeypatch.setattr("kit.eval.engine.Engine", Rambling)
    (record,) = mtbench.evaluate(FakeAnswerer(), mtbench.load_items(1, seed=0), desc="mtbench")
    assert record["ratings"] == [None, None] and record["score"] is None and record["unparsed"] == 2
    assert record["judgments"] == ["no verdict", "I cannot decide. [[12]]"]


@needs_data
def test_missing_judge_fails_before_any_answer_is_generated(data, monkeypatch):
    monkeypatch.delenv("KIT_JUDGE_GGUF", raising=False)
    answerer = FakeAnswerer()
    with pytest.raises(FileNotFoundError, match="KIT_JUDGE_GGUF.*builtin_general"):
        mtbench.evaluate(answerer, mtbench.load_items(2, seed=0), desc="mtbench")
    assert answerer.calls == []


def test_optional_mtbench_without_a_judge_is_skipped_before_any_model_loads(tmp_path, monkeypatch, caplog):
    from kit.eval.phase import eval_phase
    from kit.recipe import load_recipe

    monkeypatch.delenv("KIT_JUDGE_GGUF", raising=False)
    recipe_path = tmp_path / "r.yaml"
    recipe_path.write_text(
        'model: {base: tiny-random-llama}\ndata: {mixture: [{source: "builtin:math", n: 2}]}\n'
        "eval: {tasks: [{task: mtbench, optional: true}]}\n"
    )
    recipe = load_recipe(recipe_path, profile="cpu")
    assert eval_phase(tmp_path, tmp_path / "no-such-model.gguf", recipe) == {}
    assert "KIT_JUDGE_GGUF" in caplog.text
