"""LoRA (or 4-bit QLoRA through bitsandbytes) with transformers + peft + TRL: runs on CPU and GPU."""

from __future__ import annotations

from kit.backends.job import TrainJob
from kit.backends.sft import run_trainer
from kit.data.templates import training_template


def train(rows: list[dict], job: TrainJob, out_dir: str, compact_loss: bool = True) -> dict:
    """``compact_loss=False`` trains with TRL's own loss (``make bench`` compares the two)."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec, lora = job.train, job.train.lora
    torch.manual_seed(spec.seed)
    tokenizer = AutoTokenizer.from_pretrained(job.base_path)
    tokenizer.chat_template = training_template(job.chat_template, tokenizer.chat_template, job.chat_template_text)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = getattr(torch, job.dtype)
    kwargs = {"dtype": dtype}
    if spec.quantization == "nf4":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16 if job.dtype == "float32" else dtype,
            bnb_4bit_use_double_quant=True,
        )
    if job.device == "cpu":
        kwargs["device_map"] = "cpu"
    model = AutoModelForCausalLM.from_pretrained(job.base_path, **kwargs)
    if spec.quantization == "nf4":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=spec.gradient_checkpointing)
    if job.init_adapter is not None:  # a later stage of the "continue" chaining: train the same adapter on
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, job.init_adapter, is_trainable=True)
        return run_trainer(model, tokenizer, rows, job, out_dir, compact_loss=compact_loss)
    peft_config = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    return run_trainer(model, tokenizer, rows, job, out_dir, peft_config=peft_config, compact_loss=compact_loss)
