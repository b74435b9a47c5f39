"""The reading judge's likelihoods computed by vLLM (offline engine or an OpenAI-protocol server).

The same scores as :class:`judgelm.engines.likelihood.LikelihoodScorer` — log P(answer + end of turn
| chat(context)) summed over the answer's tokens, built from the very same token ids (its
``context_ids`` / ``answer_ids``: chat template, BOS, end-of-turn, truncation) — read from vLLM's
``prompt_logprobs`` (the probability of each prompt token given those before it, in one forward pass
that generates nothing useful). So one judge runs on a laptop with transformers and on a vLLM
cluster, with figures equal within 1e-3 nats per token (tests/vllm_real).

* :class:`VLLMLikelihoodScorer` — vLLM in this process (``vllm:`` engine; an HF folder, see
  ``python -m judgelm.models.export`` for GGUF files and named bases);
* :class:`ServerLikelihoodScorer` — a vLLM OpenAI-protocol server: ``/v1/completions`` with the token
  ids as the prompt and vLLM's ``prompt_logprobs`` extension (``echo`` with ``logprobs`` is the
  protocol's older way; vLLM answers both). The tokenizer is read from a local copy of the model.

Both keep the parent's caches (in memory, and the on-disk score file) and its ``signals`` API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from judgelm.engines.likelihood import AnswerLikelihood, LikelihoodScorer, Messages

log = logging.getLogger(__name__)


@dataclass
class _Backend:
    """What the parent class reads from ``self.lm``: the tokenizer and the dtype of the scores."""

    tokenizer: Any
    dtype: Any
    device: str = "vllm"


class _PromptLogprobScorer(LikelihoodScorer):
    """A :class:`LikelihoodScorer` whose forward passes are replaced by per-token prompt log-probabilities."""

    #: sequences per call to the backend
    chunk = 256

    def _setup(self, model: str, tokenizer: Any, dtype: Any, max_answer_tokens: int | None,
               cache_file: str | None, backend: str) -> None:
        from judgelm.engines.likelihood import _ScoreFile

        self.model_name = model
        self.lm = _Backend(tokenizer, dtype)
        self.tok = tokenizer
        self.max_answer_tokens = int(max_answer_tokens) if max_answer_tokens else None
        self.token_budget = 0
        self.chat = bool(getattr(self.tok, "chat_template", None))
        self.end_id = self._end_of_turn_id()
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        self.cache: dict[tuple[Messages, str], AnswerLikelihood] = {}
        self.seconds = 0.0
        self.tokens_scored = 0
        self.padded_tokens = 0
        self.backend = backend
        self.store = _ScoreFile(cache_file, self.fingerprint()) if cache_file else None

    def fingerprint(self) -> str:
        """The parent's, plus the backend: scores of another engine are not mixed into a score file."""
        return f"{super().fingerprint()}|{self.backend}"

    def prompt_logprobs(self, sequences: list[list[int]], starts: list[int]) -> list[list[float]]:
        raise NotImplementedError

    def _score_new(self, keys: list[tuple[Messages, str]], progress: bool) -> None:
        ctx_ids: dict[Messages, list[int]] = {}
        rows = []
        for messages, answer in keys:
            if messages not in ctx_ids:
                ctx_ids[messages] = self.context_ids(messages)
            ans, truncated = self.answer_ids(answer)
            rows.append((ctx_ids[messages], ans, truncated))
        for k in range(0, len(keys), self.chunk):
            part = [(i, r) for i, r in enumerate(rows[k:k + self.chunk], start=k) if r[1]]
            lps = self.prompt_logprobs([c + a for _, (c, a, _t) in part], [len(c) for _, (c, _a, _t) in part])
            got = {i: AnswerLikelihood(float(sum(lp)), len(lp), r[2]) for (i, r), lp in zip(part, lps)}
            for i in range(k, min(len(keys), k + self.chunk)):
                self.cache[keys[i]] = got.get(i, AnswerLikelihood(0.0, 0, rows[i][2]))
                self.tokens_scored += len(rows[i][0]) + len(rows[i][1])
            if self.store is not None:
                self.store.add([(keys[i], self.cache[keys[i]]) for i in range(k, min(len(keys), k + self.chunk))])


