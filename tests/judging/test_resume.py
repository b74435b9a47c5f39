"""``kill -9`` in the middle of ``judgelm judge``, then the same command again: the second run judges
only what is missing, and the output has every sample exactly once, in input order."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_stub_server import StubServer

from judgelm.data import read_samples
from judgelm.judging.requests import build_requests

N = 40
BATCH = 4


def _committed(state: Path) -> int:
    if not state.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM results WHERE status != 'error'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # table not created yet
        return 0


def _settled(read, quiet_s: float = 0.6, timeout_s: float = 15.0) -> int:
    """The value of ``read()`` once it has not changed for ``quiet_s`` seconds."""
    value, since, start = read(), time.monotonic(), time.monotonic()
    while time.monotonic() - since < quiet_s and time.monotonic() - start < timeout_s:
        time.sleep(0.05)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


@pytest.mark.slow
def test_kill_9_then_resume_judges_only_the_missing(tiny_llama, shared_data, tmp_path) -> None:
    source = shared_data / "pandalm" / "testset-v1.json"
    out = tmp_path / "judged.jsonl"
    state = Path(str(out) + ".state.sqlite")
    env = {**os.environ, "JUDGELM_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": "sk-local"}
    with StubServer(tiny_llama) as server:
        server.delay_s = 0.15  # a slow judge, so the kill lands mid-run
        cmd = [sys.executable, "-m", "judgelm.cli", "judge", str(source), "-o", str(out), "--judge", "openai:tiny",
               "--api-base", server.url, "--api", "completions", "--limit", str(N), "--batch-size", str(BATCH),
               "--concurrency", "2", "--no-cache", "--no-progress"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 180
        while _committed(state) < 3 * BATCH:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        done_before = _committed(state)
        assert proc.returncode == -signal.SIGKILL and BATCH <= done_before < N
        # requests the killed client had in flight still finish on the server: count them in
        calls_before = _settled(lambda: sum(server.completed.values()))

        server.delay_s = 0.0
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        # the second run judged exactly what the state did not hold
        assert f"engine calls {N - done_before}, from cache 0, resumed {done_before}" in rerun.stdout
        assert sum(server.completed.values()) - calls_before == N - done_before
        # at most the batch in flight at the kill was ever answered twice (it had not been committed)
        assert sum(server.completed.values()) - N <= BATCH
        samples = list(read_samples(source, limit=N))
        # every prompt reached the judge (PandaLM's test set repeats a few identical pairs)
        assert set(server.completed) == {r.prompt for s in samples for r in build_requests(s)}

    expected = [s.id for s in samples]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["sample_id"] for r in rows] == expected  # no duplicates, no gaps, input order
    assert all(r["status"] in ("ok", "unparsed") for r in rows)


def test_two_runs_on_one_output_are_refused(tmp_path) -> None:
    from judgelm.judging.state import RunBusy, RunLock

    with RunLock(tmp_path / "o.jsonl.lock"):
        with pytest.raises(RunBusy, match="another judging run is writing o.jsonl"):
            with RunLock(tmp_path / "o.jsonl.lock"):
                pass
    with RunLock(tmp_path / "o.jsonl.lock"):  # released on exit
        pass
