"""The llama.cpp engine every score goes through: a GGUF, the chat template it carries, greedy decoding,
and log-likelihoods, all through llama-cpp-python's bindings.

Prompts are rendered from the GGUF's own template (llama-cpp-python's Jinja formatter, aligned with
transformers') and tokenized by llama.cpp. Generation is greedy and stops at an end-of-generation
token. With ``batch_size > 1`` many prompts decode at once (continuous batching: one ``llama_decode``
call advances every active sequence; a finished sequence's slot takes the next prompt). Greedy
results can depend slightly on batch composition with quantized models, so recipes fix the batch
size and it is part of every cache key; ``batch_size=1`` is the exact one-at-a-time mode.
``n_threads`` is always set (llama-cpp-python otherwise uses half the cores), all layers go to the
GPU when CUDA is there, and everything is closed explicitly (the destructors fail at exit).
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from tqdm import tqdm

from kit.env import cuda_available

ENGINE_VERSION = "2"  # bumped when decoding itself changes; part of the completion cache key


class Engine:
    def __init__(self, gguf_path: Path, *, n_ctx: int, n_threads: int, batch_size: int = 1, seed: int = 0):
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.path = Path(gguf_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.batch_size = batch_size
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
        self._multi: _MultiSeq | None = None

    # --- prompts and text -------------------------------------------------------------------

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        text = self.formatter(messages=messages).prompt
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def text(self, ids: list[int]) -> str:
        return self.llm.detokenize(ids).decode("utf-8", "replace")

    # --- greedy generation ------------------------------------------------------------------

    def generate_ids(self, prompt: list[int], max_tokens: int) -> list[int]:
        """One prompt, one at a time through llama-cpp-python's own loop (the exact reference mode)."""
        budget = self._budget(prompt, max_tokens, self.n_ctx)
        out: list[int] = []
        for tok in self.llm.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
            if self._is_eog(self._vocab, tok):
                break
            out.append(tok)
            if len(out) >= budget:
                break
        return out

    def generate_many(
        self,
        prompts: list[list[int]],
        max_tokens: int,
        on_done: Callable[[int, list[int]], None] | None = None,
        desc: str = "generating",
    ) -> list[list[int]]:
        """Greedy continuations of every prompt; ``on_done(i, ids)`` fires as each one finishes."""
        results: list[list[int] | None] = [None] * len(prompts)
        with tqdm(total=len(prompts), desc=desc, unit="item", leave=False) as bar:

            def done(i: int, ids: list[int]) -> None:
                results[i] = ids
                bar.update()
                if on_done:
                    on_done(i, ids)

            if self.batch_size == 1:
                for i, prompt in enumerate(prompts):
                    done(i, self.generate_ids(prompt, max_tokens))
            else:
                self.multi().generate(prompts, max_tokens, done)
        return results  # type: ignore[return-value]

    def chat(self, messages: list[dict], max_tokens: int) -> str:
        return self.text(self.generate_ids(self.prompt_ids(messages), max_tokens))

    def _budget(self, prompt: list[int], max_tokens: int, n_ctx: int) -> int:
        budget = min(max_tokens, n_ctx - len(prompt))
        if budget <= 0:
            raise ValueError(f"prompt of {len(prompt)} tokens does not fit n_ctx={n_ctx}; raise eval.n_ctx_tokens")
        return budget

    # --- log-likelihoods (judge-free scoring) -----------------------------------------------

    def loglik(self, prompt: list[int], continuation: list[int]) -> tuple[float, bool]:
        """Sum of log p(continuation | prompt), and whether greedy decoding would produce it."""
        return self.multi().loglik(prompt, continuation)

    def choice_logprobs(self, prompt: list[int], choices: list[int]) -> list[float]:
        """log p(next token = c | prompt) for each candidate token (A/B/C/D...), over the full vocabulary."""
        return self.multi().next_logprobs(prompt, choices)

    def multi(self) -> _MultiSeq:
        if self._multi is None:
            self._multi = _MultiSeq(self, max(1, self.batch_size))
        return self._multi

    def close(self) -> None:
        if self._multi is not None:
            self._multi.close()
        self.llm.close()


