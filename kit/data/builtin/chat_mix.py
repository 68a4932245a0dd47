"""Built-in mixed chat conversations with hidden labels (code about 30%, math 20%, other 50%): the training pool of
P2's cpu profile, which a classifier (kit.data.classify) splits as P2 split ShareGPT, and a labelled set to measure
that classifier on (``generate_labelled``).

Every conversation is coherent training material:
- code: the built-in Python function tasks (kit.data.builtin.code_easy and code) written with or without a fence,
  explained, or written then explained over two turns; plus small SQL queries, JavaScript functions and shell
  commands written here;
- math: the built-in word problems (math_easy, math) in their ``#### N`` format or answered in prose, equations
  solved for x, unit conversions and averages with worked steps;
- other: the built-in general instructions, plus hard negatives that carry code or math words or numbers without
  being about either (a TV program, a committee's function, a film script, a ball python, dates, addresses, prices
  in a story, a recipe's quantities).

A conversation built on another generator's item is keyed by that item's own key (its question or prompt), so it
falls in the same train/eval half as there: chat_mix's training rows never hold another generator's eval items.
"""

from __future__ import annotations

import random

from kit.data.builtin import code, code_easy, draw_distinct, general, math, math_easy
from kit.data.schema import chat_row

VERSION = "1"
SOURCE = "builtin:chat_mix"
LABEL_WEIGHTS = {"code": 0.3, "math": 0.2, "other": 0.5}


def _chat(*turns: str) -> list[dict]:
    return [{"role": ("user", "assistant")[k % 2], "content": t} for k, t in enumerate(turns)]


# --- code: the built-in Python tasks in four styles --------------------------------------------------------


def _python_task(rng: random.Random, seed: int) -> tuple[code.Spec, code.CodeTask]:
    level = code_easy if rng.random() < 0.5 else code
    while True:
        spec = level.draw_spec(seed, rng.randrange(1 << 30))
        task = code.build_task(spec)
        if task is not None:
            return spec, task


def _example(task: code.CodeTask) -> str:
    """ "For example, `f(3)` returns `11`." from one of the task's asserts."""
    lines = task.tests.splitlines()
    call, _, expected = lines[min(1, len(lines) - 1)].removeprefix("assert ").partition(" == ")
    return f"For example, `{call}` returns `{expected}`."


def _signature(spec: code.Spec) -> str:
    return f"`{spec.name}({', '.join(spec.params)})`"


