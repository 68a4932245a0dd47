"""Built-in general instructions with one or two verifiable constraints (IFEval-style).

Training responses are assembled from word banks so that they meet every constraint by construction;
the constraint kinds and their checkers live in kit.eval.verifiers, and the tests check each response with them.
"""

from __future__ import annotations

import json
import random
import re

from kit.data.builtin import draw_distinct
from kit.data.schema import chat_row

VERSION = "1"
TASK = "builtin_general"
SOURCE = "builtin:general"

# fmt: off
TOPICS = (
    "a home garden", "public libraries", "electric bicycles", "learning a new language", "morning routines",
    "board games", "city parks", "rainy days", "cooking at home", "team sports", "houseplants", "train travel",
    "a good night's sleep", "local markets", "writing letters", "museums", "camping trips", "learning to swim",
    "recycling", "street food", "music lessons", "a small bakery", "winter holidays", "community gardens",
    "old maps", "public transport", "birdwatching", "a weekly budget", "homemade bread", "volunteering",
    "running shoes", "a quiet workspace", "family dinners", "bicycle repair", "the night sky", "tea",
)
TASKS = (
    "Describe {topic}.", "Explain why people care about {topic}.", "Give some advice about {topic}.",
    "Write a short note about {topic}.", "Tell me a few things about {topic}.", "Share your thoughts on {topic}.",
)
ASPECTS = (
    "cost", "comfort", "history", "design", "everyday use", "benefits", "challenges", "simplicity",
    "popularity", "variety", "reliability", "charm",
)
SENTENCES = (
    "{topic} can make everyday life a little easier.",
    "Many people enjoy {topic} for the {aspect}.",
    "The {aspect} of {topic} is worth thinking about.",
    "It is a good idea to learn about the {aspect} of {topic}.",
    "People often judge {topic} by the {aspect}.",
    "A little planning helps anyone get more out of {topic}.",
    "Ideas about {topic} have changed a lot over the years.",
    "Talking with friends is a simple way to learn more about {topic}.",
    "Most beginners notice the {aspect} of {topic} first.",
    "With some patience, {topic} can become part of a healthy routine.",
)
KEYWORDS = (
    "simple", "useful", "daily", "careful", "budget", "quality", "friends", "time", "energy", "habit",
    "balance", "patience", "nature", "weekend", "practice", "neighbors", "season", "effort",
)
START_WORDS = ("Certainly", "Overall", "Honestly", "Sure", "Well", "Today")
END_PHRASES = (
    "Is there anything else I can help with?", "That is all for now.", "Thanks for reading.",
    "I hope this helps!", "Let me know if you have other questions.",
)

# Also the order in which a prompt states its constraints.
KIND_ORDER = (
    "bullets", "sentences", "json_answer", "keywords", "start_word", "end_phrase", "quoted", "lowercase",
    "no_commas", "max_words",
)
# Pairs that cannot both hold or read oddly together (a JSON object cannot be a bullet list, and so on).
CONFLICTS = {
    frozenset(pair)
    for pair in (
        ("json_answer", "bullets"), ("json_answer", "sentences"), ("json_answer", "quoted"),
        ("json_answer", "start_word"), ("json_answer", "end_phrase"), ("bullets", "sentences"),
        ("bullets", "quoted"), ("bullets", "start_word"), ("quoted", "end_phrase"),
    )
}
# fmt: on


def _pick_kinds(rng: random.Random) -> list[str]:
    first = rng.choice(KIND_ORDER)
    if rng.random() < 0.4:
        return [first]
    others = [k for k in KIND_ORDER if k != first and frozenset((first, k)) not in CONFLICTS]
    return sorted([first, rng.choice(others)], key=KIND_ORDER.index)


def _params(kind: str, kinds: list[str], rng: random.Random) -> dict:
    if kind == "bullets":
        return {"kind": kind, "n": rng.randint(2, 5)}
    if kind == "sentences":
        # An end phrase takes one sentence of its own, so leave room for at least one more.
        return {"kind": kind, "n": rng.randint(2 if "end_phrase" in kinds else 1, 4)}
    if kind == "keywords":
        return {"kind": kind, "words": rng.sample(KEYWORDS, 2)}
    if kind == "start_word":
        return {"kind": kind, "word": rng.choice(START_WORDS)}
    if kind == "end_phrase":
        return {"kind": kind, "phrase": rng.choice(END_PHRASES)}
    if kind == "json_answer":
        return {"kind": kind, "key": "answer"}
    return {"kind": kind}  # lowercase, quoted, no_commas; max_words is set once the response exists


