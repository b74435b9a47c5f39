"""``judgelm serve``: load a judge once and serve the HTTP API, batch jobs and the web UI."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer

from judgelm.commands.options import checked_spec, checked_template, parse_option_pairs

logger = logging.getLogger(__name__)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(
    judge: Annotated[str, typer.Option("--judge", "-j", help="Judge SPEC: mini | hf:PATH_OR_ID | vllm:ID | openai:MODEL")]
    = "mini",
    host: Annotated[str, typer.Option(help="Bind address (loopback by default; 0.0.0.0 exposes the server)")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    api_key: Annotated[list[str], typer.Option("--api-key", help="Accepted API key (repeatable); "
                                                "default: $JUDGELM_API_KEYS, comma-separated; none = open")] = [],
    template: Annotated[str, typer.Option(help="Default prompt template: judgelm | pandalm")] = "judgelm",
    fast: Annotated[bool, typer.Option("--fast/--explain", help="Default for requests that do not say: scores only "
                                       "(the one judging default, as judgelm judge), or with explanation")] = True,
    max_new_tokens: Annotated[int | None, typer.Option(help="Default generation length per judgement")] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Largest JSON request body (413 above)")] = 1_000_000,
    max_upload_bytes: Annotated[int, typer.Option(help="Largest job upload (413 above)")] = 50_000_000,
    max_answers: Annotated[int, typer.Option(help="Most answers in one sample (422 above)")] = 10,
    max_job_samples: Annotated[int, typer.Option(help="Most samples in one job (413 above)")] = 100_000,
    max_new_tokens_limit: Annotated[int, typer.Option(help="Largest max_new_tokens/max_tokens a request may ask")]
    = 2048,
    max_queue: Annotated[int, typer.Option(help="Judge prompts that may wait; more get 429 + Retry-After")] = 256,
    max_batch: Annotated[int, typer.Option(help="Prompts per engine call (0 = the engine's preferred size)")] = 0,
    batch_wait_ms: Annotated[float, typer.Option(help="How long to wait for more prompts to fill a batch")] = 5.0,
    batch_delay_s: Annotated[float, typer.Option(help="Testing: sleep before every engine call", hidden=True)] = 0.0,
    jobs_db: Annotated[Path, typer.Option(help="SQLite file holding batch jobs (share it only across restarts)")]
    = Path("judgelm-jobs.sqlite"),
    job_chunk: Annotated[int, typer.Option(help="Samples per job step (0 = max batch)")] = 0,
    cors_origin: Annotated[list[str], typer.Option("--cors-origin", help="Allowed CORS origin (repeatable); "
                                                   "default: CORS off")] = [],
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Mount the gradio web UI under /ui")] = True,
    model_name: Annotated[str | None, typer.Option(help="Model id reported by /v1/models (default: the judge spec)")]
    = None,
    option: Annotated[list[str], typer.Option("--option", "-O", metavar="KEY=VALUE", help="Engine option KEY=VALUE, repeatable "
                                              "(docs/engines.md), e.g. -O dtype=bfloat16")] = [],
    engine_opt: Annotated[list[str], typer.Option("--engine-opt", hidden=True, help="Former name of --option.")] = [],
) -> None:
    """Serve a judge over HTTP: /v1/judge, /v1/jobs, OpenAI /v1/chat/completions, /healthz, /metrics, /ui."""
    import uvicorn

    from judgelm.engines import load_engine
    from judgelm.serve.app import create_app
    from judgelm.serve.settings import ServeSettings

    keys = list(api_key) or ServeSettings.keys_from_env()
    if not _is_loopback(host) and not keys:
        logger.warning("binding to %s without API keys: anyone who can reach this port can use the judge", host)
    settings = ServeSettings(
        host=host, port=port, api_keys=keys, template=template, fast=fast, max_new_tokens=max_new_tokens,
        max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes, max_answers=max_answers,
        max_job_samples=max_job_samples, max_new_tokens_limit=max_new_tokens_limit, max_queue=max_queue,
        max_batch=max_batch, batch_wait_ms=batch_wait_ms, batch_delay_s=batch_delay_s, jobs_db=jobs_db,
        job_chunk=job_chunk, cors_origins=list(cors_origin), ui=ui, model_name=model_name,
    )
    checked_spec(judge)
    checked_template(template)
    logger.info("loading judge %s", judge)
    engine = load_engine(judge, **parse_option_pairs([*engine_opt, *option]))
    app = create_app(engine, settings)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    typer.echo(f"serving {judge} at {url}  (API {url}/docs" + (f", web UI {url}/ui/" if ui else "") + "); Ctrl-C stops")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=10)
    finally:
        engine.close()