class _MultiSeq:
    """A second llama.cpp context over the same weights, with one KV-cache slot per sequence."""

    def __init__(self, engine: Engine, n_seq: int):
        import llama_cpp as L
        import numpy as np

        self.L, self.np, self.engine = L, np, engine
        self.n_seq = n_seq
        self.n_ctx_seq = engine.n_ctx
        # Start from the one-at-a-time context's own settings (flash attention, rope/yarn...), so both
        # modes compute the same thing and differ only in how many sequences share a decode call.
        params = L.llama_context_params.from_buffer_copy(engine.llm.context_params)
        params.n_ctx = engine.n_ctx * n_seq
        params.n_batch = params.n_ubatch = max(512, n_seq)
        params.n_seq_max = n_seq
        params.n_threads = params.n_threads_batch = engine.n_threads
        self.n_batch = params.n_batch
        self.ctx = L.llama_init_from_model(engine.llm._model.model, params)
        if not self.ctx:
            raise RuntimeError(f"llama.cpp could not make a {n_seq}-sequence context of {params.n_ctx} tokens")
        self.mem = L.llama_get_memory(self.ctx)
        self.vocab = engine._vocab
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.batch = L.llama_batch_init(self.n_batch, 0, 1)

    # batch building ------------------------------------------------------------------------
    def _clear_batch(self) -> None:
        self.batch.n_tokens = 0

    def _add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        i = self.batch.n_tokens
        self.batch.token[i] = token
        self.batch.pos[i] = pos
        self.batch.n_seq_id[i] = 1
        self.batch.seq_id[i][0] = seq
        self.batch.logits[i] = logits
        self.batch.n_tokens = i + 1
        return i

    def _decode(self) -> None:
        rc = self.L.llama_decode(self.ctx, self.batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc} (KV cache full? lower eval.batch_size or n_ctx_tokens)")

    def _logits(self, i: int):
        return self.np.ctypeslib.as_array(self.L.llama_get_logits_ith(self.ctx, i), shape=(self.n_vocab,))

    def _prefill(self, ids: list[int], seq: int) -> int:
        """Put a prompt into ``seq``'s cache; returns the greedy next token."""
        self.L.llama_memory_seq_rm(self.mem, seq, -1, -1)
        for start in range(0, len(ids), self.n_batch):
            chunk = ids[start : start + self.n_batch]
            self._clear_batch()
            for j, tok in enumerate(chunk):
                self._add(tok, start + j, seq, start + j == len(ids) - 1)
            self._decode()
        return int(self._logits(self.batch.n_tokens - 1).argmax())

    def generate(self, prompts: list[list[int]], max_tokens: int, done: Callable[[int, list[int]], None]) -> None:
        queue = deque(enumerate(prompts))
        # slot -> [prompt index, generated ids, next position, budget, pending token]
        slots: dict[int, list] = {}
        while queue or slots:
            for seq in range(self.n_seq):  # refill free slots
                if seq not in slots and queue:
                    i, prompt = queue.popleft()
                    budget = self.engine._budget(prompt, max_tokens, self.n_ctx_seq)
                    slots[seq] = [i, [], len(prompt), budget, self._prefill(prompt, seq)]
            self._clear_batch()
            index = {}
            for seq, (i, out, pos, budget, tok) in list(slots.items()):
                if self.L.llama_vocab_is_eog(self.vocab, tok) or len(out) >= budget:
                    done(i, out)
                    del slots[seq]
                    continue
                out.append(tok)
                if len(out) >= budget:  # no need to compute the token after the last one
                    done(i, out)
                    del slots[seq]
                    continue
                index[seq] = self._add(tok, pos, seq, True)
                slots[seq][2] = pos + 1
            if not index:
                continue
            self._decode()
            for seq, bi in index.items():
                slots[seq][4] = int(self._logits(bi).argmax())

    def _log_softmax_at(self, i: int):
        row = self._logits(i).astype(self.np.float64)
        m = row.max()
        return row - (m + math.log(self.np.exp(row - m).sum()))

    def loglik(self, prompt: list[int], continuation: list[int]) -> tuple[float, bool]:
        if not prompt or not continuation:
            raise ValueError("loglik needs a non-empty prompt and continuation")
        ids = prompt + continuation
        if len(ids) > self.n_ctx_seq:
            raise ValueError(f"{len(ids)} tokens do not fit n_ctx={self.n_ctx_seq}")
        self.L.llama_memory_seq_rm(self.mem, 0, -1, -1)
        total, greedy = 0.0, True
        first = len(prompt) - 1  # the logits at position p predict token p + 1
        for start in range(0, len(ids), self.n_batch):
            chunk = ids[start : start + self.n_batch]
            self._clear_batch()
            wanted = {}
            for j, tok in enumerate(chunk):
                p = start + j
                wanted_here = first <= p < len(ids) - 1
                bi = self._add(tok, p, 0, wanted_here)
                if wanted_here:
                    wanted[p] = bi
            self._decode()
            for p, bi in wanted.items():
                row = self._log_softmax_at(bi)
                target = ids[p + 1]
                total += float(row[target])
                greedy = greedy and int(row.argmax()) == target
        return total, greedy

    def next_logprobs(self, prompt: list[int], choices: list[int]) -> list[float]:
        self._prefill(prompt, 0)
        row = self._log_softmax_at(self.batch.n_tokens - 1)
        return [float(row[c]) for c in choices]

    def close(self) -> None:
        self.L.llama_batch_free(self.batch)
        self.L.llama_free(self.ctx)


@contextlib.contextmanager
def open_engine(gguf_path: Path, *, n_ctx: int, n_threads: int, batch_size: int = 1) -> Iterator[Engine]:
    engine = Engine(gguf_path, n_ctx=n_ctx, n_threads=n_threads, batch_size=batch_size)
    try:
        yield engine
    finally:
        engine.close()
