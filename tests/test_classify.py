"""P2's offline classifier (kit.data.classify), the chat_mix generator it is measured on and that P2's cpu profile
trains from, and the recipe option that selects a source's rows by label (``select:``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter

import pytest

from kit import runs
from kit.data import classify as cls
from kit.data.builtin import chat_mix, code, get_generator, math_easy, split_of
from kit.data.classify import classify, classify_text, measure
from kit.data.mixture import build_mixture, load_pool
from kit.data.schema import DataError, validate_row
from kit.recipe import RecipeError, SourceSpec, load_recipe
from kit.recipe.schema import DataSpec, Recipe, SelectSpec
from tests.conftest import REPO, SHARED_DATA, write_recipe

HAND_LABELS = REPO / "tests" / "assets" / "p2_hand_labels.json"


def chat(user: str, assistant: str | None = None) -> list[dict]:
    messages = [{"role": "user", "content": user}]
    return messages + ([{"role": "assistant", "content": assistant}] if assistant else [])


# --- the generator ------------------------------------------------------------------------------------------


def user_texts(rows):
    return [r["messages"][0]["content"] for r in rows]


def test_chat_mix_same_seed_same_rows_other_seed_other_rows():
    assert chat_mix.generate_train(60, seed=3) == chat_mix.generate_train(60, seed=3)
    assert chat_mix.generate_labelled(40, seed=3) == chat_mix.generate_labelled(40, seed=3)
    assert user_texts(chat_mix.generate_train(60, seed=3)) != user_texts(chat_mix.generate_train(60, seed=4))


def test_chat_mix_a_smaller_n_is_a_prefix_of_a_larger_n():
    assert chat_mix.generate_train(50, seed=1) == chat_mix.generate_train(400, seed=1)[:50]
    assert chat_mix.generate_labelled(30, seed=1) == chat_mix.generate_labelled(200, seed=1)[:30]


def test_chat_mix_train_rows_are_the_labelled_train_half_without_labels():
    labelled = chat_mix.generate_labelled(100, seed=0, split="train")
    assert [row for row, _ in labelled] == chat_mix.generate_train(100, seed=0)


def test_chat_mix_train_and_eval_never_share_a_conversation_whatever_the_seeds():
    train = chat_mix.generate_train(3000, seed=0)
    for seed in (0, 1):
        evals = [row for row, _ in chat_mix.generate_labelled(400, seed=seed)]
        assert not {r["id"] for r in train} & {r["id"] for r in evals}
        assert not set(user_texts(train)) & set(user_texts(evals))


def test_chat_mix_rows_are_distinct_valid_chat_rows():
    rows = chat_mix.generate_train(1000, seed=2)
    assert len({r["id"] for r in rows}) == len({json.dumps(r["messages"]) for r in rows}) == 1000
    for row in rows:
        validate_row(row)
        assert row["source"] == "builtin:chat_mix"


def test_chat_mix_labels_come_in_roughly_p2s_proportions():
    counts = Counter(label for _, label in chat_mix.generate_labelled(3000, seed=0, split="train"))
    shares = {label: counts[label] / 3000 for label in ("code", "math", "other")}
    assert shares == pytest.approx({"code": 0.3, "math": 0.2, "other": 0.5}, abs=0.04)


def _question_of_built_in_problem(row: dict) -> str | None:
    """The word problem's question when a row is one of math/math_easy's, as asked in either style."""
    user, answer = row["messages"][0]["content"], row["messages"][1]["content"]
    if answer.rstrip().split("\n")[-1].startswith("#### "):
        return user.split("\n")[0]
    if answer.endswith(".") and "So the answer is" in answer:
        for lead in sorted(chat_mix.LEAD_INS, key=len, reverse=True):
            if user.startswith(lead):
                return user[len(lead) :]
    return None


@pytest.mark.parametrize("split", ["train", "eval"])
def test_chat_mix_reuses_other_generators_items_only_from_the_same_half(split):
    """A chat_mix training row never holds an eval item of math/math_easy or code/code_easy (P2 scores those)."""
    rows = [row for row, _ in chat_mix.generate_labelled(400 if split == "eval" else 1500, seed=0, split=split)]
    questions = [q for q in map(_question_of_built_in_problem, rows) if q]
    fenced = [
        r["messages"][0]["content"] for r in rows if r["messages"][0]["content"].endswith(code.ANSWER_INSTRUCTION)
    ]
    assert len(questions) > 20 and len(fenced) > 20
    assert {split_of(q) for q in questions} == {split_of(p) for p in fenced} == {split}
    if split == "train":
        easy_eval = {item["messages"][0]["content"].split("\n")[0] for item in math_easy.generate_eval(300, seed=0)}
        assert not set(questions) & easy_eval


def test_chat_mix_is_registered_and_its_code_rows_run():
    assert get_generator("chat_mix") is chat_mix
    rows = [row for row, label in chat_mix.generate_labelled(300, 0, "train") if label == "code"]
    python = [r for r in rows if "```python" in r["messages"][1]["content"]]
    assert python
    for row in python[:20]:  # the function the assistant writes is the reference solution: it runs
        source = re.search(r"```python\n(.*?)```", row["messages"][1]["content"], re.S).group(1)
        exec(compile(source, "<chat_mix>", "exec"), {})


# --- the classifier: known cases ----------------------------------------------------------------------------

KNOWN = [
    ("code", chat("How do I reverse a list in Python?", "Use slicing, `xs[::-1]`, or `xs.reverse()` in place.")),
    ("code", chat("Why does this crash?\n\nfor i in range(10):\n    print(items[i])", "The list is shorter.")),
    ("code", chat("Fix the bug please", "```js\nconst total = items.length;\n```")),
    ("code", chat("what is wrong here", "pythonCopy code\nimport numpy as np\nx = np.zeros(3)")),
    ("code", chat("Write a function that takes a string and returns it reversed.", "def rev(s):\n    return s[::-1]")),
    ("code", chat("SELECT name FROM users WHERE age > 30; -- why is this slow?", "Add an index on age.")),
    ("code", chat("How do I install pandas?", "Run `pip install pandas` in a terminal.")),
    ("code", chat("Write a regular expression that matches an email address.", "^[\\w.+-]+@[\\w-]+\\.[\\w.]+$")),
    ("code", chat("Give me the git command to undo my last commit.", "git reset --soft HEAD~1")),
    ("code", chat("Explain:\n\npublic static void main(String[] args) {\n  System.out.println(1);\n}", "It prints 1.")),
    ("code", chat("Explain variable shadowing in C#.", "A variable in an inner scope hides the outer one.")),
    (
        "code",
        chat("What does a virtual destructor do in C++?", "Deleting through a base pointer runs the derived one."),
    ),
    ("code", chat("My React component renders twice, why?", "In development, StrictMode renders components twice.")),
    # code wins over math: a program about numbers, full of them
    ("code", chat("Write a program that prints the sum 1 + 2 + ... + 100 = 5050.", "print(sum(range(1, 101)))")),
    ("code", chat("Compute 17 * 23 in JavaScript.", "```javascript\nconsole.log(17 * 23); // 391\n```")),
    ("math", chat("Solve for x: 2x + 3 = 11", "Subtract 3: 2x = 8, so x = 4.")),
    ("math", chat("What is 15% of 240?", "0.15 x 240 = 36")),
    ("math", chat("A car travels 150 km in 3 hours. What is its average speed?", "150 / 3 = 50 km/h")),
    ("math", chat("Prove that the square root of 2 is irrational.", "Suppose sqrt(2) = p/q in lowest terms...")),
    ("math", chat("Compute $\\int_0^1 x^2 dx$.", "It is 1/3.")),
    ("math", chat("Tom has 3 apples and buys 5 more. How many apples does he have?", "3 + 5 = 8\n#### 8")),
    ("math", chat("Convert 5 miles to kilometers.", "5 x 1.609 = 8.05 km")),
    ("math", chat("What is the derivative of sin(x)?", "cos(x)")),
    # hard negatives: code or math words, numbers, no code or math
    ("other", chat("What time does the cooking program start on TV tonight?", "Check your TV guide.")),
    ("other", chat("What is the function of a planning committee?", "It reviews proposals.")),
    ("other", chat("Write a short script for a play about two friends.", "ANNA: Hello!\nBEN: Hi there.")),
    ("other", chat("Is a ball python a good pet?", "Yes, ball pythons are docile snakes.")),
    ("other", chat("Write a story about a girl who buys a kite for $5 and a hat for $12.", "Mia saved her coins.")),
    ("other", chat("Give me a pancake recipe for 4 people.", "2 cups flour, 2 eggs, 1.5 cups milk. Fry 2 minutes.")),
    ("other", chat("My address is 221B Baker Street, London NW1 6XE. Write to my landlord.", "Dear landlord, ...")),
    ("other", chat("The meeting moved from March 3 to March 10 at 2:30 pm. Draft an email.", "Hi team, ...")),
    ("other", chat("What is the dress code for a black-tie event?", "A tuxedo or an evening gown.")),
    ("other", chat("Summarize the plot of Hamlet.", "Prince Hamlet seeks revenge for his father.")),
    (
        "other",
        chat('Describe parks. Respond only with a JSON object with a single key "answer".', '{"answer": "Green."}'),
    ),
    ("other", chat("Plan a 3-day trip to Rome with a budget of 500 euros.", "Day 1: the Colosseum (16 euros).")),
    ("other", chat("Who won the 2018 World Cup?", "France won the 2018 FIFA World Cup.")),
    ("other", chat("Why do my tomato plants have bugs on the leaves?", "Aphids; spray them with soapy water.")),
    ("other", chat("We are visiting Java in Indonesia for 10 days. What should we see?", "Borobudur and Bromo.")),
]


@pytest.mark.parametrize("label,messages", KNOWN, ids=[f"{k}-{m[0]['content'][:30]}" for k, m in KNOWN])
def test_known_conversations_get_their_label(label, messages):
    assert classify(messages) == label


def test_one_text_is_classified_like_a_completion():
    assert classify_text("First 12 + 30 = 42, then 42 / 2 = 21.\n#### 21") == "math"
    assert classify_text("def f(x):\n    return x + 1") == "code"
    assert classify_text("The capital of France is Paris, a city of 2 million people.") == "other"


def test_an_unknown_classifier_lists_the_valid_ones():
    with pytest.raises(KeyError, match=r"did you mean 'code_v1'.*valid: code_v1"):
        classify(chat("hi"), name="code_v2")


def test_the_classifier_reads_only_the_start_of_a_very_long_conversation():
    prose = "We talked about the weather and the garden for a long time. " * 2000
    assert classify(chat(prose, prose + "\n```python\nprint(1)\n```")) == "other"  # the fence lies past MAX_TOTAL
    assert classify(chat("hi", "```python\nprint(1)\n```\n" + prose)) == "code"


# --- measurement ----------------------------------------------------------------------------------------------


def test_measure_counts_precision_recall_and_confusion():
    items = [
        (chat("Solve for x: 2x + 1 = 5"), "math"),
        (chat("Solve for x: 3x + 1 = 7"), "math"),
        (chat("Tell me about tea."), "math"),  # a miss: predicted other
        (chat("Tell me about coffee."), "other"),
        (chat("Write a Python function to add two numbers."), "code"),
    ]
    report = measure("code_v1", items)
    assert report["confusion"]["math"] == {"code": 0, "math": 2, "other": 1}
    assert report["labels"]["math"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": 0.8, "support": 3}
    assert report["labels"]["other"]["precision"] == 0.5
    assert report["n"] == 5 and report["accuracy"] == 0.8 and report["version"] == cls.CodeV1.VERSION


@pytest.fixture(scope="module")
def chat_mix_report():
    return measure("code_v1", cls.chat_mix_set(2000))


@pytest.mark.parametrize("label", ["code", "math", "other"])
def test_code_v1_on_chat_mix_eval(chat_mix_report, label):
    # Measured: 1.000 precision and recall for every label on 2000 eval conversations (seeds 0 and 1).
    m = chat_mix_report["labels"][label]
    assert m["precision"] >= 0.95 and m["recall"] >= 0.95, m


def test_format_report_prints_every_label_and_the_matrix(chat_mix_report):
    text = cls.format_report("chat_mix", chat_mix_report)
    assert "precision" in text and "true \\ predicted" in text
    assert all(re.search(rf"^{label}\s", text, re.M) for label in ("code", "math", "other"))


# --- the real, hand-labelled sets (../shared/data; skipped when absent) -------------------------------------

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def real():
    return {name: measure("code_v1", items) for name, items in cls.real_sets(SHARED_DATA, HAND_LABELS).items()}


@needs_data
def test_hand_labels_are_for_these_files_and_cover_every_record():
    for name, spec in json.loads(HAND_LABELS.read_text())["sets"].items():
        assert hashlib.sha256((SHARED_DATA / name).read_bytes()).hexdigest() == spec["sha256"], name
        assert set(spec["labels"].values()) <= set(cls.LABELS)
        assert set(spec["notes"]) <= set(spec["labels"])
    sets = cls.real_sets(SHARED_DATA, HAND_LABELS)
    assert {name: len(items) for name, items in sets.items()} == {
        "sharegpt_format/dummy_conversation.json": 500,
        "self_instruct_seed/seed_tasks.jsonl": 175,
        "mt_bench/question.jsonl": 80,
    }


# Thresholds sit below what code_v1 (version 1) measured, printed by `python -m kit.data.classify`:
# (precision, recall) per label; None where the set has no such label.
REAL_FLOORS = {
    # measured: other 1.000/1.000 (500)
    "sharegpt_format/dummy_conversation.json": {"other": (0.98, 0.98)},
    # measured: code 1.000/1.000 (13), math 0.909/0.769 (13), other 0.980/0.993 (149)
    "self_instruct_seed/seed_tasks.jsonl": {"code": (0.9, 0.9), "math": (0.75, 0.6), "other": (0.95, 0.95)},
    # measured: code 1.000/1.000 (10), math 0.625/1.000 (10), other 1.000/0.900 (60)
    "mt_bench/question.jsonl": {"code": (0.9, 0.9), "math": (0.5, 0.9), "other": (0.95, 0.85)},
}


@needs_data
@pytest.mark.parametrize("name", sorted(REAL_FLOORS))
def test_code_v1_on_real_hand_labelled_conversations(real, name):
    for label, (precision, recall) in REAL_FLOORS[name].items():
        m = real[name]["labels"][label]
        assert m["precision"] >= precision and m["recall"] >= recall, (label, m)


# --- the recipe option: select: {classifier, label} -----------------------------------------------------------

SELECT_RECIPE = """
name: p2-select
model: {{base: tiny-random-llama}}
sources:
  code: {{source: "builtin:chat_mix", pool_n: 64, select: {select}}}
