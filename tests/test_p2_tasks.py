"""P2's twelve zero-shot reasoning tasks: every built-in generator (determinism, nesting, train/eval disjoint), every
scorer on known answers and on each item's gold and distractors, and the multiple-choice twins."""

from __future__ import annotations

import pytest

from kit.data.builtin import split_of
from kit.eval.tasks import ABILITIES, get_task
from kit.eval.tasks import short_answer as sa
from kit.recipe import load_recipe
from tests.conftest import REPO

TASKS = [
    "p2_first_letter",
    "p2_last_letter",
    "p2_reverse_list",
    "p2_coin_flip",
    "p2_clutrr",
    "p2_babi_deduction",
    "p2_babi_induction",
    "p2_object_order",
    "p2_multistep",
    "p2_addsub",
    "p2_compare",
]


def question_of(item: dict) -> str:
    return item["messages"][0]["content"].removesuffix(f"\n\n{sa.INSTRUCTION}")


@pytest.mark.parametrize("name", TASKS)
def test_generator_is_deterministic_nested_and_disjoint(name):
    task = get_task(name)
    gen = task.generator
    small, large = gen.generate_eval(20, 3), gen.generate_eval(60, 3)
    assert small == gen.generate_eval(20, 3)
    assert large[:20] == small  # a smaller n is a prefix of a larger one
    assert len({it["id"] for it in large}) == 60
    train = gen.generate_train(60, 3)
    train_q = {r["messages"][0]["content"].removesuffix(f"\n\n{sa.INSTRUCTION}") for r in train}
    eval_q = {question_of(it) for it in large}
    assert not train_q & eval_q
    assert {split_of(q) for q in train_q} == {"train"} and {split_of(q) for q in eval_q} == {"eval"}
    assert gen.generate_eval(20, 4) != small  # another seed, other items


@pytest.mark.parametrize("name", TASKS)
def test_every_gold_scores_one_and_every_distractor_zero(name):
    task = get_task(name)
    items = task.load_items(80, 0)
    twins = task.dense_items(80, 0)
    assert [t["id"] for t in twins] == [it["id"] for it in items]
    for item, twin in zip(items, twins, strict=True):
        choices = ["".join(seg["text"] for seg in c) for c in twin["choices"]]
        assert choices[0] == f"Answer: {item['reference']['answer']}"
        assert len(choices) == round(1 / task.CHANCE)
        assert task.score(item, f"Let me think.\n{choices[0]}")["score"] == 1.0
        for wrong in choices[1:]:
            assert task.score(item, wrong)["score"] == 0.0, (item["id"], wrong)


@pytest.mark.parametrize("name", TASKS)
def test_task_module_declares_what_the_report_needs(name):
    task = get_task(name)
    assert task.DOMAIN == ABILITIES[name] and task.ORIGIN in ("P2", "ours") and task.PAPER_NAME
    assert task.MAX_NEW_TOKENS <= 64 and task.VERSION and task.DENSE_VERSION
    assert all(len(sa.prompt(question_of(it))) < 700 for it in task.load_items(50, 0))  # short prompts


@pytest.mark.parametrize(
    ("name", "right", "wrong"),
    [("p2_first_letter", "Answer: {first}", "Answer: {last}"), ("p2_last_letter", "Answer: {last}", "Answer: {first}")],
)
def test_letter_concatenation_known_answers(name, right, wrong):
    item = get_task(name).load_items(1, 0)[0]
    words = question_of(item).split('"')[1].split()
    first, last = "".join(w[0] for w in words), "".join(w[-1] for w in words)
    score = get_task(name).score
    assert score(item, right.format(first=first.lower(), last=last.upper()))["score"] == 1.0
    assert score(item, wrong.format(first=first, last=last))["score"] == 0.0


def test_known_answers_of_the_other_tasks():
    item = sa.eval_item("k", "t", "Reverse the list: [a, 2, b].", "b, 2, a", "list")
    assert get_task("p2_reverse_list").score(item, "Answer: [b, 2, a]")["score"] == 1.0
    flips = get_task("p2_coin_flip").load_items(40, 0)
    for it in flips:
        n = question_of(it).count(" flips the coin.")
        assert it["reference"]["answer"] == ("yes" if n % 2 == 0 else "no")
    for it in get_task("p2_multistep").load_items(40, 0):
        expression = question_of(it).removeprefix("What is ").removesuffix("?")
        assert str(eval(expression)) == it["reference"]["answer"]  # noqa: S307 - our own digits and operators
    for it in get_task("p2_compare").load_items(40, 0):
        q = question_of(it)
        if q.startswith("Which number"):
            x, y = (int(v) for v in q.rstrip("?").split(", ")[1].split(" or "))
            assert it["reference"]["answer"] == str(max(x, y) if "larger" in q else min(x, y))


