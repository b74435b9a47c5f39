"""A judge run through vLLM (``judgelm judge --judge vllm:DIR``), killed with SIGKILL after its first
batches, resumes on the same command line: every sample judged once, no duplicate rows, the killed
run's batches not judged again. The engine options travel through ``--engine-opt``.
Run with .venv-vllm's interpreter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed in this interpreter: scripts/setup-vllm.sh builds "
                                   ".venv-vllm; run .venv-vllm/bin/python -m pytest tests/vllm_real")

from judging_runs import REPO, shared_data_dir, subprocess_env  # noqa: E402

N = 12


def judge_cmd(data: Path, judge_dir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "judgelm.cli", "judge", str(data), "-o", str(out), "--judge", f"vllm:{judge_dir}",
            "--limit", str(N), "--batch-size", "2", "--no-cache", "--no-progress",
            "--engine-opt", "dtype=float32", "--engine-opt", "max_model_len=4096",
            "--engine-opt", "kv_cache_space=1", "--engine-opt", "enforce_eager=true"]


def test_killed_vllm_run_resumes_without_duplicates(judge_dir: Path, tmp_path: Path) -> None:
    shared = shared_data_dir()
    data = shared / "pandalm" / "testset-v1.json" if shared else REPO / "examples" / "pairs.jsonl"
    n = N if shared else 6
    out = tmp_path / "judged.jsonl"
    cmd = judge_cmd(data, judge_dir, out)
    log = tmp_path / "first.log"
    with open(log, "wb") as f:
        first = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=subprocess_env(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 420
        while not (out.is_file() and len(out.read_text().splitlines()) >= 2):
            assert first.poll() is None, f"the first run ended before it was killed:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no batch written in time:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
    finally:
        first.send_signal(signal.SIGKILL)  # in-process engine on a CPU: no engine-core child is left behind
        first.wait()
    done_before = len(out.read_text().splitlines())
    assert 2 <= done_before < n

    second = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=600)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [r["sample_id"] for r in rows]
    assert len(ids) == n and len(set(ids)) == n  # every sample once
    assert all(r["judge"] == f"vllm:{judge_dir}" and r["error"] is None for r in rows)
    resumed = int(second.stdout.split("resumed ")[1].split()[0].rstrip(","))
    assert resumed >= done_before  # the killed run's rows were kept, not judged again
