"""``judgelm render``: write the exact prompt a judge would read, one JSON object per sample.

So a user can see (and diff) byte for byte what JudgeLM or PandaLM is shown, in any mode and
answer order, before spending GPU time. Inputs are read in their native formats.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import (
    EncodingOption,
    MapOption,
    ModeChoice,
    SkipBadOption,
    echo_rejects,
)
from judgelm.judging.preview import render_records

log = logging.getLogger(__name__)


class TemplateChoice(str, Enum):
    judgelm = "judgelm"
    pandalm = "pandalm"
    prometheus_absolute = "prometheus-absolute"
    prometheus_relative = "prometheus-relative"


def write_jsonl(records: Iterable[dict[str, Any]], out: str) -> int:
    """Write JSONL to ``out`` ("-" = stdout); a file appears only once every record rendered."""
    from judgelm.storage import write_jsonl_atomic

    lines = (json.dumps(rec, ensure_ascii=False) for rec in records)
    if out == "-":
        n = 0
        for line in lines:
            sys.stdout.write(line + "\n")
            n += 1
        return n
    rendered = list(lines)  # rendering errors surface before the file is touched
    write_jsonl_atomic(out, rendered)
    return len(rendered)


def _reader_options(pairs: list[str]) -> dict[str, str]:
    opts = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--opt")
        opts[key] = value
    return opts


def main(
    input: Annotated[str, typer.Argument(help="Samples: JudgeLM JSONL, PandaLM JSON, … (any format judgelm reads).")],
    template: Annotated[TemplateChoice, typer.Option("--template", "-t", help="Judge prompt template.")]
    = TemplateChoice.judgelm,
    mode: Annotated[Optional[ModeChoice], typer.Option(
        "--mode", "-m", help="Default: single for 1 answer, pair for 2, multi beyond (vqa for MM-Vet input).",
    )] = None,
    reference: Annotated[bool, typer.Option("--reference", help="Show the reference answer (JudgeLM).")] = False,
    swap: Annotated[bool, typer.Option(
        "--swap", help="Also write each prompt with the answer order reversed (not in single/vqa grading).")] = False,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Input format name (default: detect).")] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        "--option", "-O", metavar="KEY=VALUE", help="Reader option KEY=VALUE, repeatable (e.g. predictions=preds.json for MM-Vet), "
                               "as in convert.")] = None,
    opt: Annotated[Optional[list[str]], typer.Option("--opt", hidden=True, help="Former name of --option.")] = None,
    map_: MapOption = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Render only the first N samples.")] = None,
    skip_bad: SkipBadOption = False,
    encoding: EncodingOption = "utf-8",
    output: Annotated[str, typer.Option("--output", "-o", help="Output JSONL ('-' = stdout).")] = "-",
    rubric: Annotated[Optional[list[str]], typer.Option(
        "--rubric", help="Rubric file (YAML/JSON), repeatable, for the prometheus-* templates (default: the samples' "
                         "own rubric); implies prometheus-absolute.")] = None,
) -> None:
    """Write the exact prompt each sample gives a judge: {id, template, mode, order, reference, prompt} per line."""
    from judgelm.data.errors import DataError
    from judgelm.data.intake import read_input
    from judgelm.prompts import MODES

    from judgelm.prompts.prometheus import is_rubric_template, resolve_template
    from judgelm.prompts.rubric import RubricError, load_rubrics

    try:
        rubric_obj = load_rubrics(list(rubric)) if rubric else None
    except RubricError as exc:
        raise fail(exc, 2) from None
    t = resolve_template(template.value, rubric_obj)
    m = mode.value if mode is not None else None
    if is_rubric_template(t):
        if m is not None:
            raise typer.BadParameter(f"{t} fixes its mode (absolute grades 1 answer, relative compares 2)",
                                     param_hint="--mode")
    elif m is not None and m not in MODES[t]:
        raise typer.BadParameter(f"template {t!r} supports {', '.join(MODES[t])}", param_hint="--mode")
    if reference and t == "pandalm":
        raise typer.BadParameter("the PandaLM template has no reference block", param_hint="--reference")
    try:
        intake = read_input(input, format, skip_bad=skip_bad, limit=limit, encoding=encoding, mapping=map_,
                            **_reader_options([*(opt or []), *(option or [])]))
    except (DataError, ValueError) as exc:  # the input itself is bad: nothing rendered
        raise fail(exc, 2) from None
    try:
        n = write_jsonl(render_records(intake.samples, input, t, m, reference, swap, rubric_obj), output)
    except (DataError, ValueError) as exc:  # a sample does not fit the template / mode
        raise fail(exc) from None
    echo_rejects(intake, output, err=True)
    log.info("rendered %d prompt(s) with template %s to %s", n, t, output)
