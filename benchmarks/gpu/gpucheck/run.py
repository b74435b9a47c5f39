"""The check's stages in order, each under its budget, all into one figures JSON.

Order: the headline figures first (peak, models, vLLM, hf throughput), then agreement, LoRA, Ray, so
that a run cut short by its total budget loses the least. Stages hand each other files in a work
folder (the converted base, the speed model, the CPU reference), never more than that.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpucheck import agree, environment, models, speed
from gpucheck.plan import Plan
from gpucheck.record import GRACE_S, Report, Stage, Unavailable
from gpucheck.workload import pair_samples, render_pair, val_shaped_samples

logger = logging.getLogger(__name__)

STAGES = ("env", "install", "peak", "base", "speed_model", "vllm", "speed_hf", "agree_cpu", "agree_hf", "lora", "ray")


@dataclass
class Context:
    """What the stages share: the plan, the work folder and the results handed on."""

    plan: Plan
    work: Path
    report: Report
    judge_dir: Path | None = None
    speed_dir: Path | None = None
    pairs: list[Any] = field(default_factory=list)
    val: list[Any] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    reference: agree.Results = field(default_factory=dict)
    hf_results: agree.Results = field(default_factory=dict)
    vllm_results: agree.Results = field(default_factory=dict)
    peak_flops: float = 0.0


def stage_env(ctx: Context, st: Stage) -> None:
    st.figures.update(environment.machine())


def stage_install(ctx: Context, st: Stage) -> None:
    plan = ctx.plan
    wanted = {"smollm2": plan.judge_base == "smollm2", "ray": "ray" not in plan.skip, "vllm": "vllm" not in plan.skip}
    if not plan.install:
        environment.use_site()
        st.figures.update({k: ("present" if environment._present(k) else "unavailable (not installed; installs off)")
                           for k, w in wanted.items() if w})
        return
    st.figures.update(environment.install(wanted, st.left))


def stage_peak(ctx: Context, st: Stage) -> None:
    p = ctx.plan
    peak = speed.bf16_peak(p.device, p.peak_sizes, p.peak_seconds)
    ctx.peak_flops = peak["flops"]
    st.figures.update(measured_tflops=peak["flops"] / 1e12, n=peak["n"], device=p.device)
    if not p.dry_run:
        st.figures["nominal_tflops"] = p.nominal_bf16_tflops


def stage_base(ctx: Context, st: Stage) -> None:
    """The judge base: SmolLM2 converted to safetensors, else SmolLM2-shaped random weights (or a
    model folder named by ``--base``)."""
    p = ctx.plan
    ctx.pairs = pair_samples(p.agree_pairs, seed=0)
    if p.judge_base not in ("smollm2", "random"):  # a model folder on that machine, e.g. a trained judge
        folder = Path(p.judge_base)
        if not (folder / "config.json").is_file():
            raise Unavailable(f"--base {folder}: no config.json there")
        st.figures.update(source=str(folder))
        ctx.judge_dir = folder
        return
    if p.judge_base == "smollm2":
        try:
            st.figures.update(models.convert_smollm2(ctx.work / "judge-base"))
            ctx.judge_dir = ctx.work / "judge-base"
            return
        except Exception as exc:  # noqa: BLE001 — missing package or a conversion that breaks: fall back
            reason = str(exc) if isinstance(exc, Unavailable) else f"{type(exc).__name__}: {exc}"
            st.figures["smollm2"] = f"unavailable ({reason})"
            logger.warning("SmolLM2 unavailable (%s): random weights of its shape instead", reason)
    texts = [render_pair(s) for s in ctx.pairs]
    out = ctx.work / "judge-base-random"
    st.figures.update(models.build_random_llama(out, p.judge_shape, texts, device=p.device, dtype="float32"))
    ctx.judge_dir = out


def stage_speed_model(ctx: Context, st: Stage) -> None:
    """The random speed model (7B shape on the GPU) and the JudgeLM-val-shaped prompts."""
    from transformers import AutoTokenizer

    from judgelm.models.tiny import train_tokenizer

    p = ctx.plan
    out = ctx.work / "speed-model"
    # the tokenizer is trained on calibration text first, then the prompts are sized with it
    seed_texts = [render_pair(s) for s in pair_samples(64, seed=7, answer_words=(100, 300))]
    tok = train_tokenizer(seed_texts, vocab_size=p.speed_shape["vocab_size"])
    ctx.val = val_shaped_samples(p.speed_prompts, p.prompt_tokens, lambda t: len(tok(t)["input_ids"]))
    ctx.prompts = [render_pair(s) for s in ctx.val]
    st.figures.update(models.build_random_llama(out, p.speed_shape, seed_texts, device=p.device, dtype=p.speed_saved_dtype,
                                                max_position_embeddings=max(4096, p.vllm_max_model_len)))
    saved = AutoTokenizer.from_pretrained(out)
    lengths = [len(saved(t)["input_ids"]) for t in ctx.prompts[:200]]
    st.figures.update(prompts=len(ctx.prompts), mean_prompt_tokens_first_200=sum(lengths) / len(lengths),
                      max_prompt_tokens_first_200=max(lengths))
    ctx.speed_dir = out


def stage_vllm(ctx: Context, st: Stage) -> None:
    """vLLM in a process of its own: speed on the speed model, then the agreement pairs."""
    p = ctx.plan
    python = environment.vllm_python()
    if python is None:
        raise Unavailable(f"vllm not importable ({ctx.report.figures('install').get('vllm', 'not installed')})")
    if ctx.speed_dir is None or ctx.judge_dir is None:
        raise Unavailable("no model to run (the model stages did not finish)")
    samples_file = ctx.work / "agree-samples.jsonl"
    samples_file.write_text("".join(s.model_dump_json() + "\n" for s in ctx.pairs), encoding="utf-8")
    prompts_file = ctx.work / "speed-prompts.json"
    prompts_file.write_text(json.dumps(ctx.prompts), encoding="utf-8")
    out = ctx.work / "vllm-result.json"
    agree_budget = min(90.0, st.left() * 0.35)
    spec = {"speed_dir": str(ctx.speed_dir), "judge_dir": str(ctx.judge_dir), "speed_prompts": str(prompts_file),
            "agree_samples": str(samples_file), "explained_pairs": p.agree_explained_pairs,
            "explained_tokens": p.explained_tokens, "score_tokens": p.score_tokens, "chunk": p.vllm_chunk,
            "speed_memory": p.vllm_speed_memory, "agree_memory": p.vllm_agree_memory,
            "max_model_len": p.vllm_max_model_len, "llm_options": {"enforce_eager": p.vllm_enforce_eager},
            # each part's budget includes loading its model; the process has 10 s to spare
            "speed_budget_s": max(10.0, st.left() - agree_budget - 10), "agreement_budget_s": agree_budget,
            "out": str(out)}
    spec_file = ctx.work / "vllm-spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    import judgelm

    # only the check's own code, judgelm's and what the caller set: never this interpreter's
    # site-packages, which would shadow the vLLM environment's own torch
    paths = [str(Path(__file__).resolve().parents[1]), str(Path(judgelm.__file__).resolve().parents[1]),
             *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    log = ctx.work / "vllm-run.log"
    with open(log, "w", encoding="utf-8") as sink:
        # a session of its own, so that a timeout also ends vLLM's engine process (it holds the GPU)
        proc = subprocess.Popen([python, "-m", "gpucheck.vllm_run", str(spec_file)], env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            st.figures["returncode"] = proc.wait(timeout=max(1.0, st.left() + GRACE_S / 2))
        except subprocess.TimeoutExpired:
            st.figures["returncode"] = "timeout"
        finally:  # also on the hard stop
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if st.figures["returncode"] != 0:
        st.figures["log_tail"] = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    result = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    agreement_part = result.pop("agreement", {})
    ctx.vllm_results = agreement_part.pop("results", {})
    st.figures.update(result)
    st.figures["agreement_run"] = agreement_part
    if "speed" in result and ctx.peak_flops and result["speed"].get("dense_flops_per_s"):
        st.figures["speed"]["dense_share_of_peak"] = result["speed"]["dense_flops_per_s"] / ctx.peak_flops


def stage_speed_hf(ctx: Context, st: Stage) -> None:
    if ctx.speed_dir is None:
        raise Unavailable("no speed model (stage speed_model did not finish)")
    speed.hf_throughput(st, str(ctx.speed_dir), ctx.prompts, ctx.plan, ctx.peak_flops)


def stage_agree_cpu(ctx: Context, st: Stage) -> None:
    """The CPU reference: float32, every CPU core, the same pairs as every other engine."""
    import torch

    from judgelm.engines.hf import HFEngine

    if ctx.judge_dir is None:
        raise Unavailable("no judge base (stage base did not finish)")
    p = ctx.plan
    torch.set_num_threads(os.cpu_count() or 1)
    engine = HFEngine(str(ctx.judge_dir), device="cpu", dtype="float32")
    t0 = time.perf_counter()
    ctx.reference = agree.judge_pairs(engine, ctx.pairs, ctx.pairs[: p.agree_explained_pairs], p.explained_tokens,
                                      left=st.left, chunk=25)
    engine.close()
    fast = [k for k in ctx.reference if k.endswith("|fast")]
    st.figures.update(dtype="float32", device="cpu", threads=torch.get_num_threads(), seconds=time.perf_counter() - t0,
                      requests=len(ctx.reference), fast_requests=len(fast),
                      parsed=sum(v["verdict"] is not None for v in ctx.reference.values()),
                      example_fast_text=ctx.reference[fast[0]]["raw"] if fast else None)
    (ctx.work / "cpu-reference.json").write_text(json.dumps(ctx.reference), encoding="utf-8")


def stage_agree_hf(ctx: Context, st: Stage) -> None:
    """The hf engine on the device, bf16 and float32, against the CPU reference; vLLM's too."""
    from judgelm.engines.hf import HFEngine

    if not ctx.reference:
        raise Unavailable("no CPU reference (stage agree_cpu did not finish)")
    p = ctx.plan
    for dtype in ("bfloat16", "float32"):
        if st.left() <= 0:
            break
        engine = HFEngine(str(ctx.judge_dir), device=p.device, dtype=dtype)
        t0 = time.perf_counter()
        results = agree.judge_pairs(engine, ctx.pairs, ctx.pairs[: p.agree_explained_pairs], p.explained_tokens,
                                    left=st.left)
        engine.close()
        del engine
        speed.free_device_memory(p.device)
        if dtype == "bfloat16":
            ctx.hf_results = results
        st.figures[f"hf_{dtype}"] = {"seconds": time.perf_counter() - t0, **agree.compare(ctx.reference, results)}
    if ctx.vllm_results:
        st.figures["vllm_bfloat16"] = agree.compare(ctx.reference, ctx.vllm_results)


