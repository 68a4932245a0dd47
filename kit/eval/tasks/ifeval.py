"""Google's IFEval (Zhou et al. 2023, arXiv 2311.07911): 541 prompts, each with one to three instructions that a
program can verify ("answer in all lowercase", "at least 300 words", "wrap the answer in JSON"...).

Items are the publisher's records (``key``, ``prompt``, ``instruction_id_list``, ``kwargs``) from the file named by
``KIT_IFEVAL_FILE`` (Google's ``input_data.jsonl``), else ``ifeval_input_data.jsonl`` of the hub dataset
google/IFEval at a pinned commit. Item ids are the publisher's keys, so both sources give the same sample; a sample
is the nested seeded order (kit.data.subset), so n=10 is a prefix of n=50. The prompt is the whole user turn.

Scores come from lm-eval's copy of Google's checker (``lm_eval.tasks.ifeval``: kept in step with the reference, on
PyPI), imported, not copied. Per item: ``score`` is prompt-level strict accuracy (every instruction followed by the
response as it is: lm-eval's first IFEval metric), ``prompt_loose`` the same with the reference's loose variants
(the response also read without its first and/or last line and without ``*``), ``inst_strict``/``inst_loose``
the fraction of the prompt's instructions followed. lm-eval's instruction-level accuracy pools instructions over
prompts; ours averages prompts' fractions, so that every metric has one value per item for the paired bootstrap.
Checked once by hand (not in the tests: the files are not shipped): on the GPT-4 responses that Google's reference
publishes, against per-instruction verdicts of the reference's own code (the output files of a public copy of
it; 540 prompts, one prompt's text differs between the files), this scorer agrees on every loose verdict and on
every strict one but those of prompts 1122 and 1129, where the reference checks a letter drawn at random (below).

Two inputs of the checker are pinned here, so that a verdict never depends on the machine or on chance:
- NLTK's Punkt model (sentence and word counts): lm-eval downloads it at import when it is missing, which fails
  offline and leaves the sentence counter raising. The kit ships the English model (kit/assets/nltk_data, its
  README says whence) and puts it first on NLTK's path after checking each file's sha256.
- Chance: langdetect (``language:response_language``) samples unless seeded, and the reference draws a random
  letter for a ``letter_frequency`` instruction whose letter is not a-z (prompts 1122 and 1129 count ``#`` and
  ``!``). langdetect is seeded once and each item's checks run under ``random.seed(key)``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import random
from importlib import metadata
from pathlib import Path
from types import ModuleType

from kit.data import formats, hubfile
from kit.data.schema import DataError
from kit.data.subset import nested_order

ENV_VAR = "KIT_IFEVAL_FILE"
HUB_ID = "google/IFEval"
HUB_FILE = "ifeval_input_data.jsonl"
# google/IFEval's commit that evaluation suites pin (inspect_evals and others; the file has 541 prompts).
HUB_REVISION = "966cd89545d6b6acfd7638bc708b98261ca58e84"
NEEDS = ("lm_eval", "nltk", "langdetect", "immutabledict")  # lm-eval and its `ifeval` extra
INSTALL = "pip install 'lm-eval[ifeval]' (requirements.txt pins the version)"
PUNKT_ROOT = Path(__file__).resolve().parents[2] / "assets" / "nltk_data"
PUNKT_ENGLISH = "tokenizers/punkt_tab/english"
PUNKT_SHA256 = {
    "abbrev_types.txt": "92a3e070f43d9b4c5534758ca40ad7343b04e7e29bfe0c2eb658a39445a4f779",
    "collocations.tab": "8e2da1225e4dd2cc9dba261ee231ccb134859e21b46006e7f472c5ee269af0cf",
    "ortho_context.tab": "4bbcca25ed3d3f06c02402abf8419b9f033b8adc06e7b482eca4e45f81a5dc4c",
    "sent_starters.txt": "f3f8535483e1dba487241b764945168123bca3209a9645e59acd1225dc76edac",
}


def _checker_version() -> str:
    try:
        return metadata.version("lm_eval")
    except metadata.PackageNotFoundError:
        return "missing"


# The checker's release is part of the version, so a new lm-eval re-scores; a change to the shipped Punkt files
# (their sha256 above) bumps the leading number.
VERSION = f"1-lmeval{_checker_version()}"
# lm-eval generates up to 1280 tokens. 768 leaves ~3% of GPT-4's reference answers cut (by a 4-characters-a-token
# count; 512 would cut ~18%, and 15 prompts ask for 400 words or more) while a model that never stops, such as the
# untrained base, costs 60% of lm-eval's budget a prompt on a laptop GPU. `max_new_tokens: 1280` gives lm-eval's.
MAX_NEW_TOKENS = 768


def unavailable() -> str | None:
    """Why IFEval cannot be scored here (lm-eval or its ``ifeval`` extra is not installed), else None."""
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    return f"the ifeval task needs {', '.join(missing)}: {INSTALL}" if missing else None


def check_punkt(root: Path = PUNKT_ROOT) -> Path:
    """The shipped Punkt folder, once each file's sha256 is the pinned one; else why not, as an error."""
    folder = root / PUNKT_ENGLISH
    for name, expected in PUNKT_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path} is missing: IFEval's sentence counter needs the shipped Punkt model")
        if hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise DataError(f"{path} is not the pinned Punkt file (sha256 differs): restore it from git")
    return folder


