"""The vllm engine without vLLM: a clear message, and the request → SamplingParams translation."""

from __future__ import annotations

import importlib.util

import pytest

from judgelm.engines import load_engine
from judgelm.engines.base import JudgeRequest
from judgelm.engines.confidence import JUDGELM_VALUES, ValueTokens, read_slots
from judgelm.engines.vllm import (
    VLLMNotInstalled,
    masses_from_logprobs,
    sampling_params_kwargs,
)
from judgelm.schema import Answer, Sample

SAMPLE = Sample(id="s", question="q", answers=[Answer(text="a"), Answer(text="b"), Answer(text="c")])


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_missing_vllm_says_how_to_install() -> None:
    with pytest.raises(ImportError) as info:
        load_engine("vllm:BAAI/JudgeLM-7B-v1.0", tensor_parallel_size=2)
    assert isinstance(info.value, VLLMNotInstalled)
    message = str(info.value)
    assert "pip install 'judgelm[vllm]'" in message and "CUDA GPU" in message and "hf:" in message


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
