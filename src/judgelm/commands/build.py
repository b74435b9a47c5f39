"""``judgelm build``: answer files → pairs → teacher judgements → JudgeLM train/val files (resumable)."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Optional

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import DeviceOption, DtypeOption, SkipBadOption, echo_rejects

log = logging.getLogger(__name__)


def main(
    answers: Annotated[Optional[list[str]], typer.Argument(
        help="Answer files (judgelm generate output, or FastChat model_answer files), two or more.")] = None,
    output_dir: Annotated[str, typer.Option("--output-dir", "-o", help="Writes train.jsonl, val.jsonl, "
                                            "summary.json, teacher/.")] = "judge-data",
    teacher: Annotated[Optional[str], typer.Option(
        "--teacher", help="Judge spec of the teacher: openai:gpt-4o | hf:PATH | vllm:ID | mini.")] = None,
    recorded: Annotated[Optional[str], typer.Option(
        "--recorded", help="Build from recorded teacher judgements instead: alpaca_eval | arena_bench "
                           "(source = the single ANSWERS argument: a file or folder).")] = None,
    reference: Annotated[Optional[str], typer.Option("--reference", help="Reference answer file (e.g. judgelm "
                                                     "generate with a strong model).")] = None,
    prompts: Annotated[Optional[str], typer.Option("--prompts", help="Question file: question text for answer "
                                                   "files without it, and its reference turns (MT-bench).")] = None,
    no_reference_pass: Annotated[bool, typer.Option("--no-reference-pass", help="Skip the judging with the "
                                                    "reference shown.")] = False,
    pairs: Annotated[str, typer.Option("--pairs", help="all | random | balanced")] = "all",
    k: Annotated[int, typer.Option("--k", min=1, help="Pairs per question (random, balanced).")] = 1,
    turn: Annotated[int, typer.Option("--turn", min=1, help="Turn of multi-turn answers to pair.")] = 1,
    keep_positions: Annotated[bool, typer.Option("--keep-positions", help="Do not randomise which answer is "
                                                 "shown first.")] = False,
    val_fraction: Annotated[float, typer.Option("--val-fraction", min=0.0, max=0.9,
                                                help="Share of questions held out in val.jsonl.")] = 0.1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    preference_scores: Annotated[str, typer.Option(
        "--preference-scores", help="alpaca_eval: scores synthesised for winner,loser,tie.")] = "8,4,6",
    exclude_datasets: Annotated[Optional[str], typer.Option(
        "--exclude-datasets", help="alpaca_eval: leave out these subsets, e.g. selfinstruct (PandaLM test "
                                   "overlap).")] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1, help="Teacher output length.")] = 512,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1)] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Forget the teacher run state.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the response cache.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Teacher's OpenAI-compatible URL.")] = None,
    api_key_env: Annotated[Optional[str], typer.Option("--api-key-env", help="Env variable with the key.")] = None,
    api: Annotated[Optional[str], typer.Option("--api", help="chat | completions (teacher)")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1)] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout")] = None,
    max_retries: Annotated[Optional[int], typer.Option("--max-retries", min=0)] = None,
    budget_usd: Annotated[Optional[float], typer.Option("--budget-usd", help="Hard cap on the teacher's "
                                                        "spending in this run.")] = None,
    price_in: Annotated[Optional[float], typer.Option("--price-in")] = None,
    price_out: Annotated[Optional[float], typer.Option("--price-out")] = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
    skip_bad: SkipBadOption = False,
) -> None:
    """Build JudgeLM-format judge training data: pair the models' answers, have a teacher judge each pair
    (explained, with and without reference) — or reuse recorded judgements — and split by question."""
    from judgelm.build.dataset import BuildOptions, build_live, build_recorded
    from judgelm.commands.options import engine_options
    from judgelm.data.errors import DataError
    from judgelm.data.intake import Intake
    from judgelm.data.rejected import Rejects

    for noisy in ("httpx", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    files = answers or []
    options = BuildOptions(strategy=pairs, k=k, seed=seed, val_fraction=val_fraction,
                           shuffle_positions=not keep_positions, turn=turn)
    intake = Intake()
    rejects = intake.rejects if skip_bad else None
    try:
        if recorded:
            if len(files) != 1:
                raise fail("--recorded takes exactly one source (file or folder)", 2)
            try:
                ps = tuple(float(x) for x in preference_scores.split(","))
                assert len(ps) == 3
            except (ValueError, AssertionError):
                raise typer.BadParameter("expected three numbers: winner,loser,tie",
                                         param_hint="--preference-scores") from None
            opts = {"exclude_datasets": exclude_datasets} if exclude_datasets and recorded == "alpaca_eval" else {}
            summary = build_recorded(files[0], recorded, output_dir, options=options,
                                     preference_scores=ps, rejects=rejects, **opts)  # type: ignore[arg-type]
        else:
            if teacher is None:
                raise fail("give --teacher SPEC (e.g. openai:gpt-4o) or --recorded alpaca_eval|arena_bench", 2)
            if len(files) < 2:
                raise fail("give at least two answer files to pair", 2)
            from judgelm.build.pairing import collect
            from judgelm.engines import load_engine, parse_spec

            kind, _ = parse_spec(teacher)
            collect(files, turn=turn, rejects=Rejects() if skip_bad else None)  # bad answers fail before the teacher loads
            eng_opts = engine_options(kind, api_base=api_base, api_key_env=api_key_env, api=api,
                                      concurrency=concurrency, timeout_s=timeout, max_retries=max_retries,
                                      budget_usd=budget_usd, price_in=price_in, price_out=price_out,
                                      dtype=dtype, device=device)
            engine = load_engine(teacher, **eng_opts)
            try:
                summary = build_live(files, output_dir, engine, options=options, reference_file=reference,
                                     prompts_file=prompts, with_reference=not no_reference_pass,
                                     max_new_tokens=max_new_tokens, batch_size=batch_size, resume=not restart,
                                     cache=not no_cache, progress=progress, rejects=rejects)
            finally:
                engine.close()
    except DataError as exc:
        raise fail(str(exc), 2) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    if skip_bad:
        summary["rejected_rows"] = len(intake.rejects)
    typer.echo(json.dumps(summary, indent=1, ensure_ascii=False))
    echo_rejects(intake, output_dir, folder=True, err=True)
