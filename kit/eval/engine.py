"""The llama.cpp engine every score goes through: a GGUF, the chat template it carries, greedy decoding,
and log-likelihoods, all through llama-cpp-python's bindings.

Prompts are rendered from the GGUF's own template (llama-cpp-python's Jinja formatter, aligned with
transformers') and tokenized by llama.cpp. Generation is greedy and stops at an end-of-generation
token. With ``batch_size > 1`` many prompts decode at once (continuous batching: one ``llama_decode``
call advances every active sequence; a finished sequence's slot takes the next prompt). Greedy
results can depend slightly on batch composition with quantized models, so recipes fix the batch
size and it is part of every cache key; ``batch_size=1`` is the exact one-at-a-time mode.
Teacher-forced scoring (``score_many``) prefills each prompt once into one sequence, copies that
sequence's KV cache to the other candidates' sequences (``llama_memory_seq_cp``) and decodes every
candidate's continuation together, packing as many prompts as the sequence slots allow.
``n_threads`` is always set (llama-cpp-python otherwise uses half the cores); on CUDA the layers, the KV-cache
type and the batched sequences are sized from free VRAM (kit.eval.memory, flash attention on); everything is
closed explicitly (the destructors fail at exit).

Over 400 lines: one class owns the llama.cpp contexts (batched generation, prefill, KV copies for dense
scoring) because they share the model's handles and their lifetimes; splitting it would scatter that ownership.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from tqdm import tqdm

from kit.env import cuda_available
from kit.eval.memory import free_vram, model_shape, place

log = logging.getLogger(__name__)

ENGINE_VERSION = "2"  # bumped when decoding itself changes; part of the completion cache key
# Bumped when teacher-forced scoring changes; part of the dense cache key. 2: candidates' common unscored
# head is prefilled once with the prompt (same tokens and positions; only batch composition differs).
SCORING_VERSION = "2"

# A candidate continuation: segments of token ids, each counted in the score or not.
Segment = tuple[list[int], bool]
Candidate = list[Segment]


def chat_formatter(llm, path: Path):
    """What renders every prompt: llama-cpp-python's Jinja formatter on the GGUF's own template, with the GGUF's
    BOS and EOS text (kit.export.render_check holds it to transformers' rendering at export; kit.eval.samples logs
    what it rendered)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ValueError(f"{path} carries no chat template; re-export it with the kit")
    special = lambda tok: llm.detokenize([tok], special=True).decode("utf-8", "replace")  # noqa: E731
    return Jinja2ChatFormatter(template, eos_token=special(llm.token_eos()), bos_token=special(llm.token_bos()))


class CandidateScore(NamedTuple):
    logprob: float  # sum of log p over the scored tokens (nats)
    n_scored: int  # how many tokens were scored
    greedy: bool  # every scored token is the greedy (argmax) choice


