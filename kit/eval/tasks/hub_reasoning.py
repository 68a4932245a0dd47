"""The real test sets behind P2's named logical tasks, for the gpu profile: bAbI tasks 15 and 16, and CLUTRR.

Both are loading-script datasets on the Hugging Face hub that current ``datasets`` no longer runs, so the kit
fetches files and parses them itself (a local copy by environment variable comes first, no network needed):

- **bAbI** (Weston et al. 2015; CC BY 3.0): ``facebook/babi_qa`` holds only its loading script (``babi_qa.py``,
  README, dummy data); the script downloads ``http://www.thespermwhale.com/jaseweston/babi/tasks_1-20_v1-2.tar.gz``
  from outside the hub, a host that no longer serves it, so there is no archive on the hub to pin. The hub copy is
  ``Muennighoff/babi``'s ``babi_test.jsonl`` (records ``{"passage", "question", "answer", "task"}``, one per
  question with the story so far; built by its card's script from the archive's ``en-valid/qa{N}_test.txt``, the
  1k English test questions, which ``en-valid`` shares with ``en``: it only carves a validation set out of train)
  at ``BABI_REVISION``, the commit its dataset card names ("for the bAbI as used in Scaling Data-Constrained
  Language Models use commit e332ae8..."), through ``huggingface_hub``. ``KIT_BABI_DIR`` may instead name an
  extracted ``tasks_1-20_v1-2`` folder of the publisher's own archive: ``en/qa15_basic-deduction_test.txt`` in
  bAbI's text format (numbered lines, numbering restarting at 1 for a new story; a question line is
  ``N question<TAB>answer<TAB>supporting line numbers``). Each question is one item: the story's statements before
  it, then the question.
- **CLUTRR** (Sinha et al. 2019; licence "unknown" on the hub's dataset card, CC BY-NC 4.0 by the README of
  facebookresearch/clutrr and the header of the loading script): ``CLUTRR/v1``'s script reads CSVs from
  the GitHub repository ``kliang5/CLUTRR_huggingface_dataset``; the kit reads the config ``gen_train23_test2to10``
  (train on 2-3 hops, test on 2-10; our choice: P2 does not say which) ``test.csv`` (1,146 stories) at the pinned
  commit ``CLUTRR_REVISION`` of that repository (checked: it is the repository's head, 2022-03-30), and the
  file's sha256 is checked (``CLUTRR_SHA256``, computed from a clone of that commit).
  ``KIT_CLUTRR_DIR`` may name a folder holding ``gen_train23_test2to10/test.csv``. CLUTRR's ``query`` is a pair
  ``(A, B)`` and ``target_text`` is B's relation to A ("B is A's grandson"), which the question states.

Item ids are positions in the file (``babi15-test-0``...), so both sources of bAbI give the same ids; a sample is
the task's nested seeded order (kit.data.subset), so n=10 is a prefix of n=50.
"""

from __future__ import annotations

import ast
import csv
import functools
import hashlib
import io
import json
import os
import re
from pathlib import Path

from kit.data.hubfile import download as _hub_file  # a name of this module: tests stand in for the hub here
from kit.data.schema import DataError

BABI_REPO = "Muennighoff/babi"
BABI_FILE = "babi_test.jsonl"
# The commit Muennighoff/babi's own dataset card names (read from two public copies of the card; the hub itself
# cannot be reached from where this was written, so the download is the first check that it holds the file).
BABI_REVISION = "e332ae8a626bb17178026dd14797abb9da31376e"
BABI_ENV = "KIT_BABI_DIR"
BABI_TEXT_FILES = {15: "en/qa15_basic-deduction_test.txt", 16: "en/qa16_basic-induction_test.txt"}
CLUTRR_REPO = "kliang5/CLUTRR_huggingface_dataset"
CLUTRR_CONFIG = "gen_train23_test2to10"
CLUTRR_REVISION = "e5b496941e91abb7c319d2618a3ce96752bc4ab7"
CLUTRR_SHA256 = "d49c7cbe4f575b48b279313e706ef43e127bfa85b0e860db94fdeb617aea07e9"  # of that commit's test.csv
CLUTRR_ENV = "KIT_CLUTRR_DIR"
CLUTRR_COLUMNS = ("id", "story", "query", "target_text", "genders")


