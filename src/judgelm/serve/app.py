"""The FastAPI application: judge API, durable jobs, OpenAI protocol, health, metrics, UI.

``create_app(engine, settings)`` wires the pieces around one loaded engine: a dynamic
batcher in front of ``engine.judge_batch``, a SQLite job store with its worker thread, and
the protections in :mod:`judgelm.serve.security`. Nothing here reads or writes a path a
request names: the only files are the job database chosen at start-up and private
temporary files for uploads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    StreamingResponse,
)
from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgelm.data.errors import DataError
from judgelm.engines.base import CONTEXT_EXCEEDED, Engine
from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Answer, Sample, Turn
from judgelm.serve.batcher import DynamicBatcher, QueueFull
from judgelm.serve.completions import Generation, GenTask, HFGenerator, find_model
from judgelm.serve.jobs import JobStore, JobWorker
from judgelm.serve.openai_api import build_router
from judgelm.serve.security import APIKeyMiddleware, BodyLimitMiddleware
from judgelm.serve.service import JudgeService, summarize
from judgelm.prompts.prometheus import resolve_template
from judgelm.prompts.rubric import RubricError, rubric_from_dict
from judgelm.serve.settings import ServeSettings
from judgelm.serve.telemetry import ServerMetrics
from judgelm.serve.uploads import parse_upload, upload_stem

logger = logging.getLogger(__name__)


class JudgeBody(BaseModel):
    """POST /v1/judge: a sample (flat fields, or a canonical ``sample``) and judging options."""

    model_config = ConfigDict(extra="forbid")
    sample: Sample | None = None
    id: str = "request"
    question: str | None = None
    answers: list[str | Answer] = Field(default_factory=list)
    reference: str | None = None
    input: str | None = None
    history: list[Turn] = Field(default_factory=list)
    mode: Literal["pair", "single", "multi", "vqa"] | None = None
    template: Literal["judgelm", "pandalm", "prometheus-absolute", "prometheus-relative"] | None = None
    rubric: dict[str, Any] | None = Field(default=None, description="a rubric, as in a rubric file (criteria, scale, "
                                          "levels, reference): one grade per criterion (prometheus-* templates)")
    use_reference: bool | None = Field(default=None, description="show the reference (default: when one is given)")
    both_orders: bool = Field(default=JudgeSettings.both_orders, description="judge both answer orders "
                              "(judgelm judge --swap)")
    fast: bool | None = Field(default=None, description="scores only, no explanation (default: the server's, "
                              "judgelm serve --fast/--explain, itself the JudgeSettings default: true)")
    max_new_tokens: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _sample_id_optional(cls, data: Any) -> Any:
        """``sample`` takes the one sample shape (docs/formats.md): its id is optional here too."""
        if isinstance(data, dict) and isinstance(data.get("sample"), dict) and data["sample"].get("id") in (None, ""):
            data = {**data, "sample": {**data["sample"], "id": data.get("id", "request")}}
        return data

    def to_sample(self) -> Sample:
        if self.sample is not None:
            return self.sample
        if self.question is None or not self.answers:
            raise HTTPException(422, "give either 'sample' or 'question' and 'answers'")
        answers = [a if isinstance(a, Answer) else Answer(text=a) for a in self.answers]
        return Sample(id=self.id, question=self.question, answers=answers, reference=self.reference,
                      input=self.input, history=self.history)


def request_settings(server: ServeSettings, body: JudgeBody | None = None, **query: Any) -> JudgeSettings:
    """The :class:`JudgeSettings` of one request: the body's fields (``/v1/judge``) or the query's (``/v1/jobs``,
    the UI) over the server's defaults (``judgelm serve --template/--fast/--max-new-tokens``, themselves
    JudgeSettings' defaults unless the operator changed them). HTTP 422 names what cannot work."""
    src: dict[str, Any] = dict(query)
    rubric = None
    if body is not None:
        src.update(template=body.template, mode=body.mode, both_orders=body.both_orders, fast=body.fast,
                   max_new_tokens=body.max_new_tokens,
                   reference=body.use_reference if body.use_reference is not None
                   else (body.to_sample().reference is not None))
        if body.rubric is not None:
            try:
                rubric = rubric_from_dict(body.rubric, source="rubric")
            except RubricError as exc:
                raise HTTPException(422, str(exc)) from None
    template = resolve_template(src.get("template") or (None if rubric else server.template), rubric)
    max_new = src.get("max_new_tokens") or server.max_new_tokens
    if max_new and max_new > server.max_new_tokens_limit:
        raise HTTPException(422, f"max_new_tokens {max_new} exceeds the server limit of "
                                 f"{server.max_new_tokens_limit} (server option --max-new-tokens-limit)")
    return JudgeSettings(
        template=template, mode=src.get("mode"), rubric=rubric,
        reference=bool(src.get("reference")), both_orders=bool(src.get("both_orders")),
        fast=server.fast if src.get("fast") is None else bool(src["fast"]), max_new_tokens=max_new,
    )


