"""Which tokens of a chat the loss trains on: the assistant turns', and nothing else.

A template with ``{% generation %}`` markers says so itself (transformers' ``return_assistant_tokens_mask``). Most
models' own templates have none, so for those the turns are found by rendering, as TRL's prefix-preservation check
and LLaMA-Factory's per-turn encoding do: assistant turn i is the text that rendering ``messages[:i+1]`` adds to
rendering ``messages[:i]`` with the generation prompt (the reply and its end-of-turn token; the whitespace a
template puts after that token is never generated, so it is not trained). The character spans become tokens
through the fast tokenizer's offsets of the whole chat's rendering. That needs a prefix-stable template (rendering
the first turns is the start of rendering the whole chat); one that re-renders earlier turns (Qwen3's, which drops
earlier replies' reasoning) is refused with what to do instead.
"""

from __future__ import annotations

from kit.data.templates import TemplateError, has_generation_markers

FIX = (
    "give model.chat_template a .jinja file whose assistant replies sit inside {% generation %} ... "
    "{% endgeneration %} (TRL ships such training forms of common templates in trl/chat_templates/*_training.jinja)"
)


def assistant_mask(tokenizer, messages: list[dict], row_id: str) -> tuple[list[int], list[int]]:
    """The chat's token ids and, per token, 1 where the loss trains on it (an assistant turn's) else 0."""
    template = tokenizer.chat_template
    if isinstance(template, str) and has_generation_markers(template):
        encoded = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        return list(encoded["input_ids"]), list(encoded["assistant_masks"])
    return rendered_mask(tokenizer, messages, row_id)


def rendered_mask(tokenizer, messages: list[dict], row_id: str) -> tuple[list[int], list[int]]:
    """``assistant_mask`` without markers: the assistant spans found by rendering, mapped to tokens."""
    if not tokenizer.is_fast:
        raise TemplateError(f"row {row_id}: finding assistant turns by rendering needs a fast tokenizer; {FIX}")
    full, spans = assistant_spans(tokenizer, messages, row_id)
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    reference = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    if ids != list(reference):
        raise TemplateError(
            f"row {row_id}: tokenizing the rendered chat gives other ids than apply_chat_template does, so the "
            f"assistant spans cannot be placed on its tokens; {FIX}"
        )
    mask = [int(any(a < end and b > start for start, end in spans)) for a, b in encoded["offset_mapping"]]
    return ids, mask


def assistant_spans(tokenizer, messages: list[dict], row_id: str) -> tuple[str, list[tuple[int, int]]]:
    """The whole chat rendered, and the character span of each assistant turn in it."""

    def render(turns: list[dict], prompt: bool) -> str:
        return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=prompt)

    full = render(messages, False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        if i == 0:
            raise TemplateError(f"row {row_id}: opens with an assistant turn, which no prompt precedes; {FIX}")
        before, through = render(messages[:i], True), render(messages[: i + 1], False)
        if not (through.startswith(before) and full.startswith(through)):
            raise TemplateError(
                f"row {row_id}: the chat template is not prefix-stable (rendering the chat up to assistant turn "
                f"{i} is not the start of rendering the whole chat), so its assistant tokens cannot be found by "
                f"rendering; {FIX}"
            )
        end = len(through.rstrip())
        if end > len(before):
            spans.append((len(before), end))
    return full, spans
