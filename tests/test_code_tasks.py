"""Code extraction, the built-in code generator and the two code eval tasks (builtin_code, humaneval)."""

from __future__ import annotations

import random
import re
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from kit.data.builtin import code, code_easy, get_generator, split_of
from kit.data.schema import message_problem
from kit.eval import sandbox
from kit.eval.code_extract import extract_code
from kit.eval.tasks import ABILITIES, builtin_code, builtin_code_easy, get_task, humaneval

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


def _first_task_of_each_family(per_family: int, families=code.FAMILIES) -> list[code.CodeTask]:
    tasks = []
    for family in families:
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


# --- kit.data.builtin.code_easy -----------------------------------------------------------------------


def test_every_easy_family_is_one_line_and_passes_its_hidden_tests_in_the_sandbox():
    tasks = _first_task_of_each_family(per_family=2, families=code_easy.FAMILIES)
    assert len(code_easy.FAMILIES) >= 5
    for t in tasks:
        assert len(t.solution.splitlines()) == 2 and t.solution.splitlines()[1].startswith("    return ")
        assert 3 <= len(t.tests.splitlines()) <= 5
    items = [{"reference": {"entry_point": t.entry_point, "tests": t.tests}} for t in tasks]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(builtin_code_easy.score, items, [code.answer(t) for t in tasks]))
    assert [r for r in results if (r["score"], r["assert_frac"]) != (1.0, 1.0)] == []


def test_easy_code_is_deterministic_nested_and_split_by_prompt():
    assert code_easy.generate_train(40, seed=1) == code_easy.generate_train(40, seed=1)
    assert code_easy.generate_train(30, seed=7) == code_easy.generate_train(120, seed=7)[:30]
    assert code_easy.generate_eval(10, seed=7) == code_easy.generate_eval(40, seed=7)[:10]
    assert code_easy.generate_eval(20, seed=1) != code_easy.generate_eval(20, seed=2)
    train = {r["messages"][0]["content"] for r in code_easy.generate_train(1500, seed=0)}
    evals = {i["messages"][0]["content"] for i in code_easy.generate_eval(150, seed=1)}
    assert len(train) == 1500 and len(evals) == 150 and not train & evals
    assert {split_of(p) for p in train} == {"train"} and {split_of(p) for p in evals} == {"eval"}
    assert all(
        i["task"] == "builtin_code_easy" and i["id"].startswith("code_easy-") for i in code_easy.generate_eval(5, 0)
    )


def test_easy_code_registered_as_source_and_task():
    assert get_generator("code_easy") is code_easy and get_task("builtin_code_easy") is builtin_code_easy
    assert ABILITIES["builtin_code_easy"] == "code" and ABILITIES["builtin_math_easy"] == "math"


# --- assert_frac ----------------------------------------------------------------------------------------

ITEM = {
    "reference": {
        "entry_point": "f",
        "tests": "assert f(1) == 2\nassert f(2) == 4\nassert f(3) == 6\nassert f(0) == 0\n",
    }
}


@pytest.mark.parametrize(
    "body, frac",
    [
        ("return 2 * x", 1.0),
        ("return x + 1", 0.25),  # only f(1) == 2
        ("return x * x", 0.5),  # f(2) == 4 and f(0) == 0
        ("return None", 0.0),
        ("return 2 * x if x < 3 else 1 / 0", 0.75),  # an exception fails that assert only
    ],
)
def test_assert_frac_counts_each_assert_on_its_own(body, frac):
    result = builtin_code.score(ITEM, f"```python\ndef f(x):\n    {body}\n```")
    assert result["assert_frac"] == frac and result["score"] == float(frac == 1.0)
    assert (result["status"] == "passed") == (frac == 1.0)


def test_assert_frac_counts_the_passes_before_an_exit_and_a_printed_tag_cannot_fake_a_pass():
    exits = builtin_code.score(
        ITEM, "```python\nimport sys\ndef f(x):\n    if x == 3:\n        sys.exit(0)\n    return 2 * x\n```"
    )
    assert exits["score"] == 0.0 and exits["assert_frac"] == 0.5
    fake = builtin_code.score(ITEM, "```python\nprint('kit-assert-0 pass\\n' * 9)\ndef f(x):\n    return -1\n```")
    assert fake["score"] == 0.0 and fake["assert_frac"] == 0.0


