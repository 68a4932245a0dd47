"""The real test sets behind P2's named logical tasks (kit.eval.tasks.hub_reasoning): bAbI's text format and the hub
copy's JSONL, CLUTRR's CSV, all from fixtures in the publishers' formats (tests/assets), never the network."""

from __future__ import annotations

import io

import pytest

from kit.data.schema import DataError
from kit.eval.tasks import get_task
from kit.eval.tasks import hub_reasoning as hub
from tests.conftest import REPO

ASSETS = REPO / "tests" / "assets"


@pytest.fixture
def local_copies(monkeypatch):
    monkeypatch.setenv(hub.BABI_ENV, str(ASSETS / "babi" / "tasks_1-20_v1-2"))
    monkeypatch.setenv(hub.CLUTRR_ENV, str(ASSETS / "clutrr"))
    hub.babi_questions.cache_clear()
    hub.clutrr_stories.cache_clear()
    yield
    hub.babi_questions.cache_clear()
    hub.clutrr_stories.cache_clear()


def test_babi_text_format_one_item_per_question_with_the_story_so_far(local_copies):
    questions = hub.babi_questions(15)
    assert [q["answer"] for q in questions] == ["mouse", "cat", "wolf", "cat"]
    assert questions[0]["passage"].splitlines()[0] == "Mice are afraid of cats."
    assert "Winona is a cat." in questions[1]["passage"]  # the second question sees the whole first story
    assert questions[3]["passage"].startswith("Sheep are afraid of cats.")  # numbering restarted: a new story
    task = get_task("babi_deduction")
    items = task.load_items(None, 0)
    assert sorted(it["id"] for it in items) == [f"babi15-test-{k}" for k in range(4)]
    first = next(it for it in items if it["id"] == "babi15-test-0")
    assert set(first["reference"]["options"]) == {"mouse", "cat", "wolf", "sheep"}
    assert task.score(first, "Emily is a wolf and wolves fear mice.\nAnswer: mouse")["score"] == 1.0
    assert task.score(first, "Answer: a mouse.")["score"] == 1.0
    assert task.score(first, "Answer: mice")["score"] == 1.0  # bAbI answers the singular; the plural counts too
    assert task.score(first, "Answer: wolf")["score"] == 0.0
    assert task.score(first, "Answer: wolves")["score"] == 0.0
    assert task.score(first, "Answer: mice or cats")["score"] == 0.0
    assert first["messages"][0]["content"].split("\n\n")[0].endswith("\nWhat is emily afraid of?")  # as bAbI asks
    twins = task.dense_items(4, 0)
    assert all(len(t["choices"]) == 3 for t in twins)


def test_babi_induction_options_are_the_storys_colours(local_copies):
    task = get_task("babi_induction")
    items = {it["id"]: it for it in task.load_items(None, 0)}
    assert items["babi16-test-0"]["reference"]["answer"] == "white"
    assert {"white", "green", "yellow"} <= set(items["babi16-test-0"]["reference"]["options"])
    assert items["babi16-test-1"]["reference"]["answer"] == "gray"
    twin = next(t for t in task.dense_items(2, 0) if t["id"] == "babi16-test-0")
    shown = ["".join(s["text"] for s in c) for c in twin["choices"]]
    assert shown[0] == "Answer: white" and set(shown[1:]) <= {"Answer: green", "Answer: yellow", "Answer: gray"}


def test_the_hub_copy_gives_the_same_items_as_the_publishers_files(local_copies, monkeypatch):
    monkeypatch.delenv(hub.BABI_ENV)
    asked = {}

    def fake_download(repo, filename, revision, env):
        asked.update(repo=repo, filename=filename, revision=revision)
        return ASSETS / "babi" / "babi_test.jsonl"

    monkeypatch.setattr(hub, "_hub_file", fake_download)
    hub.babi_questions.cache_clear()
    from_hub = hub.babi_questions(15)
    assert asked == {"repo": "Muennighoff/babi", "filename": "babi_test.jsonl", "revision": hub.BABI_REVISION}
    assert len(hub.BABI_REVISION) == 40
    monkeypatch.setenv(hub.BABI_ENV, str(ASSETS / "babi" / "tasks_1-20_v1-2"))
    hub.babi_questions.cache_clear()
    assert from_hub[0] == hub.babi_questions(15)[0]
    assert [q["answer"] for q in hub.parse_babi_jsonl((ASSETS / "babi" / "babi_test.jsonl").read_text(), 16, "x")] == [
        "white"
    ]


def test_clutrr_csv_query_direction_and_brackets(local_copies):
    stories = hub.clutrr_stories()
    assert [(s["head"], s["tail"], s["answer"]) for s in stories] == [
        ("Nora", "Leo", "nephew"),
        ("Carl", "Vera", "mother"),
        ("Rita", "Lena", "mother-in-law"),
        ("Paul", "Tom", "grandson"),  # a row with clean_story and proof_state filled, as the real file has them
    ]
    assert "[" not in stories[0]["story"] and stories[0]["genders"]["Nora"] == "female"
    task = get_task("clutrr")
    item = next(it for it in task.load_items(None, 0) if it["id"] == "clutrr-test-0")
    assert (
        item["messages"][0]["content"]
        .split("\n")[0]
        .endswith("How is Leo related to Nora? Complete: Leo is Nora's ___.")
    )
    assert task.score(item, "Answer: nephew")["score"] == 1.0
    assert task.score(item, "Answer: Nora's nephew")["score"] == 1.0
    assert task.score(item, "Answer: niece")["score"] == 0.0
    twin = next(t for t in task.dense_items(4, 0) if t["id"] == "clutrr-test-0")
    shown = ["".join(s["text"] for s in c) for c in twin["choices"]]
    assert shown == ["Answer: nephew", "Answer: uncle", "Answer: son"]  # the other way round; a generation off


