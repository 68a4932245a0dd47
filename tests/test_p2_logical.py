"""P2's logical domain: the four built-in generators and task modules (bAbI 15/16 style, CLUTRR-style kinship,
three-object ordering), solved again from the story text by independent solvers; the hub versions' parsers on
fixtures in the publishers' formats."""

from __future__ import annotations

import re
from itertools import permutations

import pytest

from kit.data.builtin import get_generator
from kit.data.builtin.reasoning import clutrr
from kit.eval.tasks import ABILITIES, get_task
from kit.eval.tasks import short_answer as sa
from kit.recipe import load_recipe
from tests.conftest import write_recipe

BUILTIN = {  # task -> generator
    "p2_babi_deduction": "babi_deduction",
    "p2_babi_induction": "babi_induction",
    "p2_clutrr": "clutrr",
    "p2_object_order": "object_order",
}
N = 120


def question_of(item: dict) -> str:
    """The story and question of an item, without the answer-format instruction."""
    text = item["messages"][0]["content"]
    assert text.endswith(sa.INSTRUCTION)
    return text[: -len(sa.INSTRUCTION)].strip()


def said(choice: list[dict]) -> str:
    return "".join(segment["text"] for segment in choice)


@pytest.mark.parametrize("task", sorted(BUILTIN))
def test_generator_is_deterministic_prefix_closed_and_train_eval_disjoint(task):
    gen = get_generator(BUILTIN[task])
    assert gen.generate_eval(N, 3) == gen.generate_eval(N, 3)
    assert gen.generate_eval(20, 3) == gen.generate_eval(N, 3)[:20]
    assert gen.generate_train(20, 3) == gen.generate_train(N, 3)[:20]
    assert gen.generate_dense(10, 3) == gen.generate_dense(N, 3)[:10]
    train, evals = gen.generate_train(4 * N, 3), gen.generate_eval(N, 3)
    assert not {r["messages"][0]["content"] for r in train} & {i["messages"][0]["content"] for i in evals}
    assert len({i["id"] for i in evals}) == N and len({r["id"] for r in train}) == 4 * N
    assert gen.generate_eval(N, 4) != evals  # the seed matters


@pytest.mark.parametrize("task", sorted(BUILTIN))
def test_every_gold_scores_one_every_distractor_zero_and_the_twin_matches(task):
    module = get_task(task)
    items, twins = module.load_items(N, 0), module.dense_items(N, 0)
    assert [t["id"] for t in twins] == [i["id"] for i in items]
    for item, twin in zip(items, twins, strict=True):
        assert twin["messages"] == item["messages"]
        assert len(twin["choices"]) == round(1 / module.CHANCE)
        gold, *wrong = (said(choice) for choice in twin["choices"])
        assert gold == sa.reply(item["reference"]["answer"])
        assert module.score(item, f"Let me think.\n{gold}")["score"] == 1.0
        assert all(module.score(item, w)["score"] == 0.0 for w in wrong), (item, wrong)


@pytest.mark.parametrize("task", sorted(BUILTIN))
def test_task_module_declares_the_logical_domain_and_the_house_constants(task):
    module = get_task(task)
    gen = get_generator(BUILTIN[task])
    assert module.DOMAIN == ABILITIES[task] == "logical"
    assert module.ORIGIN == ("ours" if task == "p2_object_order" else "P2")
    assert module.VERSION == f"1-gen{gen.VERSION}-sa{sa.VERSION}"
    assert module.MAX_NEW_TOKENS == 48 and module.DEFAULT_N == 1000 and module.CHANCE == pytest.approx(1 / 3)
    assert len(module.load_items(None, 0)) == module.DEFAULT_N


@pytest.mark.parametrize("task", sorted(BUILTIN))
def test_training_rows_reason_in_one_line_then_answer_and_prompts_stay_short(task):
    gen = get_generator(BUILTIN[task])
    for row in gen.generate_train(N, 0):
        user, assistant = (m["content"] for m in row["messages"])
        assert user.endswith(sa.INSTRUCTION)
        why, last = assistant.split("\n")
        assert why and last.startswith("Answer: ") and sa.extract(assistant)
        assert len(user.split()) < 110  # about 150 tokens
    sentences = [len(re.findall(r"[.?]", question_of(i))) for i in gen.generate_eval(N, 0)]
    assert min(sentences) >= 4 and max(sentences) <= 12


# --- independent solvers: each reads the story back from the text and answers it ----------------------------------

PLURAL = {"mice": "mouse", "wolves": "wolf", "foxes": "fox", "sheep": "sheep"}


def singular(word: str) -> str:
    return PLURAL.get(word, word[:-1] if word.endswith("s") else word)