# --- dense items ----------------------------------------------------------------------------------------


def text_of(choice: list[dict]) -> str:
    return "".join(segment["text"] for segment in choice)


def run_asserts(answer: str, tests: str) -> bool:
    """Plain exec of the answer then its asserts, a mutant's endless loop cut off by an alarm."""

    def stop(signum, frame):
        raise TimeoutError

    namespace: dict = {}
    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        exec(extract_code(answer) + "\n" + tests, namespace)
    except Exception:
        return False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return True


@pytest.mark.parametrize("task", [builtin_code, builtin_code_easy], ids=["code", "code_easy"])
def test_code_dense_gold_passes_and_every_mutant_fails_an_assert(task):
    items = task.dense_items(40, seed=0)
    by_id = {i["id"]: i for i in task.load_items(80, seed=0)}
    assert len(items) == 40 and all(i["id"] in by_id for i in items)
    assert [i["id"] for i in items][:10] == [i["id"] for i in task.dense_items(10, seed=0)]
    for item in items:
        reference = by_id[item["id"]]["reference"]
        assert item["messages"] == by_id[item["id"]]["messages"]
        gold, *mutants = item["choices"]
        assert text_of(gold).startswith("```python\n") and text_of(gold).endswith("```")
        assert run_asserts(text_of(gold), reference["tests"]), text_of(gold)
        assert task.score(by_id[item["id"]], text_of(gold))["score"] == 1.0
        assert len(mutants) == 2 and len({text_of(c) for c in item["choices"]}) == 3
        for mutant in mutants:
            assert [s["scored"] for s in mutant] == [s["scored"] for s in gold]
            assert [s["text"] for s in mutant if not s["scored"]] == [s["text"] for s in gold if not s["scored"]]
            assert not run_asserts(text_of(mutant), reference["tests"]), text_of(mutant)


def test_a_mutant_that_loops_forever_counts_as_failing():
    assert code._fails("def f(n):\n    while n >= 0:\n        n //= 2\n    return n\n", ["assert f(3) == 0"])
    assert not code._fails("def f(n):\n    return n\n", ["assert f(3) == 3"])


def test_mutations_cover_operators_constants_comparisons_and_names():
    solution = "def f(a, b):\n    return max(a, b) + 3 if a > 0 else a\n"
    texts = {solution[:s] + t + solution[e:] for s, e, t in code._mutations(solution, "f")}
    for expected in ("min(a, b)", "max(b, b)", "- 3", "+ 4", "+ 2", "a < 0", "a >= 0", "a > 1"):
        assert any(expected in t for t in texts), expected
    assert all(t.startswith("def f(a, b):") for t in texts)


# --- the eval tasks -----------------------------------------------------------------------------------


def test_both_code_tasks_are_registered_with_version_and_budget():
    for name, budget in (("builtin_code", 256), ("builtin_code_easy", 128), ("humaneval", 384)):
        task = get_task(name)
        assert task.MAX_NEW_TOKENS == budget and isinstance(task.VERSION, str)


def test_builtin_code_scores_a_wrong_function_and_missing_code_as_zero():
    item = builtin_code.load_items(1, seed=0)[0]
    entry = item["reference"]["entry_point"]
    assert builtin_code.load_items(5, seed=0)[0] == item
    wrong = builtin_code.score(item, "```python\ndef " + entry + "(*args):\n    return None\n```")
    assert wrong["score"] == 0.0 and wrong["extracted"].strip() == f"def {entry}(*args):\n    return None"
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
    expected = {"score": 1.0, "status": "passed", "detail": "", "sandbox_isolation": sandbox.isolation()}
    result = humaneval.score(item, answer)
    assert result["extracted"].strip() == f"{item['reference']['prompt']}{canonical}".strip()  # the fenced code
    assert {k: v for k, v in result.items() if k != "extracted"} == expected


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
