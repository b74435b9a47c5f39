"""A job running when the server is killed (SIGKILL) resumes on restart: no sample lost, none judged twice."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from support import Server, canonical_samples

N = 12


def _job(url: str, job_id: str) -> dict:
    return httpx.get(f"{url}/v1/jobs/{job_id}", timeout=30).json()


def _job_samples_judged(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=30).text
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
               if ln.startswith("judgelm_samples_judged_total{") and 'source="job"' in ln)


@pytest.mark.slow(seconds=45)
def test_killed_server_resumes_job(tiny_llama: Path, shared_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite"
    common = ["--judge", f"hf:{tiny_llama}", "--no-ui", "--jobs-db", str(db), "--job-chunk", "2", "--max-batch", "2"]
    # slow engine (0.5 s per call) so the kill lands mid-job
    srv = Server(common + ["--batch-delay-s", "0.5"], log_path=tmp_path / "first.log")
    samples = canonical_samples(shared_data, N)
    body = "\n".join(json.dumps(s) for s in samples).encode()
    job_id = httpx.post(srv.url + "/v1/jobs", content=body, params={"fast": True}, timeout=60).json()["id"]
    deadline = time.monotonic() + 60
    while _job(srv.url, job_id)["done"] < 4:
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.1)
    before = httpx.get(f"{srv.url}/v1/jobs/{job_id}/results", timeout=30).text.splitlines()
    srv.kill()

    with sqlite3.connect(db) as conn:
        status, done = conn.execute("SELECT status, done FROM jobs WHERE id = ?", (job_id,)).fetchone()
        stored = conn.execute("SELECT COUNT(*) FROM items WHERE job_id = ? AND result IS NOT NULL",
                              (job_id,)).fetchone()[0]
    assert status == "running" and 4 <= done < N and stored == done, (status, done, stored)

    srv = Server(common, log_path=tmp_path / "second.log")
    try:
        deadline = time.monotonic() + 120
        while (job := _job(srv.url, job_id))["status"] != "done":
            assert job["status"] == "running" or job["status"] == "queued", job
            assert time.monotonic() < deadline, srv.log()
            time.sleep(0.2)
        assert job["done"] == job["total"] == N
        # the restarted server judged exactly the samples that had no stored result
        assert _job_samples_judged(srv.url) == N - done
        rows = [json.loads(x) for x in httpx.get(f"{srv.url}/v1/jobs/{job_id}/results", timeout=30).text.splitlines()]
    finally:
        srv.stop()
    assert [r["sample_id"] for r in rows] == [s["id"] for s in samples]  # every sample once, in order
    after = [json.dumps(r) for r in rows[: len(before)]]
    assert after == [json.dumps(json.loads(x)) for x in before]  # results judged before the kill are untouched


@pytest.mark.slow
def test_two_replicas_share_one_job_store(tiny_llama: Path, shared_data: Path, tmp_path: Path) -> None:
    """The load-balancer recipe with a shared --jobs-db: both replicas work on a job, no sample twice."""
    db = tmp_path / "shared.sqlite"
    common = ["--judge", f"hf:{tiny_llama}", "--no-ui", "--jobs-db", str(db), "--job-chunk", "2", "--max-batch", "2",
              "--batch-delay-s", "0.3"]
    a = Server(common, log_path=tmp_path / "a.log")
    b = Server(common, log_path=tmp_path / "b.log")
    try:
        samples = canonical_samples(shared_data, 16)
        body = "\n".join(json.dumps(s) for s in samples).encode()
        job_id = httpx.post(a.url + "/v1/jobs", content=body, params={"fast": True}, timeout=60).json()["id"]
        deadline = time.monotonic() + 120
        while (job := _job(b.url, job_id))["status"] != "done":  # visible from the other replica too
            assert time.monotonic() < deadline, a.log() + b.log()
            time.sleep(0.2)
        judged_a, judged_b = _job_samples_judged(a.url), _job_samples_judged(b.url)
        rows = [json.loads(x) for x in httpx.get(f"{b.url}/v1/jobs/{job_id}/results", timeout=30).text.splitlines()]
    finally:
        a.stop()
        b.stop()
    assert job["done"] == 16
    assert judged_a > 0 and judged_b > 0 and judged_a + judged_b == 16, (judged_a, judged_b)
    assert [r["sample_id"] for r in rows] == [s["id"] for s in samples]
