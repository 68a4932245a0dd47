"""P3's (DoIT's) own test sets, one task for every ability file (``subset:``), at a pinned revision of the
authors' hub dataset (``ChiyuSONG/dynamics-of-instruction-tuning``, MIT card; read with huggingface_hub, or from a
local clone under ``KIT_HUB_CLONES``, kit.data.hubfile). The scoring is the authors' (``evaluate/pred.py``,
``utils.py``, ``scorer.py``), through llama.cpp:

- ``question_format`` 1 (code, creative writing, role-play): the gold reply and its two distractors are scored
  teacher-forced, each with the end-of-turn token; the item scores 1 when the gold has the lowest perplexity (the
  highest mean log-prob per token), a tie going to the gold (kit.eval.dense). Chance 1/3.
- ``question_format`` 0: greedy generation, then by ``type`` (kit.eval.doit_parse): a lone letter is read as the
  answer, a longer reply falls back to the argmax of the A-D logits (a deviation: the authors read the logits of
  the *last* generated step, ``scores[-1]``; here they are those of the reply's *first* token, where the letter
  would be; a reply that is one letter never reaches the fallback); history's true/false by keyword; Chinese cloze
  by its first CJK span; ethics by the set of letters on the last line; math by ``\\boxed{}`` and MATH's
  equivalence. Chance per item: 1/options, 1/2 for true/false, 1/C(4, k) for an ethics set of k, 0 for cloze and
  math (the authors' ``score_expected``).

Every record carries ``score`` and ``chance``, so every result stores its chance baseline beside it
(``metrics.chance``). The subset names follow the authors' file names (``<ability>_<split>.json``; the C-Eval
files ``ceval_<subject>.json``, test only).
"""

from __future__ import annotations

import functools
import math
import re

from kit.data import doit
from kit.data.schema import DataError
from kit.eval import doit_parse

VERSION = "1"
MAX_NEW_TOKENS = 1024  # the authors' (inference.py); a recipe lowers it per task where the model is small
REPO = "ChiyuSONG/dynamics-of-instruction-tuning"
# The latest commit seen (PAPERS.md 6.2): after the Nov 2023 replacements of the code files and role-play's valid set.
REVISION = "4ae3b55e7fd7966aa59afb7b819558f682e4ef3c"
ABILITY_SUBSETS = (
    "biology", "history", "code", "creative_writing", "chinese",
    "understanding", "role_play", "reasoning", "math", "ethics",
)  # fmt: skip
OOD_SUBSETS = ("ceval_physician", "ceval_teacher_qualification", "ceval_urban_and_rural_planner")
SUBSETS = ABILITY_SUBSETS + OOD_SUBSETS
SPLITS = ("test", "valid")
LETTERS = "ABCD"


def file_of(subset: str, split: str) -> str:
    if subset in OOD_SUBSETS:
        if split != "test":
            raise DataError(f"DoIT's C-Eval subject {subset!r} ships in the test folder only; use split test")
        return f"curated/test/{subset}.json"
    return f"curated/{split}/{subset}_{split}.json"


@functools.cache
def _records(subset: str, split: str) -> tuple[dict, ...]:
    from kit.data import formats, hubfile

    paths, _ = hubfile.fetch(REPO, file_of(subset, split), REVISION)
    return tuple(formats.read_doit(paths[0]))


def items_of(records, task: str, prefix: str, n: int | None, seed: int) -> list[dict]:
    """Evaluation items of DoIT records (ids ``<prefix>-<position>``), a seeded nested sample (n=10 a prefix of 50)."""
    from kit.data.subset import select_nested

    items = [doit.to_item(r, f"{prefix}-{k}", task) for k, r in enumerate(records)]
    return items if n is None or n >= len(items) else select_nested(items, n, seed)


def load_items(n: int | None, seed: int, *, subset: str, split: str = "test") -> list[dict]:
    return items_of(_records(subset, split), "doit", f"{subset}-{split}", n, seed)


def cache_identity(subset: str | None = None) -> dict:
    """The repository and its revision decide every subset's items."""
    return {"dataset": REPO, "revision": REVISION}


