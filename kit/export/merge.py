"""Fold a LoRA adapter into its base and save a plain HF folder that carries the inference template."""

from __future__ import annotations

from pathlib import Path

from kit.data.templates import inference_template


def merge(base_path: str, adapter_dir: Path | None, out_dir: Path, chat_template: str, dtype: str) -> None:
    """Merged model (or the base alone, when ``adapter_dir`` is None) saved into ``out_dir``.

    The merge happens on CPU in ``dtype`` (float16 for 7B models: a QLoRA adapter is merged into
    the full-precision base, as is usual, not into its 4-bit training copy).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=getattr(torch, dtype), device_map="cpu")
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    model.save_pretrained(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    tokenizer.chat_template = inference_template(chat_template)
    tokenizer.save_pretrained(out_dir)
