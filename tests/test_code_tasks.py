"""Code extraction, the built-in code generator and the two code eval tasks (builtin_code, humaneval)."""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from kit.data.builtin import code, split_of
from kit.data.schema import message_problem
from kit.eval.code_extract import extract_code
from kit.eval.tasks import builtin_code, get_task, humaneval

# --- extract_code -------------------------------------------------------------------------------------


def test_extract_takes_the_first_python_block_over_other_fences():
    completion = "Run:\n```bash\npip install x\n```\nThen:\n```python\ndef f():\n    return 1\n```\n"
    assert extract_code(completion) == "def f():\n    return 1\n"


def test_extract_prefers_the_block_that_defines_the_entry_point():
    completion = "```python\nprint(g())\n```\nand\n```python\ndef g():\n    return 2\n```"
    assert extract_code(completion, "g") == "def g():\n    return 2\n"
    assert extract_code(completion) == "print(g())\n"


def test_extract_survives_an_unterminated_fence():
    assert extract_code("Sure!\n```python\ndef f(x):\n    return x") == "def f(x):\n    return x\n"


def test_extract_strips_only_the_indent_of_an_indented_fence():
    completion = "1. The code:\n   ```py\n   def f(x):\n       return x\n   ```"
    assert extract_code(completion, "f") == "def f(x):\n    return x\n"


def test_extract_without_fences_starts_at_the_first_code_line_and_drops_trailing_prose():
    completion = "Here it is.\nimport math\n\ndef f(x):\n    return math.sqrt(x)\n\nThis computes the root."
    assert extract_code(completion, "f") == "import math\n\ndef f(x):\n    return math.sqrt(x)\n"


def test_extract_returns_a_bare_function_body_unchanged():
    body = "    return sorted(xs)\n"
    assert extract_code(body, "f") == body


# --- kit.data.builtin.code ----------------------------------------------------------------------------


def _first_task_of_each_family(per_family: int) -> list[code.CodeTask]:
    tasks = []
    for family in code.FAMILIES:
        rng, found = random.Random(family.__name__), []
        while len(found) < per_family:
            task = code.build_task(family(rng))
            if task is not None:
                found.append(task)
        tasks += found
    return tasks


def test_every_family_answer_passes_its_own_hidden_tests_in_the_sandbox():
    tasks = _first_task_of_each_family(per_family=2)
    assert len(tasks) >= 40 and len(code.FAMILIES) >= 15
    items = [{"reference": {"entry_point": t.entry_point, "tests": t.tests}} for t in tasks]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(builtin_code.score, items, [code.answer(t) for t in tasks]))
    failures = [(t.prompt, r) for t, r in zip(tasks, results) if r["score"] != 1.0]
    assert not failures


def test_no_eval_item_can_be_passed_by_a_constant_function():
    for item in code.generate_eval(200, seed=5):
        expected = re.findall(r"^assert .* == (.*)$", item["reference"]["tests"], re.M)
        assert 3 <= len(expected) <= 5 and len(set(expected)) >= 2, item["id"]


def test_generation_is_deterministic_by_seed():
    assert code.generate_train(40, seed=1) == code.generate_train(40, seed=1)
    assert code.generate_eval(20, seed=1) == code.generate_eval(20, seed=1)
    assert code.generate_train(40, seed=1) != code.generate_train(40, seed=2)


def test_a_smaller_n_is_a_prefix_of_a_larger_n():
    assert code.generate_train(30, seed=7) == code.generate_train(120, seed=7)[:30]
    assert code.generate_eval(10, seed=7) == code.generate_eval(40, seed=7)[:10]


def test_train_and_eval_never_share_a_task_whatever_the_seeds():
    train = {r["messages"][0]["content"] for r in code.generate_train(2000, seed=0)}
    evals = {i["messages"][0]["content"] for i in code.generate_eval(300, seed=1)}
    assert len(train) == 2000 and len(evals) == 300
    assert not train & evals
    assert {split_of(p) for p in train} == {"train"} and {split_of(p) for p in evals} == {"eval"}