def _sentence_count(params: dict[str, dict], rng: random.Random) -> int:
    if "bullets" in params:
        return params["bullets"]["n"]
    if "sentences" in params:
        return params["sentences"]["n"] - ("end_phrase" in params)
    return rng.randint(2, 3)


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _body(topic: str, params: dict[str, dict], rng: random.Random) -> list[str]:
    templates = rng.sample(SENTENCES, _sentence_count(params, rng))
    aspects = rng.sample(ASPECTS, len(templates))
    body = [_capitalize(t.format(topic=topic, aspect=a)) for t, a in zip(templates, aspects, strict=True)]
    if "keywords" in params:
        a, b = params["keywords"]["words"]
        body[0] = f"When I think about {topic}, words like {a} and {b} come to mind."
    if "start_word" in params:
        body[0] = f"{params['start_word']['word']}, {body[0][:1].lower()}{body[0][1:]}"
    return body


def _render(body: list[str], params: dict[str, dict]) -> str:
    if "bullets" in params:
        text = "\n".join(f"- {s}" for s in body)
    elif "json_answer" in params:
        text = json.dumps({params["json_answer"]["key"]: " ".join(body)})
    else:
        text = " ".join(body)
    if "end_phrase" in params:
        text += ("\n" if "bullets" in params else " ") + params["end_phrase"]["phrase"]
    if "lowercase" in params:
        text = text.lower()
    if "no_commas" in params:
        text = text.replace(",", "")
    if "quoted" in params:
        text = f'"{text}"'
    return text


def _instruction(c: dict) -> str:
    kind = c["kind"]
    if kind == "bullets":
        return f"Answer with exactly {c['n']} bullet points, each on its own line starting with '- '."
    if kind == "sentences":
        return f"Use exactly {c['n']} sentence{'s' if c['n'] > 1 else ''}."
    if kind == "keywords":
        return f"Include the keywords '{c['words'][0]}' and '{c['words'][1]}'."
    if kind == "start_word":
        return f"Start your answer with the word '{c['word']}'."
    if kind == "end_phrase":
        return f"End your answer with the exact phrase '{c['phrase']}'."
    if kind == "json_answer":
        return f'Respond only with a JSON object that has a single key "{c["key"]}".'
    if kind == "lowercase":
        return "Write your entire answer in lowercase letters; no capital letters are allowed."
    if kind == "no_commas":
        return "Do not use any commas in your answer."
    if kind == "quoted":
        return "Wrap your entire answer in double quotation marks."
    return f"Use no more than {c['n']} words."  # max_words


