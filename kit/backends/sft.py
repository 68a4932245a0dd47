"""The TRL SFTTrainer call both backends share: assistant-only loss, fixed step budget, metrics.

The kit tokenizes the rows itself (``tokenize_rows``) into ``input_ids``, ``attention_mask`` and ``labels``,
-100 outside the assistant turns (kit.backends.mask: from the training template's ``{% generation %}`` markers, or
found by rendering where it has none), and pads them with its own collator. TRL then trains on them as they are,
and so does Unsloth, whose patched trainer replaces TRL's dataset preparation with one that has no branch for a
``messages`` column (unslothai/unsloth-zoo#323).
"""

from __future__ import annotations

import logging
import math
import time

log = logging.getLogger(__name__)


def total_steps(n_rows: int, train) -> int:
    per_step = train.batch_size * train.grad_accum_steps
    if train.max_steps:
        return train.max_steps
    return max(1, math.ceil(n_rows * train.epochs / per_step), train.min_steps or 0)


def sft_config(job, out_dir: str, n_rows: int):
    from trl import SFTConfig

    train = job.train
    steps = total_steps(n_rows, train)
    return SFTConfig(
        output_dir=out_dir,
        max_length=job.max_seq_len_tokens,
        # The rows arrive tokenized with their labels (tokenize_rows): TRL builds no mask and pads nothing itself.
        assistant_only_loss=False,
        padding_free=bool(train.packing),
        per_device_train_batch_size=train.batch_size,
        gradient_accumulation_steps=train.grad_accum_steps,
        max_steps=steps,
        learning_rate=train.learning_rate,
        lr_scheduler_type=train.lr_scheduler,
        warmup_steps=int(train.warmup_ratio * steps),
        weight_decay=train.weight_decay,
        # SFTConfig's own defaults (bf16, checkpointing, lr 2e-5) differ from TrainingArguments': be explicit.
        bf16=job.dtype == "bfloat16",
        fp16=job.dtype == "float16",
        gradient_checkpointing=train.gradient_checkpointing,
        use_cpu=job.device == "cpu",
        seed=train.seed,
        data_seed=train.seed,
        logging_steps=1,
        save_strategy="no",
        # Trackers log under the run id, into the run directory (the worker set their folders: kit.backends.tracking).
        report_to=list(job.report_to) or "none",
        run_name=job.run_name,
        disable_tqdm=False,
        dataloader_num_workers=0,
        packing=train.packing,
        **_length_grouping(SFTConfig, train.length_grouping),
    )


