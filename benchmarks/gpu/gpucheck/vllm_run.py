"""The vLLM part of the check, run in a process of its own: ``python -m gpucheck.vllm_run SPEC.json``.

Why a process of its own: vLLM may live in a virtual environment of its own (it pins its own torch),
and its GPU memory is only surely given back when its process ends. It does two things, each under
its own deadline, writing its result JSON after each: (1) fast-mode throughput of the speed model
with prefix caching (always on in the engine), (2) the agreement pairs on the judge base, whose
judgements the parent compares with the CPU reference.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def speed(spec: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Fast mode on the speed prompts, in chunks, until done or the deadline."""
    from transformers import AutoConfig

    from gpucheck.models import prefill_flops
    from gpucheck.speed import requests_for
    from judgelm.engines.vllm import VLLMEngine

    prompts = json.loads(Path(spec["speed_prompts"]).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    engine = VLLMEngine(spec["speed_dir"], dtype="bfloat16", fast_max_new_tokens=spec["score_tokens"],
                        gpu_memory_utilization=spec["speed_memory"], max_model_len=spec["max_model_len"],
                        **spec.get("llm_options", {}))
    figures: dict[str, Any] = {"load_s": time.perf_counter() - t0}
    engine.judge_batch(requests_for(prompts[:2], True, spec["score_tokens"]))  # warm-up
    done, seconds, prompt_tokens, completion, lengths = 0, 0.0, 0, 0, []
    chunk = spec["chunk"]
    for start in range(0, len(prompts), chunk):
        if time.monotonic() > deadline and done:
            break
        t1 = time.perf_counter()
        outs = engine.judge_batch(requests_for(prompts[start:start + chunk], True, spec["score_tokens"]))
        seconds += time.perf_counter() - t1
        done += len(outs)
        lengths += [o.prompt_tokens for o in outs]
        prompt_tokens += sum(o.prompt_tokens for o in outs)
        completion += sum(o.completion_tokens for o in outs)
        errors = [o.error for o in outs if o.error]
        if errors:
            figures["errors"] = errors[:3]
        logger.info("vllm fast: %d/%d prompts, %.1f samples/s", done, len(prompts), done / seconds)
    flops = prefill_flops(AutoConfig.from_pretrained(spec["speed_dir"]), lengths)
    figures.update(samples=done, of=len(prompts), seconds=seconds, samples_per_s=done / seconds if seconds else 0.0,
                   mean_prompt_tokens=prompt_tokens / max(1, done), mean_completion_tokens=completion / max(1, done),
                   dense_prefill_flops=flops, dense_flops_per_s=flops / seconds if seconds else 0.0,
                   seconds_for_5000=5000 * seconds / done if done else None)
    engine.close()
    del engine
    return figures


def agreement(spec: dict[str, Any], deadline: float) -> dict[str, Any]:
    """The agreement pairs on the judge base (fast + explained, both orders)."""
    from gpucheck.agree import judge_pairs
    from judgelm.engines.vllm import VLLMEngine
    from judgelm.schema import Sample

    samples = [Sample.model_validate_json(line) for line in Path(spec["agree_samples"]).read_text(encoding="utf-8").splitlines()]
    explained = samples[: spec["explained_pairs"]]
    t0 = time.perf_counter()
    engine = VLLMEngine(spec["judge_dir"], dtype="bfloat16", gpu_memory_utilization=spec["agree_memory"],
                        max_model_len=spec["max_model_len"], **spec.get("llm_options", {}))
    load = time.perf_counter() - t0
    results = judge_pairs(engine, samples, explained, spec["explained_tokens"], left=lambda: deadline - time.monotonic())
    engine.close()
    return {"load_s": load, "seconds": time.perf_counter() - t0 - load, "results": results}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Both parts; the result file is rewritten after each, so a kill still leaves the first."""
    import vllm

    out = Path(spec["out"])
    result: dict[str, Any] = {"vllm_version": getattr(vllm, "__version__", "?"), "python": sys.executable}
    _write(out, result)
    for part, fn in (("speed", speed), ("agreement", agreement)):
        if part in spec.get("skip", []):
            continue
        try:
            result[part] = fn(spec, time.monotonic() + spec[f"{part}_budget_s"])
        except Exception as exc:  # noqa: BLE001 — the other part still runs, the error is recorded
            logger.exception("vllm %s failed", part)
            result[part] = {"error": f"{type(exc).__name__}: {exc}"}
        _write(out, result)
        gc.collect()  # the first LLM's engine process ends with its last reference
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s vllm_run %(levelname)s %(message)s")
    run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