def stage_lora(ctx: Context, st: Stage) -> None:
    from gpucheck.lora import lora_steps

    if ctx.speed_dir is None:
        raise Unavailable("no speed model (stage speed_model did not finish)")
    st.figures.update(lora_steps(str(ctx.speed_dir), ctx.val[:max(64, ctx.plan.lora_batch * ctx.plan.lora_steps)],
                                 ctx.work / "lora", ctx.plan))
    st.figures["model"] = "speed model (random weights)"


def stage_ray(ctx: Context, st: Stage) -> None:
    from gpucheck.raycheck import ray_replicas

    if ctx.judge_dir is None:
        raise Unavailable("no judge base (stage base did not finish)")
    environment.use_site()
    figures, results = ray_replicas(str(ctx.judge_dir), ctx.pairs, ctx.plan)
    st.figures.update(figures)
    if ctx.hf_results:
        st.figures["agreement_with_in_process_hf_bfloat16"] = agree.compare(ctx.hf_results, results).get("fast")


RUNNERS = {name: globals()[f"stage_{name}"] for name in STAGES}


def run_check(plan: Plan, out: Path, work: Path | None = None) -> dict[str, Any]:
    """Run every stage not skipped; return the figures (also written to ``out`` after each stage)."""
    report = Report(out, plan.to_dict())
    deadline = time.monotonic() + plan.budget_s
    with tempfile.TemporaryDirectory(prefix="judgelm-gpu-check-") as tmp:
        ctx = Context(plan=plan, work=Path(work or tmp), report=report)
        ctx.work.mkdir(parents=True, exist_ok=True)
        for name in STAGES:
            if name in plan.skip:
                report.skip(name, "--skip")
                continue
            if time.monotonic() >= deadline:
                report.skip(name, "the run's total budget was spent")
                continue
            with report.stage(name, plan.stage_budgets.get(name, 60.0), deadline) as st:
                RUNNERS[name](ctx, st)
    report.data["goals"] = goals(report)
    if plan.dry_run:
        report.data["goals"]["note"] = "dry run: tiny sizes on a CPU; the goals are about the GPU run"
    report.write()
    return report.data


