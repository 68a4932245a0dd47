"""Unsloth's kernels (CUDA only): 4-bit QLoRA with ``train.quantization: nf4`` (the gpu profiles), else 16-bit
LoRA. Unsloth must be imported before transformers, which is why training runs in its own worker process
(kit.backends.worker)."""

from __future__ import annotations

from kit.backends.job import TrainJob
from kit.backends.sft import load_adapter_weights, run_trainer
from kit.data.templates import training_template


def train(rows: list[dict], job: TrainJob, out_dir: str) -> dict:
    import unsloth  # noqa: F401, I001  (patches transformers/peft/trl, so it must come first)
    import torch
    from unsloth import FastLanguageModel

    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=job.base_path,
        max_seq_length=job.max_seq_len_tokens,
        dtype=getattr(torch, job.dtype),
        load_in_4bit=job.train.quantization == "nf4",  # the gpu profiles say nf4: 4-bit QLoRA
    )
    # Through Unsloth's get_peft_model in every case (its gradient checkpointing and LoRA kernels come with it);
    # a later stage of the "continue" chaining then loads the earlier stage's weights into that same adapter.
    model = _fresh_adapter(FastLanguageModel, model, job.train)
    if job.init_adapter is not None:
        load_adapter_weights(model, job.init_adapter, job.train.lora)
    tokenizer.chat_template = training_template(job.chat_template, tokenizer.chat_template, job.chat_template_text)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # Unsloth checkpoints through get_peft_model above; the trainer's own would do it twice.
    return run_trainer(model, tokenizer, rows, job, out_dir, gradient_checkpointing=False)


def _fresh_adapter(FastLanguageModel, model, spec):
    return FastLanguageModel.get_peft_model(
        model,
        r=spec.lora.rank,
        lora_alpha=spec.lora.alpha,
        lora_dropout=spec.lora.dropout,
        target_modules=list(spec.lora.target_modules),
        bias="none",
        use_gradient_checkpointing="unsloth" if spec.gradient_checkpointing else False,
        random_state=spec.seed,
    )
