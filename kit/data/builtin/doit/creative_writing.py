"""DoIT's creative-writing ability (question_format 1), mirrored in English: short writing instructions with checkable
constraints (a poem of n lines about a topic that mentions a word, a three-sentence story about a named person that
ends with an object, a slogan for a named shop, a thank-you letter with a recipient, a gift and a signature).

The gold text is assembled from phrase banks so that it meets every constraint by construction; the fine distractor
is the gold with a key term swapped (the required word, the person's name, the final object, the shop's name, the
signature) or its line count broken (two lines joined); the coarse one is fluent text for another instruction.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from kit.data.builtin import draw_distinct, rng_for
from kit.data.builtin.doit import exchange, protocol, record

VERSION = "1"
TYPE = "creative_writing"
QUESTION_FORMAT = 1

# fmt: off
TOPICS = (
    "the sea", "autumn leaves", "a quiet city", "the first snow", "a lighthouse", "an old bridge", "spring rain",
    "the moon", "a mountain path", "a summer night", "a small harbor", "the desert wind", "a sleeping cat",
    "a busy market", "a river at dawn", "a forest in fog", "a winter morning", "a field of wheat", "the stars",
    "a garden after rain",
)
WORDS = (
    "lantern", "silver", "whisper", "ribbon", "copper", "feather", "echo", "velvet", "amber", "thunder", "meadow",
    "candle", "harbor", "crystal", "shadow", "cinnamon", "compass", "marble", "orchard", "violet",
)
ADJECTIVES = ("soft", "slow", "bright", "gentle", "quiet", "golden", "pale", "wild", "warm", "still")
VERBS = ("hums", "waits", "glows", "drifts", "sings", "sleeps", "turns", "shines", "breathes", "wanders")
POEM_LINES = (
    "{Topic} {verb} beneath a {adj} sky,",
    "and every {word} keeps the light nearby.",
    "I walk where {topic} {verb} alone,",
    "a {adj} {word} calls me home.",
    "The hours grow {adj} and slow,",
    "where only {topic} seems to know.",
    "A {word} rests in my open hand,",
    "as {adj} as the evening land.",
)
NAMES = (
    "Mira", "Tomas", "Lena", "Oscar", "Priya", "Jonah", "Elsa", "Ravi", "Nora", "Felix", "Ada", "Hugo", "Iris",
    "Marco", "Zoe", "Leo", "Ines", "Sam", "Yuki", "Omar",
)
EVENTS = (
    ("finds a map in the attic", "found a map in the attic"),
    ("misses the last train", "missed the last train"),
    ("plants a tree in the yard", "planted a tree in the yard"),
    ("loses a key at the beach", "lost a key at the beach"),
    ("learns to bake bread", "learned to bake bread"),
    ("meets a talking crow", "met a talking crow"),
    ("builds a boat from old doors", "built a boat from old doors"),
    ("gets lost in a museum", "got lost in a museum"),
    ("enters a painting contest", "entered a painting contest"),
    ("adopts a stray dog", "adopted a stray dog"),
)
MIDDLES = (
    "At first nothing went right, and {name} nearly gave up.",
    "The day was long, but {name} kept going with a smile.",
    "A kind stranger offered help, and {name} said yes.",
    "By the afternoon, {name} had a plan.",
)
OBJECTS = (
    "a red umbrella", "a paper crown", "a silver spoon", "a blue kite", "an old photograph", "a jar of honey",
    "a wooden flute", "a pair of boots", "a broken clock", "a glass marble", "a green scarf", "a tiny bell",
)
BUSINESSES = (
    ("bakery", "bread"), ("bike shop", "rides"), ("bookshop", "stories"), ("coffee cart", "coffee"),
    ("flower stall", "flowers"), ("repair shop", "fixes"), ("tea house", "tea"), ("pet groomer", "pets"),
    ("ice cream van", "ice cream"), ("laundry", "clean clothes"),
)
BRANDS = (
    "Sunny Corner", "Blue Door", "Maple Lane", "Little Owl", "Green Lantern", "Happy Fox", "North Star", "Red Kettle",
    "Copper Pot", "Quiet Hill", "Silver Birch", "Golden Bee", "Bright Path", "Old Mill", "Two Rivers", "Oak Tree",
)
SLOGANS = (
    "{brand}: fresh {goods} for every day, made with care.",
    "{brand} - good {goods} and a warm welcome, every time.",
    "Come to {brand} for {goods} you will love all year long.",
    "{brand}: the best {goods} in town, just around the corner.",
    "Smile, it's {brand} time: happy {goods} for the whole family.",
)
RECIPIENTS = (
    "Aunt Rosa", "Mr. Patel", "Grandpa Joe", "Ms. Kim", "Uncle Ben", "Dr. Silva", "Coach Martin", "Nina", "Grandma Lu",
    "Mrs. Okafor", "Cousin Tara", "Mr. Novak",
)
GIFTS = (
    "the birthday cake", "the warm sweater", "the book of poems", "the garden tools", "the concert tickets",
    "the handmade card", "the box of chocolates", "the new backpack", "the painting", "the cookbook",
)
LETTER_MIDDLES = (
    "It made my whole week brighter.", "I use it every single day.", "You always know just what I like.",
    "It was such a kind surprise.",
)
SENDERS = ("Lily", "Max", "Chen", "Sofia", "Daniel", "Amara", "Kai", "Rosa", "Ethan", "Maya")
NUMBER_WORDS = {2: "two", 3: "three", 4: "four"}
# fmt: on


class Piece(NamedTuple):
    prompt: str
    gold: str
    fine: str


def _other(rng: random.Random, bank: tuple[str, ...], current: str) -> str:
    return rng.choice([x for x in bank if x != current])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _poem(rng: random.Random) -> Piece:
    topic, word, n = rng.choice(TOPICS), rng.choice(WORDS), rng.choice((2, 3, 4))
    first, second = rng.sample(range(4), 2)  # couplets: the topic in one, the word in the other
    adjs, verbs = rng.sample(ADJECTIVES, 4), rng.sample(VERBS, 4)
    lines = []
    for k in range(n):
        couplet = (first, second)[k // 2]
        template = POEM_LINES[2 * couplet + k % 2]
        lines.append(template.format(topic=topic, Topic=_cap(topic), word=word, adj=adjs[k], verb=verbs[k]))
    if topic not in "\n".join(lines).lower():  # the topic's couplet was cut or left out: open with it
        lines[0] = POEM_LINES[0].format(Topic=_cap(topic), verb=verbs[0], adj=adjs[0])
    if word not in "\n".join(lines):  # likewise the word: put it in the last line
        lines[-1] = lines[-1].rstrip(",.") + f", near the {word}."
    lines[-1] = lines[-1].rstrip(",") + ("" if lines[-1].endswith(".") else ".")
    gold = "\n".join(lines)
    prompt = rng.choice(
        (
            "Write a {n}-line poem about {topic} that mentions the word '{word}'.",
            "Compose a short poem of exactly {n} lines about {topic}. Use the word '{word}' in it.",
        )
    ).format(n=NUMBER_WORDS[n], topic=topic, word=word)
    if n > 2 and rng.random() < 0.4:
        k = rng.randrange(n - 1)
        fine = "\n".join([*lines[:k], f"{lines[k]} {lines[k + 1][:1].lower()}{lines[k + 1][1:]}", *lines[k + 2 :]])
    else:
        fine = gold.replace(word, _other(rng, WORDS, word))
    return Piece(prompt, gold, fine)


def _story(rng: random.Random) -> Piece:
    name, (event, past), thing = rng.choice(NAMES), rng.choice(EVENTS), rng.choice(OBJECTS)
    sentences = (
        f"One morning, {name} {past}.",
        rng.choice(MIDDLES).format(name=name),
        f"In the end, {name} went home holding {thing}.",
    )
    gold = " ".join(sentences)
    prompt = rng.choice(
        (
            "Write a three-sentence story about {name} who {event}, ending with {thing}.",
            (
                "Tell a very short story (three sentences) about {name}, who {event}. The last sentence must mention "
                "{thing}."
            ),
        )
    ).format(name=name, event=event, thing=thing)
    if rng.random() < 0.5:
        fine = gold.replace(name, _other(rng, NAMES, name))
    else:
        fine = gold.replace(thing, _other(rng, OBJECTS, thing))
    return Piece(prompt, gold, fine)


def _slogan(rng: random.Random) -> Piece:
    (business, goods), brand = rng.choice(BUSINESSES), rng.choice(BRANDS)
    gold = rng.choice(SLOGANS).format(brand=brand, goods=goods)
    limit = len(gold.split()) + rng.choice((0, 1, 2, 3))
    prompt = rng.choice(
        (
            "Write a slogan of at most {limit} words for a {business} called {brand}.",
            "Give me a catchy slogan (no more than {limit} words) for {brand}, a {business}. Use its name.",
        )
    ).format(limit=limit, business=business, brand=brand)
    return Piece(prompt, gold, gold.replace(brand, _other(rng, BRANDS, brand)))


def _letter(rng: random.Random) -> Piece:
    recipient, gift, sender = rng.choice(RECIPIENTS), rng.choice(GIFTS), rng.choice(SENDERS)
    gold = f"Dear {recipient},\nThank you so much for {gift}. {rng.choice(LETTER_MIDDLES)}\nBest wishes,\n{sender}"
    prompt = rng.choice(
        (
            "Write a short letter to {recipient} thanking them for {gift}. Sign it '{sender}'.",
            "Write a brief thank-you note to {recipient} for {gift}, signed by {sender}.",
        )
    ).format(recipient=recipient, gift=gift, sender=sender)
    key, bank = rng.choice(((sender, SENDERS), (gift, GIFTS), (recipient, RECIPIENTS)))
    return Piece(prompt, gold, gold.replace(key, _other(rng, bank, key)))


KINDS = (_poem, _story, _slogan, _letter)


def make(seed: int, i: int) -> tuple[str, str, str, str]:
    """Candidate i: (prompt, gold, fine distractor, coarse distractor)."""
    rng = rng_for("doit_creative_writing", seed, i)
    kind, other = rng.sample(KINDS, 2)
    piece = kind(rng)
    return piece.prompt, piece.gold, piece.fine, other(rng).gold


def records(n: int, seed: int, split: str) -> list[dict]:
    return [
        record(item_id, exchange(prompt, gold), TYPE, QUESTION_FORMAT, choices=[gold, fine, coarse])
        for item_id, prompt, gold, fine, coarse in draw_distinct(make, n, seed, split, "doit-cw")
    ]


generate_train, generate_eval = protocol(__name__)
