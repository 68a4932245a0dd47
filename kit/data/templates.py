"""Chat templates: what ``model.chat_template`` names, in a training form and an inference form.

A recipe names one of three things: a kit template (``TRAINING_TEMPLATES``: assistant turns inside
``{% generation %}`` so the loss can be masked to them), ``tokenizer`` (the base model's own template, as its
tokenizer ships it), or a ``.jinja`` file. A template without markers still trains on assistant tokens only: the
mask is then computed by rendering (kit.backends.mask). The inference form (markers stripped) is what the exported
tokenizer and GGUF carry, so llama.cpp renders prompts exactly as training did.

Run keys name a template by ``identity``: a kit name or ``tokenizer`` as written (the base model, also in the key,
says which tokenizer), a file by the hash of its content, so that two different files never share a run and a
moved file keeps its runs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
_VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)


def _chatml(default_system: str | None) -> str:
    system = (
        "{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\\n" + default_system + "<|im_end|>\\n' }}{% endif %}"
        if default_system
        else ""
    )
    return (
        "{% for message in messages %}" + system + "{% if message['role'] == 'assistant' %}"
        "{{ '<|im_start|>assistant\\n' }}"
        "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
        "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endif %}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )


# FastChat's vicuna_v1.1 conversation (P1's template for every data source): sep " ", sep2 "</s>".
_VICUNA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
    '{% set loop_messages = messages[1:] %}{% else %}{% set system = "' + _VICUNA_SYSTEM + '" %}'
    "{% set loop_messages = messages %}{% endif %}{{ system }}"
    "{% for message in loop_messages %}{% if message['role'] == 'user' %}{{ ' USER: ' + message['content'] }}"
    "{% else %}{{ ' ASSISTANT:' }}{% generation %}{{ ' ' + message['content'] + eos_token }}{% endgeneration %}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ ' ASSISTANT:' }}{% endif %}"
)

# P3's (DoIT's) template: each turn is a role marker, the content and an end-of-turn token; no system prompt, no
# BOS (the authors' train_sft.py). DoIT adds <user>, <assistant> and <eot> as new special tokens and trains their
# embeddings (full fine-tuning); LoRA trains no embedding rows, so here the role markers are plain text and the
# end of a turn is the base model's own end-of-sequence token, which llama.cpp stops on and which the loss covers.
# A newline follows each marker: without it BPE merges the marker's ">" with a reply's first character ('>"'), and
# the loss mask would start inside a token. (The authors strip every content; kit.data.doit does, when reading.)
_DOIT = (
    "{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '<user>\\n' + message['content'] + eos_token }}"
    "{% else %}{{ '<assistant>\\n' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<assistant>\\n' }}{% endif %}"
)

TRAINING_TEMPLATES = {
    "smollm2": _chatml(_SMOLLM2_SYSTEM),  # ChatML with SmolLM2's own default system prompt
    "chatml": _chatml(None),
    "vicuna_v1.1": _VICUNA,
    "doit": _DOIT,
}


TOKENIZER = "tokenizer"  # the base model's own template
FILE_SUFFIX = ".jinja"
_FILE_ID = "jinja-sha256:"  # a file's identity in run keys: this prefix and 16 hex digits of its content's sha256
_MARKER = re.compile(r"{%([-+]?)\s*(end)?generation\s*([-+]?)%}")


class TemplateError(ValueError):
    """A chat template that cannot be used as asked; the message says what to give instead."""


def spec_problem(spec: str) -> str | None:
    """Why ``spec`` is not a kit name, ``tokenizer`` or a readable, parseable .jinja file (None when it is one)."""
    from kit.registry import did_you_mean

    if spec in TRAINING_TEMPLATES or spec == TOKENIZER:
        return None
    if not spec.endswith(FILE_SUFFIX):
        names = [*TRAINING_TEMPLATES, TOKENIZER]
        return (
            f"{spec!r} is not a kit template{did_you_mean(spec, names)} ({', '.join(TRAINING_TEMPLATES)}), "
            f"{TOKENIZER!r} (the base model's own) or a {FILE_SUFFIX} file"
        )
    if not Path(spec).is_file():
        return f"no file {spec!r} (a {FILE_SUFFIX} path is read relative to the working directory)"
    return syntax_problem(Path(spec).read_text())


def syntax_problem(template: str) -> str | None:
    """A Jinja syntax error in ``template``, found before any model loads (None when it parses)."""
    import jinja2

    try:
        jinja2.Environment(extensions=["jinja2.ext.loopcontrols"]).parse(strip_markers(template))
    except jinja2.TemplateSyntaxError as err:
        return f"not a valid Jinja template: {err.message} (line {err.lineno})"
    return None


def is_file(spec: str) -> bool:
    return spec.endswith(FILE_SUFFIX)


def file_text(spec: str) -> str | None:
    """A .jinja file's content (None for a kit name or ``tokenizer``): read once, where the run key is made, and
    handed to the workers with it, so that what trains and exports is what the key hashed."""
    return Path(spec).read_text() if is_file(spec) else None


def identity(spec: str, text: str | None = None) -> str:
    """How a run key names the template: a kit name or ``tokenizer`` unchanged (so every existing run id stays),
    a file by its content's hash (not its path); ``text``: the file's content, when already read."""
    if not is_file(spec):
        return spec
    return _text_identity(Path(spec).read_text() if text is None else text)


def _text_identity(text: str) -> str:
    return _FILE_ID + hashlib.sha256(text.encode()).hexdigest()[:16]


def training_template(spec: str, base_template: str | dict | None = None, text: str | None = None) -> str:
    """The template training renders with: a kit name's training form; for ``tokenizer``, ``base_template`` (the
    base tokenizer's own ``chat_template``); for a file, its content (``text``, as read where the run key was made,
    which must hash to the key's identity; or the file at a path read now)."""
    if spec in TRAINING_TEMPLATES:
        return TRAINING_TEMPLATES[spec]
    if spec == TOKENIZER:
        return _base_template(base_template)
    if spec.startswith(_FILE_ID):
        if text is None or _text_identity(text) != spec:
            raise TemplateError(
                f"the chat template's content does not match its run key ({spec}): the .jinja file changed after "
                "the run was planned; run the recipe again"
            )
        return text
    if is_file(spec):
        return Path(spec).read_text() if text is None else text
    raise TemplateError(spec_problem(spec) or f"unknown chat template {spec!r}")


