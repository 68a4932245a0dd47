"""The GGUF's chat template, rendered the way the eval engine renders prompts, must give the text that transformers
gives with the merged tokenizer: otherwise every scored prompt would differ from what training saw.

The engine renders with llama-cpp-python's Jinja formatter (kit.eval.engine.chat_formatter), which hands a template
``messages``, ``add_generation_prompt``, ``bos_token`` and ``eos_token`` (the GGUF's), ``raise_exception``,
``strftime_now`` and ``tools``; transformers also hands it every special token (``unk_token``, ``pad_token``, ...),
which an undefined name in the formatter silently renders as nothing. A model's own template (``chat_template:
tokenizer``) or a .jinja file may use any of these, so the export renders a few conversations both ways and fails
with the first difference, before parity and evaluation.
"""

from __future__ import annotations

from pathlib import Path

# Shapes a real template branches on: a first turn, a system prompt, a later turn.
PROBES = [
    [{"role": "user", "content": "What is 2 + 3?"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is 2 + 3?"}],
    [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "2 + 3 = 5."},
        {"role": "user", "content": "And 4 + 4?"},
    ],
]
ENGINE_NAMES = "messages, add_generation_prompt, bos_token, eos_token, raise_exception, strftime_now and tools"


class RenderError(RuntimeError):
    """The engine cannot render the exported chat template as transformers does; the message says where."""


def check_rendering(model_dir: Path, gguf: Path, prompts: list[list[dict]]) -> int:
    """Raise ``RenderError`` unless every conversation (``PROBES`` and ``prompts``) renders alike through the GGUF
    (the engine's formatter) and through the merged model's tokenizer; returns how many were compared."""
    import llama_cpp
    from transformers import AutoTokenizer

    from kit.eval.engine import chat_formatter

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    llm = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    try:
        try:
            formatter = chat_formatter(llm, gguf)
        except Exception as err:  # a Jinja construct the formatter's environment does not know
            raise RenderError(f"{gguf.name}: {_cannot('read', err)}") from err
        return compare_all(gguf.name, tokenizer, formatter, prompts)
    finally:
        llm.close()


def compare_all(name: str, tokenizer, formatter, prompts: list[list[dict]]) -> int:
    """``check_rendering`` on a tokenizer and a formatter: how many conversations rendered alike (a template may
    refuse one, e.g. a system prompt, as long as it refuses it both ways)."""
    compared = 0
    for messages in [*PROBES, *prompts]:
        want = _render(lambda m=messages: tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True))
        got = _render(lambda m=messages: formatter(messages=m).prompt)
        compare(name, messages, want, got)
        compared += isinstance(want, str)
    return compared


def compare(name: str, messages: list[dict], want: str | Exception, got: str | Exception) -> None:
    """``want`` (transformers) and ``got`` (the engine): each the rendered text or the error rendering raised."""
    roles = "/".join(m["role"] for m in messages)
    if isinstance(want, Exception) and isinstance(got, Exception):
        return  # the template refuses this conversation (raise_exception) both ways
    if isinstance(got, Exception):
        raise RenderError(f"{name}: on a {roles} chat, {_cannot('render', got)}")
    if isinstance(want, Exception):
        raise RenderError(f"{name}: on a {roles} chat, transformers fails ({want}) where the engine renders")
    if want != got:
        at = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got)))
        raise RenderError(
            f"{name}: on a {roles} chat, the engine renders the chat template unlike transformers from character "
            f"{at}: transformers {want[at : at + 40]!r}, engine {got[at : at + 40]!r}. The engine's formatter "
            f"passes a template only {ENGINE_NAMES}: give model.chat_template a .jinja file that uses no other"
        )


def _render(call) -> str | Exception:
    try:
        return call()
    except Exception as err:  # compared with the other side's outcome by compare()
        return err


def _cannot(what: str, err: Exception) -> str:
    return (
        f"llama-cpp-python's Jinja formatter (what the eval engine renders prompts with) cannot {what} the chat "
        f"template ({type(err).__name__}: {err}); it passes a template only {ENGINE_NAMES}: give "
        "model.chat_template a .jinja file that it can render"
    )