def solve_deduction(question: str) -> str:
    fears = {singular(a.lower()): singular(b) for a, b in re.findall(r"(\w+) are afraid of (\w+)\.", question)}
    kinds = dict(re.findall(r"([A-Z]\w+) is an? (\w+)\.", question))
    who = re.search(r"What is (\w+) afraid of\?", question).group(1)
    return fears[kinds[who]]


def solve_induction(question: str) -> str:
    kinds = dict(re.findall(r"([A-Z]\w+) is an? (\w+)\.", question))
    colours = {name: c for name, c in re.findall(r"([A-Z]\w+) is (\w+)\.", question) if c not in ("a", "an")}
    who = re.search(r"What color is (\w+)\?", question).group(1)
    seen = {colours[n] for n, k in kinds.items() if k == kinds[who] and n in colours}
    assert len(seen) == 1, question
    return seen.pop()


def solve_order(question: str) -> str:
    colours = re.search(r": a (\w+) one, a (\w+) one and a (\w+) one\.", question).groups()
    tests = []
    for a, side, b in re.findall(r"The (\w+) \w+ is to the (left|right) of the (\w+) \w+\.", question):
        tests.append(lambda o, a=a, b=b, side=side: (o.index(a) < o.index(b)) == (side == "left"))
    for c, where in re.findall(r"The (\w+) \w+ is the (leftmost|rightmost)\.", question):
        tests.append(lambda o, c=c, where=where: o[0 if where == "leftmost" else 2] == c)
    fits = [o for o in permutations(colours) if all(t(o) for t in tests)]
    assert len(fits) == 1, question
    asked = re.search(r"Which \w+ is (?:the )?(leftmost|in the middle|rightmost)\?", question).group(1)
    return fits[0][{"leftmost": 0, "in the middle": 1, "rightmost": 2}[asked]]


STEP_OF = {word: step for step in clutrr.STEPS for word in clutrr.WORDS[step]}
FACT = (
    r"(?P<a>[A-Z]\w+)'s (?P<rel>[\w-]+) is (?P<b>[A-Z]\w+)\.",
    r"(?P<b>[A-Z]\w+) is (?P<a>[A-Z]\w+)'s (?P<rel>[\w-]+)\.",
    r"(?P<a>[A-Z]\w+) went for a walk with (?P<b>[A-Z]\w+), (?:his|her) (?P<rel>[\w-]+)\.",
    r"(?P<a>[A-Z]\w+) invited (?:his|her) (?P<rel>[\w-]+) (?P<b>[A-Z]\w+) to dinner\.",
)


def solve_kinship(question: str) -> str:
    """A breadth-first walk over the story's facts from the first name of the question to the second."""
    story, asked = question.split(" How is ")
    last, first = re.match(r"(\w+) related to (\w+)\?", asked).groups()
    edges: dict[str, list[tuple[str, str]]] = {}
    for sentence in re.findall(r"[^.]+\.", story):
        found = next(m for m in (re.fullmatch(f, sentence.strip()) for f in FACT) if m)
        edges.setdefault(found["a"], []).append((STEP_OF[found["rel"]], found["b"]))
    paths, todo = {first: ()}, [first]
    while todo:
        here = todo.pop(0)
        for step, there in edges.get(here, []):
            if there not in paths:
                paths[there] = (*paths[here], step)
                todo.append(there)
    return clutrr.name_of(paths[last], last in clutrr.WOMEN)


SOLVERS = {
    "p2_babi_deduction": solve_deduction,
    "p2_babi_induction": solve_induction,
    "p2_clutrr": solve_kinship,
    "p2_object_order": solve_order,
}


@pytest.mark.parametrize("task", sorted(BUILTIN))
def test_an_independent_solver_reading_the_story_finds_the_gold(task):
    for item in get_task(task).load_items(300, 1):
        assert SOLVERS[task](question_of(item)) == item["reference"]["answer"], question_of(item)


@pytest.mark.parametrize(
    ("path", "female", "word"),
    [
        (("inv-child", "sibling"), False, "uncle"),  # a mother's brother
        (("inv-child", "sibling"), True, "aunt"),
        (("sibling", "child"), False, "nephew"),
        (("SO", "inv-child"), True, "mother-in-law"),  # a husband's mother
        (("child", "SO"), False, "son-in-law"),  # a daughter's husband
        (("inv-child", "inv-child"), True, "grandmother"),
        (("SO", "child", "child"), False, "grandson"),  # a wife's son's son
        (("sibling", "inv-child", "inv-child"), False, "grandfather"),  # a brother's father's father
        (("child", "sibling", "SO"), True, "daughter-in-law"),  # a son's brother's wife
        (("inv-child", "child"), True, "sister"),  # a father's daughter: CLUTRR's rule (people are distinct)
        (("inv-child", "child", "child"), False, "nephew"),  # a father's son's son
        (("inv-child", "SO"), True, None),  # a father's wife: CLUTRR has no rule (she may be a stepmother)
        (("SO", "sibling"), False, None),  # a wife's brother: CLUTRR's rules never make a sibling-in-law
        (("child", "inv-child"), False, None),  # a son's mother: oneself or one's spouse
        (("child", "inv-child", "sibling"), False, None),  # a son's uncle: a brother, or a brother-in-law
        (("inv-child", "sibling", "child"), False, None),  # a cousin: no word in CLUTRR's set
    ],
)
def test_kinship_chains_compose_by_clutrrs_rules_to_its_words(path, female, word):
    assert clutrr.name_of(path, female) == word


