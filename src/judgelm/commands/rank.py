"""``judgelm rank``: which of several models (or checkpoints) answers best?

Answers of several models to the same prompts → every model pair per prompt judged in both
orders (or ``--pairs-per-prompt k`` sampled pairs; with a baseline, every model against it) →
win/tie/loss matrix, Bradley–Terry ratings with bootstrap intervals over prompts, the partial
order of the models that are separable, and with ``--baseline`` AlpacaEval's leaderboard (win
rate against the baseline, standard error, length-controlled win rate). ``--judgements FILE``
ranks from recorded judgements of the pairs (ids as in pairs.jsonl); ``--from-labels`` from the
labels of pairwise samples (e.g. AlpacaEval's GPT-4 preferences); ``--reference`` measures how
well the ranking agrees with another. See docs/ranking.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import DeviceOption, DtypeOption, SkipBadOption, echo_rejects

log = logging.getLogger(__name__)


def main(
    inputs: Annotated[list[str], typer.Argument(help="Answer files (one per model, or one with a model column), "
                                               "or sample files whose answers name their models (AlpacaEval annotations.json).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder: ranking.json, ratings.csv, "
                                        "wtl.csv, *.png, report.html.")],
    judge: Annotated[str | None, typer.Option("--judge", "-j", help="Judge spec, e.g. mini (the built-in judge), "
                                                 "hf:BAAI/JudgeLM-7B-v1.0. Default for unlabelled inputs: mini.")] = None,
    judgements: Annotated[str | None, typer.Option("--judgements", help="Recorded judgements of the pairs (no judging).")] = None,
    from_labels: Annotated[bool, typer.Option("--from-labels", help="Rank from the inputs' own pairwise labels "
                                             "(e.g. AlpacaEval GPT-4 preferences); no judging.")] = False,
    baseline: Annotated[str | None, typer.Option("--baseline", help="Leaderboard against this model (AlpacaEval): "
                                                   "win rate, standard error, LC win rate. Default: the model "
                                                   "present in every input pair, if any. Not ranked itself.")] = None,
    include_baseline: Annotated[bool, typer.Option("--include-baseline", help="List the baseline as a ranked model too.")] = False,
    all_pairs: Annotated[bool, typer.Option("--all-pairs", help="With a baseline, still judge every model pair "
                                           "(default: each model against the baseline only).")] = False,
    lc: Annotated[bool, typer.Option("--lc/--no-lc", help="Length-controlled win rates (with a baseline).")] = True,
    reference: Annotated[str | None, typer.Option("--reference", help="Rank agreement with a reference: 'labels' "
                                                    "(the inputs' own labels, same prompts) or another run's ratings.csv.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Top-k overlap with the reference.")] = 10,
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated models to rank (default: all).")] = None,
    max_prompts: Annotated[int | None, typer.Option("--max-prompts", min=1, help="Use the first N prompts answered by all models.")] = None,
    sample_prompts: Annotated[int | None, typer.Option("--sample-prompts", min=1,
                                                         help="Use N prompts drawn at random (--seed) among those answered by all models.")] = None,
    pairs_per_prompt: Annotated[int | None, typer.Option("--pairs-per-prompt", min=1,
                                                           help="Sampled design: k model pairs per prompt (many models).")] = None,
    questions: Annotated[str | None, typer.Option("--questions", help="Questions file for answer files without question text.")] = None,
    swap: Annotated[bool, typer.Option("--swap/--no-swap", help="Judge both orders (recommended: cancels position bias).")] = True,
    template: Annotated[str, typer.Option("--template", "-t", help="judgelm | pandalm")] = "judgelm",
    n_boot: Annotated[int, typer.Option("--n-boot", min=10, help="Bootstrap resamples of prompts.")] = 200,
    prior: Annotated[float, typer.Option("--prior", min=1e-6, help="Variance of the N(0, σ²) prior on log-strengths.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")] = False,
    api_base: Annotated[str | None, typer.Option("--api-base", help="OpenAI-compatible base URL (openai: judges).")] = None,
    api: Annotated[str | None, typer.Option("--api", help="chat | completions (openai: judges).")] = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
    skip_bad: SkipBadOption = False,
) -> None:
    """Rank the models whose answers are in INPUTS, with intervals and the separable partial order."""
    from judgelm.data.errors import DataError
    from judgelm.judging.state import RunBusy
    from judgelm.rank.pair_judging import JudgeUnavailable
    from judgelm.rank.pipeline import build_agreement, build_leaderboard, collect
    from judgelm.rank.ratings import format_ranking
    from judgelm.rank.report import format_leaderboard, write_outputs

    if sum([bool(judge), bool(judgements), from_labels]) > 1:
        raise typer.BadParameter("give at most one of --judge, --judgements, --from-labels")
    if reference == "labels" and from_labels:
        raise typer.BadParameter("--reference labels compares a judge with the labels: give --judge or --judgements, "
                                 "not --from-labels", param_hint="--reference")
    if from_labels and (max_prompts or sample_prompts or pairs_per_prompt or all_pairs):
        raise typer.BadParameter("--max-prompts, --sample-prompts, --pairs-per-prompt and --all-pairs choose the "
                                 "pairs to judge; --from-labels ranks every labelled pair of the inputs",
                                 param_hint="--from-labels")
    from judgelm.commands.options import checked_spec, checked_template

    checked_template(template)
    if judge:
        checked_spec(judge)
    chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
    out = Path(output)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        run = collect(inputs, out, judge_fn=_judge, notify=lambda msg: typer.echo(msg, err=True), chosen=chosen, judge=judge, judgements=judgements, from_labels=from_labels,
                       baseline=baseline, all_pairs=all_pairs, max_prompts=max_prompts, sample_prompts=sample_prompts,
                       pairs_per_prompt=pairs_per_prompt, questions=questions, seed=seed, template=template,
                      swap=swap, no_cache=no_cache, reference=reference, skip_bad=skip_bad,
                       options={"api_base": api_base, "api": api, "dtype": dtype, "device": device})
        if not run.games:
            raise fail("no judged pair to rank")
        from judgelm.rank.ratings import rank

        hide = [run.baseline] if run.baseline and not include_baseline else []
        ranking = rank(run.games, stats=run.stats, n_boot=n_boot, seed=seed, prior=prior, hide=hide)
        board = build_leaderboard(run, include_baseline=include_baseline, lc=lc)
        agreement = build_agreement(run, ranking, board, reference, top_k=top_k, n_boot=n_boot, seed=seed, prior=prior)
        title = (f"Leaderboard of {len(ranking.order())} models against {run.baseline}" if board
                 else f"Ranking of {len(ranking.order())} models")
        files = write_outputs(ranking, out, title=title, leaderboard=board, agreement=agreement)
    except DataError as exc:
        raise fail(str(exc), 2) from None
    except (RunBusy, JudgeUnavailable) as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:  # a run that failed before writing anything leaves no empty output folder behind
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
    typer.echo(f"{ranking.n_games} games on {ranking.n_prompts} prompts "
               f"({', '.join(f'{k} {v}' for k, v in run.stats.items())})")
    if board:
        typer.echo(format_leaderboard(board))
        typer.echo("")
    typer.echo(format_ranking(ranking))
    if agreement:
        typer.echo(agreement.summary())
    typer.echo(f"report {files['report']}")
    echo_rejects(run.intake, out, folder=True)


def _judge(pairs: list[Any], path: Path, spec: str | None, *, template: str, swap: bool, no_cache: bool,
           options: dict[str, Any]) -> list[Any]:
    """Judge the pairs with ``spec`` (default: the built-in judge), engine options from the flags."""
    from judgelm.commands.options import engine_options
    from judgelm.engines import DEFAULT_JUDGE, parse_spec
    from judgelm.rank.pair_judging import judge_pairs

    spec = spec or DEFAULT_JUDGE
    try:
        kind, _ = parse_spec(spec)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--judge") from None
    return judge_pairs(pairs, path, spec, engine_options=engine_options(kind, **options), template=template,
                       swap=swap, cache=not no_cache)