def inference_template(spec: str, base_template: str | dict | None = None, text: str | None = None) -> str:
    """What the exported tokenizer and GGUF carry: the training template with its loss markers stripped."""
    return strip_markers(training_template(spec, base_template, text))


def _base_template(template: str | dict | None) -> str:
    """A tokenizer's own template; one shipped as named variants gives its ``default`` (what transformers renders
    when none is named)."""
    if isinstance(template, dict):
        template = template.get("default")
    if not template:
        raise TemplateError(
            f"chat_template: {TOKENIZER} asks for the base model's own template, but its tokenizer ships none "
            "(or no 'default' among its named ones): name a kit template "
            f"({', '.join(TRAINING_TEMPLATES)}) or a {FILE_SUFFIX} file"
        )
    return template


def has_generation_markers(template: str) -> bool:
    return _MARKER.search(template) is not None


def strip_markers(template: str) -> str:
    """``template`` without ``{% generation %}`` / ``{% endgeneration %}``, rendering exactly as with them.

    Markers between non-blank characters, without whitespace control (every kit template's), are removed. Otherwise
    each becomes a block that renders its body (``{% if true %}`` / ``{% endif %}``, with the marker's own ``-``/``+``):
    removing one would change what trim_blocks, lstrip_blocks or a ``-`` strip around it. All or none, so the
    blocks stay paired."""
    markers = list(_MARKER.finditer(template))
    if all(_removable(template, m) for m in markers):
        return _MARKER.sub("", template)
    return _MARKER.sub(lambda m: "{%" + m[1] + (" endif " if m[2] else " if true ") + m[3] + "%}", template)


def _removable(template: str, m: re.Match) -> bool:
    before = template[m.start() - 1] if m.start() else " "
    after = template[m.end()] if m.end() < len(template) else " "
    return not (m[1] or m[3] or before.isspace() or after.isspace())