class VLLMLikelihoodScorer(_PromptLogprobScorer):
    """Likelihoods from vLLM in this process. ``model``: an HF folder or hub id vLLM loads; ``engine``:
    an already built :class:`judgelm.engines.vllm.VLLMEngine` (its model wins); other options go
    to the engine (``dtype`` default float32: log-likelihood differences need its precision,
    ``max_model_len``, ``kv_cache_space``, …)."""

    def __init__(self, model: str = "", *, dtype: str = "float32", max_answer_tokens: int | None = None,
                 cache_file: str | None = None, engine: Any = None, **vllm_options: Any) -> None:
        import torch

        if engine is None:
            from judgelm.models.sources import resolve_model_source
            from judgelm.engines.vllm import VLLMEngine

            if resolve_model_source(model).gguf_file:
                raise ValueError(f"{model}: vLLM reads HF folders, not GGUF files: write one first with "
                                 f"python -m judgelm.models.export {model} DIR, then use DIR")
            engine = VLLMEngine(model, dtype=dtype, **vllm_options)
        self.engine = engine
        names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
        vdtype = names.get(str(engine.settings.get("dtype")), engine.settings.get("dtype"))
        self._setup(engine.name.removeprefix("vllm:"), engine.tokenizer, vdtype, max_answer_tokens, cache_file, "vllm")

    def prompt_logprobs(self, sequences: list[list[int]], starts: list[int]) -> list[list[float]]:
        return self.engine.prompt_logprobs(sequences, starts)

    def close(self) -> None:
        super().close()
        self.engine.close()


class ServerLikelihoodScorer(_PromptLogprobScorer):
    """Likelihoods from a vLLM OpenAI-protocol server (``api_base`` …/v1) serving ``model``; the
    tokenizer comes from ``tokenizer`` (a local folder or model spec; default ``model`` itself, which
    is how vLLM names a model started with ``--model DIR``)."""

    def __init__(self, model: str, *, api_base: str, tokenizer: str | None = None, api_key: str = "EMPTY",
                 max_answer_tokens: int | None = None, cache_file: str | None = None, timeout_s: float = 300.0,
                 dtype: str = "server") -> None:
        from transformers import AutoTokenizer

        from judgelm.models.sources import resolve_model_source

        src = resolve_model_source(tokenizer or model)
        tok = AutoTokenizer.from_pretrained(src.path_or_id, **src.kwargs())
        self.api_base, self.api_key, self.timeout_s = api_base.rstrip("/"), api_key, timeout_s
        self._setup(model, tok, dtype, max_answer_tokens, cache_file, f"server:{self.api_base}")

    def prompt_logprobs(self, sequences: list[list[int]], starts: list[int]) -> list[list[float]]:
        import httpx

        body = {"model": self.model_name, "prompt": sequences, "max_tokens": 1, "temperature": 0.0,
                "prompt_logprobs": 0}
        resp = httpx.post(f"{self.api_base}/completions", json=body, timeout=self.timeout_s,
                          headers={"Authorization": f"Bearer {self.api_key}"})
        if resp.status_code != 200:
            raise RuntimeError(f"{self.api_base}: HTTP {resp.status_code}: {resp.text[:300]}")
        choices = sorted(resp.json()["choices"], key=lambda c: c["index"])
        out = []
        for seq, start, choice in zip(sequences, starts, choices):
            plp = choice.get("prompt_logprobs")
            if not plp:
                raise RuntimeError(f"{self.api_base}: no prompt_logprobs in the answer (a vLLM server is needed)")
            out.append([float(plp[i][str(seq[i])]["logprob"]) for i in range(max(1, start), len(seq))])
        return out



def make_scorer(likelihood: str, model: str, *, api_base: str | None = None, **options: Any) -> LikelihoodScorer:
    """``likelihood`` "vllm" → :class:`VLLMLikelihoodScorer`, "server" → :class:`ServerLikelihoodScorer`
    (needs ``api_base``)."""
    if likelihood == "vllm":
        return VLLMLikelihoodScorer(model, **options)
    if likelihood == "server":
        if not api_base:
            raise ValueError("likelihood=server needs api_base (the vLLM server's …/v1 address)")
        options.pop("dtype", None)
        return ServerLikelihoodScorer(model, api_base=api_base, **options)
    raise ValueError(f"likelihood must be hf, vllm or server, not {likelihood!r}")
