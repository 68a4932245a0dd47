"""IFEval through lm-eval's checker: hand-written responses with known strict/loose verdicts on prompts we wrote in
IFEval's layout (tests/assets/ifeval), the nested item order, the pinned offline inputs of the checker (the shipped
Punkt model, seeded chance), and the gpu profiles that score it."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys

import pytest

from kit.data import formats
from kit.data.schema import DataError
from kit.eval.tasks import ABILITIES, get_task, ifeval
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "assets" / "ifeval" / "input_data.jsonl"
KEYS = [101, 102, 103, 104, 105, 106, 107]


@pytest.fixture
def items(monkeypatch) -> dict[int, dict]:
    monkeypatch.setenv(ifeval.ENV_VAR, str(FIXTURE))
    return {item["reference"]["key"]: item for item in ifeval.load_items(None, 0)}


def verdict(item: dict, response: str) -> tuple[float, float, float, float]:
    s = ifeval.score(item, response)
    return s["score"], s["prompt_loose"], s["inst_strict"], s["inst_loose"]


def test_ifeval_is_a_registered_general_task_that_can_run_here():
    assert get_task("ifeval") is ifeval and ABILITIES["ifeval"] == "general"
    assert ifeval.unavailable() is None, "lm-eval[ifeval] is in requirements.txt: the real checker must run in CI"
    assert ifeval.VERSION.startswith("1-lmeval0.") and "missing" not in ifeval.VERSION


def test_items_are_the_publisher_keys_in_a_nested_seeded_order(monkeypatch):
    monkeypatch.setenv(ifeval.ENV_VAR, str(FIXTURE))
    every = ifeval.load_items(None, 0)
    assert sorted(item["reference"]["key"] for item in every) == KEYS
    assert ifeval.load_items(3, 0) == every[:3] and ifeval.load_items(5, 0) == every[:5]
    assert [i["id"] for i in ifeval.load_items(None, 1)] != [i["id"] for i in every]
    first = every[0]
    record = next(
        json.loads(line) for line in FIXTURE.read_text().splitlines() if f'"key": {first["reference"]["key"]},' in line
    )
    assert first["id"] == f"ifeval-{record['key']}"
    assert first["messages"] == [{"role": "user", "content": record["prompt"]}]
    with pytest.raises(DataError, match="7 prompts; asked for n=8"):
        ifeval.load_items(8, 0)


LOWERCASE_NOTE = "dear sam, our grey cat milo slipped out last night. if you see him, please call me. thank you!"


@pytest.mark.parametrize(
    "key, response, expected",
    [
        # (prompt strict, prompt loose, instruction strict, instruction loose)
        (101, LOWERCASE_NOTE, (1, 1, 1, 1)),
        (101, "Dear Sam, our grey cat Milo slipped out last night. Please call me if you see him.", (0, 0, 0, 0)),
        (101, "**Note to Sam**\n" + LOWERCASE_NOTE, (0, 1, 0, 1)),  # loose drops the capitalised first line
        (102, "The lighthouse stands alone on the cliff and its beam sweeps the black sea all night.", (1, 1, 1, 1)),
        (102, "The lighthouse stands alone, and its beam sweeps the black sea all night.", (0, 0, 0.5, 0.5)),
        (103, "* hold a stack of papers\n* reset a router\n* replace a lost zipper pull", (1, 1, 1, 1)),
        (103, "* hold papers\n* reset a router", (0, 0, 0, 0)),
        # four bullets: loose also reads the response without its last line, which has three
        (103, "* hold papers\n* reset a router\n* a zipper pull\n* a bookmark", (0, 1, 0, 1)),
        (
            104,
            "<<Rain>>\nThe rain came at dusk. It washed the town clean.\nIs there anything else I can help with?",
            (1, 1, 1, 1),
        ),
        # an end phrase followed by a sign-off: strict fails it, loose reads the response without its last line
        (
            104,
            "<<Rain>>\nThe rain came at dusk.\nIs there anything else I can help with?\nHave a nice day.",
            (0, 1, 0.5, 1),
        ),
        (105, "Plants take in light. They turn water and air into sugar. Oxygen is left over.", (1, 1, 1, 1)),
        (105, "Plants take in light. They use water. They use air. They make sugar.", (0, 0, 0, 0)),
        (106, '```json\n{"name": "Emmy Noether", "born": 1882}\n```', (1, 1, 1, 1)),
        (106, 'Here you go: {"name": "Emmy Noether", "born": 1882}', (0, 0, 0, 0)),
    ],
)
def test_hand_written_responses_get_the_verdicts_ifeval_gives(items, key, response, expected):
    assert verdict(items[key], response) == expected


def test_per_instruction_verdicts_are_kept_in_the_prompts_order(items):
    s = ifeval.score(items[104], "<<Rain>>\nThe rain came at dusk.\nIs there anything else I can help with?\nBye.")
    assert (s["strict"], s["loose"]) == ([True, False], [True, True])


def test_blank_response_follows_nothing_even_an_instruction_it_cannot_break(items):
    # "no commas" and "fewer than 40 words" hold for an empty string, but IFEval counts a blank response as failing
    assert verdict(items[102], "  \n") == (0, 0, 0, 0)


def test_sentences_are_counted_with_the_shipped_punkt_model(items):
    # Punkt's English model knows "Dr." and "U.S." as abbreviations: three sentences, not five
    response = "Dr. Reyes studies plants in the U.S. and abroad. Leaves turn light into sugar. Oxygen is left over."
    assert verdict(items[105], response) == (1, 1, 1, 1)


def test_a_random_letter_instruction_gets_one_verdict_and_leaves_random_alone(items):
    # The checker replaces the non-letter "#" by a random letter; the draw is seeded by the item's key.
    response = "Bake sale at the library on Saturday: cookies, pies and lemon bars! #bakesale #community"
    random.seed(12345)
    expected_next = random.random()
    random.seed(12345)
    first = ifeval.score(items[107], response)
    assert random.random() == expected_next, "the global random state is restored after scoring"
    assert all(ifeval.score(items[107], response) == first for _ in range(5))


def test_unknown_instruction_id_fails_at_load_before_any_generation(tmp_path, monkeypatch):
    path = tmp_path / "input_data.jsonl"
    record = {"key": 1, "prompt": "Say hi.", "instruction_id_list": ["made_up:greeting"], "kwargs": [{}]}
    path.write_text(json.dumps(record) + "\n")
    monkeypatch.setenv(ifeval.ENV_VAR, str(path))
    with pytest.raises(DataError, match="does not know: \\['made_up:greeting'\\]"):
        ifeval.load_items(None, 0)


@pytest.mark.parametrize(
    "record, why",
    [
        ({"key": 1, "prompt": "Hi.", "instruction_id_list": ["punctuation:no_comma"]}, "missing keys \\['kwargs'\\]"),
        ({"key": "1", "prompt": "Hi.", "instruction_id_list": ["a:b"], "kwargs": [{}]}, "'key' must be an integer"),
        ({"key": 1, "prompt": "Hi.", "instruction_id_list": ["a:b", "c:d"], "kwargs": [{}]}, "one per instruction"),
        ({"key": 1, "prompt": " ", "instruction_id_list": ["a:b"], "kwargs": [{}]}, "'prompt' must be"),
    ],
)
def test_a_malformed_ifeval_record_fails_naming_its_line(tmp_path, record, why):
    path = tmp_path / "input_data.jsonl"
    good = {"key": 0, "prompt": "Hello.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(DataError, match=f"IFEval record input_data.jsonl:2: .*{why}"):
        formats.read_ifeval(path)


def test_a_repeated_key_fails(tmp_path):
    path = tmp_path / "input_data.jsonl"
    path.write_text("".join(FIXTURE.read_text().splitlines(keepends=True)[:2]) * 2)
    with pytest.raises(DataError, match="repeated IFEval keys \\[101, 102\\]"):
        formats.read_ifeval(path)


def test_the_hub_file_is_read_at_the_pinned_revision_and_offline_says_what_to_set(monkeypatch):
    import huggingface_hub

    monkeypatch.delenv(ifeval.ENV_VAR, raising=False)
    asked = []

    def fake_download(**kwargs):
        asked.append(kwargs)
        return str(FIXTURE)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    ifeval._records.cache_clear()
    try:
        assert len(ifeval.load_items(None, 0)) == 7
        assert asked == [
            {"repo_id": "google/IFEval", "repo_type": "dataset", "filename": "ifeval_input_data.jsonl",
             "revision": "966cd89545d6b6acfd7638bc708b98261ca58e84"}
        ]  # fmt: skip

        def offline(**kwargs):
            raise OSError("no network")

        monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
        ifeval._records.cache_clear()
        with pytest.raises(DataError, match="set KIT_IFEVAL_FILE to a local copy"):
            ifeval.load_items(1, 0)
    finally:
        ifeval._records.cache_clear()


def test_a_changed_punkt_file_is_refused(tmp_path):
    root = tmp_path / "nltk_data"
    shutil.copytree(ifeval.PUNKT_ROOT / "tokenizers", root / "tokenizers")
    folder = root / ifeval.PUNKT_ENGLISH
    assert ifeval.check_punkt(root) == folder
    (folder / "collocations.tab").rename(folder / "collocations.bak")
    with pytest.raises(DataError, match="collocations.tab is missing"):
        ifeval.check_punkt(root)
    (folder / "collocations.bak").rename(folder / "collocations.tab")
    with (folder / "abbrev_types.txt").open("a") as f:
        f.write("etc\n")
    with pytest.raises(DataError, match="abbrev_types.txt is not the pinned Punkt file"):
        ifeval.check_punkt(root)


def test_the_checker_loads_and_counts_sentences_without_trying_to_download():
    # A fresh process (the checker is imported once per process); NLTK's downloader raises if lm-eval calls it.
    code = (
        "import nltk\n"
        "def no_download(*a, **k):\n"
        "    raise AssertionError('tried to download ' + repr(a))\n"
        "nltk.download = no_download\n"
        "from kit.eval.tasks import ifeval\n"
        "utils = ifeval.checker()\n"
        "print(utils.instructions_registry.instructions.instructions_util.count_sentences('One. Two! Three?'))\n"
    )
    env = {"PATH": "", "NLTK_DATA": "/nonexistent", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "3"


def test_a_missing_checker_is_named_with_its_install_command(monkeypatch):
    monkeypatch.setattr(ifeval, "NEEDS", ("lm_eval", "no_such_module_for_ifeval"))
    why = ifeval.unavailable()
    assert "no_such_module_for_ifeval" in why and "pip install 'lm-eval[ifeval]'" in why


def test_every_ifeval_metric_reaches_the_result_and_the_rows(items):
    from kit.eval.phase import generation_metrics
    from kit.report.rows import METRICS

    responses = {101: LOWERCASE_NOTE, 104: "<<Rain>>\nIt rained.\nIs there anything else I can help with?\nBye."}
    records = [{"id": items[k]["id"], **ifeval.score(items[k], r)} for k, r in responses.items()]
    metrics = generation_metrics(records, ifeval.VERSION)
    assert {name: m["score"] for name, m in metrics.items()} == {
        "accuracy": 0.5, "prompt_loose": 1.0, "inst_strict": 0.75, "inst_loose": 1.0
    }  # fmt: skip
    assert set(metrics) <= set(METRICS)


@pytest.mark.parametrize("name", ["rq1", "rq2", "rq3", "rq4"])
def test_p1_gpu_profiles_score_general_on_ifeval_and_cpu_profiles_do_not(name):
    from kit.recipe import load_recipe

    path = REPO / "recipes" / f"{name}.yaml"
    gpu = load_recipe(path, profile="gpu")
    assert "ifeval" in gpu.grid.abilities["general"]
    spec = next(s for s in gpu.eval.tasks if s.task == "ifeval")
    assert spec.n == 200 and not spec.optional
    for profile in ("cpu", "cpu-long"):
        cpu = load_recipe(path, profile=profile)
        assert "ifeval" not in cpu.grid.abilities["general"]
        assert "ifeval" not in [s.task for s in cpu.eval.tasks]
