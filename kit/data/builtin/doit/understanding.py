"""DoIT's dialogue-comprehension ability (C3: a short conversation, a question about it, three or four options),
mirrored in English: a 3-6 line conversation between two named people ("Name: line") about a plan, then a question
whose answer the conversation settles only at its end, after an alternative was raised and dropped:

- ``time``: when they will meet (a first time is turned down because of a clash that ends at another time);
- ``place``: where they will meet (the first place is closed or too far; the second is agreed);
- ``buy``: what one of them buys in the end (the first choice is sold out or too dear);
- ``bring``: who brings what to a party (each of the two speakers and a third, named person takes one thing);
- ``weekend``: what one of them will do at the weekend (the first guess is wrong; the other speaker's plan is
  another distractor).

The wrong options are the dropped alternatives and the other values mentioned, topped up from the same pool; half
the items have three options and half four (C3's chance is 1/3 or 1/4; the scorer counts the option lines). The
gold reply is the letter alone.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from kit.data.builtin import draw_distinct, rng_for
from kit.data.builtin.doit import exchange, mc_prompt, protocol, record, shuffled

VERSION = "1"
TYPE = "understanding"
QUESTION_FORMAT = 0

# fmt: off
NAMES = (
    "Anna", "Ben", "Clara", "Daniel", "Ella", "Felix", "Greta", "Harry", "Ivy", "Jonas", "Kate", "Liam", "Mona",
    "Nick", "Olivia", "Peter", "Rita", "Simon", "Tess", "Victor", "Wendy", "Alex", "Bella", "Chris", "Diana",
    "Eric", "Fiona", "George", "Helen", "Ian", "Julia", "Kevin", "Lisa", "Martin", "Nina", "Oliver", "Paula",
    "Ryan", "Sara", "Tim",
)
PLACES = (
    "the library", "the cafe on Main Street", "the train station", "the park gate", "the cinema", "the museum",
    "the bookshop", "the sports hall", "the market square", "the bus stop", "the bakery", "the swimming pool",
    "the art gallery", "the town hall",
)
PLACE_PROBLEMS = ("it's closed for repairs this week", "it's too far from my flat", "it's always too crowded",
                  "they're painting it this week", "there's nowhere to sit there")
CLASHES = ("a dentist appointment", "a piano lesson", "a team meeting", "a maths class", "football practice",
           "a doctor's appointment", "a job interview", "a driving lesson")
ACTIVITIES = ("study for the exam", "go to the cinema", "play tennis", "have lunch", "work on our project",
              "go for a run", "visit the exhibition", "practise our presentation")
ITEMS = (
    "a blue scarf", "a red umbrella", "a pair of boots", "a winter coat", "a leather bag", "a green sweater",
    "a straw hat", "a pair of gloves", "a black jacket", "a wool hat", "a silver watch", "a cotton shirt",
)
ITEM_PROBLEMS = ("We've just sold the last one, I'm afraid.", "That costs two hundred dollars.",
                 "Sorry, we don't have that in your size.", "I'm sorry, that's not for sale.")
FOOD = ("the drinks", "the sandwiches", "the cake", "the fruit salad", "the crisps", "the pizza", "the paper cups",
        "the ice cream", "the music speaker", "the birthday card")
PLANS = (  # (infinitive, -ing form)
    ("go camping", "going camping"), ("visit my grandparents", "visiting your grandparents"),
    ("paint the kitchen", "painting the kitchen"), ("go fishing", "going fishing"),
    ("see a football match", "seeing a football match"), ("clean the garage", "cleaning the garage"),
    ("go to a concert", "going to a concert"), ("help my brother move house", "helping your brother move house"),
    ("bake for the school fair", "baking for the school fair"), ("go hiking in the hills", "going hiking"),
)
PLAN_REASONS = ("that's been moved to next month", "I changed my plans", "that's not happening this time",
                "we cancelled that")
# fmt: on
TIMES = [f"{h} o'clock" for h in ("two", "three", "four", "five", "six", "seven")]
TIME_WORDS = ("two", "three", "four", "five", "six", "seven")


class Item(NamedTuple):
    prompt: str
    gold: str  # the letter
    kind: str
    options: tuple[str, ...]
    answer: str  # the gold option's text


def _options(rng: random.Random, gold: str, mentioned: list[str], pool: list[str] | tuple[str, ...], k: int):
    """k - 1 wrong options: the mentioned alternatives first, then others from the pool."""
    wrong = [x for x in dict.fromkeys(mentioned) if x != gold][: k - 1]
    rest = [x for x in pool if x != gold and x not in wrong]
    wrong += rng.sample(rest, k - 1 - len(wrong))
    return wrong


def _time(rng: random.Random, a: str, b: str, k: int):
    activity = rng.choice(ACTIVITIES)
    place = rng.choice(PLACES)
    first, clash_end, agreed = sorted(rng.sample(range(len(TIMES)), 3))
    clash = rng.choice(CLASHES)
    lines = [
        (a, f"Shall we {activity} tomorrow afternoon? We could meet at {place} at {TIMES[first]}."),
        (b, f"I'd love to, but I have {clash} until {TIMES[clash_end]}."),
        (a, f"Then how about {TIMES[agreed]}?"),
        (b, f"{TIMES[agreed].capitalize()} is perfect. See you at {place}."),
    ]
    if rng.random() < 0.5:
        lines.insert(2, (a, "Oh, I forgot. How long does it usually take?"))
        lines.insert(3, (b, "About an hour, sometimes a bit more."))
    question = "At what time will they meet tomorrow?"
    gold = TIMES[agreed]
    return lines, question, gold, [TIMES[first], TIMES[clash_end]], TIMES


def _place(rng: random.Random, a: str, b: str, k: int):
    first, agreed, other = rng.sample(PLACES, 3)
    activity = rng.choice(ACTIVITIES)
    lines = [
        (a, f"Do you want to {activity} on Saturday? We could meet at {first}."),
        (b, f"Not {first}, {rng.choice(PLACE_PROBLEMS)}. What about {agreed}?"),
        (a, f"Fine with me. {agreed.capitalize()} it is."),
    ]
    if rng.random() < 0.5:
        lines.append((b, f"Great. And afterwards we could walk over to {other} if there's time."))
        lines.append((a, "Maybe, let's see how we feel."))
    question = "Where will they meet on Saturday?"
    return lines, question, agreed, [first, other], PLACES


def _buy(rng: random.Random, a: str, b: str, k: int):
    first, bought, other = rng.sample(ITEMS, 3)
    lines = [
        (a, f"Excuse me, I'd like {first} from the window display."),
        (b, rng.choice(ITEM_PROBLEMS)),
        (a, f"Oh. Then what would you recommend instead? Maybe {other}?"),
        (b, f"I'd suggest {bought}. It's very good value."),
        (a, f"All right, I'll take {bought}."),
    ]
    question = f"What does {a} buy in the end?"
    return lines, question, bought, [first, other], ITEMS


def _bring(rng: random.Random, a: str, b: str, k: int):
    third, fourth = rng.sample([n for n in NAMES if n not in (a, b)], 2)
    foods = rng.sample(FOOD, 3)
    lines = [
        (a, f"For the party on Friday, I'll bring {foods[0]}."),
        (b, f"Then I'll bring {foods[1]}. Has anyone asked {third}?"),
        (a, f"Yes, {third} is bringing {foods[2]}."),
    ]
    if k == 4 or rng.random() < 0.5:
        lines.append((b, f"Good. I'll ask {fourth} to help us set up the room."))
    who = rng.randrange(3)
    question = f"Who will bring {foods[who]} to the party?"
    gold = (a, b, third)[who]
    mentioned = [a, b, third, fourth] if len(lines) == 4 else [a, b, third]
    return lines, question, gold, mentioned, NAMES


def _weekend(rng: random.Random, a: str, b: str, k: int):
    guess, actual, own = rng.sample(PLANS, 3)
    lines = [
        (a, f"Are you {guess[1]} this weekend?"),
        (b, f"No, {rng.choice(PLAN_REASONS)}. I'm going to {actual[0]} instead. And you?"),
        (a, f"I'm going to {own[0]}."),
    ]
    question = f"What will {b} do this weekend?"

    def third_person(plan: tuple[str, str]) -> str:  # "visit my grandparents" -> "visit Ben's grandparents"
        return plan[0].replace(" my ", f" {b}'s ")

    pool = [third_person(p) for p in PLANS]
    return lines, question, third_person(actual), [third_person(guess), third_person(own)], pool


KINDS = {"time": _time, "place": _place, "buy": _buy, "bring": _bring, "weekend": _weekend}


def make(seed: int, i: int) -> Item:
    rng = rng_for("doit_understanding", seed, i)
    kind = rng.choice(sorted(KINDS))
    k = rng.choice((3, 4))
    a, b = rng.sample(NAMES, 2)
    lines, question, gold, mentioned, pool = KINDS[kind](rng, a, b, k)
    wrong = _options(rng, gold, mentioned, pool, k)
    options, letter = shuffled(rng, gold, wrong)
    dialogue = "\n".join(f"{name}: {line}" for name, line in lines)
    stem = f"Read the conversation and answer the question.\n{dialogue}\nQuestion: {question}"
    return Item(mc_prompt(stem, options), letter, kind, tuple(options), gold)


def records(n: int, seed: int, split: str) -> list[dict]:
    return [
        record(item_id, exchange(prompt, gold), TYPE, QUESTION_FORMAT)
        for item_id, prompt, gold, *_ in draw_distinct(make, n, seed, split, "doit-understanding")
    ]


generate_train, generate_eval = protocol(__name__)
