"""A real OpenAI-protocol HTTP server for tests: FastAPI + uvicorn on 127.0.0.1, running a (tiny)
causal LM with transformers, with faults the test injects.

It speaks ``/v1/completions`` (raw prompt) and ``/v1/chat/completions`` (user messages joined, no
chat template — it is a raw judge model), with ``usage`` and logprobs. The test controls it
in-process through :class:`StubServer`:

* ``server.inject("500", "429", "hang", "truncated")`` — each queued fault is consumed by the next
  completion request: HTTP 500; HTTP 429 with ``Retry-After``; a hang past the client's timeout
  (then 504); a 200 whose JSON body is cut in half.
* ``server.delay_s`` — a slow judge (every request sleeps first).
* ``server.completed`` — successful completions per prompt (Counter): a fault never counts, so
  "nothing judged twice" is ``max(completed.values()) == 1``.

Run by hand: ``python tests/openai_stub_server.py MODEL_DIR --port 8000``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from support import free_port


class StubServer:
    """Starts the server in a background thread; use as a context manager."""

    def __init__(self, model_dir: str | Path, *, api_key: str | None = None, hang_s: float = 5.0,
                 retry_after_s: float = 1.0, port: int = 0) -> None:
        self.model_dir = Path(model_dir)
        self.api_key = api_key
        self.hang_s = hang_s
        self.retry_after_s = retry_after_s
        self.delay_s = 0.0
        self.port = port or free_port()
        self.faults: collections.deque[str] = collections.deque()
        self.faults_applied: list[str] = []
        self.completed: collections.Counter[str] = collections.Counter()
        self.auth_seen: list[str] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._gen_lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.model: Any = None
        self.tokenizer: Any = None

    # -- control -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def inject(self, *faults: str) -> None:
        for f in faults:
            if f not in ("500", "429", "hang", "truncated"):
                raise ValueError(f"unknown fault {f!r}")
            self.faults.append(f)

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.faults:
                fault = self.faults.popleft()
                self.faults_applied.append(fault)
                return fault
        return None

    # -- model ---------------------------------------------------------------------------------

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(1)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=torch.float32).eval()

    def generate(self, prompt: str, max_tokens: int, stop: list[str], top_k: int) -> dict[str, Any]:
        """Greedy decoding; returns text, per-token (token, logprob, top alternatives), usage."""
        import torch

        with self._gen_lock, torch.inference_mode():
            enc = self.tokenizer(prompt, return_tensors="pt")
            out = self.model.generate(
                **enc, max_new_tokens=max_tokens, do_sample=False, output_scores=True,
                return_dict_in_generate=True, pad_token_id=self.tokenizer.pad_token_id,
            )
        new_ids = out.sequences[0, enc["input_ids"].shape[1]:].tolist()
        tokens: list[dict[str, Any]] = []
        text = ""
        finish = "length"
        for step, tid in enumerate(new_ids):
            if tid == self.tokenizer.eos_token_id:
                finish = "stop"
                break
            logp = torch.log_softmax(out.scores[step][0].float(), dim=-1)
            top = torch.topk(logp, k=max(1, top_k))
            piece = self.tokenizer.decode([tid])
            cut = _first_stop(text + piece, stop)
            if cut is not None:
                text = (text + piece)[:cut]
                finish = "stop"
                break
            text += piece
            tokens.append({
                "token": piece,
                "logprob": float(logp[tid]),
                "top": [(self.tokenizer.decode([int(i)]), float(v)) for v, i in zip(top.values, top.indices)],
            })
        return {"text": text, "tokens": tokens, "finish_reason": finish,
                "prompt_tokens": int(enc["input_ids"].shape[1]), "completion_tokens": len(tokens)}

    # -- app -----------------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI()
        server = self

        async def handle(request: Request, chat: bool) -> Response:
            body = await request.json()
            auth = request.headers.get("authorization", "")
            server.auth_seen.append(auth)
            if server.api_key is not None and auth != f"Bearer {server.api_key}":
                return JSONResponse({"error": {"message": "bad key", "type": "auth"}}, status_code=401)
            if server.delay_s:
                await asyncio.sleep(server.delay_s)
            fault = server._next_fault()
            if fault == "500":
                return JSONResponse({"error": {"message": "injected 500", "type": "server_error"}}, status_code=500)
            if fault == "429":
                return JSONResponse({"error": {"message": "slow down", "type": "rate_limit"}}, status_code=429,
                                    headers={"Retry-After": str(server.retry_after_s)})
            if fault == "hang":  # past the client's timeout; cut short when the server stops
                until = time.monotonic() + server.hang_s
                while time.monotonic() < until and not server._server.should_exit:
                    await asyncio.sleep(0.05)
                return JSONResponse({"error": {"message": "hung"}}, status_code=504)
            if chat:
                prompt = "\n".join(m["content"] for m in body["messages"] if m.get("role") == "user")
                want_lp = bool(body.get("logprobs"))
                top_k = int(body.get("top_logprobs") or 1)
            else:
                prompt = body["prompt"] if isinstance(body["prompt"], str) else body["prompt"][0]
                want_lp = body.get("logprobs") is not None
                top_k = int(body.get("logprobs") or 1)
            stop = body.get("stop") or []
            stop = [stop] if isinstance(stop, str) else stop
            gen = await run_in_threadpool(server.generate, prompt, int(body.get("max_tokens") or 16), stop, top_k)
            payload = _completion_payload(body.get("model", "stub"), gen, chat, want_lp)
            if fault == "truncated":
                raw = json.dumps(payload)
                return Response(raw[: len(raw) // 2], media_type="application/json")
            with server._lock:
                server.completed[prompt] += 1
            return JSONResponse(payload)

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            return await handle(request, chat=True)

        @app.post("/v1/completions")
        async def completions(request: Request) -> Response:
            return await handle(request, chat=False)

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": "tiny", "object": "model", "owned_by": "test"}]}

        return app

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> "StubServer":
        import uvicorn

        self._load()
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("stub OpenAI server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def _completion_payload(model: str, gen: dict[str, Any], chat: bool, want_lp: bool) -> dict[str, Any]:
    usage = {"prompt_tokens": gen["prompt_tokens"], "completion_tokens": gen["completion_tokens"],
             "total_tokens": gen["prompt_tokens"] + gen["completion_tokens"]}
    if chat:
        logprobs = None
        if want_lp:
            logprobs = {"content": [
                {"token": t["token"], "logprob": t["logprob"], "bytes": None,
                 "top_logprobs": [{"token": a, "logprob": b, "bytes": None} for a, b in t["top"]]}
                for t in gen["tokens"]
            ]}
        choice = {"index": 0, "message": {"role": "assistant", "content": gen["text"]},
                  "finish_reason": gen["finish_reason"], "logprobs": logprobs}
        return {"id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [choice], "usage": usage}
    logprobs = None
    if want_lp:
        offsets, pos = [], 0
        for t in gen["tokens"]:
            offsets.append(pos)
            pos += len(t["token"])
        logprobs = {"tokens": [t["token"] for t in gen["tokens"]],
                    "token_logprobs": [t["logprob"] for t in gen["tokens"]],
                    "top_logprobs": [dict(t["top"]) for t in gen["tokens"]], "text_offset": offsets}
    choice = {"index": 0, "text": gen["text"], "finish_reason": gen["finish_reason"], "logprobs": logprobs}
    return {"id": "cmpl-stub", "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [choice], "usage": usage}


def _first_stop(text: str, stop: list[str]) -> int | None:
    hits = [text.find(s) for s in stop if s and s in text]
    return min(hits) if hits else None



if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with StubServer(args.model_dir, port=args.port) as srv:
        print(f"serving {args.model_dir} at {srv.url}", flush=True)  # noqa: T201 — a script's own output
        while True:
            time.sleep(3600)
