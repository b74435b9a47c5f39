"""The server's building blocks without HTTP: metrics exposition, key checks, dynamic batching, job store."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest
from judgelm.schema import Answer, Sample
from judgelm.serve.batcher import DynamicBatcher, QueueFull
from judgelm.serve.jobs import JobStore
from judgelm.serve.security import extract_key, key_matches
from judgelm.judging.settings import JudgeSettings
from judgelm.serve.service import JudgeService, summarize
from judgelm.serve.telemetry import Counter, Histogram, ServerMetrics


def test_prometheus_text_format() -> None:
    c = Counter("x_total", "help")
    c.inc(route='/a"b')
    c.inc(2, route='/a"b')
    assert c.render()[2] == 'x_total{route="/a\\"b"} 3'
    h = Histogram("lat_seconds", "latency", buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 5.0):
        h.observe(v, route="/r")
    lines = h.render()
    assert 'lat_seconds_bucket{route="/r",le="0.1"} 1' in lines
    assert 'lat_seconds_bucket{route="/r",le="1"} 2' in lines
    assert 'lat_seconds_bucket{route="/r",le="+Inf"} 3' in lines
    assert 'lat_seconds_count{route="/r"} 3' in lines
    text = ServerMetrics(lambda: 7, lambda: 0).render()
    assert "judgelm_queue_depth 7" in text and text.endswith("\n")


def test_api_keys() -> None:
    assert key_matches("k2", ["k1", "k2"]) and not key_matches("k", ["k1"]) and not key_matches("", ["k1"])
    assert extract_key({b"authorization": b"Bearer abc"}) == "abc"
    assert extract_key({b"x-api-key": b"xyz"}) == "xyz"
    assert extract_key({}) == ""


class _Recording(Engine):
    """Wraps the real tiny HF engine and records the size of each engine call."""

    def __init__(self, inner: Engine) -> None:
        self.inner, self.name, self.calls = inner, inner.name, []
        self.release = threading.Event()
        self.entered = threading.Event()

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        self.entered.set()
        self.release.wait(30)
        self.calls.append(len(requests))
        return self.inner.judge_batch(requests)

    def generation_settings(self) -> dict[str, str]:
        return {}  # as before the contract: no decoding attributes of its own


@pytest.fixture(scope="module")
def hf_engine(tiny_llama: Path):
    from judgelm.engines import load_engine

    engine = load_engine(f"hf:{tiny_llama}")
    yield engine
    engine.close()


def _sample(i: int, n: int = 2) -> Sample:
    return Sample(id=str(i), question=f"What is {i} + {i}?", answers=[Answer(text=str(2 * i + k)) for k in range(n)])


def test_batcher_groups_concurrent_requests_and_bounds_the_queue(hf_engine: Engine) -> None:
    from judgelm.judging.requests import build_requests
    from judgelm.judging.settings import JudgeSettings

    rec = _Recording(hf_engine)
    batcher = DynamicBatcher(rec, max_batch=8, max_wait_s=0.05, max_queue=10)
    try:
        reqs = [r for i in range(10) for r in build_requests(_sample(i), JudgeSettings(fast=True))]
        first = batcher.submit(reqs[:1])  # taken alone; the engine is held until released
        assert rec.entered.wait(30)
        futures = [f for i in range(1, 10) for f in batcher.submit(reqs[i:i + 1])]
        with pytest.raises(QueueFull) as err:
            batcher.submit(reqs[:2])  # 9 waiting + 2 > 10
        assert err.value.retry_after_s >= 1 and "limit 10" in str(err.value)
        assert len(batcher.submit(reqs[:1], background=True)) == 1  # job steps are never refused
        rec.release.set()
        outs = [f.result(timeout=60) for f in first + futures]
        assert all(isinstance(o, EngineOutput) and o.text is not None for o in outs)
        assert rec.calls[0] == 1 and max(rec.calls[1:]) == 8  # nine waiting prompts went in batches of <= 8
    finally:
        rec.release.set()
        batcher.close()


def test_job_store_claims_and_saves_each_result_once(tmp_path: Path, hf_engine: Engine) -> None:
    import sqlite3
    import subprocess
    import sys

    store = JobStore(tmp_path / "jobs.sqlite")
    samples = [_sample(i) for i in range(6)]
    job = store.create(samples, JudgeSettings(fast=True), "t")
    store.register("w1")
    store.register("w2")
    mine = store.claim(job, "w1", 3)
    theirs = store.claim(job, "w2", 2)
    assert [i for i, _ in mine] == [0, 1, 2] and [i for i, _ in theirs] == [3, 4]  # never the same sample
    batcher = DynamicBatcher(hf_engine, max_batch=4)
    try:
        results = JudgeService(batcher, hf_engine.name).judge_many([s for _, s in mine], JudgeSettings(fast=True))
    finally:
        batcher.close()
    assert store.save(job, list(zip([0, 1, 2], results))) == 3
    assert store.save(job, list(zip([0, 1, 2], results))) == 0  # already stored: not written twice
    assert store.get(job)["done"] == 3 and store.remaining(job) == 3
    assert [r["sample_id"] for r in store.results(job, batch=2)] == ["0", "1", "2"]
    # w2 dies (a finished process on this host): its claims are freed at once, w1's live ones are not
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE workers SET pid = ? WHERE id = 'w2'", (int(dead.stdout),))
    assert store.release_dead(stale_s=60) == 2
    assert [i for i, _ in store.claim(job, "w1", 10)] == [3, 4, 5]


def test_summary_of_both_orders() -> None:
    from judgelm.schema import Judgement

    a = Judgement(sample_id="s", judge="j", order=[0, 1], scores=[8, 6], verdict=1, confidence=0.9)
    b = Judgement(sample_id="s", judge="j", order=[1, 0], scores=[5, 7], verdict=2, confidence=0.5)
    s = summarize([a, b])
    assert s["consistent"] is False and s["scores"] == [6.5, 6.5] and s["verdict"] == 0
    assert s["confidence"] == pytest.approx(0.7)
    c = Judgement(sample_id="s", judge="j", order=[1, 0], status="unparsed")
    s = summarize([a, c])
    assert s["consistent"] is None and s["verdict"] == 1 and s["status"] == "partial"


def test_batched_generation_matches_one_by_one(hf_engine: Engine) -> None:
    from judgelm.serve.completions import GenTask, HFGenerator

    gen = HFGenerator(hf_engine.model, hf_engine.tokenizer)
    prompts = ["Hello there", "What is the capital of Australia? The answer is", "1 2 3"]
    alone = [gen.generate(p, max_tokens=6, top_logprobs=2)[0] for p in prompts]
    batched = gen.run_tasks([GenTask.make(p, max_tokens=6, top_logprobs=2) for p in prompts]
                            + [GenTask.make("1 2 3", max_tokens=3)])  # other parameters: its own group
    assert [b[0].text for b in batched[:3]] == [a.text for a in alone]  # left padding changes nothing
    assert [b[0].prompt_tokens for b in batched[:3]] == [a.prompt_tokens for a in alone]
    for a, b in zip(alone, batched):
        assert [round(x.logprob, 1) for x in a.logprobs] == [round(x.logprob, 1) for x in b[0].logprobs]
    assert batched[3][0].logprobs is None and batched[3][0].completion_tokens <= 3