# --- scoring ----------------------------------------------------------------------------------------------------


def chance(reference: dict, prompt: str) -> float:
    """What guessing scores on an item (the authors' ``score_expected``)."""
    if reference["question_format"] == 1:
        return 1 / len(reference["choices"])
    kind, gold = reference["type"], reference["gold"]
    if kind == "math":
        return 0.0
    if kind == "ethics":
        return 1 / math.comb(4, max(1, len(doit_parse.letter_set(gold))))
    if gold not in LETTERS:
        return 0.5 if kind == "history" else 0.0  # true/false; Chinese cloze
    options = len(re.findall(r"\n[A-F]\.", prompt))
    return 1 / options if options >= 2 else 1 / len(LETTERS)


def score_reply(reference: dict, completion: str) -> dict:
    """Score a generated reply by the authors' rules; ``{"score": None...}`` when a letter needs the logit fallback."""
    kind, gold = reference["type"], reference["gold"]
    if kind == "math":
        parsed = doit_parse.math_answer(completion)
        return {"parsed": parsed, "score": float(doit_parse.math_equal(parsed, reference.get("answer")))}
    if kind == "ethics":
        got = doit_parse.letter_set(completion)
        return {"parsed": "".join(sorted(got)), "score": float(got == doit_parse.letter_set(gold))}
    if gold not in LETTERS:
        if kind == "history":
            want = "T" if gold in doit_parse.TRUE_WORDS else "F"
            got = doit_parse.true_false(completion)
        else:
            want, got = gold, doit_parse.cloze_zh(completion)
        return {"parsed": got, "score": float(got == want)}
    letter = doit_parse.lone_letter(completion)
    return {"parsed": letter, "score": None if letter is None else float(letter == gold), "via": "text"}


def extracted(item: dict, record: dict) -> str | None:
    """What the authors' parsers read out of a reply (the record's ``parsed``: a letter, a letter set, T or F, the
    boxed answer), the logits' pick where the reply was no lone letter; None for items ranked by perplexity."""
    return record.get("parsed")


def evaluate_items(engine, cache, items: list[dict], max_new_tokens: int, desc: str) -> tuple[list[dict], int]:
    """One record per item (``id``, ``score``, ``chance``...) and how many replies were generated (not cached)."""
    from kit.eval.cache import cached_chat_many
    from kit.eval.dense import score_dense

    by_id: dict[str, dict] = {}
    ranked = [it for it in items if it["reference"]["question_format"] == 1]
    if ranked:
        dense = [
            {"id": it["id"], "messages": it["messages"], "choices": [[{"text": c, "scored": True}] for c in choices]}
            for it in ranked
            for choices in [it["reference"]["choices"]]
        ]
        for it, rec in zip(ranked, score_dense(engine, dense, desc=f"{desc} distractors"), strict=True):
            by_id[it["id"]] = {
                "id": it["id"],
                "question_format": 1,
                "score": rec["dense_rank"],
                "chance": chance(it["reference"], ""),
                "ppl": [round(math.exp(-m), 4) for m in rec["candidate_logprobs"]],
            }
    generated = [it for it in items if it["reference"]["question_format"] == 0]
    n_new = 0
    if generated:
        completions, n_new = cached_chat_many(engine, cache, [it["messages"] for it in generated], max_new_tokens, desc)
        letters = None
        for it, completion in zip(generated, completions, strict=True):
            ref = it["reference"]
            record = {
                "id": it["id"],
                "question_format": 0,
                "completion": completion,
                "gold": ref["gold"],
                **score_reply(ref, completion),
                "chance": chance(ref, it["messages"][-1]["content"]),
            }
            if record["score"] is None:  # a letter question answered with more than one character
                letters = letters or [engine.tokenize(x)[0] for x in LETTERS]
                logprobs = engine.choice_logprobs(engine.prompt_ids(it["messages"]), letters)
                pick = LETTERS[max(range(len(LETTERS)), key=logprobs.__getitem__)]
                record.update(parsed=pick, via="logits", score=float(pick == ref["gold"]))
            by_id[it["id"]] = record
    return [by_id[it["id"]] for it in items], n_new
