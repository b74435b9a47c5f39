"""The openai engine against a real ``python -m vllm.entrypoints.openai.api_server`` on 127.0.0.1:
the same verdicts as the hf engine on the same model (the smol judge merged into an HF folder).

The completions route sends the hf engine's own token ids (BOS first, the chat template the judge
was trained with: the tokenizer of the folder the server was started on), or that prompt as text;
the chat route lets the server apply the chat template. Run with .venv-vllm's interpreter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed in this interpreter: scripts/setup-vllm.sh builds "
                                   ".venv-vllm; run .venv-vllm/bin/python -m pytest tests/vllm_real")

from judging_runs import EXAMPLES, MAX_NEW_TOKENS, hf_python, subprocess_env  # noqa: E402
from support import free_port  # noqa: E402

from judgelm.data.intake import read_input  # noqa: E402
from judgelm.engines import load_engine  # noqa: E402
from judgelm.judging.runner import run_judge  # noqa: E402
from judgelm.judging.settings import JudgeSettings  # noqa: E402

START_TIMEOUT_S = 420.0


@pytest.fixture(scope="module")
def vllm_server(judge_dir: Path, tmp_path_factory) -> str:  # noqa: ANN001
    """A vLLM OpenAI-protocol server on loopback serving the merged judge; yields its /v1 base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(judge_dir),
           "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32", "--enforce-eager",
           "--max-model-len", "4096", "--kv-cache-memory-bytes", str(2**30), "--disable-log-stats"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not up after {START_TIMEOUT_S:.0f}s:\n{log.read_text()[-3000:]}")
            time.sleep(2)
        yield f"{url}/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its engine-core child
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def rows(path: Path) -> dict[tuple[str, tuple[int, ...]], dict]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[(row["sample_id"], tuple(row["order"]))] = row
    return out


@pytest.mark.parametrize("route", ["completions-ids", "completions-text", "chat"])
def test_openai_engine_on_vllm_server_gives_hf_verdicts(route: str, vllm_server: str, judge_dir: Path,
                                                       hf_judgements: dict[str, Path], tmp_path: Path) -> None:
    options = {"api": "chat"} if route == "chat" else {"api": "completions", "token_ids": route == "completions-ids"}
    # vLLM serves --model DIR under the name DIR: the engine finds the tokenizer there ("auto")
    engine = load_engine(f"openai:{judge_dir}", api_base=vllm_server, concurrency=4, **options)
    if route != "chat":
        assert engine.encoder is not None and engine.encoder.chat_template is True
        assert engine.generation_settings()["prompt"].startswith("token ids" if route == "completions-ids" else "text")
    samples = read_input(EXAMPLES).samples
    summary = run_judge(samples, engine, tmp_path / "out.jsonl",
                        JudgeSettings(both_orders=True, fast=True, max_new_tokens=MAX_NEW_TOKENS), cache=False, resume=False)
    assert summary.errors == 0
    hf, got = rows(hf_judgements["examples-fast"]), rows(tmp_path / "out.jsonl")
    assert hf.keys() == got.keys() and len(got) == 2 * len(samples)
    for key, h in hf.items():
        g = got[key]
        assert (g["status"], g["verdict"], g["scores"]) == (h["status"], h["verdict"], h["scores"]), (route, key)
        if route != "chat":  # the very prompt tokens of the hf engine: the same text too
            assert g["raw"].strip() == h["raw"].strip(), key
            assert g["cost"]["prompt_tokens"] == h["cost"]["prompt_tokens"], key  # BOS counted on both sides


def test_judgelm_serve_beside_a_vllm_server(vllm_server: str, judge_dir: Path, hf_judgements: dict[str, Path],
                                            tmp_path: Path) -> None:
    """``judgelm serve --judge openai:DIR`` (the project's venv) in front of vLLM's server: judgelm's
    /v1/judge, jobs and UI, vLLM's engine — the hf engine's verdicts for both orders."""
    import httpx

    port = free_port()
    cmd = [hf_python(), "-m", "judgelm.cli", "serve", "--judge", f"openai:{judge_dir}", "--engine-opt",
           f"api_base={vllm_server}", "--engine-opt", "api=completions", "--host", "127.0.0.1", "--port", str(port),
           "--no-ui", "--fast", "--jobs-db", str(tmp_path / "jobs.sqlite")]
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        hf = rows(hf_judgements["examples-fast"])
        for line in EXAMPLES.read_text(encoding="utf-8").splitlines()[:3]:
            row = json.loads(line)
            body = {"question": row["question_body"], "answers": [row["answer1_body"], row["answer2_body"]],
                    "both_orders": True}
            r = httpx.post(f"{url}/v1/judge", json=body, timeout=120)
            assert r.status_code == 200, r.text
            for j in r.json()["judgements"]:
                h = hf[(str(row["question_id"]), tuple(j["order"]))]
                assert (j["status"], j["verdict"], j["scores"]) == (h["status"], h["verdict"], h["scores"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_reading_judge_likelihoods_from_the_server(vllm_server: str, judge_dir: Path,
                                                   hf_likelihoods: list[list]) -> None:
    """vLLM's ``prompt_logprobs`` extension on /v1/completions: the transformers likelihoods."""
    from judging_runs import check_likelihoods

    from judgelm.engines.likelihood_vllm import ServerLikelihoodScorer

    check_likelihoods(ServerLikelihoodScorer(str(judge_dir), api_base=vllm_server, max_answer_tokens=256),
                      hf_likelihoods)
