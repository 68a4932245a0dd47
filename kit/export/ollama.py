"""An Ollama ``Modelfile`` for a scored GGUF: the chat template in Ollama's Go-template form, the stop tokens and
greedy decoding, so that ``ollama run`` sees the prompts the evaluation scored and answers the way it was scored.

Ollama renders prompts with Go's ``text/template`` over ``.Messages`` (each with ``.Role`` and ``.Content``; its
``collate`` merges consecutive messages of one role) and tokenizes the result with special tokens parsed, adding
BOS where the GGUF's ``tokenizer.ggml.add_bos_token`` says so. The evaluation renders the GGUF's Jinja template
and tokenizes it without adding BOS (kit.eval.engine). So each kit template below is the Jinja template's Go twin:
turn for turn the same text, BOS written out only where the Jinja template writes it and the GGUF would not add
it. tests/test_ollama.py renders both with the real engines (Go's text/template, llama.cpp's tokenizer) and
compares them token for token.

A template outside the kit's names (``chat_template: tokenizer`` or a Jinja file) gets the Go twin of the kit
template it renders identically to on probe conversations; one that matches none has no Modelfile (an error says
so), since translating arbitrary Jinja into Go templates is guesswork.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit.export import render_check

VERSION = "1"  # bumped when a Go template or the parameters below change

_SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
_VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
# Inside a `range $i, $m := .Messages`: whether $m is the last message. A last assistant message is a reply to
# continue (Ollama's convention), so it stays open; after a last user message comes the generation prompt.
_LAST = "{{ $last := eq (len (slice $.Messages $i)) 1 }}"


@dataclass(frozen=True)
class Tokens:
    """What a Go template needs to know of the GGUF's vocabulary."""

    bos: str
    eos: str
    add_bos: bool


def _chatml(default_system: str | None, tok: Tokens) -> tuple[str, list[str]]:
    system = (
        '{{ if ne (index .Messages 0).Role "system" }}<|im_start|>system\n' + default_system + "<|im_end|>\n{{ end }}"
        if default_system
        else ""
    )
    body = (
        "{{ range $i, $m := .Messages }}" + _LAST + "<|im_start|>{{ $m.Role }}\n{{ $m.Content }}"
        '{{ if not (and $last (eq $m.Role "assistant")) }}<|im_end|>\n{{ end }}'
        '{{ if and $last (ne $m.Role "assistant") }}<|im_start|>assistant\n{{ end }}{{ end }}'
    )
    return "{{ if .Messages }}" + system + body + "{{ end }}", ["<|im_end|>"]


def _vicuna(tok: Tokens) -> tuple[str, list[str]]:
    bos = "" if tok.add_bos else tok.bos  # the Jinja template writes {{ bos_token }}; Ollama may add it itself
    return (
        bos + '{{ if and .Messages (eq (index .Messages 0).Role "system") }}{{ (index .Messages 0).Content }}'
        "{{ else }}" + _VICUNA_SYSTEM + "{{ end }}"
        "{{ range $i, $m := .Messages }}" + _LAST + '{{ if eq $m.Role "user" }} USER: {{ $m.Content }}'
        '{{ else if eq $m.Role "assistant" }} ASSISTANT: {{ $m.Content }}{{ if not $last }}' + tok.eos + "{{ end }}"
        '{{ end }}{{ if and $last (ne $m.Role "assistant") }} ASSISTANT:{{ end }}{{ end }}',
        [tok.eos],
    )


def _doit(tok: Tokens) -> tuple[str, list[str]]:
    # As the Jinja template: a user turn is "<user>", any other role is rendered as an assistant turn.
    return (
        "{{ range $i, $m := .Messages }}"
        + _LAST
        + '{{ if eq $m.Role "user" }}<user>\n{{ $m.Content }}'
        + tok.eos
        + "{{ else }}<assistant>\n{{ $m.Content }}{{ if not $last }}"
        + tok.eos
        + "{{ end }}{{ end }}"
        '{{ if and $last (eq $m.Role "user") }}<assistant>\n{{ end }}{{ end }}',
        [tok.eos],
    )


