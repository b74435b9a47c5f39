"""Helpers for the server tests: start `judgelm serve` as a real subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running ``judgelm serve`` process; ``url`` is its base address."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None,
                 port: int | None = None, timeout_s: float = 120.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        if "--jobs-db" not in args:  # never leave a job database in the repository
            args = [*args, "--jobs-db", str(log_path.parent / f"jobs-{self.port}.sqlite")]
        cmd = [sys.executable, "-m", "judgelm.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *args]
        full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                    "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1", **(env or {})}
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout_s}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run (simulates a crash)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._log.close()


def canonical_samples(shared_data: Path, n: int) -> list[dict]:
    """``n`` real pairs from the shared data, as canonical sample dicts (via the project's readers)."""
    from judgelm.data import read_samples

    path = shared_data / "pandalm" / "testset-v1.json"
    samples = []
    for s in read_samples(path):
        samples.append(s.model_dump(mode="json", exclude_none=True))
        if len(samples) >= n:
            break
    return samples


def run_cli(*args: str):
    """``judgelm ARGS`` in-process (typer's CliRunner); returns the click Result (exit_code, output)."""
    from typer.testing import CliRunner

    from judgelm.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


#: the PandaLM prompt of the first PandaLM test row (idx 0), byte for byte (docs/formats.md)
PANDALM_TEST_FIRST_PROMPT = (
    "Below are two responses for a given task. The task is defined by the Instruction with an Input that "
    "provides further context. Evaluate the responses and generate a reference answer for the task.\n\n"
    "### Instruction:\nThe sentence you are given might be too wordy, complicated, or unclear. Rewrite the "
    "sentence and make your writing clearer by keeping it concise. Whenever possible, break complex "
    "sentences into multiple sentences and eliminate unnecessary words.\n\n"
    "### Input:\nIf you have any questions about my rate or if you find it necessary to increase or "
    "decrease the scope for this project, please let me know.\n\n"
    "### Response 1:\nIf you have any questions about my rate, please let me know.\n\n"
    "### Response 2:\nIf you have any questions, please let me know.\n\n"
    "### Evaluation:\n"
)
