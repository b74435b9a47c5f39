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


def _grades(gold: Path, pred: Path, samples: list[Any], pred_format: str | None, encoding: str, as_json: bool,
            report: Path | None) -> None:
    """``judgelm eval`` on graded gold: per-criterion correlations, the length baseline and the ceiling."""
    from judgelm.data.predictions import read_predictions
    from judgelm.evaluation.grades import evaluate_grades

    if report is not None:
        raise fail("--report draws pairwise figures; grade evaluation prints its table (or --json)", 2)
    predictions = read_predictions(pred, fmt=pred_format, encoding=encoding)  # type: ignore[arg-type]
    summary = {"gold": str(gold), "pred": str(pred), **evaluate_grades(samples, predictions)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    _grades_table(summary)


def _per_criterion(by_criterion: dict[str, list[Any]], samples: list[Any], swapped: Any, gold: Path, pred: Path,
                   unparsed: str, n_boot: int, seed: int, as_json: bool, report: Path | None) -> None:
    """Pairwise evaluation of relative rubric grading, criterion by criterion (a report folder each)."""
    from judgelm.evaluation.verdicts import evaluate

    if swapped is not None:
        raise fail("--pred-swapped: rubric predictions hold both orders in one file (judge with --swap)", 2)
    out: dict[str, Any] = {"gold": str(gold), "pred": str(pred), "criteria": {}}
    for name, preds in by_criterion.items():
        result = evaluate(samples, preds, None, unparsed=unparsed, n_boot=n_boot, seed=seed)  # type: ignore[arg-type]
        result.summary["judge"] = f"{result.summary['judge']} · criterion {name}"
        if report is not None:
            from judgelm.report import write_report

            result.summary["report"] = str(write_report(result, report / name))
        out["criteria"][name] = result.summary
        if not as_json:
            _table(result.summary)
    if as_json:
        typer.echo(json.dumps(out, indent=2))


def _grades_table(s: dict[str, Any]) -> None:
    """One table per criterion: the judge, the length baseline and the inter-annotator ceiling."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    def f(x: float | None, pct: bool = False) -> str:
        return "-" if x is None else (f"{100 * x:.1f}" if pct else f"{x:.3f}")

    console = Console()
    for name, c in s["criteria"].items():
        table = Table(title=f"{s['judge']} · criterion {name} · scale {c['scale'][0]}-{c['scale'][1]} · "
                            f"{c['judge']['n']} graded of {c['items']}", title_justify="left")
        for col in ("", "Pearson", "Spearman", "Kendall", "exact %", "within-1 %"):
            table.add_column(col, justify="left" if not col else "right", no_wrap=True)
        j = c["judge"]
        table.add_row("[bold]judge[/]", f(j["pearson"]), f(j["spearman"]), f(j["kendall"]), f(j["exact"], True),
                      f(j["within_1"], True))
        if c["length"]:
            q, lc = c["length"]["quantile_grades"], c["length"]["length_correlation"]
            table.add_row("length → grade", f(q["pearson"]), f(q["spearman"]), f(q["kendall"]), f(q["exact"], True),
                          f(q["within_1"], True), style="dim")
            table.add_row("length (chars)", f(lc["pearson"]), f(lc["spearman"]), f(lc["kendall"]), "", "", style="dim")
        if c["ceiling"]:
            k = c["ceiling"]
            table.add_row(f"ceiling ({k['annotators']} gold samples)", f(k["pearson"]), f(k["spearman"]),
                          f(k["kendall"]), f(k["exact"], True), f(k["within_1"], True), style="dim")
        console.print(table)
        console.print(f"unparsed {c['unparsed']} · errors {c['errors']} · gold without prediction {c['missing']}",
                      style="dim")
    console.print(escape(s["gold_rule"]), style="dim")


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
    from judgelm.evaluation.verdicts import evaluate
    from judgelm.evaluation.grades import holds_grades, split_by_criterion
    try:
        intake = read_input(gold, gold_format, skip_bad=skip_bad, encoding=encoding, mapping=map_)
        samples = intake.samples
        if holds_grades(samples):  # absolute grades (rubric scores): correlations, not agreement
            _grades(gold, pred, samples, pred_format, encoding, as_json, report)
            echo_rejects(intake, None, err=True)
            return
        require_gold(samples, gold, intake.formats)
        predictions = read_predictions(pred, fmt=pred_format, encoding=encoding)  # type: ignore[arg-type]
        swapped = (read_predictions(pred_swapped, fmt=pred_format, encoding=encoding)  # type: ignore[arg-type]
                   if pred_swapped else None)
        by_criterion = split_by_criterion(predictions)
        if by_criterion:  # relative rubric grading: one pairwise evaluation per criterion
            _per_criterion(by_criterion, samples, swapped, gold, pred, unparsed.value, n_boot, seed, as_json, report)
            echo_rejects(intake, report, folder=True, err=True)
            return
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