def _length_grouping(config_cls, on: bool) -> dict:
    """transformers 5.23 says train_sampling_strategy; the 5.17 that Unsloth pins may only know group_by_length."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_cls)}
    if "train_sampling_strategy" in names:
        return {"train_sampling_strategy": "group_by_length" if on else "random"}
    return {"group_by_length": on}


def run_trainer(
    model,
    tokenizer,
    rows: list[dict],
    job,
    out_dir: str,
    peft_config=None,
    compact_loss: bool = False,
    **config_overrides,
) -> dict:
    """Train and save the adapter into ``out_dir``; returns the training metrics.

    ``compact_loss`` projects only the trained positions through the LM head (``compact_lm_head_loss``).
    """
    from datasets import Dataset
    from trl import SFTTrainer

    train = job.train
    dataset = Dataset.from_list(tokenize_rows(tokenizer, rows, job.max_seq_len_tokens))
    config = sft_config(job, out_dir, len(rows))
    for key, value in config_overrides.items():
        setattr(config, key, value)
    trainer_cls = _compact_loss_trainer(SFTTrainer) if compact_loss else SFTTrainer
    trainer = trainer_cls(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        # packing (padding-free) needs TRL's own collator, which reads the same labels
        data_collator=None if train.packing else PadCollator(tokenizer.pad_token_id),
    )
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    trainer.model.save_pretrained(out_dir)
    steps = result.global_step
    examples_seen = examples_in_steps(steps, len(rows), train.batch_size * train.grad_accum_steps)
    tokens_seen = sum(lengths) * examples_seen / max(1, len(lengths))
    losses = [(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h]
    trainable, total = _param_counts(trainer.model)
    return {
        "steps": steps,
        "examples_seen": examples_seen,
        "epochs_seen": examples_seen / max(1, len(rows)),
        "tokens_seen_approx": round(tokens_seen),
        "train_seconds": round(seconds, 2),
        "tokens_per_second": round(tokens_seen / seconds, 1) if seconds else None,
        "loss_first": losses[0][1] if losses else None,
        "loss_last": losses[-1][1] if losses else None,
        "loss_curve": losses,
        "trainable_params": trainable,
        "total_params": total,
        "mean_tokens_per_example": round(sum(lengths) / max(1, len(lengths)), 1),
        "truncated_examples": sum(n >= job.max_seq_len_tokens for n in lengths),
    }


def tokenize_rows(tokenizer, rows: list[dict], max_len: int) -> list[dict]:
    """Each row's chat as ``input_ids``, ``attention_mask`` and ``labels`` (the token where the assistant mask
    is set, else -100), cut to ``max_len`` tokens from the start. A row left with no assistant token (its prompt
    alone fills ``max_len``) is dropped and counted in the log, as TRL does."""
    from kit.backends.mask import assistant_mask

    out, dropped = [], 0
    for row in rows:
        full_ids, full_mask = assistant_mask(tokenizer, row["messages"], row.get("id", "?"))
        ids, mask = full_ids[:max_len], full_mask[:max_len]
        if not any(full_mask):
            raise ValueError(
                f"row {row.get('id', '?')}: the chat template marks no assistant token; a training form with "
                "{% generation %} markers must put them around the assistant turns (kit.data.templates)"
            )
        labels = [tok if m else -100 for tok, m in zip(ids, mask, strict=True)]
        if all(label == -100 for label in labels):
            dropped += 1
            continue
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    if dropped:
        log.warning(
            "%d of %d rows dropped: their prompt alone fills max_seq_len_tokens=%d", dropped, len(rows), max_len
        )
    return out


class PadCollator:
    """Pads a batch on the right: ``input_ids`` with the pad token, ``labels`` with -100, and an ``attention_mask``
    of the real tokens (built from the lengths: TRL keeps only the columns the model's loss needs)."""

    def __init__(self, pad_token_id: int):
        self.pad = pad_token_id

    def __call__(self, features: list[dict]) -> dict:
        import torch

        width = max(len(f["input_ids"]) for f in features)

        def padded(values: list[list[int]], fill: int) -> torch.Tensor:
            return torch.tensor([list(v) + [fill] * (width - len(v)) for v in values])

        ids = [f["input_ids"] for f in features]
        return {
            "input_ids": padded(ids, self.pad),
            "attention_mask": padded([[1] * len(v) for v in ids], 0),
            "labels": padded([f["labels"] for f in features], -100),
        }


def load_adapter_weights(model, adapter_dir: str, lora) -> None:
    """An earlier stage's adapter weights into ``model``'s fresh adapter of the same shape (rank, alpha, modules):
    how a backend that must build its adapter itself (Unsloth's get_peft_model) continues one."""
    import json
    from pathlib import Path

    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    folder = Path(adapter_dir)
    saved = json.loads((folder / "adapter_config.json").read_text())
    want = {"r": lora.rank, "lora_alpha": lora.alpha, "target_modules": sorted(lora.target_modules)}
    have = {"r": saved["r"], "lora_alpha": saved["lora_alpha"], "target_modules": sorted(saved["target_modules"])}
    if want != have:
        raise ValueError(f"cannot continue the adapter in {folder}: it was trained with {have}, this stage asks {want}")
    result = set_peft_model_state_dict(model, load_file(str(folder / "adapter_model.safetensors")))
    if result.unexpected_keys:
        raise ValueError(f"adapter in {folder} has weights this model lacks: {result.unexpected_keys[:3]}")
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing:
        raise ValueError(f"adapter in {folder} lacks weights this model's adapter has: {missing[:3]}")


def compact_lm_head_loss(model, inputs: dict, num_items_in_batch=None):
    """Mean cross-entropy over the trained (assistant) tokens, projecting only their positions through the LM head.

    The loss TRL computes, by a cheaper route on CPU: TRL's fused head scores every position off Triton devices
    (and recomputes the logits in backward), while here a fifth of the tokens carry the loss; a step of the 135M
    model went from 5.4 to 3.0 s on 2 cores (make bench compares both). Same normalisation as TRL: the sum over
    trained tokens divided by ``num_items_in_batch`` (the trained tokens of the whole accumulated batch), else by
    this batch's count.
    """
    import torch

    labels = inputs["labels"][:, 1:]
    mask = labels != -100
    forward = {k: v for k, v in inputs.items() if k not in ("labels", "use_cache")}
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT wraps the model
    backbone = getattr(base, base.base_model_prefix)
    hidden = backbone(**forward, use_cache=False).last_hidden_state[:, :-1][mask]
    logits = model.get_output_embeddings()(hidden).float()
    total = torch.nn.functional.cross_entropy(logits, labels[mask], reduction="sum")
    count = mask.sum() if num_items_in_batch is None else num_items_in_batch
    return total / torch.as_tensor(count, device=total.device).clamp(min=1)


def _compact_loss_trainer(base_cls):
    """The SFT trainer with ``compact_lm_head_loss`` (its per-token entropy and accuracy logs are dropped)."""

    class CompactLossSFTTrainer(base_cls):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if return_outputs:  # evaluation asks for outputs (logits): TRL's own path
                return super().compute_loss(model, inputs, True, num_items_in_batch)
            return compact_lm_head_loss(model, inputs, num_items_in_batch)

    return CompactLossSFTTrainer


def examples_in_steps(steps: int, n_rows: int, per_step: int) -> int:
    """Rows a trainer saw in ``steps``: an epoch's last batch is short when the rows do not fill it."""
    per_epoch = max(1, math.ceil(n_rows / per_step))
    full, rest = divmod(steps, per_epoch)
    return full * n_rows + min(rest * per_step, n_rows)


def _param_counts(model) -> tuple[int, int]:
    """Trainable and total parameters; a bitsandbytes 4-bit weight stores two values a byte, so it counts twice."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() * (2 if type(p).__name__ == "Params4bit" else 1) for p in model.parameters())
    return trainable, total
