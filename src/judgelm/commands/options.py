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
    """The CLI options that concern engine ``kind`` — those its class declares
    (:attr:`judgelm.engines.base.Engine.cli_options`) — unset ones left to the engine's defaults."""
    from judgelm.engines import engine_class

    wanted = engine_class(kind).cli_options
    return {k: v for k, v in opts.items() if k in wanted and v is not None}


def checked_spec(spec: str, flag: str = "--judge") -> tuple[str, str]:
    """``(kind, target)`` of a judge spec that can work here; else one ``Error:`` line naming the value
    and the nearest valid ones, offline, in well under a second (judgelm.engines.specs)."""
    from judgelm.engines.specs import SpecError, check_spec

    try:
        return check_spec(spec)
    except SpecError as exc:
        raise fail(f"{flag}: {exc}", 2) from None


def checked_template(name: str, flag: str = "--template") -> str:
    """A known prompt template, else one ``Error:`` line with the nearest names."""
    from judgelm.engines.specs import nearest
    from judgelm.prompts.prometheus import RUBRIC_TEMPLATES
    from judgelm.prompts.render import TEMPLATES

    known = [*TEMPLATES, *RUBRIC_TEMPLATES]
    if name not in known:
        raise fail(f"{flag}: unknown template {name!r}{nearest(name, known)}; known: {', '.join(known)}", 2)
    return name


def parse_option_pairs(pairs: list[str], flag: str = "--option") -> dict[str, Any]:
    """``KEY=VALUE`` pairs (``-O``, repeatable) → a dict; values that read as JSON (numbers,
    true/false, lists) are parsed, others kept as text; ``-`` in keys becomes ``_``."""
    import json

    opts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r}: want KEY=VALUE", param_hint=flag)
        try:
            opts[key.strip().replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            opts[key.strip().replace("-", "_")] = value
    return opts


EngineOptionOption = Annotated[Optional[list[str]], typer.Option(
    "--option", "-O", metavar="KEY=VALUE", help="Engine option KEY=VALUE, repeatable (docs/engines.md lists each engine's), "
                           "e.g. -O batch_invariant=false, -O tensor_parallel_size=2.")]


def parse_engine_opts(pairs: list[str] | None, flag: str = "--option") -> dict[str, Any]:
    """``KEY=VALUE`` engine options (``-O``/``--option``; ``--engine-opt`` is its former name)."""
    return parse_option_pairs(list(pairs or []), flag)


EngineOptOption = Annotated[Optional[list[str]], typer.Option(
    "--engine-opt", hidden=True, metavar="KEY=VALUE", help="Former name of -O/--option.")]


def default_judge_missing(exc: Exception) -> typer.Exit:
    what = f"{exc.name} missing" if isinstance(exc, ModuleNotFoundError) else str(exc)
    return fail(
        f"the built-in judge is not available in this installation ({what}): "
        "pass --judge, e.g. --judge hf:BAAI/JudgeLM-7B-v1.0 or --judge openai:gpt-4o"
    )


#: engine dtypes (judgelm.models.dtype.resolve_dtype): auto = bf16 on GPUs, the CPU dtype rule on CPUs
DTYPES = ("auto", "bfloat16", "float32", "float16", "bf16", "fp32", "fp16")


def _check_dtype(value: str | None) -> str | None:
    if value is not None and value not in DTYPES:
        from judgelm.engines.specs import nearest

        raise typer.BadParameter(f"{value!r}{nearest(value, list(DTYPES))}; choose from {', '.join(DTYPES[:4])}")
    return value


DtypeOption = Annotated[Optional[str], typer.Option(
    "--dtype", callback=_check_dtype, metavar="auto|bfloat16|float32|float16",
    help="Model dtype (hf, smol, vllm engines): auto = bfloat16 on GPUs; on a CPU bfloat16 only with native bf16 "
         "matmul, else float32 (`judgelm doctor` says which); float16 on GPUs only. [default: auto]")]
DeviceOption = Annotated[Optional[str], typer.Option(
    "--device", metavar="auto|cpu|cuda[:N]", help="Device of hf engines (auto: cuda if available). [default: auto]")]

SkipBadOption = Annotated[bool, typer.Option(
    "--skip-bad", help="Process the good rows of an input with a few bad ones; every bad row is named "
                       "(file:line: field: cause) in the summary and written to *.rejected.jsonl beside the "
                       "output. Without it the first bad row stops the run before any work.")]
def _check_map(value: str | None) -> str | None:
    """``--map`` is checked when the flags are parsed (judgelm.data.mapping.parse_mapping, the one parser)."""
    if value is not None:
        from judgelm.data.mapping import parse_mapping

        try:
            parse_mapping(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


MapOption = Annotated[Optional[str], typer.Option(
    "--map", callback=_check_map, metavar="'TARGET=COLUMN,…'",
    help="Column mapping for files of no known format (CSV, TSV, JSON, JSONL, Parquet, hf:DATASET), quoted: "
         "--map 'question=prompt,answers=resp_a|resp_b,gold=winner' (docs/data.md#column-mapping).")]
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