def test_kinship_and_babi_known_answers():
    clutrr = get_task("p2_clutrr")
    item = sa.eval_item(
        "k",
        "p2_clutrr",
        "Ann's brother is Bob. Bob's son is Carl. How is Carl related to Ann?",
        "nephew",
        "choice",
        ["nephew", "niece", "aunt", "son"],
    )
    assert clutrr.score(item, "Carl is the son of Ann's brother.\nAnswer: nephew")["score"] == 1.0
    assert clutrr.score(item, "Answer: Ann's nephew")["score"] == 1.0
    assert clutrr.score(item, "Answer: aunt")["score"] == 0.0
    for it in clutrr.load_items(60, 0):  # every chain follows the composition table
        q = question_of(it)
        assert f"is {q.split('Complete: ')[1].split(' is ')[1].split(chr(39))[0]}'s ___" in q
    deduction = get_task("p2_babi_deduction").load_items(40, 0)
    for it in deduction:
        q = question_of(it)
        who = q.split("What is ")[1].split(" afraid")[0]
        species = q.split(f"{who} is a ")[1].split(".")[0]
        from kit.data.builtin.reasoning.babi_deduction import SPECIES

        feared = q.split(f"{SPECIES[species].capitalize()} are afraid of ")[1].split(".")[0]
        assert SPECIES[it["reference"]["answer"]] == feared
    for it in get_task("p2_babi_induction").load_items(40, 0):
        q = question_of(it)
        who = q.split("What color is ")[1].rstrip("?")
        species = q.split(f"{who} is a ")[1].split(".")[0]
        examples = [s.split(" is a ")[0] for s in q.split(". ") if s.endswith(f" is a {species}") and who not in s]
        assert any(f"{e} is {it['reference']['answer']}" in q for e in examples)


def test_object_order_clues_fix_the_answer():
    from itertools import permutations

    for it in get_task("p2_object_order").load_items(40, 0):
        q = question_of(it)
        colours = it["reference"]["options"]
        noun = q.split("Which ")[1].split(" is")[0]
        clues = [s.strip() + "." for s in q.split(". ")[1:] if s.startswith("The ")]
        fits = []
        for order in permutations(colours):
            ok = True
            for clue in clues:
                words = clue.rstrip(".").split()
                c = words[1]
                if "leftmost" in clue:
                    ok &= order[0] == c
                elif "rightmost" in clue:
                    ok &= order[2] == c
                elif "left of" in clue:
                    ok &= order.index(c) < order.index(words[-2])
                elif "right of" in clue:
                    ok &= order.index(c) > order.index(words[-2])
            fits.append(order) if ok else None
        assert len(fits) == 1, (q, fits)
        position = {"leftmost": 0, "in the middle": 1, "rightmost": 2}
        asked = next(k for k in position if f"{noun} is the {k}?" in q or f"{noun} is {k}?" in q)
        assert fits[0][position[asked]] == it["reference"]["answer"]


def test_the_p2_recipe_loads_every_task_under_the_cpu_profile():
    recipe = load_recipe(REPO / "recipes" / "p2.yaml", profile="cpu")
    assert {t.task for t in recipe.eval.tasks} == {*TASKS, "builtin_math_easy"}
    assert len(recipe.runs()) == 4


def test_the_gpu_profile_gives_a_7b_model_room_to_reason_and_the_cpu_one_the_tasks_budget(tmp_path):
    from kit.eval.phase import eval_key

    for profile, want in (("gpu", 256), ("cpu", 48)):
        recipe = load_recipe(REPO / "recipes" / "p2.yaml", profile=profile)
        spec = next(t for t in recipe.eval.tasks if t.task == "p2_first_letter")
        settings, _ = eval_key(tmp_path, get_task(spec.task), spec, recipe)
        assert settings["max_new_tokens"] == want, profile