# --- bAbI ---------------------------------------------------------------------------------------------------------


def parse_babi_text(text: str, where: str) -> list[dict]:
    """bAbI's text format -> ``[{"passage", "question", "answer"}]``, one per question line, in file order."""
    out, story = [], []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        number, _, rest = raw.partition(" ")
        if not number.isdigit() or not rest.strip():
            raise DataError(f"{where}:{lineno}: not a bAbI line (expected '<number> <text>'): {raw[:80]!r}")
        if number == "1":
            story = []
        if "\t" in rest:
            parts = rest.split("\t")
            if len(parts) < 2 or not parts[1].strip():
                raise DataError(f"{where}:{lineno}: a question line needs '<question>\\t<answer>\\t<support>'")
            out.append({"passage": "\n".join(story), "question": parts[0].strip(), "answer": parts[1].strip()})
        else:
            story.append(rest.strip())
    if not out:
        raise DataError(f"{where}: no question lines: is this a bAbI task file?")
    return out


def parse_babi_jsonl(text: str, task: int, where: str) -> list[dict]:
    """``Muennighoff/babi`` records of one task -> ``[{"passage", "question", "answer"}]``, in file order."""
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            if int(record["task"]) != task:
                continue
            passage = "\n".join(line.strip() for line in record["passage"].splitlines() if line.strip())
            out.append({"passage": passage, "question": record["question"].strip(), "answer": record["answer"].strip()})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise DataError(f"{where}:{lineno}: not a bAbI record {{passage, question, answer, task}}: {err}") from err
    if not out:
        raise DataError(f"{where}: no records of bAbI task {task}")
    return out


@functools.lru_cache(maxsize=4)
def babi_questions(task: int) -> tuple[dict, ...]:
    """The test questions of bAbI task 15 or 16, from KIT_BABI_DIR if set, else the pinned hub file."""
    local = os.environ.get(BABI_ENV)
    if local:
        path = Path(local) / BABI_TEXT_FILES[task]
        if not path.is_file():
            raise DataError(f"{BABI_ENV}={local}: no {BABI_TEXT_FILES[task]} there (an extracted tasks_1-20_v1-2)")
        return tuple(parse_babi_text(path.read_text(encoding="utf-8"), str(path)))
    path = _hub_file(BABI_REPO, BABI_FILE, BABI_REVISION, BABI_ENV)
    return tuple(parse_babi_jsonl(path.read_text(encoding="utf-8"), task, str(path)))


# --- CLUTRR -------------------------------------------------------------------------------------------------------


def parse_clutrr_csv(text: str, where: str) -> list[dict]:
    """CLUTRR's CSV -> ``[{"id", "story", "head", "tail", "answer", "genders"}]`` in file order: the story without
    its name brackets, the query pair (head, tail), the target (tail's relation to head), name -> gender."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CLUTRR_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{where}: not a CLUTRR CSV: no column(s) {missing} (header {reader.fieldnames})")
    out = []
    for k, row in enumerate(reader):
        line = k + 2  # the header is line 1 (a story with a newline in it would shift this; CLUTRR's have none)
        try:
            head, tail = ast.literal_eval(row["query"])
            genders = dict(pair.split(":") for pair in row["genders"].split(","))
        except (ValueError, SyntaxError) as err:
            raise DataError(f"{where}:{line}: bad query {row['query']!r} or genders {row['genders']!r}") from err
        if not row["target_text"].strip() or head not in genders or tail not in genders:
            raise DataError(f"{where}:{line}: the target or a queried person's gender is missing")
        story = re.sub(r"\[([^\]]+)\]", r"\1", row["story"]).strip()
        out.append(
            {
                "id": row["id"],
                "story": story,
                "head": head,
                "tail": tail,
                "answer": row["target_text"].strip(),
                "genders": genders,
            }  # fmt: skip
        )
    if not out:
        raise DataError(f"{where}: no stories")
    return out


@functools.lru_cache(maxsize=1)
def clutrr_stories() -> tuple[dict, ...]:
    """The test stories of CLUTRR's gen_train23_test2to10, from KIT_CLUTRR_DIR if set, else the pinned commit."""
    name = f"{CLUTRR_CONFIG}/test.csv"
    local = os.environ.get(CLUTRR_ENV)
    if local:
        path = Path(local) / name
        if not path.is_file():
            raise DataError(f"{CLUTRR_ENV}={local}: no {name} there")
        return tuple(parse_clutrr_csv(path.read_text(encoding="utf-8"), str(path)))
    text = _github_file(CLUTRR_REPO, CLUTRR_REVISION, name, CLUTRR_SHA256)
    return tuple(parse_clutrr_csv(text, f"{CLUTRR_REPO}@{name}"))


