"""The ``openai`` engine against a real OpenAI-protocol HTTP server on loopback (FastAPI + uvicorn
running the tiny Llama), with injected faults: nothing lost, nothing judged twice."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_stub_server import StubServer

from judgelm.data import read_samples
from judgelm.engines.openai import (
    BUDGET_EXHAUSTED,
    OpenAIEngine,
    price_for,
    score_confidence,
)
from judgelm.judging.requests import build_requests
from judgelm.judging.runner import judge_samples, run_judge
from judgelm.judging.settings import JudgeSettings
from judgelm.schema import ParseStatus

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "pairs.jsonl"
SECRET = "sk-test-DO-NOT-LEAK-7f3a9c"


@pytest.fixture(scope="module")
def server(tiny_llama):
    with StubServer(tiny_llama, api_key=SECRET, hang_s=4.0, retry_after_s=1.0) as srv:
        yield srv


@pytest.fixture()
def fresh(server):
    """A server with no pending faults and zeroed counters."""
    server.faults.clear()
    server.faults_applied.clear()
    server.completed.clear()
    server.delay_s = 0.0
    yield server
    server.faults.clear()


@pytest.fixture(scope="module")
def samples():
    return list(read_samples(EXAMPLES))


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("JUDGE_TEST_KEY", SECRET)


def _engine(server, **kw) -> OpenAIEngine:
    opts = dict(api_base=server.url, api_key_env="JUDGE_TEST_KEY", timeout_s=2.0, backoff_s=0.05, concurrency=4)
    opts.update(kw)
    return OpenAIEngine("tiny", **opts)


@pytest.mark.parametrize("api", ["chat", "completions"])
@pytest.mark.parametrize("fault", ["500", "429", "hang", "truncated"])
def test_fault_is_retried_nothing_lost_nothing_twice(fresh, samples, fault, api) -> None:
    fresh.inject(fault, fault)
    t0 = time.monotonic()
    js = judge_samples(samples[:3], _engine(fresh, api=api), JudgeSettings(both_orders=True))
    elapsed = time.monotonic() - t0
    assert fresh.faults_applied == [fault, fault] and not fresh.faults
    assert len(js) == 6 and all(j.status != ParseStatus.ERROR for j in js)
    # every prompt completed exactly once: the faulted calls were retried, none answered twice
    prompts = {r.prompt for s in samples[:3] for r in build_requests(s, JudgeSettings(both_orders=True))}
    assert set(fresh.completed) == prompts and set(fresh.completed.values()) == {1}
    assert sum(j.metadata["attempts"] for j in js) == 6 + 2
    if fault == "429":
        assert elapsed >= 1.0  # Retry-After: 1 was honoured
    if fault == "hang":
        assert elapsed >= 2.0  # waited for the 2 s timeout, then retried
    for j in js:  # usage recorded per call, logprobs read
        assert j.cost.prompt_tokens > 0 and j.cost.completion_tokens > 0 and j.confidence is not None


def test_gives_up_as_error_then_next_run_retries_only_those(fresh, samples, tmp_path) -> None:
    out = tmp_path / "run.jsonl"
    fresh.inject("500", "500")
    first = run_judge(samples, _engine(fresh, max_retries=0, concurrency=1), out, cache=False)
    assert (first.requests, first.errors) == (6, 2)
    assert sum(1 for line in out.read_text().splitlines() if json.loads(line)["status"] == "error") == 2
    second = run_judge(samples, _engine(fresh, max_retries=0), out, cache=False)
    assert (second.resumed, second.judged, second.errors) == (4, 2, 0)
    assert set(fresh.completed.values()) == {1} and len(fresh.completed) == 6
    lines = out.read_text().splitlines()
    assert [json.loads(x)["sample_id"] for x in lines] == [s.id for s in samples]


def test_budget_cap_stops_cleanly_and_resumes(fresh, samples, tmp_path) -> None:
    out = tmp_path / "budget.jsonl"
    prices = dict(price_in=1000.0, price_out=1000.0)  # $1 per 1k tokens: a few calls cost dollars
    probe = _engine(fresh, **prices)
    worst = max(probe._estimate_usd(r) for s in samples for r in build_requests(s))
    budget = 1.5 * worst  # the first call fits, so do a few more (each costs well under its worst case)
    engine = _engine(fresh, concurrency=1, budget_usd=budget, **prices)
    first = run_judge(samples, engine, out, cache=False)
    assert 1 <= first.ok + first.unparsed < 6 and first.errors == 6 - (first.ok + first.unparsed)
    assert 0 < engine.spent_usd <= budget and first.cost_usd == pytest.approx(engine.spent_usd)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 6 and {r["error"] for r in rows if r["status"] == "error"} == {BUDGET_EXHAUSTED}
    judged_first = len(fresh.completed)
    second = run_judge(samples, _engine(fresh, concurrency=1, budget_usd=100.0, **prices), out, cache=False)
    assert second.resumed == judged_first and second.judged == 6 - judged_first and second.errors == 0
    assert set(fresh.completed.values()) == {1} and len(fresh.completed) == 6


def test_api_key_never_written_or_logged(fresh, tmp_path) -> None:
    out = tmp_path / "k.jsonl"
    env = {**os.environ, "JUDGE_TEST_KEY": SECRET, "JUDGELM_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "judgelm.cli", "-v", "judge", str(EXAMPLES), "-o", str(out),
           "--judge", "openai:tiny", "--api-base", fresh.url, "--api-key-env", "JUDGE_TEST_KEY", "--swap",
           "--no-progress"]
    fresh.inject("500", "429")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "engine calls 12" in proc.stdout
    assert f"Bearer {SECRET}" in fresh.auth_seen  # the key was really used ...
    logs = proc.stdout + proc.stderr
    assert "retry 1/6" in logs and "DEBUG" in logs  # ... and the debug logs are really there ...
    assert SECRET not in logs  # ... but it appears nowhere
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_missing_key_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="NO_SUCH_KEY_VAR"):
        OpenAIEngine("gpt-4o", api_key_env="NO_SUCH_KEY_VAR")


def test_prices_and_confidence_from_top_logprobs(samples) -> None:
    assert price_for("gpt-4o-2024-08-06") == price_for("gpt-4o") == (2.5, 10.0)
    assert price_for("gpt-4o-mini") == (0.15, 0.6) and price_for("llama3") is None
    (req,) = build_requests(samples[0])
    lp = math.log
    steps = [("8", [("8", lp(0.6)), ("7", lp(0.3)), ("Hello", lp(0.1))]), (" ", [(" ", 0.0)]),
             ("3", [("3", lp(0.5)), ("9", lp(0.5))]), ("\n", [("\n", 0.0)])]
    # slot 1: 8 (2/3) or 7 (1/3), slot 2: 3 or 9 (1/2 each); P(answer 1 wins) = 1/2 · 1 = 1/2
    assert score_confidence("8 3\n", steps, req) == pytest.approx(0.5)
    assert score_confidence("8 3\n", [(t, []) for t, _ in steps], req) is None  # no alternatives: no estimate


def test_judge_batch_works_inside_a_running_event_loop(fresh, samples) -> None:
    import asyncio

    engine = _engine(fresh)
    requests = build_requests(samples[0])

    async def from_async_code():  # e.g. a FastAPI handler in `judgelm serve`
        return engine.judge_batch(requests)

    (out,) = asyncio.run(from_async_code())
    assert out.error is None and out.text and out.prompt_tokens > 0
