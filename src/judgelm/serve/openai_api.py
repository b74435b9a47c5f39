"""OpenAI-protocol endpoints (/v1/models, /v1/completions, /v1/chat/completions).

A served generative judge answers any OpenAI client, including this project's ``openai``
engine: completions continue the raw prompt, chat continues the last user message as a raw
prompt (judge models are fine-tuned on raw prompts, not chat templates). Concurrent calls
with the same sampling parameters share one ``generate`` batch (the app's generation batcher).
Usage tokens and log-probabilities are returned in the protocol's shapes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from judgelm.serve.completions import Generation, GenTask


class _Base(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown OpenAI fields are accepted and ignored

    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    n: int = Field(default=1, ge=1, le=8)
    stop: str | list[str] | None = None
    stream: bool = False
    seed: int | None = None

    def stops(self) -> list[str] | None:
        return [self.stop] if isinstance(self.stop, str) else self.stop


class CompletionBody(_Base):
    prompt: str | list[str]
    logprobs: int | None = Field(default=None, ge=0, le=20)
    echo: bool = False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatBody(_Base):
    messages: list[ChatMessage] = Field(min_length=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    max_completion_tokens: int | None = Field(default=None, ge=1)


def _usage(gens: list[Generation], prompt_tokens: int) -> dict[str, int]:
    completion = sum(g.completion_tokens for g in gens)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}


def _completion_logprobs(g: Generation) -> dict[str, Any] | None:
    if g.logprobs is None:
        return None
    offsets, pos = [], 0
    for e in g.logprobs:
        offsets.append(pos)
        pos += len(e.token)
    return {
        "tokens": [e.token for e in g.logprobs],
        "token_logprobs": [e.logprob for e in g.logprobs],
        "top_logprobs": [dict(e.top) for e in g.logprobs],
        "text_offset": offsets,
    }


def _chat_logprobs(g: Generation) -> dict[str, Any] | None:
    if g.logprobs is None:
        return None
    return {"content": [
        {"token": e.token, "logprob": e.logprob, "bytes": list(e.raw or e.token.encode()),
         "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(raw or t.encode())}
                          for (t, lp), raw in zip(e.top, e.top_raw or [b""] * len(e.top))]}
        for e in g.logprobs
    ]}


def _sse(chunks: list[dict[str, Any]]) -> StreamingResponse:
    async def gen():
        for c in chunks:
            yield f"data: {json.dumps(c)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


Generate = Callable[[list[GenTask]], Awaitable[list[list[Generation]]]]


def build_router(generate: Generate | None, model_name: str, max_tokens_limit: int,
                 check: Callable[[str, int], str | None] | None = None) -> APIRouter:
    """The router; ``generate`` runs tasks (through the dynamic batcher), None for non-generative judges;
    ``check(prompt, max_tokens)`` says why a prompt does not fit the model's context."""
    router = APIRouter(prefix="/v1", tags=["openai"])

    def _too_long(prompts: list[str], max_tokens: int) -> JSONResponse | None:
        """OpenAI's answer to an over-long request: 400, code ``context_length_exceeded``."""
        for i, p in enumerate(prompts):
            why = check(p, max_tokens) if check is not None else None
            if why:
                where = f"prompt {i}: " if len(prompts) > 1 else ""
                return JSONResponse({"error": {"message": where + why, "type": "invalid_request_error",
                                               "param": "messages", "code": "context_length_exceeded"}},
                                    status_code=400)
        return None

    def _gen() -> Generate:
        if generate is None:
            raise HTTPException(400, f"judge {model_name!r} is not a generative model: "
                                     "the OpenAI-protocol endpoints need an hf: judge (use POST /v1/judge)")
        return generate

    def _max_tokens(requested: int | None, default: int = 16) -> int:
        value = requested or default
        if value > max_tokens_limit:
            raise HTTPException(422, f"max_tokens {value} exceeds the server limit of {max_tokens_limit} "
                                     "(server option --max-new-tokens-limit)")
        return value

    @router.get("/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": 0, "owned_by": "judgelm"}]}

    @router.post("/completions", response_model=None)
    async def completions(body: CompletionBody) -> JSONResponse | StreamingResponse:
        gen = _gen()
        max_tokens = _max_tokens(body.max_tokens)
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        if not prompts:
            raise HTTPException(422, "prompt is empty")
        if (refused := _too_long(prompts, max_tokens)) is not None:
            return refused
        choices, gens_all, prompt_tokens = [], [], 0
        params = dict(max_tokens=max_tokens, temperature=body.temperature, top_p=body.top_p, stop=body.stops(),
                      top_logprobs=body.logprobs, n=body.n, seed=body.seed)
        results = await gen([GenTask.make(p, **params) for p in prompts])
        for p, gens in zip(prompts, results):
            prompt_tokens += gens[0].prompt_tokens
            for g in gens:
                choices.append({"index": len(choices), "text": (p if body.echo else "") + g.text,
                                "logprobs": _completion_logprobs(g), "finish_reason": g.finish_reason})
            gens_all += gens
        resp = {"id": "cmpl-" + uuid.uuid4().hex, "object": "text_completion", "created": int(time.time()),
                "model": model_name, "choices": choices, "usage": _usage(gens_all, prompt_tokens)}
        if body.stream:
            return _sse([{**resp, "usage": None}, {**resp, "choices": [], "usage": resp["usage"]}])
        return JSONResponse(resp)

    @router.post("/chat/completions", response_model=None)
    async def chat(body: ChatBody) -> JSONResponse | StreamingResponse:
        gen = _gen()
        max_tokens = _max_tokens(body.max_completion_tokens or body.max_tokens)
        users = [m for m in body.messages if m.role == "user"]
        if not users:
            raise HTTPException(422, "messages: at least one message with role 'user' is required")
        prompt = users[-1].text()
        if (refused := _too_long([prompt], max_tokens)) is not None:
            return refused
        top = (body.top_logprobs or 0) if body.logprobs else None
        (gens,) = await gen([GenTask.make(prompt, max_tokens=max_tokens, temperature=body.temperature,
                                          top_p=body.top_p, stop=body.stops(), top_logprobs=top, n=body.n,
                                          seed=body.seed)])
        created, cid = int(time.time()), "chatcmpl-" + uuid.uuid4().hex
        usage = _usage(gens, gens[0].prompt_tokens)
        if body.stream:
            chunks = [{"id": cid, "object": "chat.completion.chunk", "created": created, "model": model_name,
                       "choices": [{"index": i, "delta": {"role": "assistant", "content": g.text},
                                    "logprobs": _chat_logprobs(g), "finish_reason": g.finish_reason}]}
                      for i, g in enumerate(gens)]
            chunks.append({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model_name,
                           "choices": [], "usage": usage})
            return _sse(chunks)
        return JSONResponse({
            "id": cid, "object": "chat.completion", "created": created, "model": model_name,
            "choices": [{"index": i, "message": {"role": "assistant", "content": g.text},
                         "logprobs": _chat_logprobs(g), "finish_reason": g.finish_reason}
                        for i, g in enumerate(gens)],
            "usage": usage,
        })

    return router

