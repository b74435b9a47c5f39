"""Throughput of the hf engine (fast mode) against the batch-1 reference loop, and the bf16 peak.

The methods are those of ``judgelm bench`` (docs/benchmarks.md): random weights never write a newline,
so every score line is forced to ``score_tokens`` decode steps, alike for the engine and the reference;
prefill FLOPs are counted, not sampled. The peak here synchronises the device (a GPU matmul is
asynchronous) and uses GPU-sized matrices.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gpucheck.record import Stage

logger = logging.getLogger(__name__)


def bf16_peak(device: str, sizes: tuple[int, ...], seconds: float) -> dict[str, float]:
    """Best FLOP/s of square bf16 matmuls on ``device``, timed with the device synchronised."""
    import torch

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    best = {"flops": 0.0, "n": 0}
    for n in sizes:
        a = torch.randn(n, n, dtype=torch.bfloat16, device=device)
        b = torch.randn(n, n, dtype=torch.bfloat16, device=device)
        for _ in range(3):  # warm-up: kernel choice, clocks
            torch.matmul(a, b)
        sync()
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / len(sizes):
            for _ in range(10):
                torch.matmul(a, b)
            reps += 10
            sync()
        rate = 2 * n**3 * reps / (time.perf_counter() - t0)
        if rate > best["flops"]:
            best = {"flops": rate, "n": n}
        del a, b
    return best


def requests_for(prompts: list[str], fast: bool, new_tokens: int) -> list[Any]:
    """Judge requests for bare prompts (throughput runs need no sample behind them)."""
    from judgelm.engines.base import JudgeRequest
    from judgelm.schema import Answer, Sample

    dummy = Sample(id="speed", question="-", answers=[Answer(text="-"), Answer(text="-")])
    return [JudgeRequest(key=str(i), sample=dummy, prompt=p, fast=fast, max_new_tokens=new_tokens)
            for i, p in enumerate(prompts)]


def hf_throughput(st: Stage, model_dir: str, prompts: list[str], plan: Any, peak_flops: float) -> None:
    """(b) the engine in fast mode on as many prompts as the stage's time allows, in chunks, then
    (a) the batch-1 reference on ``plan.ref_samples``; figures go to ``st.figures``."""
    import torch

    from judgelm.engines.bench import Shape, _reference
    from judgelm.engines.hf import EngineStats, HFEngine

    f = st.figures
    engine = HFEngine(model_dir, device=plan.device, dtype="bfloat16", token_budget=plan.hf_token_budget,
                      max_batch_size=plan.hf_max_batch_size, min_new_tokens=plan.score_tokens,
                      fast_max_new_tokens=plan.score_tokens)
    shape = Shape.of(engine.model)
    f.update(model_parameters=engine.model.num_parameters(), dtype="bfloat16", device=engine.device,
             token_budget=engine.token_budget, max_batch_size=engine.max_batch_size)
    engine.judge_batch(requests_for(prompts[:2], True, plan.score_tokens))  # warm-up
    ref_prompts = prompts[: plan.ref_samples]
    newline_ids = {i for i, t in enumerate(engine.texts) if "\n" in t}
    _reference(engine.model, engine.tokenizer, ref_prompts[:1], plan.score_tokens, newline_ids)  # warm-up
    ref_reserve = 0.0
    t_ref1 = _reference(engine.model, engine.tokenizer, ref_prompts[:2], plan.score_tokens, newline_ids)
    ref_reserve = t_ref1 / 2 * len(ref_prompts) * 1.2 + 5  # keep time for (a) after (b)

    engine.stats = EngineStats()
    done, seconds, completion = 0, 0.0, 0
    for start in range(0, len(prompts), plan.hf_chunk):
        if st.left() - ref_reserve < 0 and done:
            break
        chunk = requests_for(prompts[start:start + plan.hf_chunk], True, plan.score_tokens)
        t0 = time.perf_counter()
        outs = engine.judge_batch(chunk)
        seconds += time.perf_counter() - t0
        done += len(chunk)
        completion += sum(o.completion_tokens for o in outs)
        logger.info("hf fast: %d/%d prompts, %.1f samples/s", done, len(prompts), done / seconds)
    stats = engine.stats
    flops = shape.prefill_flops(stats.prefill_batches)
    f["b_fast"] = {"samples": done, "of": len(prompts), "seconds": seconds, "samples_per_s": done / seconds,
                   "mean_completion_tokens": completion / max(1, done),
                   "prefill_s": stats.prefill_s, "decode_s": stats.decode_s, "prefill_tokens": stats.prefill_tokens,
                   "padded_prefill_tokens": stats.padded_prefill_tokens, "batches": len(stats.prefill_batches),
                   "prefill_flops": flops, "prefill_flops_per_s": flops / stats.prefill_s if stats.prefill_s else 0.0,
                   "wall_flops_per_s": flops / seconds}
    if peak_flops:
        f["b_fast"]["prefill_share_of_peak"] = f["b_fast"]["prefill_flops_per_s"] / peak_flops
        f["b_fast"]["wall_share_of_peak"] = flops / seconds / peak_flops

    t_ref = t_ref1 + _reference(engine.model, engine.tokenizer, ref_prompts[2:], plan.score_tokens, newline_ids)
    f["a_reference"] = {"samples": len(ref_prompts), "seconds": t_ref, "samples_per_s": len(ref_prompts) / t_ref}
    f["speedup_b_over_a"] = f["b_fast"]["samples_per_s"] / f["a_reference"]["samples_per_s"]
    if engine.device.startswith("cuda"):
        f["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
    engine.close()
    del engine
    free_device_memory(plan.device)


def free_device_memory(device: str) -> None:
    """Give a finished stage's GPU memory back before the next stage loads its model."""
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
