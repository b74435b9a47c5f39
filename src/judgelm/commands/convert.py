"""``judgelm convert``: any supported data set → canonical judgelm JSONL (see docs/data.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import EncodingOption, MapOption

logger = logging.getLogger(__name__)


def _options(pairs: list[str]) -> dict[str, str]:
    opts: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r}: want KEY=VALUE", param_hint="--option")
        opts[key.strip().replace("-", "_")] = value
    return opts


def main(
    source: Annotated[str, typer.Argument(help="File, folder, or hf:DATASET_ID.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Canonical JSONL to write ('-' = stdout).")],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f",
        help="Input format (default: detected): judgelm, pandalm, alpaca_eval, llmbar, autoj, arena_bench, "
             "prometheus, mmvet, canonical, mapped.",
    )] = None,
    map_: MapOption = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip malformed rows, report each one.")] = False,
    limit: Annotated[Optional[int], typer.Option(help="Stop after N samples.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Hugging Face dataset split.")] = None,
    config: Annotated[Optional[str], typer.Option(help="Hugging Face dataset configuration.")] = None,
    predictions: Annotated[Optional[Path], typer.Option(help="MM-Vet: the model's predictions JSON.")] = None,
    option: Annotated[
        Optional[list[str]], typer.Option("--option", "-O", metavar="KEY=VALUE", help="Reader option KEY=VALUE (repeatable).")
    ] = None,
    skipped_report: Annotated[
        Optional[Path], typer.Option(help="Write every skipped row (file, line, field, reason) as JSONL here.")
    ] = None,
    encoding: EncodingOption = "utf-8",
) -> None:
    """Convert a judge data set into canonical judgelm JSONL."""
    from judgelm.data import DataError, read_samples, write_samples

    opts: dict[str, object] = dict(_options(option or []))
    for key, value in (("split", split), ("config", config), ("predictions", predictions)):
        if value is not None:
            opts[key] = str(value)
    try:
        stream = read_samples(source, fmt, mapping=map_, skip_bad=skip_bad, limit=limit, encoding=encoding, **opts)
        written = write_samples(stream, output)
    except (DataError, ValueError) as exc:
        raise fail(exc, 2) from None
    report = stream.report
    for err in report.skipped:
        typer.echo(f"skipped {err}", err=True)
    if skipped_report is not None:
        with skipped_report.open("w", encoding="utf-8") as fh:
            for err in report.skipped:
                fh.write(json.dumps(err.to_dict(), ensure_ascii=False) + "\n")
    dropped = sum(report.dropped.values())
    summary = f"read {report.rows} rows, wrote {written} samples, skipped {len(report.skipped)}"
    if dropped:
        summary += f", dropped {dropped} (" + "; ".join(f"{n} {why}" for why, n in report.dropped.items()) + ")"
    summary += f" -> {output}"
    typer.echo(summary, err=str(output) == "-")
