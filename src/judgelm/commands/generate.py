"""``judgelm generate``: a model's answers to a prompt file → JudgeLM answer file (resumable)."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Optional

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import DeviceOption, DtypeOption, checked_spec

log = logging.getLogger(__name__)


def main(
    prompts: Annotated[str, typer.Argument(help="Prompt file: MT-bench/arena/Vicuna question.jsonl ({question_id, "
                                                "turns}) or rows with question_body / instruction / prompt.")],
    model: Annotated[str, typer.Option("--model", "-m", help="hf:PATH_OR_ID | openai:MODEL | vllm:ID")],
    output: Annotated[str, typer.Option("--output", "-o", help="Answer file to write (JSONL).")],
    name: Annotated[Optional[str], typer.Option("--name", help="Model name recorded in the answers "
                                                "(default: the spec).")] = None,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, help="0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option("--top-p", min=0.0, max=1.0)] = 1.0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 512,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    system_prompt: Annotated[Optional[str], typer.Option("--system-prompt", help="A system message before "
                                                          "each conversation.")] = None,
    chat_template: Annotated[Optional[str], typer.Option(
        "--chat-template", help="auto (the tokenizer's own) | none (raw prompt) | a Jinja file (hf, vllm).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Prompts per batch/commit.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N prompts.")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Forget the run state and start over.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="OpenAI-compatible base URL.")] = None,
    api_key_env: Annotated[Optional[str], typer.Option("--api-key-env", help="Env variable with the key "
                                                       "(OPENAI_API_KEY).")] = None,
    api: Annotated[Optional[str], typer.Option("--api", help="chat (server applies the model's template) | "
                                               "completions (raw prompt)")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1)] = None,
    max_retries: Annotated[Optional[int], typer.Option("--max-retries", min=0)] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds per API call.")] = None,
    budget_usd: Annotated[Optional[float], typer.Option("--budget-usd", help="Hard spending cap for this run.")] = None,
    price_in: Annotated[Optional[float], typer.Option("--price-in", help="USD per 1M prompt tokens.")] = None,
    price_out: Annotated[Optional[float], typer.Option("--price-out", help="USD per 1M completion tokens.")] = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
) -> None:
    """Answer every prompt of PROMPTS with MODEL and write a JudgeLM answer file (question_id, question_body,
    text, model, decoding_method, sampling settings). Killed? Run the same command again."""
    from judgelm.build.generate import load_prompts, run_generate
    from judgelm.data.errors import DataError
    from judgelm.build.generators import Sampling, load_generator

    for noisy in ("httpx", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        items = load_prompts(prompts)
    except DataError as exc:
        raise fail(str(exc)) from None
    if limit:
        items = items[:limit]
    if model.partition(":")[0] in ("hf", "vllm", "openai"):  # the same offline check as a judge spec
        checked_spec(model, "--model")
    try:
        gen = load_generator(model, api_base=api_base, api_key_env=api_key_env, api=api, concurrency=concurrency,
                             max_retries=max_retries, timeout_s=timeout, budget_usd=budget_usd, price_in=price_in,
                             price_out=price_out, dtype=dtype, device=device, chat_template=chat_template,
                             batch_size=batch_size)
    except ValueError as exc:
        raise fail(f"--model {model}: {exc}") from None
    try:
        s = run_generate(items, gen, output, sampling=Sampling(temperature, top_p, max_new_tokens, seed),
                         model_name=name, batch_size=batch_size, resume=not restart, progress=progress,
                         system_prompt=system_prompt)
    finally:
        gen.close()
    typer.echo(json.dumps(s.to_dict(), indent=1))
    if s.errors > s.budget_exhausted:  # a budget stop is a clean, resumable stop; other failures are not
        raise typer.Exit(1)
