"""Raw text generation from the served causal LM, for the OpenAI-protocol endpoints.

Judging goes through ``engine.judge_batch``; the OpenAI endpoints instead continue an
arbitrary prompt, with token log-probabilities when asked (the ``openai`` engine reads
them for its confidence). The model and tokenizer are the engine's own when it exposes
them (``engine.model`` / ``engine.tokenizer``), so the weights are loaded once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class TokenLogprob:
    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)
    raw: bytes = b""  # the token's exact bytes (may be part of a UTF-8 character)
    top_raw: list[bytes] = field(default_factory=list)


@dataclass
class Generation:
    text: str
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int
    completion_tokens: int
    logprobs: list[TokenLogprob] | None = None


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes, reversed (char → byte)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


_BYTE_DECODER = _byte_decoder()


def find_model(engine: Any) -> tuple[Any, Any] | None:
    """(model, tokenizer) of an engine that holds a transformers causal LM, else None."""
    for model_attr, tok_attr in (("model", "tokenizer"), ("_model", "_tokenizer")):
        model, tok = getattr(engine, model_attr, None), getattr(engine, tok_attr, None)
        if model is not None and tok is not None and hasattr(model, "generate"):
            return model, tok
    return None


class HFGenerator:
    """Greedy or sampled continuation with per-token log-probabilities."""

    def __init__(self, model: Any, tokenizer: Any, lock: threading.Lock | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.lock = lock or threading.Lock()

    def context_overflow(self, prompt: str, max_tokens: int) -> str | None:
        """Why ``prompt`` + ``max_tokens`` does not fit the model's context (None when it does)."""
        from judgelm.engines.base import context_error, context_length

        n = len(self.tokenizer(prompt)["input_ids"])
        return context_error("the model", n, max_tokens, context_length(self.model.config))

    def _token_bytes(self, token_id: int) -> bytes:
        """The exact bytes a token stands for (byte-level BPE and SentencePiece byte tokens included)."""
        piece = self.tokenizer.convert_ids_to_tokens(token_id)
        if isinstance(piece, str):
            if piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6:  # SentencePiece byte fallback
                return bytes([int(piece[3:5], 16)])
            if all(c in _BYTE_DECODER for c in piece):  # GPT-2 style byte-level alphabet
                return bytes(_BYTE_DECODER[c] for c in piece)
            if token_id not in self.tokenizer.all_special_ids:  # SentencePiece: "▁" marks a space
                return piece.replace("\u2581", " ").encode()
        return self.tokenizer.decode([token_id], skip_special_tokens=False,
                                     clean_up_tokenization_spaces=False).encode()

    def _token(self, token_id: int) -> TokenLogprob:
        raw = self._token_bytes(token_id)
        return TokenLogprob(raw.decode("utf-8", errors="replace"), 0.0, raw=raw)

    def generate(self, prompt: str, **params: Any) -> list[Generation]:
        """``n`` continuations of one prompt (see :meth:`generate_batch` for the parameters)."""
        return self.generate_batch([prompt], **params)[0]

    def run_tasks(self, tasks: list["GenTask"]) -> list[list[Generation]]:
        """Batcher entry point: tasks with equal parameters share one ``generate`` call."""
        groups: dict[tuple, list[int]] = {}
        for i, t in enumerate(tasks):
            groups.setdefault(t.params, []).append(i)
        results: list[list[Generation]] = [[] for _ in tasks]
        for params, idxs in groups.items():
            outs = self.generate_batch([tasks[i].prompt for i in idxs], **dict(params))
            for i, out in zip(idxs, outs):
                results[i] = out
        return results

    def generate_batch(
        self,
        prompts: list[str],
        *,
        max_tokens: int = 16,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: tuple[str, ...] | list[str] | None = None,
        top_logprobs: int | None = None,
        n: int = 1,
        seed: int | None = None,
    ) -> list[list[Generation]]:
        """``n`` continuations of each prompt, in one left-padded batch; ``top_logprobs`` None = no logprobs."""
        import torch

        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        encoded = [self.tokenizer(p)["input_ids"] for p in prompts]
        width = max(len(e) for e in encoded)
        input_ids = torch.tensor([[pad] * (width - len(e)) + e for e in encoded], device=device)
        attention = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded], device=device)
        sample = temperature > 0
        gen_kwargs: dict[str, Any] = dict(
            max_new_tokens=max_tokens,
            do_sample=sample,
            num_return_sequences=n,
            return_dict_in_generate=True,
            output_logits=top_logprobs is not None,
            pad_token_id=pad,
        )
        stop = [x for x in (stop or ()) if x]
        if stop:  # stop early instead of generating to max_tokens and cutting afterwards
            gen_kwargs.update(stop_strings=stop, tokenizer=self.tokenizer)
        if sample:
            gen_kwargs.update(temperature=temperature, top_p=top_p)
        else:  # greedy: silence generation_config sampling defaults of chat models
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        with self.lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(input_ids=input_ids, attention_mask=attention, **gen_kwargs)
        log_probs = [torch.log_softmax(step.float(), dim=-1) for step in out.logits] if top_logprobs is not None else []
        results: list[list[Generation]] = [[] for _ in prompts]
        for row in range(out.sequences.shape[0]):
            p = row // n
            gen = self._one(out.sequences[row, width:].tolist(), [lp[row] for lp in log_probs], top_logprobs, stop)
            gen.prompt_tokens = len(encoded[p])
            results[p].append(gen)
        return results

    def _one(self, new_ids: list[int], log_probs: list[Any], top_logprobs: int | None, stop: list[str]) -> Generation:
        eos = self.tokenizer.eos_token_id
        finish = "length"
        if eos is not None and eos in new_ids:
            new_ids = new_ids[: new_ids.index(eos)]
            finish = "stop"
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        logprobs = None
        if top_logprobs is not None:
            logprobs = []
            for tid, lp in zip(new_ids, log_probs):
                entry = self._token(tid)
                entry.logprob = float(lp[tid])
                if top_logprobs:
                    vals, ids = lp.topk(top_logprobs)
                    entry.top = [(self._token(i).token, float(v)) for v, i in zip(vals.tolist(), ids.tolist())]
                    entry.top_raw = [self._token_bytes(i) for i in ids.tolist()]
                logprobs.append(entry)
        if stop:
            cut = min((text.find(x) for x in stop if x in text), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                if logprobs is not None:  # keep the tokens that make up the kept text
                    kept, acc = [], ""
                    for e in logprobs:
                        if len(acc) >= cut:
                            break
                        kept.append(e)
                        acc += e.token
                    logprobs = kept
        return Generation(text, finish, 0, len(new_ids), logprobs)


@dataclass(frozen=True)
class GenTask:
    """One prompt to continue; ``params`` (sorted key/value pairs) decide which tasks can share a batch."""

    prompt: str
    params: tuple[tuple[str, Any], ...]

    @staticmethod
    def make(prompt: str, **params: Any) -> "GenTask":
        frozen = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        return GenTask(prompt, tuple(sorted(frozen.items())))
