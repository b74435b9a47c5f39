"""What several commands share: choices, engine options drawn from CLI flags, the missing-judge message."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from judgelm.commands.errors import fail


class ModeChoice(str, Enum):
    pair = "pair"
    single = "single"
    multi = "multi"
    vqa = "vqa"


class ApiChoice(str, Enum):
    chat = "chat"
    completions = "completions"


def engine_options(kind: str, **opts: Any) -> dict[str, Any]:
    """The CLI options that concern engine ``kind`` (unset ones left to the engine's defaults)."""
    per_kind = {
        "openai": ("api_base", "api_key_env", "api", "concurrency", "timeout_s", "max_retries", "budget_usd",
                   "price_in", "price_out"),
        "hf": ("dtype", "device"),
        "smol": ("dtype", "device"),
        "lm": ("dtype", "device"),
        "vllm": ("dtype",),
    }
    return {k: v for k, v in opts.items() if k in per_kind.get(kind, ()) and v is not None}


def parse_engine_opts(pairs: list[str] | None, flag: str = "--engine-opt") -> dict[str, Any]:
    """``KEY=VALUE`` engine options; a value is read as JSON where it is JSON (numbers, true/false,
    null), else kept as text: ``enforce_eager=false`` → False, ``kv_cache_space=2`` → 2, ``dtype=float32``."""
    import json

    opts: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint=flag)
        try:
            opts[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            opts[key.strip()] = value
    return opts


EngineOptOption = Annotated[Optional[list[str]], typer.Option(
    "--engine-opt", help="Engine option KEY=VALUE, repeatable, passed to the engine's constructor (docs/engines.md), "
                         "e.g. --engine-opt max_model_len=4096 --engine-opt enable_prefix_caching=false (vllm).")]


def default_judge_missing(exc: Exception) -> typer.Exit:
    what = f"{exc.name} missing" if isinstance(exc, ModuleNotFoundError) else str(exc)
    return fail(
        f"the built-in judge is not available in this installation ({what}): "
        "pass --judge, e.g. --judge hf:BAAI/JudgeLM-7B-v1.0 or --judge openai:gpt-4o"
    )


SkipBadOption = Annotated[bool, typer.Option(
    "--skip-bad", help="Process the good rows of an input with a few bad ones; every bad row is named "
                       "(file:line: field: cause) in the summary and written to *.rejected.jsonl beside the "
                       "output. Without it the first bad row stops the run before any work.")]
EncodingOption = Annotated[str, typer.Option(
    "--encoding", help="Text encoding of the input files (gzip is unpacked; a UTF-8 BOM is ignored), "
                       "e.g. latin-1, cp1252, utf-16.")]


def echo_rejects(intake: Any, output: str | Path | None, *, folder: bool = False, err: bool = False) -> None:
    """Write the rejected rows beside ``output`` and name them in the command's summary."""
    from judgelm.data.rejected import SHOWN, rejected_path

    path = rejected_path(output, folder=folder) if output is not None else None
    written = intake.rejects.write(path)
    shown = SHOWN if written is not None else len(intake.rejects)  # nowhere else to find them: name all
    for line in intake.rejects.summary(written, shown=shown):
        typer.echo(line, err=err)
