"""Readers for the publishers' own formats (GSM8K, Alpaca, ShareGPT, MT-Bench, our chat jsonl) -> chat rows.

Local files and hub datasets go through the same converters. A malformed record is counted in the report
(reason -> count, first ids), never silently dropped; more than 10% malformed means a wrong ``format:``.
A dataset that names a format's fields otherwise is read through a ``Layout`` (a source's ``columns:`` and
``roles:``), so a ShareGPT dump with ``speaker``/``text`` turns needs no conversion script.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from kit.data import hubfile
from kit.data.schema import DataError, message_problem
from kit.registry import did_you_mean

log = logging.getLogger(__name__)

FORMATS = ("gsm8k", "alpaca", "sharegpt", "chat", "doit")
KNOWN_HUB_FORMATS = {
    "openai/gsm8k": ("gsm8k", "main"),
    "sahil2801/CodeAlpaca-20k": ("alpaca", None),
    "anon8231489123/ShareGPT_Vicuna_unfiltered": ("sharegpt", None),
}
# Each format's fields, as the publisher names them: the record's keys, then for sharegpt and chat the keys of one
# turn (role, content). A source's ``columns:`` maps a field to the dataset's own name for it.
FIELDS = {
    "gsm8k": {"question": "question", "answer": "answer"},
    "alpaca": {"instruction": "instruction", "input": "input", "output": "output"},
    "sharegpt": {"conversations": "conversations", "role": "from", "content": "value"},
    "chat": {"messages": "messages", "role": "role", "content": "content"},
    "doit": {},  # DoIT's records are read as the authors wrote them (kit.data.doit)
}
SPEAKER_FORMATS = ("sharegpt", "chat")  # the formats whose turns name a speaker (a source's ``roles:``)
ROLES = ("user", "assistant", "system")
MAX_MALFORMED_FRACTION = 0.10
EXAMPLE_IDS = 3

# FastChat's speaker names; "chatgpt" and "bard" are assistants in the ShareGPT dumps.
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "system": "system",
}
_GSM8K_ANSWER_LINE = re.compile(r"#### -?[0-9.,]+")
_BAD_JSON = object()  # stands in for a line that is not JSON, so that it is counted like any malformed record


@dataclass(frozen=True)
class Layout:
    """Where a format's fields sit in a dataset that names them otherwise (``columns``: field -> the dataset's
    name), and which speaker names mean user/assistant/system (``roles``; None: the format's own table). It
    replaces that table rather than extending it, so a speaker it does not list is a malformed record, not a
    silent guess."""

    fmt: str
    columns: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, str] | None = None

    def col(self, name: str) -> str:
        return self.columns.get(name, FIELDS[self.fmt][name])

    @property
    def is_publishers(self) -> bool:
        return not self.columns and self.roles is None

    def describe(self) -> dict:
        """What a report records of it: only what differs from the publisher's layout."""
        out = {"columns": dict(self.columns)} if self.columns else {}
        return out | ({"roles": dict(self.roles)} if self.roles is not None else {})


def layout_problems(fmt: str, columns: Mapping | None, roles: Mapping | None) -> list[tuple[str, str]]:
    """(key, message) for each field ``columns`` names that ``fmt`` lacks and each role outside ROLES; the recipe
    loader reports them under the source's dotted key, ``layout`` raises them."""
    fields = FIELDS.get(fmt)
    if fields is None:  # an unknown format is reported on its own
        return []
    out = []
    if columns and not fields:
        out.append(("columns", f"format {fmt!r} has fixed fields: leave 'columns:' out"))
    for key, column in (columns or {}).items() if fields else ():
        if key not in fields:
            why = f"format {fmt!r} has no field {key!r}{did_you_mean(key, fields)}; its fields: {', '.join(fields)}"
            out.append((f"columns.{key}", why))
        elif not str(column).strip():
            out.append((f"columns.{key}", "names no column (an empty string)"))
    if roles is not None:
        out += _role_problems(fmt, roles)
    return out


def _role_problems(fmt: str, roles: Mapping) -> list[tuple[str, str]]:
    if fmt not in SPEAKER_FORMATS:
        return [("roles", f"format {fmt!r} names no speakers: 'roles:' is for {' and '.join(SPEAKER_FORMATS)}")]
    out = [
        (f"roles.{name}", f"must be one of {', '.join(ROLES)}, got {role!r}{did_you_mean(str(role), ROLES)}")
        for name, role in roles.items()
        if role not in ROLES
    ]
    if not out and not {"user", "assistant"} <= set(roles.values()):
        out.append(("roles", "must map some speaker to 'user' and some to 'assistant' (it replaces the format's own)"))
    return out


def layout(fmt: str, columns: Mapping | None = None, roles: Mapping | None = None) -> Layout:
    """The Layout of a source in ``fmt``; a field or role that cannot be meant raises (the recipe loader names the
    same problems before anything runs)."""
    problems = layout_problems(fmt, columns, roles)
    if problems:
        raise DataError(f"format {fmt!r}: " + "; ".join(f"{key}: {why}" for key, why in problems))
    return Layout(fmt, dict(columns or {}), None if roles is None else dict(roles))


class _Malformed(Exception):
    """One record is unusable; ``reason`` is short and repeatable so that reasons can be counted."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _text(record: dict, key: str) -> str:
    if key not in record:
        raise _Malformed(f"missing key {key!r}")
    value = record[key]
    if not isinstance(value, str):
        raise _Malformed(f"{key!r} is not a string")
    if not value.strip():
        raise _Malformed(f"empty {key!r}")
    return value


def _exchange(user: str, assistant: str) -> list[dict]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def _from_gsm8k(record: dict, lay: Layout) -> tuple[list[dict], list[str]]:
    question, answer = _text(record, lay.col("question")), _text(record, lay.col("answer"))
    if not _GSM8K_ANSWER_LINE.search(answer):
        raise _Malformed("answer has no '#### N' line")
    return _exchange(question, answer), []


def _from_alpaca(record: dict, lay: Layout) -> tuple[list[dict], list[str]]:
    instruction, output = _text(record, lay.col("instruction")), _text(record, lay.col("output"))
    extra = record.get(lay.col("input")) or ""
    if not isinstance(extra, str):
        raise _Malformed(f"{lay.col('input')!r} is not a string")
    user = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return _exchange(user, output), []


def _sharegpt_turn(turn: object, lay: Layout) -> dict:
    speaker, content = lay.col("role"), lay.col("content")
    if not isinstance(turn, dict) or speaker not in turn or content not in turn:
        raise _Malformed(f"a turn lacks {speaker!r} or {content!r}")
    # FastChat's names in any case; a recipe's roles: exactly as the dataset writes them
    role = SHAREGPT_ROLES.get(str(turn[speaker]).lower()) if lay.roles is None else lay.roles.get(str(turn[speaker]))
    if role is None:
        raise _Malformed(f"unknown speaker {turn[speaker]!r}")
    if not isinstance(turn[content], str) or not turn[content].strip():
        raise _Malformed("empty turn")
    return {"role": role, "content": turn[content]}


def _from_sharegpt(record: dict, lay: Layout) -> tuple[list[dict], list[str]]:
    key = lay.col("conversations")
    turns = record.get(key)
    if not isinstance(turns, list):
        raise _Malformed(f"missing key {key!r}" if turns is None else f"{key!r} is not a list")
    messages = [_sharegpt_turn(t, lay) for t in turns]
    system = messages[:1] if messages and messages[0]["role"] == "system" else []
    dialogue = messages[len(system) :]
    notes = []
    # As FastChat does: a conversation the assistant opens loses that turn; one the user ends loses the tail.
    if dialogue and dialogue[0]["role"] == "assistant":
        dialogue = dialogue[1:]
        notes.append("dropped a leading assistant turn")
    if dialogue and dialogue[-1]["role"] == "user":
        while dialogue and dialogue[-1]["role"] == "user":
            dialogue = dialogue[:-1]
        notes.append("trimmed trailing user turns")
    if not dialogue:
        raise _Malformed("no user/assistant exchange")
    roles = [m["role"] for m in dialogue]
    if "system" in roles:
        raise _Malformed("a system turn after the start")
    if any(a == b for a, b in pairwise(roles)):
        raise _Malformed("turns do not alternate user/assistant")
    return system + dialogue, notes


def _from_chat(record: dict, lay: Layout) -> tuple[list[dict], list[str]]:
    key = lay.col("messages")
    if key not in record:
        raise _Malformed(f"missing key {key!r}")
    # The publisher's layout is taken as it is (extra keys of a message kept); another is renamed first.
    messages = record[key] if lay.is_publishers else _chat_messages(record[key], lay)
    problem = message_problem(messages, final_role="assistant")
    if problem:
        # Drop the positions and the role lists so that the same fault counts as one reason.
        raise _Malformed(re.sub(r"message \d+", "a message", problem).split(", got")[0])
    return messages, []


def _chat_messages(messages: object, lay: Layout) -> list[dict]:
    """A dataset's messages as ``{"role", "content"}``, its role names mapped through ``roles:``."""
    speaker, content = lay.col("role"), lay.col("content")
    if not isinstance(messages, list):
        raise _Malformed(f"{lay.col('messages')!r} is not a list")
    out = []
    for message in messages:
        if not isinstance(message, dict) or speaker not in message or content not in message:
            raise _Malformed(f"a message lacks {speaker!r} or {content!r}")
        role = message[speaker] if lay.roles is None else lay.roles.get(str(message[speaker]))
        if role is None:
            raise _Malformed(f"unknown speaker {message[speaker]!r}")
        out.append({"role": role, "content": message[content]})
    return out


def _from_doit(record: dict, lay: Layout) -> tuple[list[dict], list[str]]:
    """P3's records (kit.data.doit): the whole conversation trains, the gold reply included."""
    from kit.data import doit

    why = doit.problem(record, scored=False)
    if why:
        raise _Malformed(why)
    return doit.to_messages(record), []


_CONVERTERS = {
    "gsm8k": _from_gsm8k,
    "alpaca": _from_alpaca,
    "sharegpt": _from_sharegpt,
    "chat": _from_chat,
    "doit": _from_doit,
}


def _check_format(fmt: str | None) -> None:
    if fmt == "mtbench":
        raise DataError("MT-Bench questions are evaluation items, not training rows; read them with read_mtbench()")
    if fmt not in _CONVERTERS:
        raise DataError(f"unknown data format {fmt!r}; valid formats: {', '.join(FORMATS)}")


def _guess_format(record: object) -> str:
    """A phrase naming the format a record looks like, for error messages."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    keys = set(record)
    for fmt, needed in (
        ("gsm8k", {"question", "answer"}),
        ("alpaca", {"instruction", "output"}),
        ("sharegpt", {"conversations"}),
        ("doit", {"messages", "question_format"}),
        ("chat", {"messages"}),
        ("mtbench", {"question_id", "turns"}),
    ):
        if needed <= keys:
            return f"keys {sorted(keys)}, which looks like format {fmt!r}"
    return f"keys {sorted(keys)}"


def _read_records(path: Path, fmt: str) -> tuple[str, list[tuple[str, object]]]:
    """The file's layout ("a JSON list" or "JSON lines") and its records, each with a default id."""
    if not path.is_file():
        raise DataError(f"{path}: no such file (format {fmt!r}); check the `local:` path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text, so not a {fmt!r} file ({err})") from err
    if not text.strip():
        raise DataError(f"{path}: the file is empty (format {fmt!r})")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return "JSON lines", _json_lines(path, text, fmt)
    if isinstance(whole, list):
        return "a JSON list", [(f"{path.name}:{k}", record) for k, record in enumerate(whole)]
    if isinstance(whole, dict) and len(text.strip().splitlines()) == 1:
        return "JSON lines", [(f"{path.name}:1", whole)]
    shape = f"an object with keys {sorted(whole)[:8]}" if isinstance(whole, dict) else f"a {type(whole).__name__}"
    raise DataError(
        f"{path}: format {fmt!r} expects JSON lines or a JSON list of records, but the file is one JSON {shape}"
    )


def _json_lines(path: Path, text: str, fmt: str) -> list[tuple[str, object]]:
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append((f"{path.name}:{lineno}", json.loads(line)))
            except json.JSONDecodeError:
                records.append((f"{path.name}:{lineno}", _BAD_JSON))
    if all(record is _BAD_JSON for _, record in records):
        raise DataError(
            f"{path}: format {fmt!r} expects JSON lines or a JSON list of records, but neither parses; "
            f"the file starts with {text.lstrip()[:80]!r}"
        )
    return records


def _own_id(record: object) -> str | None:
    own = record.get("id") if isinstance(record, dict) else None
    return str(own) if own not in (None, "") else None


def _convert_all(records: list[tuple[str, object]], lay: Layout, source_name: str, report: dict) -> list[dict]:
    """Rows for the well-formed records; counts and example ids of the rest go into ``report``."""
    convert = _CONVERTERS[lay.fmt]
    rows, seen, reasons, examples, notes = [], set(), Counter(), {}, Counter()
    for default_id, record in records:
        row_id = _own_id(record) or default_id
        try:
            if record is _BAD_JSON:
                raise _Malformed("line is not valid JSON")
            if not isinstance(record, dict):
                raise _Malformed("record is not a JSON object")
            if row_id in seen:
                raise _Malformed("duplicate id")
            messages, adjustments = convert(record, lay)
        except _Malformed as bad:
            reasons[bad.reason] += 1
            examples.setdefault(bad.reason, [])
            if len(examples[bad.reason]) < EXAMPLE_IDS:
                examples[bad.reason].append(row_id)
            continue
        seen.add(row_id)
        notes.update(adjustments)
        rows.append({"id": row_id, "source": source_name, "messages": messages})
    report.update(
        read=len(records),
        kept=len(rows),
        rejected=sum(reasons.values()),
        reasons=dict(reasons.most_common()),
        rejected_ids=examples,
        adjusted=dict(notes),
    )
    return rows


def _enforce(report: dict, where: str, fmt: str, first_record: object) -> None:
    """Raise when the records do not fit the format; warn about the few malformed ones that were set aside."""
    if report["read"] == 0:
        raise DataError(f"{where}: no records found (format {fmt!r})")
    if report["rejected"] > MAX_MALFORMED_FRACTION * report["read"]:
        reason, ids = next(iter(report["rejected_ids"].items()))
        shape = f"the file is {report['layout']} and its" if "layout" in report else "its"
        raise DataError(
            f"{where}: {report['rejected']} of {report['read']} records are malformed for format {fmt!r} "
            f"(e.g. {ids[0]}: {reason}); {shape} first record has {_guess_format(first_record)}. "
            f"Check the source's `format:` (one of {', '.join(FORMATS)})."
        )
    if report["rejected"]:
        log.warning(
            "%s: set aside %d of %d malformed records: %s", where, report["rejected"], report["read"], report["reasons"]
        )


def read_local(
    path: str | Path, fmt: str, *, source_name: str, columns: Mapping | None = None, roles: Mapping | None = None
) -> tuple[list[dict], dict]:
    """Training rows from a local file in format ``fmt`` (see FORMATS), its fields where ``columns`` and ``roles``
    say (Layout), and a report on what was read."""
    _check_format(fmt)
    lay = layout(fmt, columns, roles)
    path = Path(path)
    shape, records = _read_records(path, fmt)
    report = {"source": source_name, "format": fmt, "path": str(path), "layout": shape, **lay.describe()}
    rows = _convert_all(records, lay, source_name, report)
    _enforce(report, str(path), fmt, records[0][1] if records else None)
    return rows, report


def _resolve_hub_format(dataset_id: str, fmt: str | None, config: str | None) -> tuple[str, str | None]:
    known = KNOWN_HUB_FORMATS.get(dataset_id)
    if fmt is None:
        if known is None:
            raise DataError(
                f"hub dataset {dataset_id!r} has no known format; set `format:` to one of {', '.join(FORMATS)} "
                f"(known datasets: {', '.join(KNOWN_HUB_FORMATS)})"
            )
        fmt = known[0]
    _check_format(fmt)
    if config is None and known is not None and known[0] == fmt:
        config = known[1]
    return fmt, config


def _hub_records(
    dataset_id: str,
    config: str | None,
    split: str,
    fmt: str,
    revision: str | None = None,
    data_files: str | list[str] | None = None,
) -> list[tuple[str, object]]:
    try:
        import datasets
    except ImportError as err:
        raise DataError("reading a hub dataset needs the `datasets` package: pip install datasets") from err
    # data_files only when given: datasets then reads just those files of the repository, with its own loader
    files = {"data_files": data_files} if data_files is not None else {}
    try:
        data = datasets.load_dataset(dataset_id, name=config, split=split, revision=revision, **files)
    except Exception as err:  # offline, DNS, auth, a missing dataset or split: the user's remedy is the same
        raise DataError(
            f"could not load {dataset_id!r} (config {config!r}, split {split!r}, revision {revision or 'main'}"
            + (f", data_files {data_files!r}" if data_files is not None else "")
            + ") "
            "from the Hugging Face hub; "
            f"it could not be reached or refused the request ({type(err).__name__}: {err}). Use a local copy "
            f"(a `local:` source with `format: {fmt}`) or a built-in generator (`builtin:math`, `builtin:code`, "
            "`builtin:general`)."
        ) from err
    return [(f"{dataset_id}:{split}:{k}", dict(record)) for k, record in enumerate(data)]


def load_hub(
    dataset_id: str,
    fmt: str | None,
    split: str,
    *,
    source_name: str,
    config: str | None = None,
    revision: str | None = None,
    data_files: str | list[str] | None = None,
    columns: Mapping | None = None,
    roles: Mapping | None = None,
) -> tuple[list[dict], dict]:
    """Training rows from a Hugging Face hub dataset (at ``revision``, a commit, when given; only ``data_files`` of
    it when given); ``fmt=None`` looks the id up in KNOWN_HUB_FORMATS, whose default config ``config`` overrides."""
    fmt, config = _resolve_hub_format(dataset_id, fmt, config)
    lay = layout(fmt, columns, roles)
    records = _hub_records(dataset_id, config, split, fmt, revision, data_files)
    report = {"source": source_name, "format": fmt, "dataset": dataset_id, "config": config, "split": split}
    if revision is not None:
        report["revision"] = revision
    report["commit"] = hubfile.resolved_commit(dataset_id, revision)  # what was read, where the hub says
    if data_files is not None:
        report["data_files"] = data_files
    report.update(lay.describe())
    rows = _convert_all(records, lay, source_name, report)
    _enforce(report, f"hub dataset {dataset_id!r} split {split!r}", fmt, records[0][1] if records else None)
    return rows, report


def load_hub_file(
    dataset_id: str,
    pattern: str,
    revision: str | None,
    fmt: str,
    *,
    source_name: str,
    columns: Mapping | None = None,
    roles: Mapping | None = None,
) -> tuple[list[dict], dict]:
    """Training rows from files of a hub dataset repository (kit.data.hubfile), read as local files in ``fmt``."""
    _check_format(fmt)
    lay = layout(fmt, columns, roles)  # before any download
    paths, where = hubfile.fetch(dataset_id, pattern, revision)
    rows, reports = [], []
    for path in paths:
        # ids without their own: "<file>:<line>"
        part, report = read_local(path, fmt, source_name=source_name, columns=columns, roles=roles)
        rows += part
        reports.append({k: report[k] for k in ("read", "kept", "rejected", "reasons")})
    report = {"source": source_name, "format": fmt, "dataset": dataset_id, **where, **lay.describe()}
    report["files_read"] = reports
    report.update(read=sum(r["read"] for r in reports), kept=len(rows))
    return rows, report


def _mtbench_item(record: object) -> dict:
    if not isinstance(record, dict):
        raise _Malformed("record is not a JSON object")
    if record.get("question_id") in (None, ""):
        raise _Malformed("missing key 'question_id'")
    turns = record.get("turns")
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise _Malformed("'turns' must be a non-empty list of non-empty strings")
    return {"id": str(record["question_id"]), "task": "mtbench", "category": record.get("category"), "turns": turns}


def read_mtbench(path: str | Path) -> list[dict]:
    """MT-Bench questions as eval items ``{"id", "task", "category", "turns"}``; any bad record raises."""
    path = Path(path)
    _, records = _read_records(path, "mtbench")
    items = []
    for default_id, record in records:
        # A benchmark is a fixed set: setting a question aside would change it, so nothing is skipped.
        try:
            items.append(_mtbench_item(record))
        except _Malformed as bad:
            raise DataError(f"{path}: MT-Bench record {default_id}: {bad.reason}") from None
    duplicates = [k for k, c in Counter(item["id"] for item in items).items() if c > 1]
    if duplicates:
        raise DataError(f"{path}: duplicate MT-Bench question ids {duplicates[:EXAMPLE_IDS]}")
    return items


def read_doit(path: str | Path) -> list[dict]:
    """P3's test records (kit.data.doit) in file order; any bad record raises: a test set is fixed, so nothing is
    set aside."""
    from kit.data import doit

    path = Path(path)
    _, records = _read_records(path, "doit")
    for default_id, record in records:
        why = "line is not valid JSON" if record is _BAD_JSON else doit.problem(record)
        if why:
            raise DataError(f"{path}: DoIT record {default_id}: {why}")
    return [record for _, record in records]


def _ifeval_problem(record: object) -> str | None:
    """Why a record is not an IFEval prompt in the publisher's layout, None when it is one."""
    if not isinstance(record, dict):
        return "record is not a JSON object"
    missing = [k for k in ("key", "prompt", "instruction_id_list", "kwargs") if k not in record]
    if missing:
        return f"missing keys {missing} (IFEval's layout: key, prompt, instruction_id_list, kwargs)"
    if not isinstance(record["key"], int) or isinstance(record["key"], bool):
        return f"'key' must be an integer, got {record['key']!r}"
    if not isinstance(record["prompt"], str) or not record["prompt"].strip():
        return "'prompt' must be a non-empty string"
    ids, kwargs = record["instruction_id_list"], record["kwargs"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        return "'instruction_id_list' must be a non-empty list of instruction ids"
    if not isinstance(kwargs, list) or len(kwargs) != len(ids) or not all(isinstance(k, dict) for k in kwargs):
        return "'kwargs' must be a list of objects, one per instruction id"
    return None


def read_ifeval(path: str | Path) -> list[dict]:
    """IFEval's prompts (``key``, ``prompt``, ``instruction_id_list``, ``kwargs``) in file order; any bad record or a
    repeated key raises: a benchmark is a fixed set, so nothing is set aside."""
    path = Path(path)
    _, records = _read_records(path, "ifeval")
    for default_id, record in records:
        why = "line is not valid JSON" if record is _BAD_JSON else _ifeval_problem(record)
        if why:
            raise DataError(f"{path}: IFEval record {default_id}: {why}")
    repeated = [k for k, c in Counter(r["key"] for _, r in records).items() if c > 1]
    if repeated:
        raise DataError(f"{path}: repeated IFEval keys {repeated[:EXAMPLE_IDS]}")
    return [record for _, record in records]
