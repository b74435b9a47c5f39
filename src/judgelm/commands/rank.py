"""``judgelm rank``: which of several models (or checkpoints) answers best?

Answers of several models to the same prompts → every model pair per prompt judged in both
orders (or ``--pairs-per-prompt k`` sampled pairs) → win/tie/loss matrix, Bradley–Terry ratings
with bootstrap intervals over prompts, and the partial order of the models that are separable.
``--judgements FILE`` ranks from recorded judgements of the pairs (ids as in pairs.jsonl);
``--from-labels`` ranks from the labels of pairwise samples (e.g. AlpacaEval's GPT-4
preferences). See docs/ranking.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import SkipBadOption, echo_rejects

log = logging.getLogger(__name__)


def main(
    inputs: Annotated[list[str], typer.Argument(help="Answer files (one per model, or one with a model column), "
                                               "or sample files whose answers name their models (AlpacaEval annotations.json).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder (ranking.json, ratings.csv, wtl.csv, *.png, report.html).")],
    judge: Annotated[Optional[str], typer.Option("--judge", "-j", help="Judge spec (default: the built-in judge 'mini').")] = None,
    judgements: Annotated[Optional[str], typer.Option("--judgements", help="Recorded judgements of the pairs (no judging).")] = None,
    from_labels: Annotated[bool, typer.Option("--from-labels", help="Rank from the inputs' own pairwise labels "
                                             "(e.g. AlpacaEval GPT-4 preferences); no judging.")] = False,
    models: Annotated[Optional[str], typer.Option("--models", help="Comma-separated models to rank (default: all).")] = None,
    max_prompts: Annotated[Optional[int], typer.Option("--max-prompts", min=1, help="Use the first N prompts answered by all models.")] = None,
    pairs_per_prompt: Annotated[Optional[int], typer.Option("--pairs-per-prompt", min=1,
                                                           help="Sampled design: k model pairs per prompt (many models).")] = None,
    questions: Annotated[Optional[str], typer.Option("--questions", help="Questions file for answer files without question text.")] = None,
    swap: Annotated[bool, typer.Option("--swap/--no-swap", help="Judge both orders (recommended: cancels position bias).")] = True,
    template: Annotated[str, typer.Option("--template", "-t", help="judgelm | pandalm")] = "judgelm",
    n_boot: Annotated[int, typer.Option("--n-boot", min=10, help="Bootstrap resamples of prompts.")] = 200,
    prior: Annotated[float, typer.Option("--prior", min=1e-6, help="Variance of the N(0, σ²) prior on log-strengths.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")] = False,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="OpenAI-compatible base URL (openai: judges).")] = None,
    api: Annotated[Optional[str], typer.Option("--api", help="chat | completions (openai: judges).")] = None,
    dtype: Annotated[Optional[str], typer.Option("--dtype", help="hf: auto | bfloat16 | float32")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="hf: auto | cpu | cuda[:N]")] = None,
    skip_bad: SkipBadOption = False,
) -> None:
    """Rank the models whose answers are in INPUTS, with intervals and the separable partial order."""
    from judgelm.data import write_samples
    from judgelm.data.errors import DataError
    from judgelm.data.intake import Intake, read_inputs
    from judgelm.rank.games import games_from_judgements, games_from_labels
    from judgelm.rank.pairs import build_pairs, load_answer_table
    from judgelm.rank.ratings import format_ranking, rank
    from judgelm.rank.report import write_outputs

    if sum([bool(judge), bool(judgements), from_labels]) > 1:
        raise typer.BadParameter("give at most one of --judge, --judgements, --from-labels")
    chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    intake = Intake()
    try:
        if from_labels:
            intake = read_inputs(inputs, skip_bad=skip_bad)
            samples = intake.samples
            if chosen:
                samples = [s for s in samples if {a.model for a in s.answers} <= set(chosen)]
            games, stats = games_from_labels(samples)
        else:
            table = load_answer_table(inputs, questions=questions, rejects=intake.rejects if skip_bad else None)
            log.info("answers per model: %s", table.coverage())
            pairs = build_pairs(table, models=chosen, max_prompts=max_prompts,
                                  pairs_per_prompt=pairs_per_prompt, seed=seed)
            write_samples(pairs, out / "pairs.jsonl")
            if judgements:
                from judgelm.data.predictions import read_predictions

                js = read_predictions(judgements)
            else:
                js = _judge(pairs, out / "judgements.jsonl", judge, template=template, swap=swap, no_cache=no_cache,
                            options=dict(api_base=api_base, api=api, dtype=dtype, device=device))
            games, stats = games_from_judgements(pairs, js)
            if stats["missing"]:
                log.warning("%d of %d pairs have no judgement", stats["missing"], stats["pairs"])
        if not games:
            raise fail("no judged pair to rank")
        ranking = rank(games, stats=stats, n_boot=n_boot, seed=seed, prior=prior)
        files = write_outputs(ranking, out, title=f"Ranking of {len(ranking.models)} models")
    except DataError as exc:
        raise fail(str(exc), 2) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{ranking.n_games} games on {ranking.n_prompts} prompts "
               f"({', '.join(f'{k} {v}' for k, v in stats.items())})")
    typer.echo(format_ranking(ranking))
    typer.echo(f"report {files['report']}")
    echo_rejects(intake, out, folder=True)


def _judge(pairs: list[Any], path: Path, spec: str | None, *, template: str, swap: bool, no_cache: bool,
           options: dict[str, Any]) -> list[Any]:
    from judgelm.commands.options import engine_options
    from judgelm.engines import DEFAULT_JUDGE, load_engine, parse_spec
    from judgelm.judging.runner import run_judge

    spec = spec or DEFAULT_JUDGE
    try:
        kind, _ = parse_spec(spec)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--judge") from None
    try:
        engine = load_engine(spec, **engine_options(kind, **options))
    except (ValueError, ModuleNotFoundError, OSError) as exc:  # OSError: weights not found
        raise fail(f"--judge {spec}: {exc}") from None
    try:
        s = run_judge(pairs, engine, path, template=template, swap=swap, cache=False if no_cache else True)
    finally:
        engine.close()
    log.info("judged %d pairs (%d requests, %d engine calls, %d resumed): ok %d, unparsed %d, errors %d",
             s.samples, s.requests, s.judged, s.resumed, s.ok, s.unparsed, s.errors)
    if s.errors:
        log.warning("%d request(s) failed: run the same command again to retry only those", s.errors)
    return s.judgements
