"""Text-generation backends for ``judgelm generate``: a model answers prompts (not a judge).

Judging engines (:mod:`judgelm.engines`) render a byte-exact judge prompt and read scores; answer
generation instead needs the candidate model's *own* chat template, conversation history and
sampling settings, so it has its own small interface. It lives in :mod:`judgelm.build` (a feature
above the engines: it reuses the openai engine's budget and pricing, and the one loader
:func:`judgelm.models.loading.load_causal_lm`); engines never import it.

* ``hf:PATH_OR_ID`` — transformers, batched with left padding; the tokenizer's chat template when it
  has one (or ``chat_template=FILE``), else the raw prompt (``chat_template="none"`` forces that);
* ``openai:MODEL`` — any OpenAI-compatible server (OpenAI, vLLM, TGI, ``judgelm serve``); the
  ``openai`` client's own retries (exponential backoff, ``Retry-After``) handle 429/5xx/timeouts,
  and a hard ``budget_usd`` cap reserves each call's worst-case cost before it is made;
* ``vllm:ID`` — vLLM's offline ``LLM.chat`` (imported only when chosen).
"""

from __future__ import annotations

import logging
import os
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgelm.engines.openai import BUDGET_EXHAUSTED, Budget, api_key, resolve_price

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sampling:
    """Decoding settings of a run; recorded on every answer."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 512
    seed: int = 0

    @property
    def decoding_method(self) -> str:
        return "greedy" if self.temperature <= 0 else "sampling"

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_new_tokens": self.max_new_tokens,
                "seed": self.seed}


@dataclass
class GenRequest:
    """One conversation to continue: ``messages`` = [{role, content}, ...] ending with a user turn."""

    key: str
    messages: list[dict[str, str]]
    sampling: Sampling


@dataclass
class GenOutput:
    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None  # nothing usable produced: the request stays pending (retried next run)
    extra: dict[str, Any] = field(default_factory=dict)


class Generator(ABC):
    """A model that answers conversations."""

    name: str = "generator"
    preferred_batch_size: int = 8
    #: how prompts are presented: "chat_template" or "raw" (recorded per answer)
    prompt_format: str = "chat"

    @abstractmethod
    def generate_batch(self, requests: list[GenRequest]) -> list[GenOutput]:
        """One output per request, same order; a failed call is an output with ``error`` set."""

    def close(self) -> None:
        """Release models and sessions."""

    @property
    def spent_usd(self) -> float:
        return 0.0


def raw_prompt(messages: list[dict[str, str]]) -> str:
    """The conversation as plain text, for models without a chat template (turns separated by a blank line)."""
    return "\n\n".join(m["content"] for m in messages)


def _read_template(chat_template: str | None) -> str | None:
    if chat_template and chat_template not in ("auto", "none") and Path(chat_template).is_file():
        return Path(chat_template).read_text(encoding="utf-8")
    if chat_template and chat_template not in ("auto", "none"):
        return chat_template  # an inline Jinja template
    return None


# --------------------------------------------------------------------------- transformers


class HFTextGenerator(Generator):
    """Batched ``model.generate`` with left padding; one process, one model."""

    def __init__(self, target: str, *, dtype: Any = "auto", device: str = "auto", batch_size: int = 8,
                 chat_template: str | None = "auto", trust_remote_code: bool = False, **_ignored: Any) -> None:
        import torch

        from judgelm.models.loading import load_causal_lm

        if not target:
            raise ValueError("hf generator needs a model: 'hf:<hub id or local path>'")
        self.name = f"hf:{target}"
        loaded = load_causal_lm(target, dtype=dtype, device=device, trust_remote_code=trust_remote_code,
                                padding_side="left")
        self.device, self.dtype, self.model, self.eos_ids = loaded.device, loaded.dtype, loaded.model, loaded.eos_ids
        self.preferred_batch_size = max(1, int(batch_size))
        tok = loaded.tokenizer
        custom = _read_template(chat_template)
        if custom is not None:
            tok.chat_template = custom
        self.use_template = chat_template != "none" and bool(getattr(tok, "chat_template", None))
        self.prompt_format = "chat_template" if self.use_template else "raw"
        self.tokenizer = tok
        self._torch = torch
        logger.info("hf generator %s on %s (%s), prompts: %s", target, self.device, self.dtype, self.prompt_format)

    def render(self, messages: list[dict[str, str]]) -> str:
        if self.use_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return raw_prompt(messages)

    def generate_batch(self, requests: list[GenRequest]) -> list[GenOutput]:
        groups: dict[Sampling, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.sampling, []).append(i)
        outputs: list[GenOutput | None] = [None] * len(requests)
        for sampling, idxs in groups.items():
            for i, out in zip(idxs, self._generate([requests[i] for i in idxs], sampling)):
                outputs[i] = out
        return [o for o in outputs if o is not None]

    def _generate(self, requests: list[GenRequest], s: Sampling) -> list[GenOutput]:
        torch = self._torch
        prompts = [self.render(r.messages) for r in requests]
        # a chat template writes its own BOS; raw prompts get the tokenizer's usual specials
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=not self.use_template)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        kwargs: dict[str, Any] = dict(max_new_tokens=s.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                                      eos_token_id=sorted(self.eos_ids) or None)
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=0)
        else:  # greedy: silence sampling defaults a chat model's generation_config may carry
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.inference_mode():
            # seeded per batch from the run seed and the batch's first key: a resumed run re-draws
            # the same randomness for the same batch
            torch.manual_seed(_batch_seed(s.seed, requests[0].key))
            out = self.model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        results = []
        for row, _ in enumerate(requests):
            new_ids = out[row, width:].tolist()
            finish = "length"
            for j, tid in enumerate(new_ids):
                if tid in self.eos_ids:
                    new_ids, finish = new_ids[:j], "stop"
                    break
            while new_ids and new_ids[-1] == self.tokenizer.pad_token_id:
                new_ids.pop()
            text = self.tokenizer.decode(new_ids, skip_special_tokens=True).strip()
            results.append(GenOutput(text=text, finish_reason=finish,
                                     prompt_tokens=int(enc["attention_mask"][row].sum()),
                                     completion_tokens=len(new_ids)))
        return results

    def close(self) -> None:
        self.model = None


def _batch_seed(seed: int, key: str) -> int:
    import hashlib

    return (seed * 1_000_003 + int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)) % (2**31)


# --------------------------------------------------------------------------- OpenAI protocol


class OpenAIGenerator(Generator):
    """Chat (or raw completions) calls to an OpenAI-compatible server, ``concurrency`` in flight."""

    def __init__(self, target: str, *, api_base: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 api: str = "chat", concurrency: int = 8, timeout_s: float = 120.0, max_retries: int = 6,
                 budget_usd: float | None = None, price_in: float | None = None, price_out: float | None = None,
                 **_ignored: Any) -> None:
        import openai

        if not target:
            raise ValueError("openai generator needs a model name, e.g. 'openai:gpt-4o'")
        if api not in ("chat", "completions"):
            raise ValueError(f"api must be 'chat' or 'completions', not {api!r}")
        self.model = target
        self.name = f"openai:{target}"
        self.api = api
        self.prompt_format = "server_chat_template" if api == "chat" else "raw"
        base = api_base or os.environ.get("OPENAI_BASE_URL")
        key = self._key = api_key(api_key_env, base)
        # the client's own retry loop: exponential backoff with jitter, honours Retry-After
        self.client = openai.OpenAI(api_key=key, base_url=base, timeout=timeout_s, max_retries=max_retries)
        self.concurrency = max(1, int(concurrency))
        self.preferred_batch_size = self.concurrency * 4
        self.price = resolve_price(target, price_in, price_out, budget_usd)
        self.budget = Budget(budget_usd)

    @property
    def spent_usd(self) -> float:
        return self.budget.spent

    def generate_batch(self, requests: list[GenRequest]) -> list[GenOutput]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._one, requests))

    def _one(self, req: GenRequest) -> GenOutput:
        import openai

        prompt_bytes = sum(len(m["content"].encode("utf-8")) + 8 for m in req.messages)
        worst = (prompt_bytes * self.price[0] + req.sampling.max_new_tokens * self.price[1]) / 1e6
        if not self.budget.reserve(worst):
            return GenOutput(text="", error=BUDGET_EXHAUSTED)
        actual = 0.0
        s = req.sampling
        try:
            t0 = time.perf_counter()
            common: dict[str, Any] = dict(model=self.model, max_tokens=s.max_new_tokens, temperature=s.temperature,
                                          top_p=s.top_p, seed=s.seed)
            if self.api == "chat":
                resp = self.client.chat.completions.create(messages=req.messages, **common)
                choice = resp.choices[0]
                text = choice.message.content or ""
            else:
                resp = self.client.completions.create(prompt=raw_prompt(req.messages), **common)
                choice = resp.choices[0]
                text = choice.text or ""
            usage = getattr(resp, "usage", None)
            p_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            p_out = int(getattr(usage, "completion_tokens", 0) or 0)
            actual = (p_in * self.price[0] + p_out * self.price[1]) / 1e6
            return GenOutput(text=text.strip(), finish_reason=getattr(choice, "finish_reason", None),
                             prompt_tokens=p_in, completion_tokens=p_out, cost_usd=actual,
                             extra={"latency_s": round(time.perf_counter() - t0, 3)})
        except (openai.OpenAIError, ValueError, AttributeError, IndexError) as exc:
            msg = f"{type(exc).__name__}: {exc}".replace(self._key, "***") if self._key != "EMPTY" \
                else f"{type(exc).__name__}: {exc}"
            logger.warning("%s: %s", req.key, msg[:300])
            return GenOutput(text="", error=msg[:500])
        finally:
            self.budget.settle(worst, actual)

    def close(self) -> None:
        self.client.close()


# --------------------------------------------------------------------------- vLLM


class VLLMGenerator(Generator):
    """vLLM offline inference; chat template from the model (``LLM.chat``), else raw prompts."""

    def __init__(self, target: str, *, dtype: str = "auto", chat_template: str | None = "auto",
                 batch_size: int = 256, **options: Any) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - vllm is an optional GPU extra
            raise ValueError("vllm is not installed: pip install vllm (GPU), or use hf:/openai:") from exc
        self.name = f"vllm:{target}"
        self.preferred_batch_size = batch_size
        self.llm = LLM(model=target, dtype=dtype, **{k: v for k, v in options.items() if k in
                                                      ("tensor_parallel_size", "max_model_len", "gpu_memory_utilization")})
        self.chat_template = _read_template(chat_template)
        tok = self.llm.get_tokenizer()
        self.use_template = chat_template != "none" and bool(self.chat_template or getattr(tok, "chat_template", None))
        self.prompt_format = "chat_template" if self.use_template else "raw"

    def generate_batch(self, requests: list[GenRequest]) -> list[GenOutput]:  # pragma: no cover - needs a GPU
        from vllm import SamplingParams

        params = [SamplingParams(temperature=r.sampling.temperature, top_p=r.sampling.top_p,
                                 max_tokens=r.sampling.max_new_tokens, seed=r.sampling.seed) for r in requests]
        if self.use_template:
            outs = self.llm.chat([r.messages for r in requests], params, chat_template=self.chat_template,
                                 use_tqdm=False)
        else:
            outs = self.llm.generate([raw_prompt(r.messages) for r in requests], params, use_tqdm=False)
        return [GenOutput(text=o.outputs[0].text.strip(), finish_reason=o.outputs[0].finish_reason,
                          prompt_tokens=len(o.prompt_token_ids or []),
                          completion_tokens=len(o.outputs[0].token_ids)) for o in outs]


GENERATORS = {"hf": HFTextGenerator, "openai": OpenAIGenerator, "vllm": VLLMGenerator}


def load_generator(spec: str, **options: Any) -> Generator:
    """``hf:PATH`` | ``openai:MODEL`` | ``vllm:ID`` → a :class:`Generator` (options go to its constructor)."""
    kind, _, target = spec.partition(":")
    if kind not in GENERATORS:
        raise ValueError(f"unknown model spec {spec!r}: expected hf:PATH, openai:MODEL or vllm:ID")
    opts = {k: v for k, v in options.items() if v is not None}
    return GENERATORS[kind](target, **opts)