def test_kin_distractors_keep_the_gold_gender_and_never_give_the_gold():
    assert hub.kin_distractors("grandson", "k")[:2] == ["grandfather", "son"]
    assert hub.kin_distractors("mother-in-law", "k")[:2] == ["daughter-in-law", "mother"]
    assert hub.kin_distractors("brother", "k")[0] == "uncle"  # a brother's inverse is a brother: skipped
    for gold in hub.KIN_WORDS:
        wrong = hub.kin_distractors(gold, "k")
        male = gold in [pair[0] for pair in hub.KIN_PAIRS.values()]
        same = {pair[0 if male else 1] for pair in hub.KIN_PAIRS.values()}
        assert gold not in wrong and len(set(wrong)) == len(wrong) == len(hub.KIN_WORDS) - 1
        assert set(wrong[: len(same) - 1]) == same - {gold}  # every same-gender word before the other gender's


def test_malformed_files_name_the_file_and_line(tmp_path):
    bad = "1 Mice are afraid of cats.\nnot a numbered line\n"
    with pytest.raises(DataError, match=r"qa15.txt:2: not a bAbI line"):
        hub.parse_babi_text(bad, "qa15.txt")
    with pytest.raises(DataError, match="no question lines"):
        hub.parse_babi_text("1 Mice are afraid of cats.\n", "qa15.txt")
    with pytest.raises(DataError, match=r"b.jsonl:1: not a bAbI record"):
        hub.parse_babi_jsonl('{"passage": "x"}\n', 15, "b.jsonl")
    with pytest.raises(DataError, match=r"no column\(s\) \['genders'\]"):
        hub.parse_clutrr_csv(",id,story,query,target_text\n0,a,b,\"('A', 'B')\",son\n", "t.csv")
    with pytest.raises(DataError, match=r"t.csv:2: bad query"):
        hub.parse_clutrr_csv(',id,story,query,target_text,genders\n0,a,b,not a tuple,son,"A:male,B:male"\n', "t.csv")


def test_without_a_local_copy_or_the_hub_the_error_says_what_to_set(monkeypatch, tmp_path):
    monkeypatch.delenv(hub.BABI_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    hub.babi_questions.cache_clear()
    why = get_task("babi_deduction").unavailable()
    assert "HF_HUB_OFFLINE is set" in why and "set KIT_BABI_DIR" in why and hub.BABI_REVISION[:7] in why
    with pytest.raises(DataError, match="set KIT_BABI_DIR"):
        hub.babi_questions(15)
    hub.babi_questions.cache_clear()
    monkeypatch.setenv(hub.BABI_ENV, str(tmp_path))
    assert "has no en/qa16_basic-induction_test.txt" in get_task("babi_induction").unavailable()
    with pytest.raises(DataError, match="no en/qa15_basic-deduction_test.txt there"):
        hub.babi_questions(15)
    hub.babi_questions.cache_clear()
    monkeypatch.setenv(hub.BABI_ENV, str(ASSETS / "babi" / "tasks_1-20_v1-2"))
    assert get_task("babi_deduction").unavailable() is None


def test_an_unreachable_network_is_named_with_what_to_set(monkeypatch, isolated, tmp_path):
    from urllib.error import URLError

    def no_network(request, timeout):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv(hub.BABI_ENV, raising=False)
    monkeypatch.delenv(hub.CLUTRR_ENV, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    why = get_task("babi_induction").unavailable()
    assert why.startswith("https://huggingface.co is unreachable (URLError") and "set KIT_BABI_DIR" in why
    why = get_task("clutrr").unavailable()
    assert "raw.githubusercontent.com is unreachable" in why and "set KIT_CLUTRR_DIR" in why
    monkeypatch.setattr("urllib.request.urlopen", lambda request, timeout: io.BytesIO(b""))
    assert get_task("clutrr").unavailable() is None  # reachable: the download will be tried
    monkeypatch.setenv(hub.CLUTRR_ENV, str(ASSETS / "clutrr"))
    assert get_task("clutrr").unavailable() is None


def test_the_pinned_revisions_are_full_commits_and_versions_name_them():
    for sha in (hub.BABI_REVISION, hub.CLUTRR_REVISION):
        assert len(sha) == 40 and int(sha, 16) >= 0
    assert hub.BABI_REVISION[:7] in get_task("babi_deduction").VERSION
    assert hub.BABI_REVISION[:7] in get_task("babi_induction").VERSION
    assert hub.CLUTRR_REVISION[:7] in get_task("clutrr").VERSION
    assert len(hub.CLUTRR_SHA256) == 64


def test_a_download_that_is_not_the_pinned_file_is_refused_and_not_kept(isolated, monkeypatch):
    from kit.runs import kit_home

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: io.BytesIO(b",id,story\n"))
    with pytest.raises(DataError, match="not the file the kit pins"):
        hub._github_file(hub.CLUTRR_REPO, hub.CLUTRR_REVISION, "gen_train23_test2to10/test.csv", hub.CLUTRR_SHA256)
    assert not list((kit_home() / "downloads").rglob("test.csv"))
