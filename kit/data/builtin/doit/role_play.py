"""DoIT's role-play ability (BELLE's multi-turn role-play chats, question_format 1), mirrored in English: the user
sets a persona ("You are Mira, a barista at Bean There Cafe. A latte costs $4 ... "), and one or two earlier
exchanges follow (the assistant introduces itself in character; it may announce today's special or answer a first
question); the last user turn asks for a fact given earlier (a price, the opening or closing time, the name, the
place, the special). The gold reply answers it in character and consistently; the fine distractor is the gold with
that fact corrupted (another price, time, name, place or special); the coarse one is an in-character reply of
another persona.

Messages alternate user/assistant: 4 or 6 of them, ending on the gold.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from kit.data.builtin import draw_distinct, rng_for
from kit.data.builtin.doit import protocol, record

VERSION = "1"
TYPE = "role_play"
QUESTION_FORMAT = 1


class Role(NamedTuple):
    role: str
    places: tuple[str, ...]
    items: tuple[str, ...]
    prices: tuple[int, int]
    specials: tuple[str, ...]
    flourishes: tuple[str, ...]


# fmt: off
ROLES = (
    Role("barista", ("Bean There Cafe", "Morning Cup", "The Daily Grind"),
         ("a latte", "a cappuccino", "a hot chocolate"), (3, 7),
         ("a honey oat latte", "a cinnamon roll", "a lemon muffin"),
         ("Want me to start one for you?", "I can make it extra hot if you like.", "It pairs well with a muffin.")),
    Role("baker", ("Sunrise Bakery", "Golden Crust", "Flour and Stone"),
         ("a sourdough loaf", "a croissant", "a rye loaf"), (2, 9),
         ("a pear tart", "a walnut bread", "a poppy seed cake"),
         ("It came out of the oven an hour ago.", "Shall I wrap one up for you?", "They smell wonderful today.")),
    Role("hotel receptionist", ("Harbor View Hotel", "The Linden Inn", "Parkside Lodge"),
         ("a double room for one night", "a single room for one night", "breakfast for two"), (40, 150),
         ("a free late checkout", "a discount on the spa", "a city tour at ten"),
         ("Shall I book it for you?", "I hope you enjoy your stay with us.", "Just let me know if you need anything.")),
    Role("ticket seller", ("City Science Museum", "Riverside Art Gallery", "Old Town History Museum"),
         ("an adult ticket", "a student ticket", "a family ticket"), (5, 30),
         ("a dinosaur exhibit", "a tour of the rooftop", "a painting workshop"),
         ("Would you like to buy one now?", "You will love the new rooms.", "The audio guide is included.")),
    Role("bike mechanic", ("Spoke and Chain", "Wheelhouse Bikes", "Pedal Point"),
         ("a flat tire repair", "a brake adjustment", "a full tune-up"), (8, 60),
         ("free chain oiling", "half-price bells", "a helmet fitting"),
         ("Bring the bike in whenever you like.", "It usually takes about an hour.",
          "I'll have it rolling in no time.")),
    Role("florist", ("Petal and Stem", "The Green Vase", "Bloom Corner"),
         ("a bunch of tulips", "a single rose", "a small bouquet"), (3, 35),
         ("sunflowers from the farm", "a lavender wreath", "white lilies"),
         ("I can add a ribbon for free.", "They will last a week in fresh water.", "Shall I wrap them for you?")),
    Role("zoo guide", ("Lakeside Zoo", "Green Hills Wildlife Park", "Maple Grove Zoo"),
         ("the penguin tour", "the night safari", "the reptile house tour"), (4, 25),
         ("a baby giraffe to visit", "the sea lion show", "feeding time at the otter pool"),
         ("Follow me, it's just this way.", "Don't forget your camera!", "The animals are lively this morning.")),
    Role("ferry clerk", ("North Pier Ferries", "Bay Crossing Terminal", "Island Link Dock"),
         ("a one-way ticket", "a return ticket", "a bike on board"), (3, 40),
         ("a sunset crossing", "free hot tea on deck", "a stop at the lighthouse"),
         ("The boat leaves from gate two.", "The sea is calm today.", "Keep your ticket handy on board.")),
)
NAMES = (
    "Mira", "Tomas", "Lena", "Oscar", "Priya", "Jonah", "Elsa", "Ravi", "Nora", "Felix", "Ada", "Hugo", "Iris",
    "Marco", "Zoe", "Leo", "Ines", "Sam", "Yuki", "Omar",
)
OPEN_TIMES = ("7 a.m.", "8 a.m.", "9 a.m.", "10 a.m.")
CLOSE_TIMES = ("4 p.m.", "5 p.m.", "6 p.m.", "7 p.m.", "8 p.m.", "9 p.m.")
GREETINGS = ("Hi there!", "Hello!", "Good morning!", "Hey, hello!", "Excuse me, hi!")
ASK = {
    "price": ("How much is {item}?", "What does {item} cost?", "Sorry, how much did you say {item} was?"),
    "open": ("What time do you open tomorrow?", "When do you open in the morning?"),
    "close": ("When do you close today?", "What time do you close?"),
    "name": ("Sorry, what was your name again?", "Who am I speaking with, again?"),
    "place": ("Remind me, where am I exactly?", "What is this place called again?"),
    "special": ("What was today's special again?", "Can you remind me of the special?"),
}
# fmt: on


class Persona(NamedTuple):
    name: str
    role: Role
    place: str
    item: str
    price: int
    open: str
    close: str
    special: str


def _persona(rng: random.Random, role: Role | None = None) -> Persona:
    role = role or rng.choice(ROLES)
    return Persona(
        rng.choice(NAMES), role, rng.choice(role.places), rng.choice(role.items), rng.randint(*role.prices),
        rng.choice(OPEN_TIMES), rng.choice(CLOSE_TIMES), rng.choice(role.specials),
    )  # fmt: skip


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _answer(p: Persona, fact: str, flourish: str) -> str:
    """The in-character reply that states ``fact``, from persona ``p``."""
    if fact == "price":
        return f"{_cap(p.item)} is ${p.price} here at {p.place}. {flourish}"
    if fact == "open":
        return f"We open at {p.open}, and I'll be here to greet you. {flourish}"
    if fact == "close":
        return f"We close at {p.close} today, so there's still time. {flourish}"
    if fact == "name":
        return f"I'm {p.name}, the {p.role.role} here. {flourish}"
    if fact == "place":
        return f"You're at {p.place}! I'm {p.name}, the {p.role.role}, and I'm glad you stopped by. {flourish}"
    return f"Today's special is {p.special}, just as I said, and it's very popular with everyone. {flourish}"


def _corrupted(rng: random.Random, p: Persona, fact: str) -> Persona:
    """``p`` with ``fact`` changed to another value."""
    if fact == "price":
        return p._replace(price=p.price + rng.choice((-2, -1, 1, 2, 3)) if p.price > 2 else p.price + 2)
    if fact == "open":
        return p._replace(open=rng.choice([t for t in OPEN_TIMES if t != p.open]))
    if fact == "close":
        return p._replace(close=rng.choice([t for t in CLOSE_TIMES if t != p.close]))
    if fact == "name":
        return p._replace(name=rng.choice([n for n in NAMES if n != p.name]))
    if fact == "place":
        return p._replace(place=rng.choice([x for x in p.role.places if x != p.place]))
    return p._replace(special=rng.choice([s for s in p.role.specials if s != p.special]))


def make(seed: int, i: int) -> tuple[str, list[dict], str, str]:
    """Candidate i: (the conversation before the gold as text, every message, fine distractor, coarse distractor)."""
    rng = rng_for("doit_role_play", seed, i)
    p = _persona(rng)
    setup = (
        f"You are {p.name}, a {p.role.role} at {p.place}. {_cap(p.item)} costs ${p.price}. {p.place} is open from "
        f"{p.open} to {p.close} every day. Stay in character as {p.name}."
    )
    intro = f"Hello! I'm {p.name}, the {p.role.role} here at {p.place}. How can I help you today?"
    messages = [{"role": "user", "content": f"{setup} {rng.choice(GREETINGS)}"}]
    if rng.random() < 0.5:  # the assistant announces the special itself
        intro += f" By the way, today's special is {p.special}."
        told = {"price", "open", "close", "name", "place", "special"}
    else:
        told = {"price", "open", "close", "name", "place"}
    messages.append({"role": "assistant", "content": intro})
    fact = rng.choice(sorted(told))
    if rng.random() < 0.5:  # a second exchange, about another fact
        first = rng.choice(sorted(told - {fact}))
        messages.append({"role": "user", "content": rng.choice(ASK[first]).format(item=p.item)})
        messages.append({"role": "assistant", "content": _answer(p, first, rng.choice(p.role.flourishes))})
    messages.append({"role": "user", "content": rng.choice(ASK[fact]).format(item=p.item)})
    flourish = rng.choice(p.role.flourishes)
    gold = _answer(p, fact, flourish)
    fine = _answer(_corrupted(rng, p, fact), fact, flourish)
    other = _persona(rng, rng.choice([r for r in ROLES if r != p.role]))
    coarse = _answer(other, rng.choice([f for f in ASK if f != fact]), rng.choice(other.role.flourishes))
    messages.append({"role": "assistant", "content": gold})
    key = "\n".join(f"{m['role']}: {m['content']}" for m in messages[:-1])
    return key, messages, fine, coarse


def records(n: int, seed: int, split: str) -> list[dict]:
    return [
        record(item_id, messages, TYPE, QUESTION_FORMAT, choices=[messages[-1]["content"], fine, coarse])
        for item_id, _, messages, fine, coarse in draw_distinct(make, n, seed, split, "doit-rp")
    ]


generate_train, generate_eval = protocol(__name__)