def test_eval_items_follow_the_schema_and_hide_the_tests():
    for item in code.generate_eval(30, seed=3):
        assert set(item) == {"id", "task", "messages", "reference"} and item["task"] == "builtin_code"
        assert message_problem(item["messages"], final_role="user") is None
        prompt = item["messages"][0]["content"]
        assert f"`{item['reference']['entry_point']}(" in prompt and "assert" not in prompt


def test_the_task_space_holds_more_than_20k_distinct_tasks():
    prompts = {code.prompt(code.draw_spec(11, i)) for i in range(40_000)}
    assert len(prompts) > 20_000


# --- the eval tasks -----------------------------------------------------------------------------------


def test_both_code_tasks_are_registered_with_version_and_budget():
    for name, budget in (("builtin_code", 256), ("humaneval", 384)):
        task = get_task(name)
        assert task.MAX_NEW_TOKENS == budget and isinstance(task.VERSION, str)


def test_builtin_code_scores_a_wrong_function_and_missing_code_as_zero():
    item = builtin_code.load_items(1, seed=0)[0]
    entry = item["reference"]["entry_point"]
    assert builtin_code.load_items(5, seed=0)[0] == item
    assert builtin_code.score(item, "```python\ndef " + entry + "(*args):\n    return None\n```")["score"] == 0.0
    missing = builtin_code.score(item, "I cannot help with that.")
    assert missing["score"] == 0.0 and missing["status"] == "failed"


def test_humaneval_selection_is_nested_and_complete():
    assert len(humaneval.load_items(None, seed=0)) == 164
    assert humaneval.load_items(5, seed=3) == humaneval.load_items(20, seed=3)[:5]
    assert humaneval.load_items(5, seed=3) != humaneval.load_items(5, seed=4)


def _humaneval_item(task_id: str) -> tuple[dict, str]:
    item = next(i for i in humaneval.load_items(None, seed=0) if i["id"] == task_id)
    return item, humaneval._problems()[task_id]["canonical_solution"]


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/2", "HumanEval/10"])
def test_humaneval_canonical_solution_passes_as_a_fenced_answer(task_id):
    item, canonical = _humaneval_item(task_id)
    answer = f"Here is the function:\n```python\n{item['reference']['prompt']}{canonical}```\nIt works."
    assert humaneval.score(item, answer) == {"score": 1.0, "status": "passed", "detail": ""}


def test_humaneval_bare_body_continuation_is_appended_to_the_prompt():
    item, canonical = _humaneval_item("HumanEval/2")
    assert humaneval.score(item, canonical)["score"] == 1.0


def test_humaneval_function_without_the_prompt_imports_still_runs():
    item, _ = _humaneval_item("HumanEval/0")  # its signature needs `from typing import List`
    answer = (
        "```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    s = sorted(numbers)\n    return any(b - a < threshold for a, b in zip(s, s[1:]))\n```"
    )
    assert humaneval.score(item, answer)["score"] == 1.0


def test_humaneval_wrong_solution_fails():
    item, _ = _humaneval_item("HumanEval/2")
    result = humaneval.score(item, "```python\ndef truncate_number(number: float) -> float:\n    return number\n```")
    assert result["score"] == 0.0 and result["status"] == "failed" and "AssertionError" in result["detail"]


@pytest.mark.slow
def test_humaneval_every_canonical_solution_passes_and_a_stub_fails():
    """All 164, both as a fenced full function and as a bare body continuation (about 20 s on 2 cores)."""
    items, problems = humaneval.load_items(None, seed=0), humaneval._problems()

    def check(item: dict) -> list[float]:
        reference, canonical = item["reference"], problems[item["id"]]["canonical_solution"]
        stub = f"```python\ndef {reference['entry_point']}(*args):\n    return None\n```"
        fenced = f"```python\n{reference['prompt']}{canonical}```"
        return [humaneval.score(item, answer)["score"] for answer in (fenced, canonical, stub)]

    with ThreadPoolExecutor(4) as pool:
        scores = dict(zip((i["id"] for i in items), pool.map(check, items)))
    assert {task_id: s for task_id, s in scores.items() if s != [1.0, 1.0, 0.0]} == {}