def _clutrr_cache(name: str, repo: str = CLUTRR_REPO, revision: str = CLUTRR_REVISION) -> Path:
    from kit.runs import kit_home

    return kit_home() / "downloads" / repo.replace("/", "--") / revision / name


def _github_file(repo: str, revision: str, name: str, sha256: str) -> str:
    from urllib.request import urlopen

    cache = _clutrr_cache(name, repo, revision)
    if not cache.is_file():
        url = f"https://raw.githubusercontent.com/{repo}/{revision}/{name}"
        try:
            with urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https URL
                data = response.read()
        except OSError as err:
            raise DataError(f"could not download {url} ({err}); set {CLUTRR_ENV} to a local copy") from err
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise DataError(f"{url}: sha256 {digest}, expected {sha256}: not the file the kit pins; nothing was kept")
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(cache)
    return cache.read_text(encoding="utf-8")


def babi_unavailable(task: int) -> str | None:
    """Why bAbI task 15 or 16 cannot load here, None when it can: the local copy, else the cached or reachable hub."""
    local = os.environ.get(BABI_ENV)
    if local:
        found = (Path(local) / BABI_TEXT_FILES[task]).is_file()
        return None if found else f"{BABI_ENV}={local} has no {BABI_TEXT_FILES[task]} (an extracted tasks_1-20_v1-2)"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return "reading bAbI from the hub needs huggingface_hub (pip install huggingface_hub), or set KIT_BABI_DIR"
    cached = try_to_load_from_cache(BABI_REPO, BABI_FILE, revision=BABI_REVISION, repo_type="dataset")
    if isinstance(cached, str):
        return None
    why = _offline() or _unreachable("https://huggingface.co")
    return why and (
        f"{why}, and {BABI_FILE} of {BABI_REPO}@{BABI_REVISION[:7]} is not cached: set {BABI_ENV} to an "
        "extracted tasks_1-20_v1-2 folder of bAbI (see kit/eval/tasks/hub_reasoning.py)"
    )


def clutrr_unavailable() -> str | None:
    """Why CLUTRR's test set cannot load here, None when it can: the local copy, else the cached or reachable file."""
    name = f"{CLUTRR_CONFIG}/test.csv"
    local = os.environ.get(CLUTRR_ENV)
    if local:
        return None if (Path(local) / name).is_file() else f"{CLUTRR_ENV}={local} has no {name}"
    if _clutrr_cache(name).is_file():
        return None
    why = _offline() or _unreachable("https://raw.githubusercontent.com")
    return why and (
        f"{why}, and {name} of {CLUTRR_REPO}@{CLUTRR_REVISION[:7]} is not cached: set {CLUTRR_ENV} to a folder "
        f"holding {name} (see kit/eval/tasks/hub_reasoning.py)"
    )


def _offline() -> str | None:
    return "HF_HUB_OFFLINE is set" if os.environ.get("HF_HUB_OFFLINE") else None


def _unreachable(url: str, timeout_s: float = 5.0) -> str | None:
    """None when ``url`` answers within ``timeout_s``, else why not (any HTTP answer counts as reachable)."""
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    try:
        with urlopen(Request(url, method="HEAD"), timeout=timeout_s):  # noqa: S310 - a fixed https URL
            return None
    except HTTPError:
        return None
    except OSError as err:
        return f"{url} is unreachable ({type(err).__name__}: {err})"


# --- items ----------------------------------------------------------------------------------------------------------

