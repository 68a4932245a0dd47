"""Parity check: the f16 GGUF, through the kit's llama.cpp engine, must tokenize probe prompts and
answer them greedily token for token as the merged HF model does through transformers. A mismatch
means the export (weights, tokenizer or chat template) changed the model."""

from __future__ import annotations

from pathlib import Path

from kit.eval.engine import open_engine


def hf_greedy(model_dir: Path, prompts: list[list[dict]], max_tokens: int) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, generated ids) per prompt, the generated ones up to and excluding end-of-turn."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, device_map="cpu")
    stop = set(
        model.generation_config.eos_token_id
        if isinstance(model.generation_config.eos_token_id, list)
        else [model.generation_config.eos_token_id, tok.eos_token_id]
    )
    out = []
    for messages in prompts:
        text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = tok(text, add_special_tokens=False, return_tensors="pt")
        with torch.no_grad():
            gen = model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        new = gen[0, ids["input_ids"].shape[1] :].tolist()
        cut = next((i for i, t in enumerate(new) if t in stop), len(new))
        out.append((ids["input_ids"][0].tolist(), new[:cut]))
    return out


def parity_check(model_dir: Path, f16_gguf: Path, prompts: list[list[dict]], max_tokens: int, n_threads: int) -> dict:
    expected = hf_greedy(model_dir, prompts, max_tokens)
    probes = []
    with open_engine(f16_gguf, n_ctx=2048, n_threads=n_threads) as engine:
        for messages, (hf_prompt, hf_new) in zip(prompts, expected, strict=True):
            prompt = engine.prompt_ids(messages)
            new = engine.generate_ids(prompt, max_tokens)
            probes.append(
                {
                    "prompt": messages[-1]["content"][:160],
                    "prompt_tokens_match": prompt == hf_prompt,
                    "transformers": engine.text(hf_new),
                    "llama_cpp": engine.text(new),
                    "generated_tokens": len(new),
                    "match": prompt == hf_prompt and new == hf_new,
                }
            )
    matched = sum(p["match"] for p in probes)
    return {
        "passed": matched == len(probes),
        "matched": matched,
        "total": len(probes),
        "max_tokens": max_tokens,
        "probes": probes,
    }
