"""Chat templates by name, each in a training form (assistant turns inside ``{% generation %}`` so
TRL can mask the loss to them) and an inference form (the same text without the markers).

The inference form is what the exported tokenizer and GGUF carry, so llama.cpp renders prompts
exactly as training did.
"""

from __future__ import annotations

import re

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


def training_template(name: str) -> str:
    return TRAINING_TEMPLATES[name]


def inference_template(name: str) -> str:
    return re.sub(r"{%-? *(end)?generation *-?%}", "", TRAINING_TEMPLATES[name])
