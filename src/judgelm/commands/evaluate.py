"""``judgelm eval``: score a judge's predictions against gold labels.

Prints agreement, macro precision/recall/F1, Cohen's kappa with 95% bootstrap intervals, the
unparsed count and the trivial baselines on the same rows; with a swapped-order run also
consistency, position bias and PandaLM's two-run rule. ``--report DIR`` writes an HTML page.
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import EncodingOption, MapOption, SkipBadOption, echo_rejects

logger = logging.getLogger(__name__)


class Unparsed(str, Enum):
    """What an output without verdict counts as (judgelm.evaluation.metrics.UNPARSED_POLICIES)."""

    tie = "tie"
    drop = "drop"
    wrong = "wrong"


def _table(s: dict[str, Any]) -> None:
    """A rich summary table: judge, combined rule and baselines side by side."""
    from rich.console import Console
    from rich.table import Table

    def pct(x: float) -> str:
        return f"{100 * x:.2f}"

    table = Table(title=f"{s['judge']} on {s['n']} rows", title_justify="left")
    for col in ("", "agree", "95% CI", "prec", "recall", "F1", "95% CI", "κ"):
        table.add_column(col, justify="left" if not col else "right", no_wrap=True)
    ci = s["ci"]

    def interval(key: str) -> str:
        return f"{100 * ci[key][0]:.1f}–{100 * ci[key][1]:.1f}"

    table.add_row(
        "[bold]judge[/]", f"[bold]{pct(s['agreement'])}[/]", interval("agreement"),
        pct(s["precision"]), pct(s["recall"]), f"[bold]{pct(s['f1'])}[/]", interval("f1"), f"{s['kappa']:.2f}",
    )
    others = []
    if "pandalm_rule" in s:
        others.append(("two-run rule", s["pandalm_rule"]))
    others += [("longer wins", s["baselines"]["longer"]), ("majority", s["baselines"]["majority"])]
    for name, r in others:
        table.add_row(name, pct(r["agreement"]), "", pct(r["precision"]), pct(r["recall"]), pct(r["f1"]), "",
                      f"{r['kappa']:.2f}", style="dim" if name != "two-run rule" else None)
    console = Console()
    console.print(table)
    notes = [
        f"unparsed: {s['unparsed_count']} ({pct(s['unparsed'])}%, policy '{s['unparsed_policy']}')",
        f"gold rows without label dropped: {s['n_gold_dropped']}",
        f"gold rows without prediction: {s['missing']}",
    ]
    if "consistency" in s:
        notes.append(
            f"consistency {pct(s['consistency'])} · bias first {pct(s['bias_first'])} · bias second "
            f"{pct(s['bias_second'])} · delta {pct(s['delta_bias'])} ({s['n_swap']} pairs)"
        )
    if "reliability" in s:
        notes.append(f"confidence ECE {s['reliability']['ece']:.3f}")
    console.print("\n".join(notes), style="dim")


def main(
    gold: Annotated[Path, typer.Option("--gold", help="Labelled samples (any format judgelm reads).")],
    pred: Annotated[Path, typer.Option("--pred", help="Predictions: judgelm judgements JSONL, PandaLM recorded files or {id, verdict} JSONL. May hold both orders.")],
    pred_swapped: Annotated[Optional[Path], typer.Option("--pred-swapped", help="Predictions of the run with the answers swapped.")] = None,
    unparsed: Annotated[Unparsed, typer.Option("--unparsed", help="Unparsed outputs count as a tie (published convention), are dropped, or count as wrong.")] = Unparsed.tie,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write an HTML report to DIR/index.html.")] = None,
    gold_format: Annotated[Optional[str], typer.Option("--gold-format", help="Format of --gold (default: detected).")] = None,
    map_: MapOption = None,
    pred_format: Annotated[Optional[str], typer.Option("--pred-format", help="judgement, pandalm, gpt or verdicts (default: detected).")] = None,
    n_boot: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples for the 95% intervals.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    skip_bad: SkipBadOption = False,
    encoding: EncodingOption = "utf-8",
) -> None:
    """Score predictions against gold (matched by id): agreement, macro P/R/F1, kappa, baselines, bias."""
    from judgelm.data.errors import DataError
    from judgelm.data.intake import read_input, require_gold
    from judgelm.data.predictions import read_predictions
    from judgelm.evaluation.evaluate import evaluate
    try:
        intake = read_input(gold, gold_format, skip_bad=skip_bad, encoding=encoding, mapping=map_)
        samples = intake.samples
        require_gold(samples, gold, intake.formats)
        predictions = read_predictions(pred, fmt=pred_format, encoding=encoding)  # type: ignore[arg-type]
        swapped = (read_predictions(pred_swapped, fmt=pred_format, encoding=encoding)  # type: ignore[arg-type]
                   if pred_swapped else None)
        result = evaluate(samples, predictions, swapped, unparsed=unparsed.value, n_boot=n_boot, seed=seed)  # type: ignore[arg-type]
    except (DataError, ValueError) as exc:
        raise fail(exc, 2) from None
    result.summary = {"gold": str(gold), "pred": str(pred),
                      **({"pred_swapped": str(pred_swapped)} if pred_swapped else {}), **result.summary}
    if skip_bad:
        result.summary["gold_rejected"] = len(intake.rejects)
    echo_rejects(intake, report, folder=True, err=True)
    if report is not None:
        from judgelm.report import write_report

        path = write_report(result, report)
        result.summary["report"] = str(path)
    if as_json:
        typer.echo(json.dumps(result.summary, indent=2))
    else:
        _table(result.summary)
        if report is not None:
            typer.echo(f"report: {result.summary['report']}")
