"""MT-Bench (80 two-turn questions) graded by a LOCAL judge GGUF with FastChat's single-answer prompts.

NOT comparable to the paper's MT-Bench numbers, which GPT-4 graded (averaged over 3 judge runs): a local
judge rates differently, so compare trends and rankings between runs judged by the same judge file only.
``score`` is the mean valid 1-10 rating of an item's two turns divided by 10; ``rating_mean`` keeps the 1-10 scale.

Data: ``KIT_MTBENCH_DIR`` names a FastChat ``fastchat/llm_judge/data/mt_bench`` folder (question.jsonl,
judge_prompts.jsonl next to it or inside, reference_answer/gpt-4.jsonl). Judge: ``KIT_JUDGE_GGUF``.
Answers are greedy at every category (FastChat samples writing/roleplay at 0.7). All answers are generated
first and the judge is opened only afterwards, but the answering engine stays loaded (the pipeline owns it),
so both models share the device while grading: on an 8 GB card a 7B answerer and an 8B judge do not fit.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path

from tqdm import tqdm

from kit import env
from kit.data import formats
from kit.data.schema import DataError
from kit.data.subset import nested_order
from kit.eval import judge as judging

VERSION = f"1-judge{judging.JUDGE_VERSION}"
MAX_NEW_TOKENS = 512
DATA_ENV = "KIT_MTBENCH_DIR"
JUDGE_ENV = "KIT_JUDGE_GGUF"
JUDGMENT_CHARS = 2000
REFERENCE_FILES = ("reference_answer/gpt-4.jsonl", "reference_answer_gpt-4.jsonl")

log = logging.getLogger(__name__)


def data_dir() -> Path:
    """The FastChat MT-Bench folder named by KIT_MTBENCH_DIR; unset or incomplete raises with what to do."""
    value = os.environ.get(DATA_ENV)
    if not value:
        raise DataError(
            f"the mtbench task needs {DATA_ENV} set to a FastChat `fastchat/llm_judge/data/mt_bench` folder "
            "(question.jsonl, reference_answer/gpt-4.jsonl; judge_prompts.jsonl there or one level up) from a clone of "
            "github.com/lm-sys/FastChat; the PyPI fschat wheel does not ship it"
        )
    folder = Path(value)
    if not (folder / "question.jsonl").is_file():
        raise DataError(f"{DATA_ENV}={value}: no question.jsonl there; point it at FastChat's llm_judge/data/mt_bench")
    return folder


def _first_file(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: none of {list(names)} found; copy them from FastChat's llm_judge/data")


def templates_path(folder: Path) -> Path:
    # FastChat keeps judge_prompts.jsonl one level up, in llm_judge/data.
    return _first_file(folder, ("judge_prompts.jsonl", "../judge_prompts.jsonl"))


@functools.lru_cache(maxsize=4)
def _references(folder: str) -> dict[str, list[str]]:
    path = _first_file(Path(folder), REFERENCE_FILES)
    refs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            refs[str(record["question_id"])] = record["choices"][0]["turns"]
    return refs


def _item(question: dict, refs: dict[str, list[str]]) -> dict:
    qid, category = question["id"], question["category"]
    reference = refs.get(qid) if category in judging.NEED_REF_CATS else None
    if category in judging.NEED_REF_CATS and not reference:
        raise DataError(f"MT-Bench question {qid} ({category}) has no GPT-4 reference answer; the judge needs one")
    return {
        "id": f"mtbench-{qid}",
        "task": "mtbench",
        "category": category,
        "turns": question["turns"],
        "reference": reference,
        "messages": [{"role": "user", "content": question["turns"][0]}],
    }


def load_items(n: int | None, seed: int) -> list[dict]:
    """n questions in the nested seeded order of their ids (n=10 is a prefix of n=40); None means all 80."""
    folder = data_dir()
    refs = _references(str(folder))
    items = {it["id"]: it for it in (_item(q, refs) for q in formats.read_mtbench(folder / "question.jsonl"))}
    order = nested_order(items, seed)
    if n is not None and n > len(order):
        raise DataError(f"MT-Bench has {len(order)} questions; asked for n={n}")
    return [items[i] for i in order[:n]]


def judge_path() -> Path:
    """The judge GGUF named by KIT_JUDGE_GGUF; unset or missing raises with what to set."""
    value = os.environ.get(JUDGE_ENV)
    if not value or not Path(value).is_file():
        where = f"{JUDGE_ENV}={value} is not a file" if value else f"{JUDGE_ENV} is not set"
        raise FileNotFoundError(
            f"the mtbench task needs a local judge: {where}. Set {JUDGE_ENV} to a GGUF of an instruction model, "
            "e.g. a Q4_K_M of Llama-3-8B-Instruct or Qwen2.5-7B-Instruct. Meanwhile `builtin_general` gives a "
            "judge-free general score."
        )
    return Path(value)


def unavailable() -> str | None:
    """Why this task cannot run here (no questions or no judge configured), else None."""
    missing = [name for name in ("KIT_MTBENCH_DIR", "KIT_JUDGE_GGUF") if not os.environ.get(name)]
    return f"set {' and '.join(missing)} (see kit/eval/tasks/mtbench.py)" if missing else None


def cache_identity() -> dict:
    """Which judge grades: part of the cached result's key, so switching judges re-grades."""
    judge = os.environ.get("KIT_JUDGE_GGUF")
    return {"judge": Path(judge).name if judge else None}