@functools.lru_cache(maxsize=1)
def checker() -> ModuleType:
    """lm-eval's ``lm_eval.tasks.ifeval.utils``, imported once the shipped Punkt model is first on NLTK's path (its
    import would try to download one) and langdetect is seeded."""
    why = unavailable()
    if why:
        raise ImportError(why)
    import langdetect
    import nltk

    folder = check_punkt()
    if str(PUNKT_ROOT) not in nltk.data.path:
        nltk.data.path.insert(0, str(PUNKT_ROOT))
    found = Path(nltk.data.find(PUNKT_ENGLISH + "/").path)
    if found.resolve() != folder.resolve():
        raise DataError(f"NLTK resolves {PUNKT_ENGLISH} to {found}, not the shipped {folder}")
    langdetect.DetectorFactory.seed = 0
    from lm_eval.tasks.ifeval import utils

    return utils


@contextlib.contextmanager
def _seeded(seed: int):
    """Python's global random state seeded for one item's checks, and restored after: the checker draws from it."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


@functools.lru_cache(maxsize=4)
def _records(path: str | None) -> tuple[dict, ...]:
    return tuple(formats.read_ifeval(path or _hub_path()))


def _hub_path() -> Path:
    return hubfile.download(HUB_ID, HUB_FILE, HUB_REVISION, ENV_VAR)


def _item(record: dict) -> dict:
    return {
        "id": f"ifeval-{record['key']}",
        "task": "ifeval",
        "messages": [{"role": "user", "content": record["prompt"]}],
        "reference": {k: record[k] for k in ("key", "instruction_id_list", "kwargs")},
    }


def load_items(n: int | None, seed: int) -> list[dict]:
    """n prompts chosen by the nested seeded order (n=10 is a prefix of n=50); n=None means all. An instruction the
    checker does not know fails here, before any generation."""
    source = os.environ.get(ENV_VAR)
    records = _records(source)
    known = checker().instructions_registry.INSTRUCTION_DICT
    unknown = sorted({i for r in records for i in r["instruction_id_list"]} - set(known))
    if unknown:
        raise DataError(f"IFEval from {source or HUB_ID}: instruction ids lm-eval's checker does not know: {unknown}")
    items = {item["id"]: item for item in map(_item, records)}
    order = nested_order(items, seed)
    if n is not None and n > len(order):
        raise DataError(f"IFEval has {len(order)} prompts; asked for n={n}")
    return [items[i] for i in order[:n]]


def follows(prompt: str, reference: dict, response: str) -> tuple[list[bool], list[bool]]:
    """Per instruction of the prompt, whether ``response`` follows it: strict, then loose (lm-eval's two tests)."""
    utils = checker()
    example = utils.InputExample(
        key=reference["key"],
        instruction_id_list=reference["instruction_id_list"],
        prompt=prompt,
        kwargs=reference["kwargs"],
    )
    verdicts = []
    for test in (utils.test_instruction_following_strict, utils.test_instruction_following_loose):
        with _seeded(reference["key"]):
            verdicts.append([bool(v) for v in test(example, response).follow_instruction_list])
    return verdicts[0], verdicts[1]


def score(item: dict, completion: str) -> dict:
    """``score``: prompt-level strict accuracy; beside it prompt-level loose and the instruction-level fractions."""
    strict, loose = follows(item["messages"][0]["content"], item["reference"], completion)
    return {
        "score": float(all(strict)),
        "prompt_loose": float(all(loose)),
        "inst_strict": sum(strict) / len(strict),
        "inst_loose": sum(loose) / len(loose),
        "strict": strict,
        "loose": loose,
    }
