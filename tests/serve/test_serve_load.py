"""Bounded load test on loopback: 200 requests from 20 concurrent clients, zero 5xx;
with a tiny queue, overload is answered with 429 + Retry-After, not errors."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import httpx
import pytest
from support import Server

QUESTIONS = [("What is the capital of Australia?", "Canberra.", "Sydney."),
             ("Convert 5 km to miles.", "About 3.1 miles.", "Roughly 8 miles."),
             ("Name a prime number.", "7", "8"),
             ("Who wrote Hamlet?", "William Shakespeare.", "Charles Dickens.")]


async def _load(url: str, total: int, clients: int) -> tuple[list[int], list[float], list[httpx.Response]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    codes: list[int] = []
    latencies: list[float] = []
    refused: list[httpx.Response] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                q, a1, a2 = QUESTIONS[i % len(QUESTIONS)]
                t0 = time.perf_counter()
                r = await c.post("/v1/judge", json={"id": str(i), "question": q, "answers": [a1, a2], "fast": True})
                latencies.append(time.perf_counter() - t0)
                codes.append(r.status_code)
                if r.status_code == 429:
                    refused.append(r)

    await asyncio.gather(*(client() for _ in range(clients)))
    return codes, latencies, refused


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@pytest.mark.slow(seconds=40)
def test_load_200_requests_20_clients(tiny_llama: Path, tmp_path: Path) -> None:
    srv = Server(["--judge", f"hf:{tiny_llama}", "--no-ui", "--jobs-db", str(tmp_path / "jobs.sqlite"),
                  "--cors-origin", "https://app.example"], log_path=tmp_path / "server.log")
    try:
        t0 = time.perf_counter()
        codes, lat, _ = asyncio.run(_load(srv.url, total=200, clients=20))
        wall = time.perf_counter() - t0
        metrics = httpx.get(srv.url + "/metrics").text
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        allowed = httpx.options(srv.url + "/v1/judge", headers={"Origin": "https://app.example", **preflight})
        other = httpx.options(srv.url + "/v1/judge", headers={"Origin": "https://other.example", **preflight})
    finally:
        srv.stop()
    assert len(codes) == 200
    assert not [c for c in codes if c >= 500], codes
    assert codes.count(200) == 200
    batch_sum = float(next(ln for ln in metrics.splitlines() if ln.startswith("judgelm_engine_batch_size_sum")).split()[1])
    batch_n = float(next(ln for ln in metrics.splitlines() if ln.startswith("judgelm_engine_batch_size_count")).split()[1])
    print(f"\nload: 200 requests / 20 clients in {wall:.1f}s ({200 / wall:.1f} req/s); latency p50 "
          f"{_pct(lat, 50) * 1000:.0f} ms, p99 {_pct(lat, 99) * 1000:.0f} ms; mean engine batch "
          f"{batch_sum / batch_n:.1f} prompts over {batch_n:.0f} calls")
    assert batch_sum == 200 and batch_n < 200  # concurrent requests shared engine calls (dynamic batching)
    # --cors-origin opens CORS for the named origin only
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.slow
def test_full_queue_answers_429_with_retry_after(tiny_llama: Path, tmp_path: Path) -> None:
    srv = Server(["--judge", f"hf:{tiny_llama}", "--no-ui", "--jobs-db", str(tmp_path / "jobs.sqlite"),
                  "--max-queue", "4", "--max-batch", "4", "--batch-delay-s", "0.3"], log_path=tmp_path / "server.log")
    try:
        codes, lat, refused = asyncio.run(_load(srv.url, total=60, clients=20))
        health = httpx.get(srv.url + "/healthz").status_code
        metrics = httpx.get(srv.url + "/metrics").text
    finally:
        srv.stop()
    print(f"\noverload: {codes.count(200)} judged, {codes.count(429)} refused with 429, "
          f"p50 {_pct(lat, 50) * 1000:.0f} ms, p99 {_pct(lat, 99) * 1000:.0f} ms")
    assert not [c for c in codes if c >= 500], codes
    assert set(codes) == {200, 429} and codes.count(429) > 0 and codes.count(200) > 0
    for r in refused:
        assert int(r.headers["Retry-After"]) >= 1
        assert "queue full" in r.json()["error"]["message"]
    assert health == 200  # the server is still up and healthy
    assert f'judgelm_requests_rejected_total{{reason="queue_full"}} {codes.count(429)}' in metrics
