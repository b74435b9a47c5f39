"""``judgelm cascade`` live: stage 1 a local judge, stage 2 an OpenAI-protocol HTTP server on
loopback (FastAPI + uvicorn running the tiny Llama), on real PandaLM rows. Checks what was sent,
the ledger against what the server really served, and that a rerun pays nothing again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_stub_server import StubServer

MINI_WEIGHTS = Path(__file__).resolve().parents[2] / "src" / "judgelm" / "assets" / "mini"


@pytest.fixture(scope="module")
def server(tiny_llama):
    with StubServer(tiny_llama) as srv:
        yield srv


def _cli(args: list[str]):

    from support import run_cli

    res = run_cli("cascade", *args)
    return res, res.output + ("" if res.exception is None else repr(res.exception))


def _stage2_args(server: StubServer) -> list[str]:
    return ["--stage2", "openai:tiny", "--stage2-api-base", server.url, "--stage2-api", "completions",
            "--stage2-price-in", "1000", "--stage2-price-out", "2000", "--no-cache"]


@pytest.mark.slow
def test_cli_cascade_against_api_server_and_resume(shared_data, tiny_llama, server, tmp_path) -> None:
    server.completed.clear()
    args = [str(shared_data / "pandalm" / "testset-v1.json"), "-o", str(tmp_path), "--limit", "8",
            "--stage1", f"hf:{tiny_llama}", "--dtype", "float32", "--device", "cpu", "--budget", "0.5",
            *_stage2_args(server)]
    res, out = _cli(args)
    assert res.exit_code == 0, out
    print(out)
    led = json.loads((tmp_path / "ledger.json").read_text())
    s1, s2 = led["stages"]
    assert s1["samples"] == 8 and s1["calls"] == 16 and s1["prompt_tokens"] > 0 and not s1["recorded"]
    # exactly the 4 least confident went over HTTP, each once, and the ledger says what they cost
    assert s2["samples"] == 4 and s2["calls"] == 4 == sum(server.completed.values())
    assert s2["judge"] == "openai:tiny" and s2["prompt_tokens"] > 0 and s2["usd"] > 0 and s2["wall_s"] > 0
    assert s2["usd"] == pytest.approx((s2["prompt_tokens"] * 1000 + s2["completion_tokens"] * 2000) / 1e6)
    merged = [json.loads(line) for line in (tmp_path / "merged.jsonl").read_text().splitlines()]
    assert [m["metadata"]["stage"] for m in merged].count(2) == 4 and len(merged) == 8
    for m in merged:
        assert m["judge"] == ("openai:tiny" if m["metadata"]["stage"] == 2 else f"hf:{tiny_llama}")
        if m["verdict"] is None:  # an unparsable output stays recorded as such
            assert m["status"] in ("unparsed", "error")
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert not curve["complete"] and curve["points"][-1]["share"] == 0.5  # stage 2 judged only half
    assert "agreement vs. share sent" in out and "stage 2 openai:tiny: 4 samples, 4 calls" in out

    res2, out2 = _cli(args)  # same command again: both stages resume from their state, no new calls
    assert res2.exit_code == 0, out2
    assert sum(server.completed.values()) == 4
    assert [json.loads(x) for x in (tmp_path / "merged.jsonl").read_text().splitlines()] == merged


@pytest.mark.skipif(not any(MINI_WEIGHTS.glob("*.safetensors")),
                    reason="built-in judge weights not shipped yet")
def test_cli_cascade_builtin_stage1_threshold_against_api_server(shared_data, server, tmp_path) -> None:
    server.completed.clear()
    res, out = _cli([str(shared_data / "pandalm" / "testset-v1.json"), "-o", str(tmp_path), "--limit", "24",
                     "--threshold", "0.7", *_stage2_args(server)])
    assert res.exit_code == 0, out
    summary = json.loads((tmp_path / "summary.json").read_text())
    merged = [json.loads(line) for line in (tmp_path / "merged.jsonl").read_text().splitlines()]
    kept = [m for m in merged if m["metadata"]["stage"] == 1]
    assert all(m["confidence"] >= 0.7 for m in kept)
    assert summary["sent_to_stage2"] == 24 - len(kept) == sum(server.completed.values())