def goals(report: Report) -> dict[str, Any]:
    """The issue's goals, read off the figures (None where the stage did not measure it)."""
    vllm_speed = report.figures("vllm").get("speed", {})
    hf = report.figures("speed_hf")
    agreement = report.figures("agree_hf")

    def verdicts(key: str) -> float | None:
        modes = agreement.get(key, {})
        values = [modes[m]["verdict_agreement"] for m in ("fast", "explained") if m in modes]
        return min(values) if values else None

    def goal_99(key: str) -> bool | str | None:
        value = verdicts(key)
        if value is None:
            return None
        parsed = [m.get("reference_parsed", 0) for m in agreement.get(key, {}).values() if isinstance(m, dict)]
        if not any(parsed):
            return "vacuous: the CPU reference parsed no verdict (untrained base); see text_agreement"
        return value >= 0.99

    rate = vllm_speed.get("samples_per_s")
    return {
        "vllm_fast_samples_per_s": rate, "vllm_goal_30_per_s": None if rate is None else rate >= 30,
        "hf_speedup_over_reference": hf.get("speedup_b_over_a"),
        "hf_goal_5x": None if hf.get("speedup_b_over_a") is None else hf["speedup_b_over_a"] >= 5,
        "hf_bf16_verdict_agreement": verdicts("hf_bfloat16"), "vllm_verdict_agreement": verdicts("vllm_bfloat16"),
        "agreement_goal_99": {"hf_bfloat16": goal_99("hf_bfloat16"), "vllm": goal_99("vllm_bfloat16")},
    }
