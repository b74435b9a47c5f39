"""`judgelm serve` with the built-in CPU judge (spec "mini", the default): real verdicts over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support import Server, canonical_samples


def _mini_weights() -> Path:
    from judgelm.engines.mini import ASSET_DIR

    return ASSET_DIR / "model.safetensors"


pytestmark = pytest.mark.skipif(not _mini_weights().exists(),
                                reason="built-in judge weights not built yet (judgelm train --recipe mini)")


def test_serve_builtin_judge(shared_data: Path, mini_server: Server) -> None:
    srv = mini_server  # started once per session (tests/conftest.py)
    health = httpx.get(srv.url + "/healthz").json()
    assert health["judge"] == "mini" and health["generative"] is False
    sample = canonical_samples(shared_data, 1)[0]
    r = httpx.post(srv.url + "/v1/judge", json={"sample": sample, "both_orders": True}, timeout=120)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "ok" and out["verdict"] in (0, 1, 2)
    assert 0.0 <= out["confidence"] <= 1.0 and out["consistent"] in (True, False)
    graded = httpx.post(srv.url + "/v1/judge", json={"question": "2+2?", "answers": ["4"], "reference": "4",
                                                     "mode": "single"}, timeout=120).json()
    assert graded["status"] == "ok" and len(graded["scores"]) == 1
    # the mini judge writes no free text: the OpenAI-protocol endpoints say so instead of failing
    chat = httpx.post(srv.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 400 and "not a generative model" in chat.json()["detail"]
