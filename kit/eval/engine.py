"""The llama.cpp engine every score goes through: a GGUF, the chat template it carries, greedy decoding.

Prompts are rendered from the GGUF's own template (llama-cpp-python's Jinja formatter, aligned with
transformers') and tokenized by llama.cpp; generation is greedy and stops at an end-of-generation
token. ``n_threads`` is always set (llama-cpp-python otherwise uses half the cores), all layers go
to the GPU when CUDA is there, and the model is closed explicitly (its destructor fails at exit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from kit.env import cuda_available


class Engine:
    def __init__(self, gguf_path: Path, *, n_ctx: int, n_threads: int, seed: int = 0):
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.path = Path(gguf_path)
        self.n_ctx = n_ctx
        self.llm = llama_cpp.Llama(
            model_path=str(gguf_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_gpu_layers=-1 if cuda_available() else 0,
            seed=seed,
            verbose=False,
        )
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{gguf_path} carries no chat template; re-export it with the kit")
        special = lambda tok: self.llm.detokenize([tok], special=True).decode("utf-8", "replace")  # noqa: E731
        self.formatter = Jinja2ChatFormatter(
            template, eos_token=special(self.llm.token_eos()), bos_token=special(self.llm.token_bos())
        )
        self._vocab = self.llm._model.vocab
        self._is_eog = llama_cpp.llama_vocab_is_eog

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        text = self.formatter(messages=messages).prompt
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def generate_ids(self, prompt: list[int], max_tokens: int) -> list[int]:
        budget = min(max_tokens, self.n_ctx - len(prompt))
        if budget <= 0:
            raise ValueError(f"prompt of {len(prompt)} tokens does not fit n_ctx={self.n_ctx}; raise eval.n_ctx_tokens")
        out: list[int] = []
        for tok in self.llm.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
            if self._is_eog(self._vocab, tok):
                break
            out.append(tok)
            if len(out) >= budget:
                break
        return out

    def text(self, ids: list[int]) -> str:
        return self.llm.detokenize(ids).decode("utf-8", "replace")

    def chat(self, messages: list[dict], max_tokens: int) -> str:
        return self.text(self.generate_ids(self.prompt_ids(messages), max_tokens))

    def chat_many(self, prompts: list[list[dict]], max_tokens: int, desc: str = "generating") -> list[str]:
        return [self.chat(p, max_tokens) for p in tqdm(prompts, desc=desc, unit="item", leave=False)]

    def close(self) -> None:
        self.llm.close()


@contextlib.contextmanager
def open_engine(gguf_path: Path, *, n_ctx: int, n_threads: int) -> Iterator[Engine]:
    engine = Engine(gguf_path, n_ctx=n_ctx, n_threads=n_threads)
    try:
        yield engine
    finally:
        engine.close()
