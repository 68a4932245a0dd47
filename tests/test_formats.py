"""Publisher-format readers: the real samples in ../shared/data, malformed-row accounting, the 10% rule, hub errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from kit.data import formats
from kit.data.schema import DataError, validate_row

SHARED = Path(__file__).parents[2] / "shared" / "data"


def shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"sample data not present: {path}")
    return path


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def gsm8k_records(n: int) -> list[dict]:
    return [{"question": f"What is {k} + 1?", "answer": f"{k} + 1 = {k + 1}\n#### {k + 1}"} for k in range(n)]


# --- the kit's own small files in each format (tests/assets: run on a bare clone) ---

ASSETS = Path(__file__).parent / "assets"


def test_gsm8k_asset_rows_end_with_the_answer_line():
    rows, report = formats.read_local(ASSETS / "gsm8k.jsonl", "gsm8k", source_name="gsm8k")
    assert report["read"] == report["kept"] == 3
    assert [r["id"] for r in rows] == ["gsm8k.jsonl:1", "gsm8k.jsonl:2", "gsm8k.jsonl:3"]
    assert [r["messages"][1]["content"].rstrip().split("\n")[-1] for r in rows] == ["#### 7", "#### 150", "#### 84"]
    for row in rows:
        validate_row(row)


def test_alpaca_asset_joins_input_and_sets_aside_an_empty_output():
    rows, report = formats.read_local(ASSETS / "code_alpaca.json", "alpaca", source_name="code")
    assert (report["read"], report["kept"], report["reasons"]) == (10, 9, {"empty 'output'": 1})  # a tenth: kept
    assert rows[0]["messages"][0]["content"] == "Write a function that returns the square of a number."
    assert rows[1]["messages"][0]["content"] == "Reverse the given list.\n\nitems = [1, 2, 3]"


def test_sharegpt_asset_keeps_turns_in_order_and_trims_both_ends():
    rows, report = formats.read_local(ASSETS / "sharegpt.json", "sharegpt", source_name="sharegpt")
    by_id = {r["id"]: r["messages"] for r in rows}
    assert [m["role"] for m in by_id["chat_1"]] == ["user", "assistant"] * 2
    assert [m["content"] for m in by_id["chat_2"]] == ["Name a colour.", "Blue."]
    for row in rows:
        validate_row(row)


def test_mtbench_asset_questions_have_two_turns():
    items = formats.read_mtbench(ASSETS / "mt_bench_question.jsonl")
    assert [(i["id"], i["category"], len(i["turns"])) for i in items] == [("1", "writing", 2), ("2", "math", 2)]


# --- the real samples ---


def test_gsm8k_sample_reads_every_record_with_its_answer_line():
    rows, report = formats.read_local(shared("gsm8k/test.jsonl"), "gsm8k", source_name="gsm8k")
    assert report["read"] == report["kept"] == 1319 and report["rejected"] == 0
    first = rows[0]
    assert first["id"] == "test.jsonl:1"
    assert first["messages"][0]["content"].startswith("Janet")
    assert first["messages"][1]["content"].rstrip().endswith("#### 18")
    for row in rows:
        validate_row(row)


def test_alpaca_sample_joins_instruction_and_input_and_reports_empty_outputs():
    rows, report = formats.read_local(shared("code_alpaca/code_alpaca_2k.json"), "alpaca", source_name="code")
    assert report["read"] == 2017
    assert report["reasons"] == {"empty 'output'": 2} and report["kept"] == 2015
    assert len(report["rejected_ids"]["empty 'output'"]) == 2
    first = rows[0]["messages"]
    assert first[0]["content"] == (
        "What are the distinct values from the given list?\n\ndataList = [3, 9, 3, 5, 7, 9, 5]"
    )
    assert first[1]["content"].startswith("The distinct values")


def test_sharegpt_sample_keeps_multi_turn_conversations_with_their_own_ids():
    rows, report = formats.read_local(
        shared("sharegpt_format/dummy_conversation.json"), "sharegpt", source_name="sharegpt"
    )
    assert report["kept"] == report["read"] > 0
    by_id = {r["id"]: r for r in rows}
    assert [m["role"] for m in by_id["identity_2"]["messages"]] == ["user", "assistant"] * 3
    for row in rows:
        validate_row(row)


def test_mtbench_questions_are_eval_items_with_two_turns():
    items = formats.read_mtbench(shared("mt_bench/question.jsonl"))
    assert len(items) == 80
    assert items[0]["id"] == "81" and items[0]["task"] == "mtbench" and items[0]["category"] == "writing"
    assert all(len(item["turns"]) == 2 for item in items)


def test_mtbench_is_not_accepted_as_a_training_format(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question_id": 1, "category": "x", "turns": ["hi"]}])
    with pytest.raises(DataError, match="read_mtbench"):
        formats.read_local(path, "mtbench", source_name="x")


# --- conversions on small fixtures ---


def test_sharegpt_drops_a_leading_assistant_turn_and_trims_a_trailing_user_turn(tmp_path):
    record = {
        "id": "c1",
        "conversations": [
            {"from": "gpt", "value": "Hello there"},
            {"from": "human", "value": "Hi"},
            {"from": "chatgpt", "value": "How can I help?"},
            {"from": "human", "value": "Never mind"},
        ],
    }
    path = tmp_path / "conv.json"
    path.write_text(json.dumps([record]))
    rows, report = formats.read_local(path, "sharegpt", source_name="s")
    assert rows[0]["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "How can I help?"},
    ]
    assert report["adjusted"] == {"dropped a leading assistant turn": 1, "trimmed trailing user turns": 1}


def test_sharegpt_keeps_a_leading_system_turn_and_accepts_user_assistant_names(tmp_path):
    record = {
        "id": "s1",
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "user", "value": "Hi"},
            {"from": "bard", "value": "Hello."},
        ],
    }
    path = tmp_path / "conv.json"
    path.write_text(json.dumps([record]))
    rows, _ = formats.read_local(path, "sharegpt", source_name="s")
    assert [m["role"] for m in rows[0]["messages"]] == ["system", "user", "assistant"]


def test_chat_rows_without_ids_get_file_and_line_ids(tmp_path):
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    path = write_jsonl(tmp_path / "mine.jsonl", [{"messages": chat}, {"id": "named", "messages": chat}])
    rows, _ = formats.read_local(path, "chat", source_name="mine")
    assert [r["id"] for r in rows] == ["mine.jsonl:1", "named"]
    assert all(r["source"] == "mine" for r in rows)


def test_alpaca_without_input_uses_the_instruction_alone(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"instruction": "Say hi.", "input": "", "output": "hi"}]))
    rows, _ = formats.read_local(path, "alpaca", source_name="a")
    assert rows[0]["messages"][0]["content"] == "Say hi."


# --- malformed rows and the 10% rule ---


def test_a_few_malformed_rows_are_counted_with_reasons_and_ids(tmp_path):
    records = gsm8k_records(20)
    records[3] = {"question": "no answer key"}
    records[7]["answer"] = "   "
    path = write_jsonl(tmp_path / "g.jsonl", records)
    rows, report = formats.read_local(path, "gsm8k", source_name="g")
    assert (report["read"], report["kept"], report["rejected"]) == (20, 18, 2)
    assert report["reasons"] == {"missing key 'answer'": 1, "empty 'answer'": 1}
    assert report["rejected_ids"]["missing key 'answer'"] == ["g.jsonl:4"]
    assert len(rows) == 18


def test_more_than_a_tenth_malformed_raises_naming_file_format_and_problem(tmp_path):
    records = gsm8k_records(20)
    for k in (1, 2, 3):
        records[k]["answer"] = "no final line"
    path = write_jsonl(tmp_path / "g.jsonl", records)
    with pytest.raises(DataError) as err:
        formats.read_local(path, "gsm8k", source_name="g")
    message = str(err.value)
    assert "g.jsonl" in message and "'gsm8k'" in message
    assert "answer has no '#### N' line" in message and "format:" in message


def test_exactly_a_tenth_malformed_is_still_accepted(tmp_path):
    records = gsm8k_records(20)
    records[0]["answer"], records[1]["answer"] = "", ""
    _, report = formats.read_local(write_jsonl(tmp_path / "g.jsonl", records), "gsm8k", source_name="g")
    assert report["rejected"] == 2 and report["kept"] == 18


def test_invalid_json_lines_count_as_malformed_rows(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", gsm8k_records(10))
    path.write_text(path.read_text() + "{oops\n")
    _, report = formats.read_local(path, "gsm8k", source_name="g")
    assert report["reasons"] == {"line is not valid JSON": 1}


def test_sharegpt_roles_out_of_order_are_reported(tmp_path):
    good = {"id": "ok", "conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}
    turns = [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}, {"from": "gpt", "value": "c"}]
    path = tmp_path / "c.json"
    path.write_text(json.dumps([good | {"id": f"g{k}"} for k in range(9)] + [{"id": "bad", "conversations": turns}]))
    _, report = formats.read_local(path, "sharegpt", source_name="s")
    assert report["reasons"] == {"turns do not alternate user/assistant": 1}
    assert report["rejected_ids"] == {"turns do not alternate user/assistant": ["bad"]}


def test_a_duplicate_id_is_a_malformed_row(tmp_path):
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    records = [{"id": f"r{k}", "messages": chat} for k in range(10)] + [{"id": "r0", "messages": chat}]
    _, report = formats.read_local(write_jsonl(tmp_path / "c.jsonl", records), "chat", source_name="c")
    assert report["reasons"] == {"duplicate id": 1} and report["kept"] == 10


def test_a_json_list_of_another_format_raises_saying_what_it_looks_like(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps([{"instruction": "i", "input": "", "output": "o"}] * 3))
    with pytest.raises(DataError, match=r"JSON list.*looks like format 'alpaca'"):
        formats.read_local(path, "gsm8k", source_name="x")


def test_a_file_that_is_not_json_raises_naming_the_format_and_its_start(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("question,answer\nwhat,42\n")
    with pytest.raises(DataError, match=r"'gsm8k'.*question,answer"):
        formats.read_local(path, "gsm8k", source_name="x")


def test_a_missing_file_raises_naming_the_path(tmp_path):
    with pytest.raises(DataError, match="nowhere.jsonl"):
        formats.read_local(tmp_path / "nowhere.jsonl", "gsm8k", source_name="x")


def test_an_unknown_format_lists_the_valid_ones(tmp_path):
    with pytest.raises(DataError, match="gsm8k, alpaca, sharegpt, chat"):
        formats.read_local(tmp_path / "x.json", "alpacca", source_name="x")


# --- the hub, with a stand-in `datasets` module (no network in tests) ---


@pytest.fixture
def fake_datasets(monkeypatch):
    calls = []
    module = types.ModuleType("datasets")

    def load_dataset(path, name=None, split=None, revision=None):
        calls.append((path, name, split) if revision is None else (path, name, split, revision))
        if path == "offline/broken":
            raise ConnectionError("Couldn't reach 'offline/broken' on the Hub (LocalEntryNotFoundError)")
        return gsm8k_records(5)

    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)
    return calls


def test_a_known_hub_id_needs_no_format_and_gets_its_config(fake_datasets):
    rows, report = formats.load_hub("openai/gsm8k", None, "train", source_name="hf:openai/gsm8k")
    assert fake_datasets == [("openai/gsm8k", "main", "train")]
    assert report["format"] == "gsm8k" and report["kept"] == 5
    assert rows[0]["id"] == "openai/gsm8k:train:0"


def test_a_hub_source_reads_its_pinned_revision(fake_datasets):
    from kit.data.mixture import load_pool
    from kit.recipe.schema import SourceSpec

    entry = SourceSpec(source="hf:openai/gsm8k", revision="e53f048856ff4f594e959d75785d2c2d37b678ee", pool_n=3)
    rows, report = load_pool(entry, 0)
    assert fake_datasets == [("openai/gsm8k", "main", "train", entry.revision)]
    assert report["revision"] == entry.revision and len(rows) == 3


def test_an_unreachable_hub_raises_suggesting_local_or_builtin_sources(fake_datasets):
    with pytest.raises(DataError) as err:
        formats.load_hub("offline/broken", "gsm8k", "train", source_name="x")
    message = str(err.value)
    assert "could not be reached" in message and "local:" in message and "builtin:" in message


def test_an_unknown_hub_id_without_format_asks_for_one(fake_datasets):
    with pytest.raises(DataError, match="format:"):
        formats.load_hub("someone/data", None, "train", source_name="x")
    assert fake_datasets == []