GO_TEMPLATES = {
    "smollm2": lambda tok: _chatml(_SMOLLM2_SYSTEM, tok),
    "chatml": lambda tok: _chatml(None, tok),
    "vicuna_v1.1": _vicuna,
    "doit": _doit,
}

# Conversations a template must render like a kit template's to share its Go twin: the shapes the export's render
# check probes (a first turn, a system prompt, a later turn), and a message spanning lines.
PROBES = (*render_check.PROBES, [{"role": "user", "content": "Write a haiku\nabout rain."}])


class NoOllamaTemplate(ValueError):
    """The GGUF's chat template is none of the kit's, so no Go template is known to render like it."""


def gguf_facts(gguf: Path) -> tuple[str, Tokens]:
    """The GGUF's chat template and its BOS/EOS texts and add-BOS flag, read from its header."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf))

    def field(name: str, default=None):
        f = reader.fields.get(name)
        return default if f is None else f.contents()

    tokens = field("tokenizer.ggml.tokens")
    template = field("tokenizer.chat_template")
    if not template:
        raise NoOllamaTemplate(f"{gguf} carries no chat template; re-export it with the kit")
    add_bos = bool(field("tokenizer.ggml.add_bos_token", False))
    bos, eos = (tokens[field(f"tokenizer.ggml.{kind}_token_id")] for kind in ("bos", "eos"))
    return template, Tokens(bos, eos, add_bos)


def kit_template_of(template: str, tok: Tokens) -> str:
    """The name of the kit template ``template`` is, or renders exactly like on every probe conversation."""
    from kit.data.templates import TRAINING_TEMPLATES, inference_template

    for name in TRAINING_TEMPLATES:
        if inference_template(name) == template:
            return name
    for name in TRAINING_TEMPLATES:
        if all(_render(template, p, tok) == _render(inference_template(name), p, tok) for p in PROBES):
            return name
    raise NoOllamaTemplate(
        "the GGUF's chat template renders like none of the kit's templates "
        f"({', '.join(TRAINING_TEMPLATES)}), so the kit cannot write its Ollama TEMPLATE; export without --ollama "
        "and write the TEMPLATE by hand (https://github.com/ollama/ollama/blob/main/docs/template.md)"
    )


def _render(template: str, messages: list[dict], tok: Tokens) -> str | None:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    try:
        return Jinja2ChatFormatter(template, eos_token=tok.eos, bos_token=tok.bos)(messages=messages).prompt
    except Exception:  # a template that refuses a probe (e.g. no system role) is not that kit template
        return None


def go_template(gguf: Path) -> tuple[str, list[str], str]:
    """The Go twin of the GGUF's chat template, its stop strings, and the kit template's name."""
    template, tok = gguf_facts(gguf)
    name = kit_template_of(template, tok)
    if tok.add_bos and not (_render(template, PROBES[0], tok) or "").startswith(tok.bos):
        raise NoOllamaTemplate(
            f"the GGUF asks for a BOS token at the start of every prompt (add_bos_token) but its template "
            f"({name}) writes none, and the evaluation added none: Ollama would add one and see other tokens "
            "than were scored"
        )
    text, stops = GO_TEMPLATES[name](tok)
    return text, stops, name


def modelfile(gguf_file: str, template: str, stops: list[str], num_ctx: int, license_text: str | None) -> str:
    """The Modelfile text: the GGUF beside it, the template, stops, and the evaluation's greedy decoding."""
    lines = [
        f"# Written by the kit (Modelfile version {VERSION}): greedy decoding as in the evaluation.",
        f"FROM ./{gguf_file}",
        f'TEMPLATE """{template}"""',
        *[f"PARAMETER stop {_quoted(s)}" for s in dict.fromkeys(stops)],
        "PARAMETER temperature 0",
        "PARAMETER top_k 1",
        "PARAMETER repeat_penalty 1",
        f"PARAMETER num_ctx {num_ctx}",
    ]
    if license_text:
        lines.append(f'LICENSE """{license_text}"""')
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_template(modelfile_text: str) -> str:
    """The TEMPLATE of a Modelfile the kit wrote (for tests and ``export --check``)."""
    start = modelfile_text.index('TEMPLATE """') + len('TEMPLATE """')
    return modelfile_text[start : modelfile_text.index('"""', start)]
