"""Fold a LoRA adapter into its base and save a plain HF folder that carries the inference template."""

from __future__ import annotations

import json
from pathlib import Path

from kit.data.templates import inference_template


def merge(
    base_path: str, adapter_dir: Path | None, out_dir: Path, chat_template: str, chat_template_text: str | None = None
) -> str:
    """Merged model (or the base alone, when ``adapter_dir`` is None) saved into ``out_dir``; returns its dtype.

    Its tokenizer carries the inference form of ``chat_template`` (kit.data.templates: a kit name, ``tokenizer``
    for the base's own template, or a file's identity with its content ``chat_template_text``).

    The base is loaded on CPU in its own dtype (float16 for Llama-2-7B: a QLoRA adapter is merged into the
    full-precision base, as is usual, not into its 4-bit training copy), each LoRA delta is added in float32,
    and the sum is rounded once to that dtype (``merge_fp32``), so the merged folder keeps the base's size.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_path, dtype="auto", device_map="cpu")
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir))
        merge_fp32(model)
        model = model.unload()  # the LoRA modules out, the (now merged) base layers back in place
    model.save_pretrained(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    tokenizer.chat_template = inference_template(chat_template, tokenizer.chat_template, chat_template_text)
    tokenizer.save_pretrained(out_dir)
    keep_sentencepiece(base_path, Path(out_dir))
    return str(model.dtype).removeprefix("torch.")


def keep_sentencepiece(base_path: str, out_dir: Path) -> None:
    """What transformers 5's ``save_pretrained`` drops from a SentencePiece tokenizer (Llama-2's), put back.

    Without ``tokenizer.model`` llama.cpp's converter falls back to a vocabulary that scores every piece alike and
    splits words the model keeps whole; without the base's ``legacy`` flag transformers no longer puts "▁" after
    ``<s>``. Either makes the GGUF tokenize unlike the merged model (parity fails)."""
    import shutil

    model = _base_file(base_path, "tokenizer.model")
    if model is not None and not (out_dir / "tokenizer.model").is_file():
        shutil.copy(model, out_dir / "tokenizer.model")
    base_config = _base_file(base_path, "tokenizer_config.json")
    if base_config is None:
        return
    legacy = json.loads(base_config.read_text()).get("legacy")
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    if legacy is not None and config.get("legacy") != legacy:
        config_path.write_text(json.dumps({**config, "legacy": legacy}, indent=2, ensure_ascii=False) + "\n")


def _base_file(base_path: str, name: str) -> Path | None:
    """A file of the base model: in its folder, or in the hub cache for a hub id (never downloaded here)."""
    if Path(base_path).is_dir():
        path = Path(base_path) / name
        return path if path.is_file() else None
    from transformers.utils import cached_file

    found = cached_file(
        base_path,
        name,
        local_files_only=True,
        _raise_exceptions_for_missing_entries=False,
        _raise_exceptions_for_connection_errors=False,
    )
    return Path(found) if found else None


def merge_fp32(model) -> int:
    """Add every active LoRA delta to its base weight in float32, one layer at a time, rounding the sum once to
    the weight's own dtype. PEFT's own merge rounds the delta to float16 first and then adds in float16 (two
    roundings); a whole float32 copy of a 7B model would need 27 GB of RAM, one layer at a time needs ~0.2 GB.
    A DoRA adapter (which rescales the whole weight, not a delta) is merged by PEFT's own code for its layer.
    Returns how many weights were merged."""
    import torch
    from peft.tuners.lora import LoraLayer

    merged = 0
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, LoraLayer):
                continue
            weight = module.get_base_layer().weight
            for name in module.active_adapters:
                if name not in module.lora_A:
                    continue
                if module.use_dora.get(name):
                    module.merge(adapter_names=[name])
                    merged += 1
                    continue
                module.lora_A[name].float()
                module.lora_B[name].float()
                delta = module.get_delta_weight(name)  # float32: its factors are
                weight.data = (weight.data.float() + delta).to(weight.dtype)
                merged += 1
    return merged