def test_every_rule_names_clutrr_relations_and_the_golds_are_the_18_words_of_its_test_sets():
    assert {r for pair in clutrr.COMPOSE for r in pair} | set(clutrr.COMPOSE.values()) <= set(clutrr.WORDS)
    assert all(clutrr.INVERSE[clutrr.INVERSE[r]] == r for r in clutrr.WORDS)
    golds = {clutrr.make(0, i).answer for i in range(600)}
    # the target words of CLUTRR's gen_train23_test2to10 test.csv (1,146 stories), counted on the real file
    assert golds == {
        "nephew", "niece", "aunt", "uncle", "sister", "grandson", "brother", "father", "granddaughter", "mother",
        "daughter", "grandmother", "grandfather", "son", "son-in-law", "mother-in-law", "father-in-law",
        "daughter-in-law",
    }  # fmt: skip


def test_clutrr_stories_mix_two_and_three_hop_chains_and_its_distractors_are_never_the_gold():
    hops = [len(p.why.split(", so")[0].split(", ")) for p in (clutrr.make(0, i) for i in range(300))]
    assert set(hops) == {2, 3}
    for i in range(300):
        p = clutrr.make(0, i)
        assert p.answer not in p.distractors and len(set(p.distractors)) == 2
        first = re.search(r"related to (\w+)\?", p.question).group(1)
        back = clutrr.WORDS[clutrr.INVERSE[clutrr.reduce(_path_of(p))]][first in clutrr.WOMEN]
        assert back == p.answer or p.distractors[0] == back  # the relation the other way round comes first


def _path_of(problem) -> tuple[str, ...]:
    steps = problem.why.split(", so")[0].split(", ")
    return tuple(STEP_OF[s.rsplit("'s ", 1)[1]] for s in steps)


def test_a_known_two_hop_chain_and_its_twin():
    question = "Ann's brother is Bob. Bob's son is Carl. How is Carl related to Ann? Complete: Carl is Ann's ___."
    assert solve_kinship(question) == "nephew"
    item = sa.eval_item("k", "p2_clutrr", question, "nephew", "choice", clutrr.RELATIONS)
    task = get_task("p2_clutrr")
    assert task.score(item, "Bob is her brother and Carl his son.\nAnswer: nephew")["score"] == 1.0
    assert task.score(item, "Answer: Ann's nephew")["score"] == 1.0
    assert task.score(item, "Answer: uncle")["score"] == 0.0
    assert task.score(item, "Answer: nephew or niece")["score"] == 0.0  # names another option too


def test_babi_deduction_counts_the_plural_and_bAbI_style_questions():
    task = get_task("p2_babi_deduction")
    for item in task.load_items(60, 0):
        gold, aliases = item["reference"]["answer"], item["reference"]["aliases"]
        assert question_of(item).endswith(" afraid of?")  # bAbI's question, no format hint
        plural = dict(aliases).get(gold, [gold])[0]
        assert task.score(item, f"Answer: {plural}")["score"] == 1.0
        assert task.score(item, f"They fear {plural}.\nAnswer: the {plural}.")["score"] == 1.0
        for other in item["reference"]["options"]:
            if other != gold:
                assert task.score(item, f"Answer: {dict(aliases).get(other, [other])[0]}")["score"] == 0.0
    item = sa.eval_item(
        "d", "p2_babi_deduction", "Sheep are afraid of wolves. Gertrude is a sheep. What is Gertrude afraid of?",
        "wolf", "choice", ["sheep", "wolf", "cat", "mouse"], {"wolf": ["wolves"], "cat": ["cats"], "mouse": ["mice"]},
    )  # fmt: skip
    replies = ("wolf", "wolves", "a wolf", "mice", "wolves or mice")
    assert [task.score(item, f"Answer: {a}")["score"] for a in replies] == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_a_recipe_accepts_a_logical_task_with_its_twin(tmp_path):
    text = """
name: p2-logical
model: {base: tiny-random-llama}
data:
  mixture:
    - {source: "builtin:math", n: 8}
eval: {tasks: [{task: p2_clutrr, n: 32, dense_n: 64}, {task: p2_object_order, n: 8}]}
"""
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", text), profile="cpu")
    assert [(t.task, t.n, t.dense_n) for t in recipe.eval.tasks][0] == ("p2_clutrr", 32, 64)
