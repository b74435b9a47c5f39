"""What several commands share: choices, engine options drawn from CLI flags, the missing-judge message."""

from __future__ import annotations

from enum import Enum
from typing import Any

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
        "vllm": ("dtype",),
    }
    return {k: v for k, v in opts.items() if k in per_kind.get(kind, ()) and v is not None}


def default_judge_missing(exc: Exception) -> typer.Exit:
    what = f"{exc.name} missing" if isinstance(exc, ModuleNotFoundError) else str(exc)
    return fail(
        f"the built-in judge is not available in this installation ({what}): "
        "pass --judge, e.g. --judge hf:BAAI/JudgeLM-7B-v1.0 or --judge openai:gpt-4o"
    )