RELEASES_ENGINE = True  # evaluate() closes the answering engine before the judge loads


def evaluate(engine, items: list[dict], desc: str) -> list[dict]:
    """Answer both turns of every item with ``engine``, then open the judge and grade turn 1 and turn 2."""
    path, templates = judge_path(), judging.load_templates(templates_path(data_dir()))  # fail before generating
    answers = [_answer(engine, item) for item in tqdm(items, desc=desc, unit="item", leave=False)]
    # The answering model leaves before the judge loads: an 8 GB GPU holds one 7B model, not two. The eval phase
    # runs this task last (RELEASES_ENGINE), so nothing uses the engine after this.
    engine.close()
    with judging.Judge(path, n_threads=env.n_threads(None)) as judge:
        pairs = tqdm(list(zip(items, answers, strict=True)), desc=f"{desc} judge", unit="item", leave=False)
        records = [_grade(judge, templates, item, ans) for item, ans in pairs]
    unparsed = sum(r["unparsed"] for r in records)
    if unparsed:
        log.warning("mtbench: the judge gave no 1-10 rating for %d of %d turns", unparsed, 2 * len(records))
    return records


def _answer(engine, item: dict) -> list[str]:
    # FastChat strips each answer and feeds the stripped one back as the first assistant turn.
    first = [{"role": "user", "content": item["turns"][0]}]
    a1 = engine.chat(first, MAX_NEW_TOKENS).strip()
    if len(item["turns"]) < 2:
        return [a1]
    second = [*first, {"role": "assistant", "content": a1}, {"role": "user", "content": item["turns"][1]}]
    return [a1, engine.chat(second, MAX_NEW_TOKENS).strip()]


def _grade(judge: judging.Judge, templates: dict, item: dict, answers: list[str]) -> dict:
    ratings, judgments, names = [], [], []
    for turn in range(len(answers)):  # FastChat grades turn 2 only for questions that have one
        name, messages = judging.fill(
            templates, item["category"], item["turns"], answers, item["reference"], multi_turn=turn == 1
        )
        rating, judgment = judge.grade(messages)
        ratings.append(rating)
        judgments.append(judgment[:JUDGMENT_CHARS])
        names.append(name)
    valid = [r for r in ratings if r is not None]
    mean = sum(valid) / len(valid) if valid else None
    return {
        "id": item["id"],
        "category": item["category"],
        "answers": answers,
        "ratings": ratings,
        "judgments": judgments,
        "templates": names,
        "judge": judge.name,
        "unparsed": len(ratings) - len(valid),
        # None when no turn got a rating: the caller must leave it out of the mean, not count it as 0.
        "score": mean / 10 if mean is not None else None,
        "rating_mean": mean,
    }


def summarize(records: list[dict]) -> dict:
    """Mean 1-10 rating per turn and per category (the breakdown MT-Bench reports), and the unparsed count."""

    def mean(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return round(sum(values) / len(values), 3) if values else None

    categories = sorted({r["category"] for r in records})
    return {
        "turn_1": mean([r["ratings"][0] for r in records]),
        "turn_2": mean([r["ratings"][1] for r in records if len(r["ratings"]) > 1]),
        "by_category": {c: mean([x for r in records if r["category"] == c for x in r["ratings"]]) for c in categories},
        "unparsed_turns": sum(r["unparsed"] for r in records),
        "judges": sorted({r["judge"] for r in records}),
    }
