"""Judging with vLLM: offline batched generation with prefix caching and tensor parallelism.

vLLM is an optional extra (``pip install 'judgelm[vllm]'``, CUDA GPU needed) and is imported only
when this engine is chosen. Requests become ``SamplingParams`` by a pure function
(:func:`sampling_params_kwargs`) so the translation is testable without vLLM. Confidence comes
from the top-``logprobs`` alternatives vLLM returns at each step, read exactly as the hf engine
reads full distributions (``judgelm.engines.confidence``); mass outside the top-k is unseen.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest, context_error
from judgelm.engines.confidence import (
    JUDGELM_VALUES,
    PANDALM_VALUES,
    ValueTokens,
    judgelm_reading,
    pandalm_reading,
    read_slots,
)
from judgelm.engines.hf import fast_new_tokens
from judgelm.engines.hf_model import prompt_token_ids

logger = logging.getLogger(__name__)

INSTALL_HINT = "the vllm engine needs vLLM: pip install 'judgelm[vllm]' (needs a CUDA GPU); or use 'hf:<model>'"


class VLLMNotInstalled(ImportError):
    """vLLM is missing: say how to get it, and what to use instead."""


def sampling_params_kwargs(req: JudgeRequest, *, logprobs: int = 20, fast_max_new_tokens: int | None = None,
                           repetition_penalty: float = 1.0) -> dict[str, Any]:
    """``SamplingParams`` arguments for one request: greedy; fast mode stops at (and keeps) the newline."""
    kwargs: dict[str, Any] = {
        "temperature": 0.0,
        "logprobs": logprobs,
        "repetition_penalty": repetition_penalty,
        "skip_special_tokens": True,
    }
    if req.fast:
        kwargs.update(max_tokens=fast_max_new_tokens or fast_new_tokens(req.n_answers), stop=["\n"],
                      include_stop_str_in_output=True)
    else:
        kwargs["max_tokens"] = req.max_new_tokens
    return kwargs


def masses_from_logprobs(steps: Sequence[Mapping[int, float]], vt: ValueTokens) -> list[list[float]]:
    """Group masses per step from vLLM's top-k log-probabilities (token id → logprob)."""
    where: dict[int, list[int]] = {}
    for g, key in enumerate(vt.groups):
        for tok in vt.members[key]:
            where.setdefault(tok, []).append(g)
    out = []
    for step in steps:
        masses = [0.0] * len(vt.groups)
        for tok, lp in step.items():
            for g in where.get(tok, ()):
                masses[g] += math.exp(lp)
        out.append(masses)
    return out


class VLLMEngine(Engine):
    """vLLM judge. Options: ``tensor_parallel_size``, ``dtype`` ("auto"), ``logprobs`` (top-k per step,
    default 20), ``fast_max_new_tokens``, ``repetition_penalty``, ``gpu_memory_utilization``,
    ``max_model_len``; other options go to ``vllm.LLM`` unchanged."""

    preferred_batch_size = 1024

    def __init__(self, target: str, *, tensor_parallel_size: int = 1, dtype: str = "auto", logprobs: int = 20,
                 fast_max_new_tokens: int | None = None, repetition_penalty: float = 1.0,
                 **llm_options: Any) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise VLLMNotInstalled(INSTALL_HINT) from exc
        if not target:
            raise ValueError("vllm engine needs a model: 'vllm:<hub id or local path>'")
        self.name = f"vllm:{target}"
        self._vllm = vllm
        self.logprobs = logprobs
        self.fast_max_new_tokens = fast_max_new_tokens
        self.repetition_penalty = repetition_penalty
        self.llm = vllm.LLM(model=target, tensor_parallel_size=tensor_parallel_size, dtype=dtype,
                            enable_prefix_caching=True, **llm_options)
        tok = self.llm.get_tokenizer()
        anchor = tok.encode("a", add_special_tokens=False)[-1:]
        base = tok.decode(anchor)
        texts = [d[len(base):] if d.startswith(base) else d
                 for d in tok.batch_decode([anchor + [i] for i in range(len(tok))])]
        special = set(tok.all_special_ids)
        texts = ["" if i in special else t for i, t in enumerate(texts)]
        self.value_tokens = {"judgelm": ValueTokens.build(texts, JUDGELM_VALUES),
                             "pandalm": ValueTokens.build(texts, PANDALM_VALUES)}
        self.tokenizer = tok
        self.max_context = getattr(getattr(self.llm.llm_engine, "model_config", None), "max_model_len", None)

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        kwargs = [sampling_params_kwargs(r, logprobs=self.logprobs, fast_max_new_tokens=self.fast_max_new_tokens,
                                         repetition_penalty=self.repetition_penalty) for r in requests]
        # the same token ids as the hf engine (BOS first), tokenized once; vLLM rejects the whole call
        # when one prompt is too long: fail only that request
        ids = [prompt_token_ids(self.tokenizer, r.prompt) for r in requests]
        errors = [context_error(self.name, len(t), kw["max_tokens"], self.max_context) for t, kw in zip(ids, kwargs)]
        todo = [i for i, e in enumerate(errors) if e is None]
        t0 = time.perf_counter()
        results = dict(zip(todo, self.llm.generate([{"prompt_token_ids": ids[i]} for i in todo],
                                                   [self._vllm.SamplingParams(**kwargs[i]) for i in todo],
                                                   use_tqdm=False))) if todo else {}
        latency = (time.perf_counter() - t0) / max(1, len(todo))
        outputs = []
        for i, req in enumerate(requests):
            if errors[i] is not None:
                outputs.append(EngineOutput(text="", error=errors[i]))
                continue
            res = results[i]
            comp = res.outputs[0]
            if req.criterion is not None:  # rubric grading (prometheus-*): the parser reads "[RESULT] k"
                outputs.append(EngineOutput(text=comp.text, prompt_tokens=len(res.prompt_token_ids or []),
                                            completion_tokens=len(comp.token_ids), latency_s=latency))
                continue
            vt = self.value_tokens[req.template]
            steps = [{tok: lp.logprob for tok, lp in step.items()} for step in (comp.logprobs or [])]
            n_slots = 1 if req.template == "pandalm" or req.mode in ("single", "vqa") else req.n_answers
            slots = read_slots(list(comp.token_ids), masses_from_logprobs(steps, vt), vt, n_slots)
            if req.template == "pandalm":
                reading = pandalm_reading(comp.text, slots)
            else:
                reading = judgelm_reading(comp.text, slots, req.n_answers, pinned=req.mode in ("single", "vqa"))
            outputs.append(EngineOutput(text=comp.text, confidence=reading.confidence,
                                        prompt_tokens=len(res.prompt_token_ids or []),
                                        completion_tokens=len(comp.token_ids), latency_s=latency,
                                        extra={"slot_distributions": slots, "verdict_probs": reading.verdict_probs}))
        return outputs

    def close(self) -> None:
        self.llm = None