# CLUTRR's relation words, in gender pairs (male, female), with each pair's inverse and one generation off.
KIN_PAIRS = {
    "parent": ("father", "mother"), "child": ("son", "daughter"), "sibling": ("brother", "sister"),
    "spouse": ("husband", "wife"), "grandparent": ("grandfather", "grandmother"),
    "grandchild": ("grandson", "granddaughter"), "auncle": ("uncle", "aunt"), "nibling": ("nephew", "niece"),
    "parent-in-law": ("father-in-law", "mother-in-law"), "child-in-law": ("son-in-law", "daughter-in-law"),
    "sibling-in-law": ("brother-in-law", "sister-in-law"),
}  # fmt: skip
KIN_INVERSE = {
    "parent": "child", "child": "parent", "sibling": "sibling", "spouse": "spouse", "grandparent": "grandchild",
    "grandchild": "grandparent", "auncle": "nibling", "nibling": "auncle", "parent-in-law": "child-in-law",
    "child-in-law": "parent-in-law", "sibling-in-law": "sibling-in-law",
}  # fmt: skip
KIN_NEAR = {
    "parent": "grandparent", "child": "grandchild", "sibling": "auncle", "spouse": "sibling-in-law",
    "grandparent": "parent", "grandchild": "child", "auncle": "parent", "nibling": "child",
    "parent-in-law": "parent", "child-in-law": "child", "sibling-in-law": "sibling",
}  # fmt: skip
KIN_WORDS = tuple(word for pair in KIN_PAIRS.values() for word in pair)
# bAbI task 15's four species, plural or singular -> bAbI's answer (the singular)
BABI_ANIMALS = {"mice": "mouse", "mouse": "mouse", "cats": "cat", "cat": "cat", "sheep": "sheep", "wolves": "wolf",
                "wolf": "wolf"}  # fmt: skip
BABI_PLURALS = {"mouse": ["mice"], "cat": ["cats"], "wolf": ["wolves"]}  # accepted beside bAbI's singular answers
BABI_COLOURS = ("white", "green", "yellow", "gray")


def kin_distractors(gold: str, key: str) -> list[str]:
    """Wrong relation words of the gold's gender, best first: the relation the other way round (a grandson's
    grandfather), one generation off (son), then the rest in an order fixed by ``key``; the other gender's words
    last. Same gender, so a distractor is never ruled out by the asked person's name or pronoun alone."""
    group = next(g for g, pair in KIN_PAIRS.items() if gold in pair)
    side = KIN_PAIRS[group].index(gold)
    same = [pair[side] for pair in KIN_PAIRS.values()]
    first = [KIN_PAIRS[KIN_INVERSE[group]][side], KIN_PAIRS[KIN_NEAR[group]][side]]
    rest = ordered_others(set(same) - set(first), gold, key)
    other_gender = ordered_others([pair[1 - side] for pair in KIN_PAIRS.values()], gold, key)
    return [w for w in dict.fromkeys([*first, *rest, *other_gender]) if w != gold]


def ordered_others(options, gold: str, key: str) -> list[str]:
    """The options other than the gold in a fixed order that depends on the item (not on the options' order)."""
    others = sorted(set(options) - {gold})
    return sorted(others, key=lambda o: hashlib.sha256(f"{key}:{o}".encode()).hexdigest())


def test_set(items, what: str):
    """``(load_items, dense_items)`` of a task on a real test set: ``items()`` gives each (item, its distractors, best
    first); a sample is the seeded nested order, the twins take the first two distractors."""
    from kit.eval.tasks import short_answer

    def load_items(n: int | None, seed: int) -> list[dict]:
        return nested([item for item, _ in items()], n, seed, what)

    def dense_items(n: int, seed: int) -> list[dict]:
        others = {item["id"]: o for item, o in items()}
        return [short_answer.dense_item(it, others[it["id"]][:2]) for it in load_items(n, seed)]

    return load_items, dense_items


def nested(items: list[dict], n: int | None, seed: int, what: str) -> list[dict]:
    """The first n items in the seeded nested order (all when n is None)."""
    from kit.data.subset import nested_order

    by_id = {it["id"]: it for it in items}
    order = nested_order(by_id, seed)
    if n is not None and n > len(order):
        raise DataError(f"{what} has {len(order)} items; asked for n={n}")
    return [by_id[i] for i in order[:n]]