def _count_words(text: str) -> int:
    # Same rule as kit.eval.verifiers.count_words (data/ does not import eval/); the tests hold them together.
    return len(re.findall(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?", text))


def make_instruction(seed: int, i: int) -> tuple[str, str, list[dict]]:
    """Candidate i for ``seed``: (user prompt, a response meeting every constraint, the constraints)."""
    prompt, response, constraints, _, _ = _compose(seed, i)
    return prompt, response, constraints


def _compose(seed: int, i: int) -> tuple[str, str, list[dict], str, list[str]]:
    """make_instruction's candidate plus what built its response (the topic and body sentences)."""
    rng = random.Random(f"general:{seed}:{i}")
    topic = rng.choice(TOPICS)
    kinds = _pick_kinds(rng)
    params = {k: _params(k, kinds, rng) for k in kinds}
    body = _body(topic, params, rng)
    response = _render(body, params)
    if "max_words" in params:
        # The limit leaves some slack over this response, rounded up to a multiple of 10.
        params["max_words"]["n"] = -(-(_count_words(response) + rng.randint(0, 12)) // 10) * 10
    constraints = [params[k] for k in kinds]
    task = rng.choice(TASKS).format(topic=topic)
    prompt = " ".join([_capitalize(task), *(_instruction(c) for c in constraints)])
    return prompt, response, constraints, topic, body


# --- dense items: the gold response with one constraint broken -------------------------------------------

DENSE_VERSION = "1"
FILLER = ("and", "it", "also", "matters", "a", "great", "deal", "in", "many", "small", "ways")


def eval_variants(seed: int):
    """Every eval instruction in order, as (id, prompt, gold response, constraints, variants), where
    ``variants[k]`` lists responses that should break constraint k only (the task's verifiers check that).

    Each break is as local as the kind allows: a keyword swapped, another start word or end phrase, one
    capital letter, one comma put back, one quotation mark dropped, a bullet unmarked, dropped or added, a
    sentence added or dropped, words added past the limit, the JSON key renamed or its brace dropped.
    """
    for item_id, prompt, gold, constraints, topic, body in draw_distinct(_compose, 10**9, seed, "eval", "general"):
        params = {c["kind"]: c for c in constraints}
        variants = [[v for v in _breaks(c, gold, body, params, topic) if v != gold] for c in constraints]
        yield item_id, prompt, gold, constraints, variants


def _breaks(c: dict, gold: str, body: list[str], params: dict[str, dict], topic: str) -> list[str]:
    kind = c["kind"]
    if kind == "keywords":
        spare = next(w for w in KEYWORDS if w not in c["words"] and w not in gold.lower())
        return [_render([body[0].replace(f" {w} ", f" {spare} ", 1), *body[1:]], params) for w in c["words"]]
    if kind == "start_word":
        old = c["word"]
        return [_render([body[0].replace(old, w, 1), *body[1:]], params) for w in START_WORDS if w != old][:2]
    if kind == "end_phrase":
        others = [ph for ph in END_PHRASES if ph != c["phrase"]][:2]
        return [_render(body, {**params, "end_phrase": {**c, "phrase": ph}}) for ph in others]
    if kind == "json_answer":
        return [_render(body, {**params, "json_answer": {**c, "key": "response"}}), gold[:-1]]
    if kind in ("bullets", "sentences"):
        out = [_render([*body, _extra_sentence(topic, body)], params)]
        if len(body) > 1:
            out.append(_render(body[:-1], params))
        if kind == "bullets":
            out.insert(0, _unmark_last_bullet(gold))
        return out
    if kind == "lowercase":
        starts = [m.start() for m in re.finditer(r"(?:^|[.!?]\s+)\W*([a-z])", gold)]
        return [_upper_first_from(gold, at) for at in starts[:2]]
    if kind == "no_commas":
        with_commas = _render(body, {k: v for k, v in params.items() if k != "no_commas"})
        commas = [k for k, ch in enumerate(with_commas) if ch == ","]
        out = [_keep_comma(with_commas, at) for at in (commas[:1] + commas[-1:])[: len(set(commas))]]
        first_word = re.search(r"[A-Za-z0-9]+(?= )", gold)  # a word before a space: never inside JSON syntax
        return [*out, gold[: first_word.end()] + "," + gold[first_word.end() :]]
    if kind == "quoted":
        return [gold[:-1], gold[1:]]
    if kind == "max_words":
        longer = list(body)
        while _count_words(_render(longer, params)) <= c["n"]:
            longer.append(_extra_sentence(topic, longer))
        padded, k = body[-1], 0
        while _count_words(_render([*body[:-1], padded], params)) <= c["n"]:
            padded = f"{padded[:-1]} {FILLER[k % len(FILLER)]}{padded[-1]}"
            k += 1
        return [_render(longer, params), _render([*body[:-1], padded], params)]
    raise ValueError(f"no dense distractor for constraint kind {kind!r}")


def _extra_sentence(topic: str, body: list[str]) -> str:
    """A sentence template the body does not use yet (a new sentence, never a repeated one)."""
    for template in SENTENCES:
        for aspect in ASPECTS:
            sentence = _capitalize(template.format(topic=topic, aspect=aspect))
            if sentence not in body:
                return sentence
    raise ValueError(f"no unused sentence left for {topic!r}")


def _unmark_last_bullet(text: str) -> str:
    at = text.rfind("\n- ")
    return text[:at] + "\n" + text[at + 3 :] if at >= 0 else text[2:]


def _upper_first_from(text: str, at: int) -> str:
    m = re.compile(r"[a-z]").search(text, at)
    return text[: m.start()] + m.group().upper() + text[m.end() :]


def _keep_comma(with_commas: str, at: int) -> str:
    return with_commas[:at].replace(",", "") + "," + with_commas[at + 1 :].replace(",", "")


def _instructions(n: int, seed: int, split: str):
    return draw_distinct(make_instruction, n, seed, split, "general")


def generate_train(n: int, seed: int) -> list[dict]:
    """n training rows whose assistant response meets all the prompt's constraints."""
    return [
        chat_row(row_id, SOURCE, [{"role": "user", "content": p}, {"role": "assistant", "content": r}])
        for row_id, p, r, _ in _instructions(n, seed, "train")
    ]


def generate_eval(n: int, seed: int) -> list[dict]:
    """n evaluation items whose reference is ``{"constraints": [{"kind": ..., **params}, ...]}``."""
    return [
        {"id": item_id, "task": TASK, "messages": [{"role": "user", "content": p}], "reference": {"constraints": c}}
        for item_id, p, _, c in _instructions(n, seed, "eval")
    ]