grid:
  fractions: [1, 0.25]
  arms:
    - {{name: code, sources: [code], tasks: [builtin_math]}}
eval: {{tasks: [{{task: builtin_math, n: 2}}]}}
"""


def load_select(tmp_path, select: str):
    return load_recipe(write_recipe(tmp_path / "r.yaml", SELECT_RECIPE.format(select=select)), profile="cpu")


def select_problems(tmp_path, select: str) -> dict[str, str]:
    with pytest.raises(RecipeError) as err:
        load_select(tmp_path, select)
    return dict(err.value.problems)


def test_select_loads_into_a_frozen_spec_and_a_grid_takes_counts_of_its_pool(tmp_path):
    recipe = load_select(tmp_path, "{classifier: code_v1, label: [other, math]}")
    assert recipe.sources["code"].select == SelectSpec("code_v1", ("other", "math"))
    assert recipe.sources["code"].select.labels == ("math", "other")
    entries = [p.recipe.data.mixture[0] for p in recipe.runs()]
    assert [(e.n, e.fraction, e.select.labels) for e in entries] == [
        (64, None, ("math", "other")),
        (16, None, ("math", "other")),
    ]


@pytest.mark.parametrize(
    "select,key,message",
    [
        ("{classifier: code_v2, label: code}", "classifier", "did you mean 'code_v1'"),
        ("{classifier: code_v1, label: maths}", "label", "did you mean 'math'"),
        ("{classifier: code_v1, label: [math, cod]}", "label", "did you mean 'code'"),
        ("{classifier: code_v1, label: []}", "label", "at least one label"),
        ("{classifier: code_v1, label: [code, code]}", "label", "twice"),
        ("{classifier: code_v1, label: [code, math, other]}", "label", "leave 'select:' out"),
        ("{classifier: code_v1, label: 3}", "label", "none of"),
        ("{classifier: code_v1}", "label", "is required"),
        ("{classifier: code_v1, label: code, labels: [math]}", "labels", "did you mean 'label'"),
    ],
)
def test_a_bad_select_fails_at_load_time_naming_its_key(tmp_path, select, key, message):
    assert message in select_problems(tmp_path, select)[f"sources.code.select.{key}"]


def selected(labels, n=None, pool_n=40, seed=0):
    spec = SourceSpec("builtin:chat_mix", n=n, pool_n=pool_n, select=SelectSpec("code_v1", labels))
    return load_pool(spec, seed)


def test_a_builtin_select_pool_is_exactly_pool_n_rows_of_the_label_with_counts_over_the_rows_read():
    pool, report = selected("code", pool_n=40)
    assert len(pool) == 40 and all(classify(r["messages"]) == "code" for r in pool)
    read = chat_mix.generate_train(report["read"], 0)
    assert pool == [r for r in read if classify(r["messages"]) == "code"]  # every code row read, in order
    assert classify(read[-1]["messages"]) == "code"  # the rows read end at the last one kept
    select = report["select"]
    assert select == {
        "classifier": "code_v1",
        "version": cls.CodeV1.VERSION,
        "labels": ["code"],
        "counts": dict(Counter(classify(r["messages"]) for r in read)),
        "kept": 40,
    }
    assert sum(select["counts"].values()) == report["read"] > 40 and report["kept"] == 40


def test_a_smaller_select_pool_is_a_prefix_of_a_larger_one_and_n_alone_sizes_it():
    small, large = selected("math", pool_n=10)[0], selected("math", pool_n=60)[0]
    assert small == large[:10]
    assert selected("math", n=10, pool_n=None)[0] == small


def test_a_label_list_selects_everything_but_the_rest_and_two_entries_of_one_generator_do_not_collide():
    rest, _ = selected(["math", "other"], pool_n=50)
    assert {classify(r["messages"]) for r in rest} == {"math", "other"}
    mixture = [
        SourceSpec("builtin:chat_mix", n=20, pool_n=30, select=SelectSpec("code_v1", "code")),
        SourceSpec("builtin:chat_mix", n=30, pool_n=30, select=SelectSpec("code_v1", ("math", "other"))),
    ]
    rows, manifest = build_mixture(mixture, seed=0)
    assert len(rows) == manifest["total"] == 50
    reports = {tuple(e["report"]["select"]["labels"]): e for e in manifest["entries"]}
    assert reports[("code",)]["pool"] == 30 and reports[("code",)]["count"] == 20
    assert reports[("math", "other")]["report"]["select"]["kept"] == 30


def test_a_label_the_generator_never_gives_fails_clearly():
    spec = SourceSpec("builtin:math_easy", n=2, select=SelectSpec("code_v1", "code"))
    with pytest.raises(DataError, match=r"only 0 of 200 generated rows are labelled code by code_v1"):
        load_pool(spec, 0)


def test_a_local_select_keeps_the_labelled_rows_then_caps_them_by_pool_n(tmp_path):
    rows = [row for row, _ in chat_mix.generate_labelled(60, 0, "train")]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "messages": r["messages"]}) + "\n" for r in rows))
    labels = [classify(r["messages"]) for r in rows]
    spec = SourceSpec(f"local:{path}", format="chat", select=SelectSpec("code_v1", "other"), pool_n=10)
    pool, report = load_pool(spec, 0)
    assert len(pool) == 10 and {r["id"] for r in pool} < {r["id"] for r, lab in zip(rows, labels) if lab == "other"}
    assert report["select"]["counts"] == {label: labels.count(label) for label in cls.LABELS}
    assert report["select"]["kept"] == labels.count("other")


# --- run ids: the classifier's version keys the runs it selects for; runs without select keep their ids ---------


def key_of(entry: SourceSpec) -> dict:
    return runs.train_key(Recipe(name="r", data=DataSpec((entry,))).to_dict(), "hf", "float32")


def test_the_classifier_version_keys_a_select_run_and_equal_selections_share_one(monkeypatch):
    plain = SourceSpec("builtin:chat_mix", n=8)
    code_ = dataclasses.replace(plain, select=SelectSpec("code_v1", "code"))
    assert key_of(code_)["data"]["classifiers"] == {"code_v1": cls.CodeV1.VERSION}
    assert "classifiers" not in key_of(plain)["data"]
    one = runs.content_hash(key_of(code_))
    assert one != runs.content_hash(key_of(plain))
    assert runs.content_hash(key_of(dataclasses.replace(code_, select=SelectSpec("code_v1", ("code",))))) == one
    rest = [SelectSpec("code_v1", ("math", "other")), SelectSpec("code_v1", ("other", "math"))]
    assert len({runs.content_hash(key_of(dataclasses.replace(plain, select=s))) for s in rest}) == 1
    monkeypatch.setattr(cls.CodeV1, "VERSION", "999")
    assert runs.content_hash(key_of(code_)) != one


def test_a_mixture_entry_without_select_is_keyed_as_before_select_existed():
    entry = {"source": "builtin:math", "format": None, "split": "train", "pool_n": None, "fraction": None, "n": 4}
    assert runs.canonical([{**entry, "select": None}]) == runs.canonical([entry]) == [entry]
    resolved = Recipe(name="r", data=DataSpec((SourceSpec("builtin:math", n=4),))).to_dict()
    assert list(resolved["data"]["mixture"]) == [entry]


# Computed on main before select existed (e1534d7): run ids (the stage keys' hashes, backend hf, float32) and
# recipe hashes of the cpu profile, as stored in results/rq1/runs/*.json and results/rq4.
PINNED_RQ1 = {
    "math-f1": ("d09beef3aa5c", "000460ef85cb"),
    "code-f0.015625": ("831685a6338f", "319c51f94998"),
    "general-f0.25": ("6edb9e757e5c", "8b7fe3a8a62d"),
}
PINNED_RQ4 = {
    "sequential": ["01d41c58ba43", "24a52f597910", "bd03e2c8bea6"],
    "dmt-f0.25": ["7d0ee5d02659", "962cecf13b4f"],
}


def test_existing_run_ids_and_recipe_hashes_are_unchanged_by_select():
    planned = {p.tag: p.recipe for p in load_recipe(REPO / "recipes" / "rq1.yaml", profile="cpu").runs()}
    for tag, (run_id, recipe_hash) in PINNED_RQ1.items():
        resolved = planned[tag].to_dict()
        assert runs.content_hash(runs.train_key(resolved, "hf", "float32")) == run_id, tag
        assert runs.content_hash(resolved) == recipe_hash, tag
    planned = {p.tag: p.recipe for p in load_recipe(REPO / "recipes" / "rq4.yaml", profile="cpu").runs()}
    for tag, stage_ids in PINNED_RQ4.items():
        keys = runs.stage_keys(planned[tag].to_dict(), "hf", "float32")
        assert [runs.content_hash(k) for _, k in keys] == stage_ids, tag