class Engine:
    def __init__(self, gguf_path: Path, *, n_ctx: int, n_threads: int, batch_size: int = 1, seed: int = 0):
        import llama_cpp

        self.path = Path(gguf_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.batch_size = batch_size
        # On CUDA, layers, KV-cache type and batched sequences are sized from free VRAM (kit.eval.memory); on a CPU
        # this is every layer on the CPU, f16 cache, no flash attention and the recipe's batch, as before.
        free = free_vram() if cuda_available() else None
        shape = model_shape(self.path) if free is not None else None
        self.placement = place(shape, free, n_ctx, max(1, batch_size), extra_ctx=n_ctx)
        if free is not None:
            log.info("llama.cpp on the GPU: %s", self.placement.reason)
        quantized_kv = self.placement.kv_type == "q8_0"
        kv = {"type_k": llama_cpp.GGML_TYPE_Q8_0, "type_v": llama_cpp.GGML_TYPE_Q8_0} if quantized_kv else {}
        self.llm = llama_cpp.Llama(
            model_path=str(gguf_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_gpu_layers=self.placement.n_gpu_layers,
            flash_attn=self.placement.flash_attn,
            seed=seed,
            verbose=False,
            **kv,
        )
        self.formatter = chat_formatter(self.llm, self.path)
        self._vocab = self.llm._model.vocab
        self._is_eog = llama_cpp.llama_vocab_is_eog
        self._multi: _MultiSeq | None = None
        self._end_of_turn: list[int] | None = None

    # --- prompts and text -------------------------------------------------------------------

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        return self.tokenize(self.formatter(messages=messages).prompt)

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode(), add_bos=False, special=True)

    def text(self, ids: list[int]) -> str:
        return self.llm.detokenize(ids).decode("utf-8", "replace")

    # --- greedy generation ------------------------------------------------------------------

    def generate_ids(self, prompt: list[int], max_tokens: int) -> list[int]:
        """One prompt, one at a time through llama-cpp-python's own loop (the exact reference mode)."""
        return list(self.stream_ids(prompt, max_tokens))

    def stream_ids(self, prompt: list[int], max_tokens: int) -> Iterator[int]:
        """``generate_ids``'s tokens as they are decoded (``kit chat`` prints them as they come)."""
        budget = self._budget(prompt, max_tokens, self.n_ctx)
        produced = 0
        for tok in self.llm.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
            if self._is_eog(self._vocab, tok):
                break
            yield tok
            produced += 1
            if produced >= budget:
                break

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

    def score_candidates(self, prompt: list[int], candidates: list[Candidate]) -> list[CandidateScore]:
        """Teacher-forced scores of each candidate continuation of one prompt (see ``score_many``)."""
        return self.score_many([(prompt, candidates)], desc=None)[0]

    def score_many(
        self, requests: list[tuple[list[int], list[Candidate]]], desc: str | None = "scoring"
    ) -> list[list[CandidateScore]]:
        """For each (prompt ids, candidates): the scores of its candidates, in order.

        Only tokens of scored segments count, each conditioned on the prompt and every earlier segment.
        Each prompt is prefilled once, together with the unscored tokens that open every one of its
        candidates (a worked solution up to the changed result, say), and that KV cache is copied to the
        candidates' sequences; with ``batch_size=1`` the candidates take turns in one sequence, the prompt
        kept between them.
        """
        requests = [fold_common_head(prompt, candidates) for prompt, candidates in requests]
        results: list[list[CandidateScore] | None] = [None] * len(requests)
        quiet = {"disable": True} if desc is None else {}  # else tqdm's default, which -q (TQDM_DISABLE) turns off
        with tqdm(total=len(requests), desc=desc or "scoring", unit="item", leave=False, **quiet) as bar:

            def done(i: int, scores: list[CandidateScore]) -> None:
                results[i] = scores
                bar.update()

            self.multi().score(requests, done)
        return results  # type: ignore[return-value]

    def segment_ids(self, segments: list[dict]) -> Candidate:
        """``[{"text", "scored"}, ...]`` as token segments, the end-of-turn token appended to the last one.

        Each segment is tokenized on its own (not the joined reply), so that segments shared by gold and
        distractors have identical ids and only the changed spans differ; a segment boundary should sit
        where the tokenizer would split anyway (before a space), which the dense builders ensure.
        """
        if not segments:
            raise ValueError("a candidate needs at least one segment")
        out = [(self.tokenize(s["text"]), bool(s["scored"])) for s in segments]
        last_ids, last_scored = out[-1]
        out[-1] = (last_ids + self.end_of_turn(), last_scored)
        return out

    def end_of_turn(self) -> list[int]:
        """The tokens that close an assistant turn in this model's chat template, up to its end-of-generation token.

        Found by rendering an assistant message through the GGUF's template (ChatML: ``<|im_end|>``), so it
        holds for any template; what the template adds after that token (a newline, the next turn) is
        never generated, so it is not scored.
        """
        if self._end_of_turn is None:
            mark = "\u2063kit-end-of-turn-probe\u2063"
            text = self.formatter(messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": mark}])
            if mark not in text.prompt:
                raise ValueError(f"{self.path}: the chat template does not render an assistant message")
            tail = self.tokenize(text.prompt.split(mark, 1)[1])
            ends = [i for i, tok in enumerate(tail) if self._is_eog(self._vocab, tok)]
            if not ends:
                raise ValueError(f"{self.path}: the chat template closes an assistant turn without an end token")
            self._end_of_turn = tail[: ends[0] + 1]
        return self._end_of_turn

    def greedy_next(self, ids: list[int]) -> int:
        """The token greedy decoding picks after ``ids`` (e.g. the end-of-turn token where an answer stopped)."""
        return self.multi()._prefill(ids, 0)

    def choice_logprobs(self, prompt: list[int], choices: list[int]) -> list[float]:
        """log p(next token = c | prompt) for each candidate token (A/B/C/D...), over the full vocabulary."""
        return self.multi().next_logprobs(prompt, choices)

    def multi(self) -> _MultiSeq:
        if self._multi is None:  # the batched context copies the placement's cache type and flash attention
            self._multi = _MultiSeq(self, 1 if self.batch_size <= 1 else self.placement.n_seq)
        return self._multi

    def close(self) -> None:
        """Free the model and its contexts (RAM or VRAM); closing twice is harmless."""
        if self._multi is not None:
            self._multi.close()
            self._multi = None
        if self.llm is not None:
            self.llm.close()
            self.llm = None


@contextlib.contextmanager
def open_renderer(gguf_path: Path) -> Iterator[Callable[[list[dict]], str]]:
    """``render(messages)``: the prompt text the engine gives llama.cpp for a chat, from the GGUF's vocabulary and
    template alone (no weights: milliseconds even for a 7B file), for the sample logs of cached evals."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(gguf_path), vocab_only=True, verbose=False)
    try:
        formatter = chat_formatter(llm, Path(gguf_path))
        yield lambda messages: formatter(messages=messages).prompt
    finally:
        llm.close()


def fold_common_head(prompt: list[int], candidates: list[Candidate]) -> tuple[list[int], list[Candidate]]:
    """Move the unscored tokens that open every candidate into the prompt, so they are prefilled once.

    Positions and tokens stay the same, so every scored token sees the same context; each candidate keeps
    at least one token. A single candidate is left as it is (there is nothing to share).
    """
    if len(candidates) < 2:
        return prompt, candidates
    flat = [[(tok, scored) for ids, scored in cand for tok in ids] for cand in candidates]
    limit = min(len(f) for f in flat) - 1
    head = 0
    while head < limit and not flat[0][head][1] and all(f[head] == flat[0][head] for f in flat[1:]):
        head += 1
    if head == 0:
        return prompt, candidates
    return prompt + [tok for tok, _ in flat[0][:head]], [_segments_of(f[head:]) for f in flat]


def _segments_of(tokens: list[tuple[int, bool]]) -> Candidate:
    out: Candidate = []
    for tok, scored in tokens:
        if out and out[-1][1] == scored:
            out[-1][0].append(tok)
        else:
            out.append(([tok], scored))
    return out


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

    # teacher-forced scoring ----------------------------------------------------------------
    def score(
        self,
        requests: list[tuple[list[int], list[Candidate]]],
        done: Callable[[int, list[CandidateScore]], None],
    ) -> None:
        """Score requests in groups that fit the sequence slots (one slot per candidate of each prompt)."""
        for i, (prompt, candidates) in enumerate(requests):
            self._check_request(i, prompt, candidates)
        queue = deque(range(len(requests)))
        while queue:
            group, used = [], 0
            while queue and (not group or used + min(len(requests[queue[0]][1]), self.n_seq) <= self.n_seq):
                i = queue.popleft()
                group.append((i, used))
                used += min(len(requests[i][1]), self.n_seq)
            for i, scores in self._score_group(requests, group).items():
                done(i, scores)

    def _check_request(self, i: int, prompt: list[int], candidates: list[Candidate]) -> None:
        if not prompt or not candidates:
            raise ValueError(f"scoring request {i} needs a non-empty prompt and at least one candidate")
        for c, cand in enumerate(candidates):
            n = len(prompt) + sum(len(ids) for ids, _ in cand)
            if n > self.n_ctx_seq:
                raise ValueError(f"scoring request {i}, candidate {c}: {n} tokens do not fit n_ctx={self.n_ctx_seq}")

    def _score_group(self, requests, group: list[tuple[int, int]]) -> dict[int, list[CandidateScore]]:
        """Prefill every prompt of the group at once, then its candidates, a slot-full at a time."""
        first_rows = self._prefill_many([(requests[i][0], base) for i, base in group])
        out = {}
        rounds = max(-(-len(requests[i][1]) // self.n_seq) for i, _ in group)
        for r in range(rounds):
            jobs = []  # (request, candidate index, sequence)
            for (i, base), row in zip(group, first_rows, strict=True):
                prompt, candidates = requests[i]
                chunk = range(r * self.n_seq, min(len(candidates), (r + 1) * self.n_seq))
                if not chunk:
                    continue
                if r:  # the prompt stays in the base sequence; drop the last round's continuation
                    self.L.llama_memory_seq_rm(self.mem, base, len(prompt), -1)
                for k, c in enumerate(chunk):
                    if k:
                        self.L.llama_memory_seq_rm(self.mem, base + k, -1, -1)
                        self.L.llama_memory_seq_cp(self.mem, base, base + k, -1, -1)
                    jobs.append((i, c, base + k, row))
            for (i, c, _, _), score in zip(jobs, self._continue_many(requests, jobs), strict=True):
                out.setdefault(i, [None] * len(requests[i][1]))[c] = score
        return out

    def _prefill_many(self, prompts: list[tuple[list[int], int]]) -> list:
        """Each prompt into its own sequence, all in as few decode calls as the batch allows; returns the
        log-softmax at each prompt's last token (what predicts the first continuation token)."""
        for _, seq in prompts:
            self.L.llama_memory_seq_rm(self.mem, seq, -1, -1)
        tokens = [
            (tok, p, seq, k if p == len(ids) - 1 else None)
            for k, (ids, seq) in enumerate(prompts)
            for p, tok in enumerate(ids)
        ]
        rows: list = [None] * len(prompts)
        for start in range(0, len(tokens), self.n_batch):
            self._clear_batch()
            last = {}
            for tok, p, seq, k in tokens[start : start + self.n_batch]:
                bi = self._add(tok, p, seq, k is not None)
                if k is not None:
                    last[k] = bi
            self._decode()
            for k, bi in last.items():
                rows[k] = self._log_softmax_at(bi)
        return rows

    def _continue_many(self, requests, jobs: list[tuple]) -> list[CandidateScore]:
        """Decode every job's continuation (after its prompt, already in its sequence) and score it.

        The first continuation token is scored from the prompt's last row; token t + 1 from the logits at
        token t, asked for only where t + 1 is scored. The last token itself is never decoded.
        """
        totals = [[0.0, 0, True] for _ in jobs]

        def take(j: int, row, target: int) -> None:
            totals[j][0] += float(row[target])
            totals[j][1] += 1
            totals[j][2] = totals[j][2] and int(row.argmax()) == target

        tokens = []  # (token, position, sequence, job, next token if it is scored)
        for j, (i, c, seq, first_row) in enumerate(jobs):
            prompt, candidates = requests[i]
            ids = [tok for seg, _ in candidates[c] for tok in seg]
            scored = [flag for seg, flag in candidates[c] for _ in seg]
            if ids and scored[0]:
                take(j, first_row, ids[0])
            for t in range(len(ids) - 1):
                tokens.append((ids[t], len(prompt) + t, seq, j, ids[t + 1] if scored[t + 1] else None))
        for start in range(0, len(tokens), self.n_batch):
            self._clear_batch()
            wanted = []
            for tok, pos, seq, j, target in tokens[start : start + self.n_batch]:
                bi = self._add(tok, pos, seq, target is not None)
                if target is not None:
                    wanted.append((bi, j, target))
            self._decode()
            for bi, j, target in wanted:
                take(j, self._log_softmax_at(bi), target)
        return [CandidateScore(lp, n, greedy and n > 0) for lp, n, greedy in totals]

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