def _python(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    spec, task = _python_task(rng, seed)
    style = rng.choice(("fenced", "plain", "explain", "two_turns"))
    explanation = f"The function {_signature(spec)} {spec.does}. {_example(task)}"
    if style == "fenced":
        messages = _chat(task.prompt, code.answer(task))
    elif style == "plain":
        ask = rng.choice(("Write a Python function", "Can you write a Python function", "I need a Python function"))
        messages = _chat(
            f"{ask} {_signature(spec)} that {spec.does}.",
            f"Here is one way to write it:\n\n{task.solution}\n{explanation}",
        )
    elif style == "explain":
        shown = code.answer(task) if rng.random() < 0.5 else task.solution
        ask = rng.choice(("What does this function do?", "Can you explain this Python code?", "Explain this code."))
        messages = _chat(f"{ask}\n\n{shown}", explanation)
    else:
        follow = rng.choice(("Can you explain how it works?", "What does it return for an example input?"))
        messages = _chat(task.prompt, code.answer(task), follow, explanation)
    return code.prompt(spec), messages


# --- code: SQL, JavaScript and shell, written here ----------------------------------------------------------

# (table, what a row is, name column, numeric column with its meaning, a grouping column)
TABLES = (
    ("employees", "employees", "name", ("salary", "salary"), "department"),
    ("orders", "orders", "customer", ("total", "order total"), "country"),
    ("books", "books", "title", ("price", "price"), "author"),
    ("students", "students", "name", ("score", "test score"), "class_name"),
    ("products", "products", "product_name", ("stock", "number in stock"), "category"),
    ("flights", "flights", "flight_number", ("delay_minutes", "delay in minutes"), "airline"),
)


def _sql(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    table, things, name, (num, num_words), group = rng.choice(TABLES)
    v, k = rng.randint(2, 900), rng.randint(2, 20)
    group_words = group.replace("_", " ")
    kind = rng.choice(("filter", "group", "top", "average"))
    if kind == "filter":
        ask = f"Write a SQL query that returns the {name} of every row in `{table}` whose {num_words} is above {v}."
        query = f"SELECT {name}\nFROM {table}\nWHERE {num} > {v};"
        why = f"The WHERE clause keeps only the {things} whose `{num}` is greater than {v}."
    elif kind == "group":
        ask = f"How do I count the {things} with a {num_words} of at least {v} for each {group_words} in `{table}`?"
        query = f"SELECT {group}, COUNT(*) AS {things}_count\nFROM {table}\nWHERE {num} >= {v}\nGROUP BY {group};"
        why = (
            f"WHERE drops the rows below {v} first; GROUP BY then makes one group per `{group}` and COUNT(*) counts it."
        )
    elif kind == "top":
        ask = f"Write a SQL query to list the {k} {things} with the highest {num_words} below {v} in `{table}`."
        query = f"SELECT {name}, {num}\nFROM {table}\nWHERE {num} < {v}\nORDER BY {num} DESC\nLIMIT {k};"
        why = f"ORDER BY {num} DESC puts the largest values first, and LIMIT {k} keeps the first {k} rows."
    else:
        ask = (
            f"Write a SQL query for the average {num_words} per {group_words} in `{table}`, keeping averages above {v}."
        )
        query = f"SELECT {group}, AVG({num}) AS average_{num}\nFROM {table}\nGROUP BY {group}\nHAVING AVG({num}) > {v};"
        why = f"AVG({num}) averages each `{group}` group, and HAVING keeps the groups whose average is above {v}."
    shown = f"```sql\n{query}\n```" if rng.random() < 0.7 else query
    return ask, _chat(ask, f"{shown}\n\n{why}")


def _js(value) -> str:
    """A Python value as JavaScript source."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(map(_js, value)) + "]"
    return str(value)


def _numbers(rng: random.Random) -> list[int]:
    return [rng.randint(-5, 40) for _ in range(rng.randint(3, 6))]


def _words(rng: random.Random) -> list[str]:
    return [rng.choice(code.WORDS[:21]) for _ in range(rng.randint(2, 4))]


# (name, params, what it does, body, an example's arguments, its result): {k} is a constant drawn per function
JS_FUNCTIONS = (
    ("sumAbove", "values, limit", "returns the sum of the numbers in `values` that are greater than `limit`",
     "return values.filter((v) => v > limit).reduce((a, b) => a + b, 0);",
     lambda rng, k: (_numbers(rng), k), lambda xs, lim: sum(x for x in xs if x > lim)),
    ("countWord", "text, word", "counts how many times `word` appears as a whole word in `text`",
     "return text.split(/\\s+/).filter((w) => w === word).length;",
     lambda rng, k: (" ".join(ws := _words(rng)), rng.choice(ws)), lambda t, w: t.split().count(w)),
    ("capitalize", "text", "returns `text` with its first letter in upper case",
     "return text.charAt(0).toUpperCase() + text.slice(1);",
     lambda rng, k: (" ".join(_words(rng)),), lambda t: t[:1].upper() + t[1:]),
    ("scaleAll", "numbers", "returns a new array with every number multiplied by {k}",
     "return numbers.map((n) => n * {k});",
     lambda rng, k: (_numbers(rng),), None),
    ("lastItems", "items", "returns the last {k} elements of the array `items`",
     "return items.slice(-{k});",
     lambda rng, k: ([rng.randint(0, 99) for _ in range(k + rng.randint(1, 3))],), None),
    ("isLongWord", "word", "returns true when `word` has more than {k} characters",
     "return word.length > {k};",
     lambda rng, k: (rng.choice(code.WORDS),), None),
    ("evenOnly", "numbers", "returns only the even numbers of the array `numbers`",
     "return numbers.filter((n) => n % 2 === 0);",
     lambda rng, k: (_numbers(rng),), lambda xs: [x for x in xs if x % 2 == 0]),
    ("joinWithDash", "parts", "joins the strings in `parts` with a dash between them",
     "return parts.join('-');",
     lambda rng, k: (_words(rng),), lambda parts: "-".join(parts)),
)  # fmt: skip
# The functions whose result depends on {k}, by name.
JS_WITH_K = {
    "scaleAll": lambda k: lambda xs: [x * k for x in xs],
    "lastItems": lambda k: lambda xs: xs[-k:],
    "isLongWord": lambda k: lambda w: len(w) > k,
}
JS_VERBS = ("Write a JavaScript function", "Please write a JavaScript function", "In JavaScript, write a function")


def _javascript(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    name, params, does, body, example, result = rng.choice(JS_FUNCTIONS)
    k = rng.randint(2, 12)
    fname = f"{name}{rng.choice(('', 'Of', 'List', 'Values', 'Now', 'Items'))}"
    does, body = does.format(k=k), body.format(k=k)
    args = example(rng, k)
    value = (result or JS_WITH_K[name](k))(*args)
    call = f"{fname}({', '.join(map(_js, args))})"
    ask = f"{rng.choice(JS_VERBS)} `{fname}({params})` that {does}. For example, `{call}` should give `{_js(value)}`."
    source = f"function {fname}({params}) {{\n  {body}\n}}"
    shown = f"```javascript\n{source}\n```" if rng.random() < 0.7 else source
    return ask, _chat(ask, f"{shown}\n\nThe function {does}, in one line, so `{call}` returns `{_js(value)}`.")


FILES = ("notes", "report", "server", "access", "data", "todo", "results", "app", "backup", "draft")
FOLDERS = ("logs", "docs", "photos", "src", "downloads", "projects", "music", "archive")
LOG_WORDS = ("ERROR", "WARNING", "timeout", "login", "failed", "TODO", "user", "disk")
EXTENSIONS = ("txt", "log", "csv", "py", "md", "jpg")


def _shell(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    stem = f"{rng.choice(FILES)}{rng.choice(('', '_old', '_new', '_2024', '_v2', '_backup'))}"
    file, folder, word = f"{stem}.{rng.choice(EXTENSIONS[:4])}", rng.choice(FOLDERS), rng.choice(LOG_WORDS)
    n, ext, top = rng.randint(2, 500), rng.choice(EXTENSIONS), rng.randint(3, 20)
    task, command, why = rng.choice(
        (
            (f"count the lines of every .{ext} file in the {folder} folder", f"wc -l {folder}/*.{ext}",
             "`wc -l` prints the number of lines of each file, and a total at the end."),
            (f"find the files bigger than {n} MB in the {folder} folder", f"find {folder} -type f -size +{n}M",
             f"`-type f` keeps regular files and `-size +{n}M` those larger than {n} megabytes."),
            (f"find the .{ext} files changed in the last {n} days", f"find . -name '*.{ext}' -mtime -{n}",
             f"`-name` matches the file names and `-mtime -{n}` keeps files modified less than {n} days ago."),
            (f"count the lines that contain '{word}' in {file}", f"grep -c '{word}' {file}",
             f"`grep -c` prints how many lines of {file} match instead of the lines themselves."),
            (f"list the {top} largest files in the {folder} folder", f"du -ah {folder} | sort -rh | head -n {top}",
             "`du -ah` lists sizes in readable units, `sort -rh` puts the largest first and `head` keeps the top."),
            (f"replace every '{word}' with '{word.lower()}_old' in {file}",
             f"sed -i 's/{word}/{word.lower()}_old/g' {file}",
             "`sed -i` edits the file in place, and the `g` flag replaces every match on a line, not just the first."),
            (f"pack the {folder} folder into an archive named {stem}.tar.gz", f"tar -czf {stem}.tar.gz {folder}",
             "`-c` creates an archive, `-z` compresses it with gzip and `-f` names the file."),
            (f"show the last {n} lines of {file}", f"tail -n {n} {file}",
             f"`tail -n {n}` prints the final {n} lines; add `-f` to keep following the file as it grows."),
        )
    )  # fmt: skip
    ask = rng.choice(("How do I {task} from the command line?", "What shell command can I use to {task}?",
                      "On Linux, how can I {task}?")).format(task=task)  # fmt: skip
    shown = f"```bash\n{command}\n```" if rng.random() < 0.6 else f"Run:\n\n    {command}"
    return ask, _chat(ask, f"{shown}\n\n{why}")


# --- math: the built-in word problems, and equations, conversions and averages written here ---------------

LEAD_INS = ("", "Can you help me with this problem? ", "Here is a question from my homework. ", "Quick question: ")


def _word_problem(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    level = math_easy if rng.random() < 0.5 else math
    question, solution, answer = level.make_problem(seed, rng.randrange(1 << 30))
    if rng.random() < 0.5:  # the built-in format: the answer-format instruction and '#### N'
        return question, _chat(level.prompt(question), solution)
    steps = solution.rsplit("\n", 1)[0]
    return question, _chat(f"{rng.choice(LEAD_INS)}{question}", f"{steps}\nSo the answer is {answer}.")


def _solve_for_x(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    a, x, b = rng.randint(2, 12), rng.randint(-9, 20), rng.randint(1, 60)
    sign = rng.choice(("+", "-"))
    c = a * x + b if sign == "+" else a * x - b
    equation = f"{a}x {sign} {b} = {c}"
    ask = rng.choice(("Solve for x: {e}.", "What value of x makes {e} true?", "Find x if {e}.")).format(e=equation)
    undo = f"Subtract {b} from both sides" if sign == "+" else f"Add {b} to both sides"
    rhs = c - b if sign == "+" else c + b
    reply = f"{undo}: {a}x = {rhs}.\nDivide both sides by {a}: x = {x}.\nCheck: {a}({x}) {sign} {b} = {c}."
    return ask, _chat(ask, reply)


# (unit, its plural, smaller unit's plural, how many of the smaller make one)
UNITS = (
    ("meter", "meters", "centimeters", 100), ("kilometer", "kilometers", "meters", 1000),
    ("kilogram", "kilograms", "grams", 1000), ("hour", "hours", "minutes", 60), ("minute", "minutes", "seconds", 60),
    ("foot", "feet", "inches", 12), ("yard", "yards", "feet", 3), ("liter", "liters", "milliliters", 1000),
    ("day", "days", "hours", 24), ("week", "weeks", "days", 7), ("dollar", "dollars", "cents", 100),
)  # fmt: skip


def _conversion(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    unit, units, small, factor = rng.choice(UNITS)
    v, extra = rng.randint(2, 40), rng.randint(1, factor - 1)
    whole = v * factor
    if rng.random() < 0.5:
        ask = rng.choice(("How many {s} are in {v} {u}?", "Convert {v} {u} to {s}.")).format(s=small, v=v, u=units)
        reply = f"One {unit} is {factor} {small}, so {v} {units} = {v} x {factor} = {whole} {small}."
    else:
        ask = f"How many {small} are in {v} {units} and {extra} {small}?"
        reply = (
            f"One {unit} is {factor} {small}, so {v} {units} = {v} x {factor} = {whole} {small}.\n"
            f"Adding the {extra} {small}: {whole} + {extra} = {whole + extra} {small}."
        )
    return ask, _chat(ask, reply)


def _average(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    count = rng.randint(3, 5)
    values = [rng.randint(1, 99) for _ in range(count)]
    values[-1] += -sum(values) % count  # a whole-number mean
    total = sum(values)
    listed = ", ".join(map(str, values[:-1])) + f" and {values[-1]}"
    ask = rng.choice(("What is the average of {l}?", "Find the mean of {l}.")).format(l=listed)
    reply = (
        f"First add them: {' + '.join(map(str, values))} = {total}.\n"
        f"There are {count} numbers, so the average is {total} / {count} = {total // count}."
    )
    return ask, _chat(ask, reply)


# --- other: the built-in general instructions, and hard negatives written here -----------------------------


def _general(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    prompt, response, _ = general.make_instruction(seed, rng.randrange(1 << 30))
    return prompt, _chat(prompt, response)


NAMES = tuple(name for name, _ in math.NAMES)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
GENRES = ("cooking", "nature", "quiz", "history", "gardening", "travel", "comedy", "science")
COMMITTEES = (  # (committee, where, what it does)
    ("finance", "a school board", "reviews the budget and advises the board before it votes on spending"),
    ("planning", "a town council", "studies proposals for new buildings and roads and makes recommendations"),
    ("safety", "a factory", "looks for hazards, hears workers' concerns and checks that rules are followed"),
    ("events", "a sports club", "organises matches, dinners and open days and finds volunteers for them"),
    ("ethics", "a hospital", "advises doctors and families on difficult decisions about care"),
    ("program", "a scientific conference", "chooses which talks are accepted and builds the schedule"),
)
STREETS = ("Elm Street", "Oak Avenue", "Maple Road", "Station Road", "Church Lane", "Park Drive", "Hill Street")
REQUESTS = ("trim the hedge that hangs over the path", "keep the music down after 10 pm",
            "move their bins off the pavement", "join a street clean-up on Saturday")  # fmt: skip
MARKET_ITEMS = ("kite", "straw hat", "jar of honey", "second-hand book", "bunch of tulips", "wooden flute")
PLACES = ("train station", "bakery", "bus stop", "museum", "park bench", "library")
# dish: (ingredients per 2 servings as (amount, unit or what when counted, its plural, what), steps)
RECIPES = {
    "pancakes": ([(1, "cup", "cups", "flour"), (1, "egg", "eggs", ""), (0.75, "cup", "cups", "milk"),
                  (1, "tablespoon", "tablespoons", "sugar")],
                 "Whisk everything into a smooth batter, then cook small ladles of it in a hot pan for about two "
                 "minutes a side."),
    "tomato soup": ([(4, "ripe tomato", "ripe tomatoes", ""), (1, "onion", "onions", ""),
                     (2, "cup", "cups", "vegetable stock"), (1, "tablespoon", "tablespoons", "olive oil")],
                    "Soften the chopped onion in the oil, add the tomatoes and stock, simmer for 20 minutes and "
                    "blend until smooth."),
    "fruit salad": ([(1, "apple", "apples", ""), (1, "banana", "bananas", ""), (1, "cup", "cups", "grapes"),
                     (2, "tablespoon", "tablespoons", "orange juice")],
                    "Chop the fruit into bite-sized pieces, toss it with the orange juice and chill it before "
                    "serving."),
    "porridge": ([(1, "cup", "cups", "rolled oats"), (2, "cup", "cups", "milk"), (1, "pinch of", "pinches of", "salt"),
                  (1, "teaspoon", "teaspoons", "honey")],
                 "Simmer the oats in the milk with the salt for five minutes, stirring, and top with the honey."),
}  # fmt: skip


def _ingredient(amount: float, one: str, many: str, what: str) -> str:
    number = str(int(amount)) if amount == int(amount) else str(amount)
    return " ".join(part for part in (f"- {number}", many if amount > 1 else one, what) if part)


def _hard_negative(rng: random.Random, seed: int) -> tuple[str, list[dict]]:
    name, other = rng.sample(NAMES, 2)
    kind = rng.randrange(10)
    if kind == 0:
        genre, day1, day2, hour = rng.choice(GENRES), *rng.sample(DAYS, 2), rng.randint(6, 10)
        ask = (
            f"My favourite {genre} program on TV moved from {day1} to {day2} at {hour} pm. How can I avoid missing it?"
        )
        reply = (
            f"Set a reminder on your phone for {day2} a little before {hour} pm, or record the program if your TV "
            "box can do it. Most channels also keep recent episodes online for a week or two."
        )
    elif kind == 1:
        committee, where, does = rng.choice(COMMITTEES)
        members = rng.randint(3, 15)
        ask = rng.choice(
            (
                "What is the function of the {c} committee in {w}? It has {m} members.",
                "{n} was just asked to join the {m}-member {c} committee of {w}. What is its function?",
                "Explain the function of the {c} committee of {w} to {n}, its {m}th member.",
            )
        ).format(c=committee, w=where, n=name, m=members)
        reply = f"The {committee} committee {does}. It does not decide alone: it reports to the full body of {where}."
    elif kind == 2:
        month, d1, hour = rng.choice(MONTHS), rng.randint(1, 20), rng.randint(9, 16)
        d2 = d1 + rng.randint(1, 8)
        ask = f"Write a short note telling my team that the planning meeting moved from {month} {d1} to {month} {d2}."
        reply = (
            f"Hi all, a quick update: the planning meeting has moved from {month} {d1} to {month} {d2}, still at "
            f"{hour}:00 in the usual room. Please update your calendars. Thanks, {name}"
        )
    elif kind == 3:
        number, street, request = rng.randint(2, 240), rng.choice(STREETS), rng.choice(REQUESTS)
        ask = f"Write a friendly message to my neighbour at {number} {street} asking them to {request}."
        reply = (
            f"Hello, I live next door to you on {street} and wanted to ask a small favour: could you {request}? "
            f"It would make a real difference. Thank you, and do knock if I can ever help. Best wishes, {name}"
        )
    elif kind == 4:
        item, price = rng.choice(MARKET_ITEMS), rng.randint(2, 30)
        ask = f"Write a short story about {name} buying a {item} for ${price} at a Saturday market."
        reply = (
            f"{name} had saved ${price} for weeks. At the Saturday market, between the cheese stall and the flower "
            f"stand, a {item} caught the morning light. The seller smiled and said the price was exactly ${price}. "
            f"{name} paid, held the {item} carefully all the way home, and showed it to {other} before dinner."
        )
    elif kind == 5:
        dish = rng.choice(sorted(RECIPES))
        ingredients, steps = RECIPES[dish]
        servings = rng.choice((2, 4, 6, 8, 10, 12))
        lines = [_ingredient(a * servings / 2, one, many, what) for a, one, many, what in ingredients]
        ask = f"{name} is coming over. Give me a simple recipe for {dish} for {servings} people."
        reply = "Ingredients:\n" + "\n".join(lines) + f"\n\nMethod: {steps}"
    elif kind == 6:
        place = rng.choice(PLACES)
        ask = f"Write a short script for a scene in which two old friends, {name} and {other}, meet at a {place}."
        reply = (
            f"{name.upper()}: {other}? Is that really you?\n{other.upper()}: {name}! It has been years.\n"
            f"{name.upper()}: Ten, at least. You have not changed a bit.\n"
            f"{other.upper()}: Come on, there is a cafe near the {place}. Tell me everything."
        )
    elif kind == 7:
        age = rng.randint(8, 16)
        ask = rng.choice(
            (
                "My friend {n}, who is {a}, wants a pet snake. Is a ball python a good choice for a beginner?",
                "{n} has kept a ball python for {a} months. How big will it get?",
                "Is a ball python a good first pet for {n}'s family? Their youngest is {a}.",
            )
        ).format(n=name, a=age)
        reply = (
            "Ball pythons are calm, slow-moving snakes that usually grow to about four or five feet, which is why "
            "many keepers start with one. They need a warm enclosure with a hiding place and fresh water."
        )
    elif kind == 8:
        days = rng.randint(3, 21)
        ask = f"{name} and I are visiting the island of Java in Indonesia for {days} days. What should we not miss?"
        reply = (
            "Watch the sunrise over Borobudur, explore the old city of Yogyakarta, and if you like hiking, "
            "climb Mount Bromo before dawn. Leave time for the food markets and a batik workshop."
        )
    else:
        event = rng.choice(("wedding", "job interview", "gala dinner", "garden party"))
        code_kind = rng.choice(("smart casual", "black tie", "business formal", "cocktail"))
        month, day = rng.choice(MONTHS), rng.randint(1, 28)
        ask = f"The dress code for {name}'s {event} on {month} {day} says '{code_kind}'. What should I wear?"
        reply = (
            f"'{code_kind.capitalize()}' means you should look polished without overdoing it for a {event}. "
            "Choose well-fitting, clean clothes in calm colours, and when in doubt ask the host."
        )
    return ask, _chat(ask, reply)


FAMILIES = {  # label: ((family, weight within the label), ...)
    "code": ((_python, 0.6), (_sql, 0.15), (_javascript, 0.15), (_shell, 0.1)),
    "math": ((_word_problem, 0.55), (_solve_for_x, 0.15), (_conversion, 0.15), (_average, 0.15)),
    "other": ((_general, 0.5), (_hard_negative, 0.5)),
}


def make_conversation(seed: int, i: int) -> tuple[str, list[dict], str]:
    """Candidate i for ``seed``: (its key, the messages, the true label); fixed by (seed, i) alone."""
    rng = random.Random(f"chat_mix:{seed}:{i}")
    label = rng.choices(list(LABEL_WEIGHTS), weights=list(LABEL_WEIGHTS.values()))[0]
    families, weights = zip(*FAMILIES[label])
    key, messages = rng.choices(families, weights=weights)[0](rng, seed)
    return key, messages, label


def _conversations(n: int, seed: int, split: str):
    return draw_distinct(make_conversation, n, seed, split, "chat_mix")


def generate_train(n: int, seed: int) -> list[dict]:
    """n training rows of the train half; their labels stay hidden (a classifier decides what is selected)."""
    return [chat_row(row_id, SOURCE, messages) for row_id, _, messages, _ in _conversations(n, seed, "train")]


def generate_labelled(n: int, seed: int, split: str = "eval") -> list[tuple[dict, str]]:
    """n (row, true label) pairs of ``split``: the eval half measures a classifier on conversations it never selects
    for training."""
    return [
        (chat_row(row_id, SOURCE, messages), label) for row_id, _, messages, label in _conversations(n, seed, split)
    ]
