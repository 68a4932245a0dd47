"""P3's (DoIT's) record format, hub-file source, task subsets and scorer, on a fixture written by us in the authors'
exact layout and record format (tests/assets/hub/ChiyuSONG/dynamics-of-instruction-tuning)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_engine import N_THREADS, tiny_gguf

from kit.data import doit, formats, hubfile
from kit.data.schema import DataError
from kit.eval.tasks import doit as task

HUB = Path(__file__).parent / "assets" / "hub"
DOIT = HUB / task.REPO
FIXTURE_REVISION = task.REVISION


@pytest.fixture
def clones(monkeypatch):
    monkeypatch.setenv(hubfile.ENV_CLONES, str(HUB))
    task._records.cache_clear()
    yield HUB
    task._records.cache_clear()


def records(name: str) -> list[dict]:
    return [json.loads(line) for line in (DOIT / name).read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the reader ---------------------------------------------------------------------------------------------------


def test_doit_reader_trains_on_every_message_and_counts_malformed_records(tmp_path):
    rows, report = formats.read_local(DOIT / "curated/1000/code_1000.json", "doit", source_name="doit")
    want = records("curated/1000/code_1000.json")
    assert [r["messages"] for r in rows] == [doit.to_messages(r) for r in want]
    assert rows[0]["id"] == "code_1000.json:1" and report["kept"] == len(want) == 8
    bad = want[:8] + [
        {**want[0], "question_format": 2},
        {**want[0], "choices": want[0]["choices"][:2]},
        {"messages": [{"role": "user", "content": "only a question"}], "type": "code", "question_format": 1},
    ]
    path = tmp_path / "bad.json"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in bad), encoding="utf-8")
    with pytest.raises(DataError, match="3 of 11 records are malformed for format 'doit'"):
        formats.read_local(path, "doit", source_name="doit")
    kept = bad[:8] + bad[:3] + bad[9:10]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in kept), encoding="utf-8")
    rows, report = formats.read_local(path, "doit", source_name="doit")  # 1 of 12 set aside: under 10%
    assert report["reasons"] == {"question_format 1 needs 'choices': a list of 3 (the gold first)": 1}


def test_a_training_record_needs_only_messages_but_an_evaluation_item_needs_its_fields():
    bare = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello "}]}
    assert doit.problem(bare, scored=False) is None and doit.problem(bare) == "missing key 'type'"
    assert doit.to_messages(bare)[1]["content"] == "Hello"  # stripped, as the authors' tokenize() does
    with pytest.raises(DataError, match="missing key 'type'"):
        doit.to_item(bare, "x", "doit")
    item = doit.to_item(records("curated/test/code_test.json")[0], "code-0", "doit")
    assert item["messages"][-1]["role"] == "user" and len(item["messages"]) == 1
    assert item["reference"]["choices"][0] == item["reference"]["gold"]


# --- the hub-file source ------------------------------------------------------------------------------------------


def test_a_hub_file_source_reads_a_glob_of_the_repository_at_its_revision(clones):
    from kit.data.mixture import load_pool
    from kit.recipe.schema import SourceSpec

    entry = SourceSpec(
        source=f"hf:{task.REPO}", format="doit", file="curated/1000/*_1000.json", revision=FIXTURE_REVISION, pool_n=12
    )
    assert entry.problems() == []
    rows, report = load_pool(entry, 0)
    assert len(rows) == 12 and report["files"] == ["curated/1000/code_1000.json", "curated/1000/reasoning_1000.json"]
    assert report["read"] == 16 and report["from"].endswith(task.REPO)
    missing = SourceSpec(source=f"hf:{task.REPO}", format="doit", file="curated/1000/biology_1000.json")
    with pytest.raises(DataError, match="no file matching 'curated/1000/biology_1000.json'"):
        load_pool(missing, 0)


def test_source_checks_name_what_a_hub_file_needs():
    from kit.recipe.schema import SourceSpec

    no_format = SourceSpec(source=f"hf:{task.REPO}", file="curated/1000/code_1000.json")
    assert (
        "format",
        "a hub file needs 'format:' (the kit cannot guess a single file's layout)",
    ) in no_format.problems()
    local = SourceSpec(source="local:x.json", format="doit", file="a.json", revision="abc")
    fields = [f for f, _ in local.problems()]
    assert "file" in fields and "revision" in fields


def test_without_hub_access_a_hub_file_says_how_to_use_a_local_clone(monkeypatch, tmp_path):
    monkeypatch.setenv(hubfile.ENV_CLONES, str(tmp_path))
    with pytest.raises(DataError, match="has no clone of 'ChiyuSONG/dynamics-of-instruction-tuning'"):
        hubfile.fetch(task.REPO, "curated/test/code_test.json", task.REVISION)
    monkeypatch.delenv(hubfile.ENV_CLONES)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="KIT_HUB_CLONES"):
        hubfile.fetch(task.REPO, "curated/test/code_test.json", task.REVISION)


# --- subsets --------------------------------------------------------------------------------------------------------


def test_one_task_module_serves_every_ability_file_by_subset_and_split(clones):
    from kit.eval.tasks import ability_of, for_spec
    from kit.recipe.schema import EvalTaskSpec

    spec = EvalTaskSpec(task="doit", subset="reasoning", split="valid")
    assert spec.name == "doit:reasoning@valid" and spec.problems() == []
    assert ability_of(spec.name) == "reasoning" and ability_of("doit:ceval_physician") == "ood"
    bound = for_spec(spec)
    assert [it["reference"]["gold"] for it in bound.load_items(None, 0)] == ["B"]
    assert len(for_spec(EvalTaskSpec(task="doit", subset="reasoning")).load_items(None, 0)) == 2
    assert bound.cache_identity() == {"dataset": task.REPO, "revision": task.REVISION}
    bad = dict(EvalTaskSpec(task="doit", subset="reasonin").problems())
    assert "did you mean 'reasoning'" in bad["subset"]
    assert "one item set" in dict(EvalTaskSpec(task="gsm8k", subset="main").problems())["subset"]
    assert "splits test, valid" in dict(EvalTaskSpec(task="doit", subset="code", split="train").problems())["split"]


def test_subset_fields_stay_out_of_existing_recipes_dicts():
    from kit.recipe import load_recipe

    recipe = load_recipe("recipes/rq1.yaml")
    d = recipe.to_dict()
    assert all("subset" not in t and "split" not in t for t in d["eval"]["tasks"])
    assert "min_steps" not in d["train"]
    assert all("file" not in s and "revision" not in s for s in d["sources"].values())


# --- scoring ------------------------------------------------------------------------------------------------------


def ref(name: str, k: int = 0) -> tuple[dict, str]:
    item = doit.to_item(records(name)[k], "x", "doit")
    return item["reference"], item["messages"][-1]["content"]


def test_replies_score_by_the_authors_rules_with_their_chance_baselines():
    reasoning, prompt = ref("curated/test/reasoning_test.json")
    assert task.score_reply(reasoning, " B ")["score"] == 1.0 and task.score_reply(reasoning, "A")["score"] == 0.0
    assert task.score_reply(reasoning, "x")["parsed"] == "E"  # one character, not a letter: wrong
    assert task.score_reply(reasoning, "The answer is B")["score"] is None  # longer: the logits decide
    assert task.chance(reasoning, prompt) == 0.25
    understanding, prompt = ref("curated/test/understanding_test.json")
    assert task.chance(understanding, prompt) == pytest.approx(1 / 3)
    ethics, prompt = ref("curated/test/ethics_test.json")
    assert task.score_reply(ethics, "理由……\n(A)(C)")["score"] == 1.0
    assert task.score_reply(ethics, "AC\nA")["score"] == 0.0  # the last line only
    assert task.chance(ethics, prompt) == pytest.approx(1 / math.comb(4, 2))
    maths, prompt = ref("curated/test/math_test.json")
    assert task.score_reply(maths, "所以结果是 \\boxed{0.5}")["score"] == 1.0  # 0.5 -> \frac{1}{2}
    assert task.score_reply(maths, "答案 1/2")["score"] == 1.0
    assert task.score_reply(maths, "答案：1/2")["parsed"] == "2"  # the authors' parser: "：1" is not a numerator
    assert task.score_reply(maths, "\\boxed{1/3}")["score"] == 0.0 and task.chance(maths, prompt) == 0.0
    history, prompt = ref("curated/test/history_test.json")
    assert task.score_reply(history, "这是正确的")["score"] == 1.0
    assert task.score_reply(history, "正确还是错误")["parsed"] == "E" and task.chance(history, prompt) == 0.5
    code, _ = ref("curated/test/code_test.json")
    assert task.chance(code, "") == pytest.approx(1 / 3)


class FakeEngine:
    """Scores a candidate by a table of mean log-probs; the letter logits by another."""

    def __init__(self, means: dict[str, float], letters: list[float], replies: dict[str, str]):
        self.means, self.letters, self.replies, self.path = means, letters, replies, Path("fake.gguf")
        self.batch_size = 1

    def prompt_ids(self, messages):
        return [messages[-1]["content"]]

    def segment_ids(self, segments):
        return [("".join(s["text"] for s in segments), True)]

    def score_many(self, requests, desc=None):
        out = []
        for _, candidates in requests:
            out.append([SimpleNamespace(logprob=self.means[c[0][0]], n_scored=1) for c in candidates])
        return out

    def tokenize(self, text):
        return ["ABCD".index(text)]

    def choice_logprobs(self, prompt, choices):
        return [self.letters[c] for c in choices]


def test_a_tie_goes_to_the_gold_and_a_long_letter_reply_falls_back_to_the_logits(monkeypatch):
    import kit.eval.cache as cache_mod

    code = records("curated/test/code_test.json")
    items = [doit.to_item(r, f"code-{k}", "doit") for k, r in enumerate(code)]
    reasoning = doit.to_item(records("curated/test/reasoning_test.json")[0], "reasoning-0", "doit")
    first, second = items[0]["reference"]["choices"], items[1]["reference"]["choices"]
    means = {first[0]: -1.0, first[1]: -1.0, first[2]: -3.0, second[0]: -2.0, second[1]: -1.5, second[2]: -4.0}
    engine = FakeEngine(means, letters=[-3.0, -0.1, -2.0, -4.0], replies={})
    monkeypatch.setattr(cache_mod, "cached_chat_many", lambda e, c, prompts, n, d: (["I think it is B."], 1))
    out, generated = task.evaluate_items(engine, None, [*items, reasoning], 16, "test")
    assert [r["score"] for r in out] == [1.0, 0.0, 1.0]  # a tie goes to the gold; then lower ppl wins
    assert out[0]["ppl"] == [round(math.e, 4), round(math.e, 4), round(math.exp(3), 4)]
    assert (out[2]["via"], out[2]["parsed"], out[2]["chance"]) == ("logits", "B", 0.25) and generated == 1


@pytest.fixture(scope="module")
def tiny_doit(tmp_path_factory, kit_home):
    for folder in tiny_gguf(tmp_path_factory, kit_home, "doit"):
        yield folder / "model-F16.gguf"


def test_distractor_perplexity_counts_the_end_of_turn_token_through_llama_cpp(tiny_doit, clones):
    from kit.eval.engine import open_engine

    items = task.load_items(None, 0, subset="code", split="test")
    with open_engine(tiny_doit, n_ctx=512, n_threads=N_THREADS, batch_size=1) as engine:
        eot = engine.end_of_turn()
        assert engine.text(eot) in ("</s>", "") and len(eot) == 1  # the doit template ends a turn with EOS
        prompt = engine.prompt_ids(items[0]["messages"])
        assert engine.text(prompt).endswith("<assistant>\n") and "<user>\n" in engine.text(prompt)
        out, generated = task.evaluate_items(engine, None, items, 8, "test")
        for item, record in zip(items, out, strict=True):
            means = []
            for choice in item["reference"]["choices"]:
                ids = engine.tokenize(choice) + eot
                total, _ = engine.loglik(engine.prompt_ids(item["messages"]), ids)
                means.append(total / len(ids))
            assert record["ppl"] == pytest.approx([math.exp(-m) for m in means], rel=1e-3)
            assert record["score"] == float(means[0] >= max(means[1:]))
    assert generated == 0  # distractor items generate nothing


def test_the_doit_template_renders_the_authors_turns():
    from jinja2 import Environment

    from kit.data.templates import inference_template

    text = (
        Environment()
        .from_string(inference_template("doit"))
        .render(
            messages=[{"role": "user", "content": " Q "}, {"role": "assistant", "content": "A"}],
            eos_token="</s>",
            add_generation_prompt=False,
        )
    )
    assert text == "<user>\n Q </s><assistant>\nA</s>"  # contents are stripped by the reader, not the template


def test_a_floor_on_steps_stands_in_for_the_small_sets_extra_epochs():
    from kit.backends.sft import total_steps
    from kit.recipe.schema import TrainSpec

    assert total_steps(7, TrainSpec(batch_size=8, epochs=3)) == 3
    assert total_steps(7, TrainSpec(batch_size=8, epochs=3, min_steps=16)) == 16
    assert total_steps(448, TrainSpec(batch_size=8, epochs=3, min_steps=16)) == 168
    assert dict(TrainSpec(min_steps=0).problems())["min_steps"].startswith("must be >= 1")


def test_the_mirror_task_serves_every_mirrored_ability_through_the_same_items_and_scorer():
    from kit.eval.tasks import doit_mirror, for_spec
    from kit.recipe.schema import EvalTaskSpec

    bound = for_spec(EvalTaskSpec(task="doit_mirror", subset="code", n=5))
    items = bound.load_items(5, 0)
    assert [it["id"] for it in items] == [it["id"] for it in bound.load_items(8, 0)[:5]]
    assert items[0]["reference"]["question_format"] == 1 and len(items[0]["reference"]["choices"]) == 3
    assert bound.cache_identity() == {"generator": "2"}
    with pytest.raises(ValueError, match="give the task an 'n:'"):
        bound.load_items(None, 0)
    ood = doit_mirror.load_items(3, 0, subset="ood")
    assert [len(it["messages"]) for it in ood] == [11, 11, 11]  # 5 shots, then the question
    assert {task.chance(it["reference"], it["messages"][-1]["content"]) for it in ood} == {0.25}


def test_a_test_file_with_a_bad_record_is_refused_not_thinned(tmp_path):
    good = (DOIT / "curated/test/reasoning_test.json").read_text(encoding="utf-8")
    path = tmp_path / "reasoning_test.json"
    path.write_text(good + '{"messages": [], "type": "reasoning", "question_format": 0}\n', encoding="utf-8")
    with pytest.raises(DataError, match="reasoning_test.json:3: messages must be a non-empty list"):
        formats.read_doit(path)
    path.write_text(good + "not json\n", encoding="utf-8")
    with pytest.raises(DataError, match="line is not valid JSON"):
        formats.read_doit(path)
    assert formats.read_doit(DOIT / "curated/test/reasoning_test.json") == records("curated/test/reasoning_test.json")
