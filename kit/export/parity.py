"""Parity check: the f16 GGUF, through the kit's llama.cpp engine, must tokenize probe prompts as the merged
HF model does and answer them greedily as transformers would. A mismatch means the export (weights, tokenizer
or chat template) changed the model.

llama.cpp generates each probe's greedy answer; transformers then reads prompt + answer in one teacher-forced
forward pass and must put its argmax on every answer token (and on the end-of-turn token where llama.cpp
stopped). Agreeing at every position of llama.cpp's own path is the same as generating the same tokens, at the
cost of one forward pass instead of a generate loop (a run's largest fixed cost was this check). A position
where the two disagree is also measured: its margin (transformers' log-prob of its own argmax minus that of
llama.cpp's token) tells an export bug (large margins) from an f16-vs-fp32 rounding near-tie (< TIE_NATS).
"""

from __future__ import annotations

from pathlib import Path

from kit.eval.engine import open_engine

# 1: transformers generate() vs llama.cpp; 2: teacher-forced argmax on llama.cpp's greedy path; 3: plus a
# multi-turn probe (kit.pipeline.probe_prompts)
VERSION = "3"
TIE_NATS = 0.05  # a disagreement this close is f16 rounding between two near-equal tokens, not an export bug


def llama_greedy(f16_gguf: Path, prompts: list[list[dict]], max_tokens: int, n_threads: int) -> list[dict]:
    """Per prompt: llama.cpp's prompt ids, greedy answer ids, and whether it stopped at end-of-turn."""
    out = []
    with open_engine(f16_gguf, n_ctx=2048, n_threads=n_threads) as engine:
        for messages in prompts:
            prompt = engine.prompt_ids(messages)
            new = engine.generate_ids(prompt, max_tokens)
            # The end-of-generation token llama.cpp stopped at (its greedy pick after the answer), so that
            # transformers is held to stopping at the same place.
            stop = engine.greedy_next(prompt + new) if len(new) < max_tokens else None
            out.append({"prompt": prompt, "new": new, "stop": stop, "text": engine.text(new)})
    return out


def hf_agreement(model_dir: Path, prompts: list[list[dict]], greedy: list[dict]) -> list[dict]:
    """Per prompt: transformers' prompt ids and, on llama.cpp's path, each position's argmax and margin."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    # The reference in 16 bits on a GPU (free again once training is over): a 7B in fp32 on the CPU takes 27 GB.
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float16 if cuda else torch.float32, device_map=device
    )
    out = []
    for messages, g in zip(prompts, greedy, strict=True):
        text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        hf_prompt = tok(text, add_special_tokens=False)["input_ids"]
        targets = g["new"] + ([g["stop"]] if g["stop"] is not None else [])
        ids = torch.tensor([g["prompt"] + targets], device=device)
        with torch.no_grad():
            logprobs = torch.log_softmax(model(ids).logits[0, len(g["prompt"]) - 1 : -1].float(), dim=-1)
        best = logprobs.argmax(dim=-1)
        margins = [float(logprobs[i, b] - logprobs[i, t]) for i, (b, t) in enumerate(zip(best.tolist(), targets))]
        out.append({"prompt": hf_prompt, "argmax": best.tolist(), "targets": targets, "margins": margins})
    return out


def parity_check(model_dir: Path, f16_gguf: Path, prompts: list[list[dict]], max_tokens: int, n_threads: int) -> dict:
    greedy = llama_greedy(f16_gguf, prompts, max_tokens, n_threads)
    agreement = hf_agreement(model_dir, prompts, greedy)
    probes = []
    for messages, g, a in zip(prompts, greedy, agreement, strict=True):
        differ = [i for i, (b, t) in enumerate(zip(a["argmax"], a["targets"])) if b != t]
        worst = max((a["margins"][i] for i in differ), default=0.0)
        probes.append(
            {
                "prompt": messages[-1]["content"][:160],
                "prompt_tokens_match": a["prompt"] == g["prompt"],
                "llama_cpp": g["text"],
                "generated_tokens": len(g["new"]),
                "positions_checked": len(a["targets"]),
                "positions_differ": len(differ),
                "worst_margin_nats": round(worst, 4),
                "match": a["prompt"] == g["prompt"] and not differ,
                "near_tie_only": a["prompt"] == g["prompt"] and bool(differ) and worst < TIE_NATS,
            }
        )
    matched = sum(p["match"] for p in probes)
    return {
        "version": VERSION,
        "passed": all(p["match"] or p["near_tie_only"] for p in probes),
        "matched": matched,
        "near_ties": sum(p["near_tie_only"] for p in probes),
        "total": len(probes),
        "max_tokens": max_tokens,
        "tie_nats": TIE_NATS,
        "probes": probes,
    }