def _route_label(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    path = scope.get("path", "")
    return "/ui" if path.startswith("/ui") else "other"


class _MetricsMiddleware:
    """Counts requests and observes latency per route template (bounded label set)."""

    def __init__(self, app: Any, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                status["code"] = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_label(scope)
            self.metrics.requests.inc(method=scope.get("method", ""), route=route, code=str(status["code"]))
            self.metrics.latency.observe(time.perf_counter() - started, route=route)


def create_app(engine: Engine, settings: ServeSettings | None = None) -> FastAPI:
    """The server around an already loaded ``engine``."""
    settings = settings or ServeSettings()
    engine_lock = threading.Lock()
    judge_name = getattr(engine, "name", "engine")
    model_name = settings.model_name or judge_name
    holder: dict[str, Any] = {}

    metrics = ServerMetrics(queue_depth=lambda: sum(b.depth for k, b in holder.items() if k.endswith("batcher")),
                            jobs_active=lambda: holder["store"].active_count() if "store" in holder else 0)
    batcher = DynamicBatcher(
        engine, max_batch=settings.max_batch, max_wait_s=settings.batch_wait_ms / 1000, max_queue=settings.max_queue,
        delay_s=settings.batch_delay_s, engine_lock=engine_lock,
        on_batch=lambda n, _s: metrics.batches.observe(n),
    )
    store = JobStore(settings.jobs_db)
    service = JudgeService(batcher, judge_name)

    def count(judgements: list[Any], source: str) -> None:
        for j in judgements:
            metrics.samples.inc(source=source, status=j.status.value)

    worker = JobWorker(store, service, chunk=settings.job_chunk or batcher.max_batch,
                       on_judged=lambda js: count(js, "job"))
    holder.update(batcher=batcher, store=store, service=service, worker=worker)

    found = find_model(engine)
    gen_batcher: DynamicBatcher | None = None
    if found is not None:  # a causal LM: the OpenAI endpoints continue raw prompts, batched like judging
        hf_generator = HFGenerator(*found)
        gen_batcher = DynamicBatcher(None, run=hf_generator.run_tasks, max_batch=settings.max_batch or 32,
                                     max_wait_s=settings.batch_wait_ms / 1000, max_queue=settings.max_queue,
                                     engine_lock=engine_lock, name="generate")
        holder["gen_batcher"] = gen_batcher

    async def generate(tasks: list[GenTask]) -> list[list[Generation]]:
        assert gen_batcher is not None
        futures = gen_batcher.submit(tasks)
        return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker.start()
        logger.info("judge %s ready (max batch %d, queue %d, jobs %s)", judge_name, batcher.max_batch,
                    settings.max_queue, settings.jobs_db)
        yield
        worker.stop()
        batcher.close()
        if gen_batcher is not None:
            gen_batcher.close()

    app = FastAPI(title="judgelm", version="0.1.0", lifespan=lifespan,
                  description="Judge API, durable batch jobs and OpenAI-compatible generation for LLM judges.")
    app.state.engine = engine
    app.state.settings = settings
    app.state.batcher = batcher
    app.state.store = store
    app.state.service = service
    app.state.metrics = metrics

    def options(body: JudgeBody | None = None, **query: Any) -> JudgeSettings:
        return request_settings(settings, body, **query)

    def check_sample(sample: Sample, where: str = "answers") -> None:
        if len(sample.answers) > settings.max_answers:
            raise HTTPException(422, f"{where}: {len(sample.answers)} answers exceed the limit of "
                                     f"{settings.max_answers} per sample (server option --max-answers)")

    @app.exception_handler(QueueFull)
    async def _queue_full(_: Request, exc: QueueFull) -> JSONResponse:
        metrics.rejected.inc(reason="queue_full")
        return JSONResponse({"error": {"message": str(exc), "type": "queue_full", "code": 429}}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(DataError)
    async def _bad_data(_: Request, exc: DataError) -> JSONResponse:
        return JSONResponse({"error": {"message": str(exc), "type": "invalid_data", "code": 422, **exc.to_dict()}},
                            status_code=422)

    @app.get("/", include_in_schema=False)
    async def index() -> Any:
        return RedirectResponse("/ui/" if settings.ui else "/docs")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "judge": judge_name, "queue_depth": batcher.depth,
                "max_queue": settings.max_queue, "generative": gen_batcher is not None}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.post("/v1/judge")
    async def judge(body: JudgeBody) -> dict[str, Any]:
        """Judge one sample (any mode); both presentation orders when ``both_orders`` is set."""
        sample = body.to_sample()
        check_sample(sample)
        judge_settings = options(body)
        try:
            judgements = await service.judge_async(sample, judge_settings)
        except QueueFull:
            raise
        except (ValueError, KeyError) as exc:  # the sample does not fit the template/mode
            raise HTTPException(422, f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:  # the engine failed: say why instead of a bare 500
            logger.exception("judging %s failed", sample.id)
            raise HTTPException(500, f"engine failure: {type(exc).__name__}: {exc}") from None
        count(judgements, "api")
        overflow = [j.error for j in judgements if j.error and j.error.startswith(CONTEXT_EXCEEDED)]
        if overflow and len(overflow) == len(judgements):
            return JSONResponse({"error": {"message": overflow[0], "type": "invalid_request_error",  # type: ignore[return-value]
                                           "code": "context_length_exceeded"}}, status_code=400)
        return {**summarize(judgements), "options": judge_settings.to_dict(),
                "judgements": [j.model_dump(mode="json") for j in judgements]}

    @app.post("/v1/jobs", status_code=201)
    async def create_job(request: Request,
                         template: Literal["judgelm", "pandalm", "prometheus-absolute", "prometheus-relative"] | None = None,
                         mode: Literal["pair", "single", "multi", "vqa"] | None = None,
                         reference: bool = JudgeSettings.reference, both_orders: bool = JudgeSettings.both_orders,
                         fast: bool | None = None, max_new_tokens: int | None = None,
                         format: str | None = None, name: str | None = None,
                         skip_bad: bool = False, map: str | None = None) -> dict[str, Any]:
        """A body (or a multipart ``file`` upload) in any format ``judgelm judge`` reads — JSON array, JSONL,
        CSV, every reader format, ``map`` = a column mapping — becomes a durable job; options are query
        parameters. ``skip_bad``: bad rows are left out and listed under ``rejected`` (file:line: field: cause)."""
        job_settings = options(template=template, mode=mode, reference=reference, both_orders=both_orders, fast=fast,
                               max_new_tokens=max_new_tokens)
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise HTTPException(422, "multipart upload needs a file field named 'file'")
            data, filename = await upload.read(), upload.filename or "upload.jsonl"
            stem = upload_stem(filename)
        else:  # a bare body: ids derive from the job's name when one is given
            data, filename = await request.body(), "request body"
            stem = upload_stem(name)
        rejected: list[Any] = []
        try:
            samples = await anyio.to_thread.run_sync(
                lambda: parse_upload(data, filename, format, skip_bad, rejected, mapping=map, stem=stem, content_type=ctype))
        except DataError:
            raise  # answered by the invalid_data handler: names the upload, line and field
        except ValueError as exc:  # an unknown format, a bad column mapping, a mapping with another format
            raise HTTPException(422, f"{filename}: {exc}") from None
        if not samples:
            raise HTTPException(422, f"{filename}: no samples")
        if len(samples) > settings.max_job_samples:
            raise HTTPException(413, f"{filename}: {len(samples)} samples exceed the limit of "
                                     f"{settings.max_job_samples} per job (server option --max-job-samples)")
        for i, s in enumerate(samples):
            check_sample(s, where=f"{filename}: sample {i + 1} (id {s.id!r})")
        job_id = await anyio.to_thread.run_sync(lambda: store.create(samples, job_settings, name or filename))
        worker.wake()
        logger.info("job %s created: %d samples", job_id, len(samples))
        job = store.get(job_id) or {}
        return {**job, "rejected": [str(e) for e in rejected]} if skip_bad else job

    @app.get("/v1/jobs")
    async def list_jobs(limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
        return {"jobs": await anyio.to_thread.run_sync(lambda: store.list(limit))}

    def _job(job_id: str) -> dict[str, Any]:
        job = store.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    @app.get("/v1/jobs/{job_id}")
    async def get_job(job_id: str) -> dict[str, Any]:
        return _job(job_id)

    @app.delete("/v1/jobs/{job_id}")
    async def cancel_job(job_id: str) -> dict[str, Any]:
        _job(job_id)
        store.set_status(job_id, "cancelled")
        return _job(job_id)

    @app.get("/v1/jobs/{job_id}/results")
    async def job_results(job_id: str) -> StreamingResponse:
        """The judgements finished so far, one JSON object per line, in sample order."""
        job = _job(job_id)

        def lines() -> Iterator[str]:
            import json

            for j in store.results(job_id):
                yield json.dumps(j) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson",
                                 headers={"X-Job-Status": job["status"], "X-Job-Done": str(job["done"]),
                                          "X-Job-Total": str(job["total"]),
                                          "Content-Disposition": f'attachment; filename="{job_id}.jsonl"'})

    app.include_router(build_router(generate if gen_batcher is not None else None, model_name,
                                    settings.max_new_tokens_limit,
                                    check=hf_generator.context_overflow if found is not None else None))

    if settings.ui:
        from judgelm.serve.ui import mount_ui

        mount_ui(app, service, store, worker, settings, options)

    # outermost last: metrics see every response, limits and keys run before any parsing
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes,
                       limits={"/v1/jobs": (settings.max_upload_bytes, "--max-upload-bytes"),
                               "/ui/gradio_api/upload": (settings.max_upload_bytes, "--max-upload-bytes")},
                       default_option="--max-body-bytes")
    app.add_middleware(APIKeyMiddleware, keys=settings.api_keys, open_prefixes=("/ui",))
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"])
    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    return app
