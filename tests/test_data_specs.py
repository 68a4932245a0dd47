"""Data specs of hub and local sources: a dataset's config and files (name, data_files), its layout (columns, roles),
strict loading of them, their place in run keys, and P1's ShareGPT file pinned in the gpu profiles."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import types
from pathlib import Path

import pytest

from kit import runs
from kit.data import formats
from kit.data.mixture import load_pool
from kit.data.schema import DataError
from kit.recipe import DataSpec, Recipe, RecipeError, SourceSpec, load_recipe
from tests.conftest import REPO, SHARED_DATA, write_recipe

SHAREGPT_DUMMY = SHARED_DATA / "sharegpt_format" / "dummy_conversation.json"
SHAREGPT_REPO = "anon8231489123/ShareGPT_Vicuna_unfiltered"
SHAREGPT_FILE = "ShareGPT_V3_unfiltered_cleaned_split.json"
COMMIT = "192ab2185289094fc556ec8ce5ce1e8e587154ca"


def shared_sharegpt() -> Path:
    if not SHAREGPT_DUMMY.is_file():
        pytest.skip(f"sample data not present: {SHAREGPT_DUMMY}")
    return SHAREGPT_DUMMY


def write_json(path: Path, records: list) -> Path:
    path.write_text(json.dumps(records))
    return path


def speaker_text_records() -> list[dict]:
    """ShareGPT-shaped conversations whose turns say ``speaker``/``text`` and whose speakers shout."""
    return [
        {
            "id": f"c{k}",
            "dialog": [
                {"speaker": "SYS", "text": "Be brief."},
                {"speaker": "USER", "text": f"What is {k} + 1?"},
                {"speaker": "ASSISTANT", "text": str(k + 1)},
            ],
        }
        for k in range(10)
    ]


SPEAKER_TEXT = {"conversations": "dialog", "role": "speaker", "content": "text"}
SHOUTED = {"USER": "user", "ASSISTANT": "assistant", "SYS": "system"}


# --- reading a layout: local files --------------------------------------------------------------------------------


def test_a_sharegpt_file_with_its_own_keys_and_speakers_is_read_through_columns_and_roles(tmp_path):
    path = write_json(tmp_path / "chats.json", speaker_text_records())
    rows, report = formats.read_local(path, "sharegpt", source_name="s", columns=SPEAKER_TEXT, roles=SHOUTED)
    assert report["kept"] == 10 and report["rejected"] == 0
    assert rows[3]["id"] == "c3"
    assert rows[3]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 3 + 1?"},
        {"role": "assistant", "content": "4"},
    ]
    assert report["columns"] == SPEAKER_TEXT and report["roles"] == SHOUTED
    with pytest.raises(DataError, match="10 of 10 records are malformed.*missing key 'conversations'"):
        formats.read_local(path, "sharegpt", source_name="s")


def test_roles_replace_the_format_speaker_names_so_an_unlisted_speaker_is_a_malformed_record(tmp_path):
    records = speaker_text_records()
    records[0]["dialog"][1]["speaker"] = "user"  # FastChat's table would take it; the recipe's roles do not
    path = write_json(tmp_path / "chats.json", records)
    rows, report = formats.read_local(path, "sharegpt", source_name="s", columns=SPEAKER_TEXT, roles=SHOUTED)
    assert report["reasons"] == {"unknown speaker 'user'": 1} and report["rejected_ids"] == {
        "unknown speaker 'user'": ["c0"]
    }
    assert len(rows) == 9


def test_the_publishers_layout_written_out_reads_the_shared_sharegpt_file_exactly_as_the_default(tmp_path):
    path = shared_sharegpt()
    default, _ = formats.read_local(path, "sharegpt", source_name="s")
    spelled, _ = formats.read_local(
        path,
        "sharegpt",
        source_name="s",
        columns={"conversations": "conversations", "role": "from", "content": "value"},
        roles={"human": "user", "gpt": "assistant"},
    )
    assert spelled == default and len(default) == len(json.loads(path.read_text()))
    # the same conversations under other names (a copy in tmp_path) read back to the same rows
    renamed = [
        {"id": r["id"], "dialog": [{"speaker": t["from"].upper(), "text": t["value"]} for t in r["conversations"]]}
        for r in json.loads(path.read_text())
    ]
    other, _ = formats.read_local(
        write_json(tmp_path / "renamed.json", renamed),
        "sharegpt",
        source_name="s",
        columns=SPEAKER_TEXT,
        roles={"HUMAN": "user", "GPT": "assistant"},
    )
    assert [r["messages"] for r in other] == [r["messages"] for r in default]


def test_chat_messages_under_other_keys_are_renamed_and_their_roles_mapped(tmp_path):
    records = [
        {"turns": [{"who": "human", "says": f"hi {k}", "ts": 1}, {"who": "bot", "says": "hello", "ts": 2}]}
        for k in range(10)
    ]
    path = write_json(tmp_path / "chat.json", records)
    columns = {"messages": "turns", "role": "who", "content": "says"}
    rows, report = formats.read_local(
        path, "chat", source_name="c", columns=columns, roles={"human": "user", "bot": "assistant"}
    )
    assert report["kept"] == 10
    assert rows[0]["messages"] == [{"role": "user", "content": "hi 0"}, {"role": "assistant", "content": "hello"}]


def test_gsm8k_and_alpaca_columns_name_the_fields_where_the_dataset_keeps_them(tmp_path):
    gsm = write_json(tmp_path / "g.json", [{"q": f"{k} + 1?", "a": f"so\n#### {k + 1}"} for k in range(5)])
    rows, _ = formats.read_local(gsm, "gsm8k", source_name="g", columns={"question": "q", "answer": "a"})
    assert rows[2]["messages"][0]["content"] == "2 + 1?" and rows[2]["messages"][1]["content"].endswith("#### 3")
    alp = [{"prompt": "Sort", "context": "3 1 2", "completion": "1 2 3"} for _ in range(3)]
    alp = write_json(tmp_path / "a.json", [dict(r, id=str(k)) for k, r in enumerate(alp)])
    columns = {"instruction": "prompt", "input": "context", "output": "completion"}
    rows, _ = formats.read_local(alp, "alpaca", source_name="a", columns=columns)
    assert rows[0]["messages"][0]["content"] == "Sort\n\n3 1 2"


def test_a_layout_the_format_cannot_have_raises_before_reading(tmp_path):
    with pytest.raises(DataError, match="columns.questio: format 'gsm8k' has no field 'questio'.*'question'"):
        formats.read_local(tmp_path / "absent.json", "gsm8k", source_name="g", columns={"questio": "q"})
    with pytest.raises(DataError, match="roles.GPT: must be one of user, assistant, system, got 'bot'"):
        formats.read_local(tmp_path / "absent.json", "sharegpt", source_name="s", roles={"H": "user", "GPT": "bot"})


# --- the hub path: datasets.load_dataset stood in for (the hub is unreachable in tests) ---------------------------


@pytest.fixture
def load_dataset_calls(monkeypatch):
    """A stand-in ``datasets`` whose load_dataset records its arguments and returns speaker/text conversations."""
    calls = []
    module = types.ModuleType("datasets")

    def load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return [{"question": "1?", "answer": "#### 1"}] * 3 if path == "openai/gsm8k" else speaker_text_records()

    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)
    return calls


def test_a_hub_source_passes_its_config_files_and_revision_to_load_dataset_and_records_them(load_dataset_calls):
    entry = SourceSpec(
        "hf:someone/chats",
        format="sharegpt",
        name="en",
        data_files=("part1.json", "part2.json"),
        revision=COMMIT,
        columns=SPEAKER_TEXT,
        roles=SHOUTED,
        pool_n=4,
    )
    rows, report = load_pool(entry, 0)
    assert load_dataset_calls == [
        (
            "someone/chats",
            {"name": "en", "split": "train", "revision": COMMIT, "data_files": ["part1.json", "part2.json"]},
        )
    ]
    assert len(rows) == 4 and rows[0]["messages"][0]["role"] == "system"
    assert (report["config"], report["revision"], report["data_files"]) == ("en", COMMIT, ["part1.json", "part2.json"])
    assert report["columns"] == SPEAKER_TEXT and report["roles"] == SHOUTED


def test_a_config_name_overrides_a_known_hub_ids_default_and_no_data_files_are_passed_unless_given(load_dataset_calls):
    load_pool(SourceSpec("hf:openai/gsm8k", name="gsm", pool_n=2), 0)
    load_pool(SourceSpec("hf:openai/gsm8k", pool_n=2), 0)
    assert [kwargs for _, kwargs in load_dataset_calls] == [
        {"name": "gsm", "split": "train", "revision": None},
        {"name": "main", "split": "train", "revision": None},
    ]


def test_a_hub_file_is_read_through_the_sources_layout(tmp_path, monkeypatch):
    clone = tmp_path / "clones" / "someone" / "chats"
    clone.mkdir(parents=True)
    write_json(clone / "chats.json", speaker_text_records())
    monkeypatch.setenv("KIT_HUB_CLONES", str(tmp_path / "clones"))
    entry = SourceSpec(
        "hf:someone/chats", format="sharegpt", file="chats.json", columns=SPEAKER_TEXT, roles=SHOUTED, pool_n=5
    )
    rows, report = load_pool(entry, 0)
    assert len(rows) == 5 and report["files_read"][0]["rejected"] == 0
    assert report["columns"] == SPEAKER_TEXT and report["roles"] == SHOUTED


def test_an_unreachable_hub_names_the_data_files_it_asked_for(monkeypatch):
    module = types.ModuleType("datasets")

    def load_dataset(path, **kwargs):
        raise ConnectionError("offline")

    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)
    with pytest.raises(DataError, match="data_files 'x.json'.*could not be reached"):
        formats.load_hub("someone/chats", "sharegpt", "train", source_name="s", data_files="x.json")


# --- strict loading -----------------------------------------------------------------------------------------------

ONE_SOURCE = """
name: r
model: {base: tiny-random-llama}
data: {mixture: [SOURCE]}
eval: {tasks: [{task: builtin_math, n: 2}]}
"""


def problems_of(tmp_path: Path, source: str) -> dict[str, str]:
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml", ONE_SOURCE.replace("SOURCE", source)), profile="cpu")
    return dict(err.value.problems)


def test_a_column_the_format_lacks_is_named_with_its_dotted_key_and_the_formats_fields(tmp_path):
    found = problems_of(tmp_path, '{source: "hf:openai/gsm8k", n: 4, columns: {questio: q}}')
    assert "did you mean 'question'" in found["data.mixture.0.columns.questio"]
    assert "its fields: question, answer" in found["data.mixture.0.columns.questio"]
    found = problems_of(tmp_path, '{source: "hf:x/y", format: doit, file: a.json, n: 4, columns: {messages: m}}')
    assert "fixed fields" in found["data.mixture.0.columns"]


def test_roles_must_map_to_user_assistant_or_system_and_only_for_formats_with_speakers(tmp_path):
    found = problems_of(tmp_path, '{source: "hf:x/y", format: sharegpt, n: 4, roles: {USER: human, BOT: assistant}}')
    assert "must be one of user, assistant, system, got 'human'" in found["data.mixture.0.roles.USER"]
    found = problems_of(tmp_path, '{source: "hf:x/y", format: sharegpt, n: 4, roles: {BOT: assistant}}')
    assert "'user'" in found["data.mixture.0.roles"]
    found = problems_of(tmp_path, '{source: "hf:openai/gsm8k", n: 4, roles: {A: user, B: assistant}}')
    assert "format 'gsm8k' names no speakers" in found["data.mixture.0.roles"]


def test_name_and_data_files_need_a_hub_source_read_through_datasets(tmp_path):
    found = problems_of(tmp_path, '{source: "builtin:math", n: 4, name: main, data_files: [a.json]}')
    assert "needs an 'hf:' source" in found["data.mixture.0.name"]
    assert "needs an 'hf:' source" in found["data.mixture.0.data_files"]
    found = problems_of(tmp_path, '{source: "hf:x/y", format: sharegpt, file: a.json, n: 4, data_files: a.json}')
    assert "give one" in found["data.mixture.0.data_files"]
    found = problems_of(tmp_path, '{source: "hf:x/y", format: sharegpt, n: 4, data_files: []}')
    assert "names no file" in found["data.mixture.0.data_files"]


def test_a_local_file_takes_columns_and_roles_and_a_known_hub_id_its_own_formats_columns(tmp_path):
    path = write_json(tmp_path / "c.json", speaker_text_records())
    text = f'{{source: "local:{path}", format: sharegpt, n: 4, columns: {json.dumps(SPEAKER_TEXT)}, '
    text += f"roles: {json.dumps(SHOUTED)}}}"
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", ONE_SOURCE.replace("SOURCE", text)), profile="cpu")
    assert recipe.data.mixture[0].columns == SPEAKER_TEXT and recipe.data.mixture[0].roles == SHOUTED
    rows, report = load_pool(recipe.data.mixture[0], 0)
    assert len(rows) == 10 and report["columns"] == SPEAKER_TEXT and report["roles"] == SHOUTED
    text = '{source: "hf:openai/gsm8k", n: 4, name: socratic, data_files: [a.json, b.json], columns: {question: q}}'
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", ONE_SOURCE.replace("SOURCE", text)), profile="cpu")
    assert recipe.data.mixture[0].data_files == ("a.json", "b.json")


# --- run keys -----------------------------------------------------------------------------------------------------

NEW_FIELDS = {
    "name": "en",
    "data_files": ("part1.json",),
    "columns": {"role": "speaker"},
    "roles": {"A": "user", "B": "assistant"},
}


def key_hash(entry: SourceSpec) -> str:
    return runs.content_hash(runs.train_key(Recipe(name="r", data=DataSpec((entry,))).to_dict(), "hf", "float32"))


def test_unset_data_spec_fields_stay_out_of_the_recipe_dict_and_each_set_one_enters_the_run_key():
    plain = SourceSpec("hf:x/y", format="sharegpt", n=4)
    (entry,) = Recipe(name="r", data=DataSpec((plain,))).to_dict()["data"]["mixture"]
    assert set(entry) == {"source", "format", "split", "pool_n", "fraction", "n"}  # as before these fields existed
    hashes = {key_hash(plain)}
    for name, value in NEW_FIELDS.items():
        changed = dataclasses.replace(plain, **{name: value})
        (entry,) = Recipe(name="r", data=DataSpec((changed,))).to_dict()["data"]["mixture"]
        assert entry[name] == value
        hashes.add(key_hash(changed))
    assert len(hashes) == 1 + len(NEW_FIELDS)


def test_existing_run_ids_are_unchanged_by_the_data_spec_fields():
    from tests.test_classify import PINNED_RQ1

    planned = {p.tag: p.recipe for p in load_recipe(REPO / "recipes" / "rq1.yaml", profile="cpu").runs()}
    for tag, (run_id, recipe_hash) in PINNED_RQ1.items():
        resolved = planned[tag].to_dict()
        assert runs.content_hash(runs.train_key(resolved, "hf", "float32")) == run_id, tag
        assert runs.content_hash(resolved) == recipe_hash, tag


# --- P1's ShareGPT, pinned in every gpu profile -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rq1", "rq2", "rq3", "rq4", "p2"])
def test_every_gpu_profile_reads_fastchats_cleaned_split_at_a_pinned_commit(name):
    recipe = load_recipe(REPO / "recipes" / f"{name}.yaml", profile="gpu")
    entries = [
        e
        for p in recipe.runs()
        for stage in p.recipe.stage_list()
        for e in stage.mixture
        if e.source == f"hf:{SHAREGPT_REPO}"
    ]
    assert entries, f"{name}'s gpu profile trains on no ShareGPT"
    for e in entries:
        assert (e.format, e.file, e.revision) == ("sharegpt", SHAREGPT_FILE, COMMIT)
        assert len(e.revision) == 40 and int(e.revision, 16) >= 0


@pytest.mark.parametrize("name, pool", [("rq1", "general"), ("p2", "code"), ("p2", "noncode")])
def test_the_pinned_sharegpt_entry_reads_a_real_sharegpt_file_from_a_local_clone(name, pool, tmp_path, monkeypatch):
    """The gpu profile's own entry, its file served by a local clone (kit.data.hubfile) holding the shared
    ShareGPT-format sample under the pinned file's name."""
    clone = tmp_path / "clones" / SHAREGPT_REPO
    clone.mkdir(parents=True)
    shutil.copy(shared_sharegpt(), clone / SHAREGPT_FILE)
    monkeypatch.setenv("KIT_HUB_CLONES", str(tmp_path / "clones"))
    entry = load_recipe(REPO / "recipes" / f"{name}.yaml", profile="gpu").sources[pool]
    rows, report = load_pool(dataclasses.replace(entry, pool_n=20), 0)
    assert report["files"] == [SHAREGPT_FILE] and report["read"] == len(json.loads(SHAREGPT_DUMMY.read_text()))
    assert report["files_read"][0]["rejected"] <= 0.1 * report["read"]
    if entry.select is None:
        assert len(rows) == 20
    else:  # the sample has no code conversations: the classifier labels it all "other"
        assert report["select"]["counts"]["other"] > 0 and len(rows) == (0 if pool == "code" else 20)
    assert all(m["role"] in ("user", "assistant", "system") for r in rows for m in r["messages"])


def test_the_manifest_records_the_commit_a_hub_revision_named(monkeypatch, tmp_path):
    import huggingface_hub

    from kit.data import hubfile

    sha = "0123456789abcdef0123456789abcdef01234567"
    asked = []

    class Hub:
        def dataset_info(self, repo, revision=None):
            asked.append((repo, revision))
            return type("Info", (), {"sha": sha})()

    monkeypatch.setattr(huggingface_hub, "HfApi", Hub)
    assert hubfile.resolved_commit("o/d", sha) == sha and asked == []  # a commit is its own answer
    assert hubfile.resolved_commit("o/d", None) == sha and asked == [("o/d", None)]

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(Hub, "dataset_info", offline)
    assert hubfile.resolved_commit("o/d", "main") is None
    snapshot = tmp_path / "datasets--o--d" / "snapshots" / sha / "sub" / "f.json"
    assert hubfile._snapshot_commit(snapshot) == sha
    assert hubfile._snapshot_commit(tmp_path / "f.json") is None
