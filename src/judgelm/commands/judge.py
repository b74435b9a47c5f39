"""``judgelm judge``: judge a data set with any engine, resumably, and write one Judgement per line.

Kill it at any moment and run the same command again: it judges only what is missing
(state in ``OUT.state.sqlite``), and answers already paid for come from the response cache.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Optional

import typer

from judgelm.commands import elapsed
from judgelm.commands.errors import fail
from judgelm.commands.options import (
    ApiChoice,
    DeviceOption,
    DtypeOption,
    EncodingOption,
    EngineOptionOption,
    MapOption,
    EngineOptOption,
    ModeChoice,
    SkipBadOption,
    checked_spec,
    checked_template,
    default_judge_missing,
    echo_rejects,
    engine_options,
    parse_option_pairs,
    parse_engine_opts,
)
from judgelm.judging.settings import JudgeSettings

log = logging.getLogger(__name__)

#: the one set of judging defaults (JudgeSettings'), shown by --help and shared with Judge(...) and the server
DEFAULTS = JudgeSettings()


def _grades_single(samples: list[Any], mode: str | None) -> bool:
    """Whether a run grades single answers (mode single/vqa, or the default for 1-answer samples)."""
    if mode is not None:
        return mode in ("single", "vqa")
    return any(len(s.answers) == 1 for s in samples)


def _one_answer_hint(mapping: str | None) -> str:
    """A mapping with one answer column is often a pair whose ``|`` the shell took for a pipe."""
    if mapping is None:
        return ""
    from judgelm.data.mapping import parse_mapping

    if len(parse_mapping(mapping)["answers"]) != 1:
        return ""
    return (" (--map names one answer column; for pairs name both, answers=COL1|COL2, "
            "with the whole --map value in quotes so the shell keeps the |)")


def _interrupted(output: str, samples: int) -> typer.Exit:
    """Ctrl-C: say what is on disk and the exact command that carries on from there."""
    import shlex
    import sys
    from pathlib import Path

    path = Path(output)
    done = sum(1 for _ in path.open(encoding="utf-8")) if path.is_file() else 0
    command = shlex.join(["judgelm", *sys.argv[1:]]) if sys.argv[1:] else "the same judgelm judge command"
    return fail(f"interrupted: {done} judgements written to {output} (the run has {samples} samples); "
                f"resume (only the rest is judged) with: {command}", 130)


def main(
    input: Annotated[str, typer.Argument(help="Samples to judge (JudgeLM JSONL, PandaLM JSON, … any format judgelm reads).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output JSONL: one Judgement per line.")],
    judge: Annotated[Optional[str], typer.Option(
        "--judge", "-j", help="Judge spec: hf:BAAI/JudgeLM-7B-v1.0 | hf:./ckpt | hf:x.gguf | openai:gpt-4o | vllm:ID | mini | smol "
                              "(default: the built-in judge)")] = None,
    template: Annotated[str, typer.Option(
        "--template", "-t", help="Prompt template: judgelm | pandalm | prometheus-absolute | prometheus-relative "
                                 "(--rubric grades with prometheus-absolute unless prometheus-relative is given)")
    ] = DEFAULTS.template,
    rubric: Annotated[Optional[list[str]], typer.Option(
        "--rubric", help="Rubric file (YAML/JSON: criteria, scale, a description per level), repeatable: one grade per "
                         "criterion (prometheus-* templates; without it they use each sample's own rubric).")] = None,
    mode: Annotated[Optional[ModeChoice], typer.Option(
        "--mode", "-m", help="pair | single | multi | vqa (default: single for 1 answer, pair for 2, multi beyond; "
                             "multi-turn samples are judged with their history in any mode)")] = None,
    reference: Annotated[bool, typer.Option("--reference", help="Show the reference answer to the judge.")
                         ] = DEFAULTS.reference,
    swap: Annotated[bool, typer.Option("--swap", help="Judge both answer orders and write both (for consistency; "
                                       "the API's both_orders).")] = DEFAULTS.both_orders,
    ties: Annotated[bool, typer.Option("--ties/--no-ties", help="--no-ties: forced choice, for label sets "
                                       "without ties such as LLMBar (built-in judge only).")] = True,
    fast: Annotated[bool, typer.Option("--fast/--explain", help="Scores only (one short line: the cheap way to judge "
                                       "a data set; the default everywhere: CLI, Judge(...), serve), or a full "
                                       "explanation.")] = DEFAULTS.fast,
    max_new_tokens: Annotated[Optional[int], typer.Option("--max-new-tokens", min=1, help="Generation length "
                                                          "(default: 16 with --fast, 512 with --explain).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1,
                                                       help="Requests per engine call / commit.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Shard over N Ray workers (one replica each).")] = 0,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Join this Ray cluster ('auto' ok).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Judge only the first N samples.")] = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Input format name (default: detect).")] = None,
    map_: MapOption = None,
    skip_bad: SkipBadOption = False,
    encoding: EncodingOption = "utf-8",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")] = False,
    cache_path: Annotated[Optional[str], typer.Option("--cache-path", help="Response cache file "
                                                      "(default ~/.cache/judgelm/responses.sqlite).")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Forget the run state and start over.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="OpenAI-compatible base URL, "
                                                    "e.g. http://localhost:8000/v1 (vLLM).")] = None,
    api_key_env: Annotated[Optional[str], typer.Option("--api-key-env",
                                                       help="Env variable holding the API key (OPENAI_API_KEY).")] = None,
    api: Annotated[Optional[ApiChoice], typer.Option("--api", help="chat (GPT-4 & co.) | completions "
                                                     "(raw prompt: JudgeLM/PandaLM weights on vLLM/TGI)")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1, help="Calls in flight.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds per API call.")] = None,
    max_retries: Annotated[Optional[int], typer.Option("--max-retries", min=0)] = None,
    budget_usd: Annotated[Optional[float], typer.Option("--budget-usd", help="Hard spending cap for this run.")] = None,
    price_in: Annotated[Optional[float], typer.Option("--price-in", help="USD per 1M prompt tokens (override).")] = None,
    price_out: Annotated[Optional[float], typer.Option("--price-out",
                                                       help="USD per 1M completion tokens (override).")] = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
    option: EngineOptionOption = None,
    engine_opt: EngineOptOption = None,
) -> None:
    """Judge every sample of INPUT and write one Judgement JSON per line to OUTPUT (resumable)."""
    from judgelm.data.errors import DataError
    from judgelm.data.intake import read_input
    from judgelm.engines import DEFAULT_JUDGE, load_engine, parse_spec
    from judgelm.judging.prepared import prepare
    from judgelm.judging.runner import run_judge
    from judgelm.judging.state import RunBusy

    for noisy in ("httpx", "httpx2", "httpcore"):  # one INFO line per API call drowns the progress bar
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            logging.getLogger(noisy).setLevel(logging.WARNING)
    from judgelm.prompts.prometheus import is_rubric_template, resolve_template
    from judgelm.prompts.rubric import RubricError, load_rubrics

    try:
        rubric_obj = load_rubrics(list(rubric)) if rubric else None
    except RubricError as exc:
        raise fail(exc, 2) from None
    template = resolve_template(template, rubric_obj)
    if mode is not None and is_rubric_template(template):
        raise fail(f"--mode: {template} fixes its mode (prometheus-absolute grades 1 answer, prometheus-relative "
                   f"compares 2); leave --mode out", 2)
    spec = judge or DEFAULT_JUDGE
    try:  # the kind now (it decides which flags apply); the whole spec once the input is known good
        kind, _ = parse_spec(spec)
    except ValueError:
        kind, _ = checked_spec(spec)  # one line with the nearest names
    checked_template(template)
    options = parse_option_pairs(option or [])
    options |= engine_options(
        kind, api_base=api_base, api_key_env=api_key_env, api=api.value if api else None, concurrency=concurrency,
        timeout_s=timeout, max_retries=max_retries, budget_usd=budget_usd, price_in=price_in, price_out=price_out,
        dtype=dtype, device=device,
    )
    options.update(parse_engine_opts(engine_opt))
    if not ties:
        if kind not in ("mini", "lm"):
            raise fail(f"--no-ties needs a built-in judge (mini, lm); {spec} decides ties itself")
        options["ties"] = False
    try:  # the whole input is read and checked before a model is loaded
        intake = read_input(input, format, skip_bad=skip_bad, limit=limit, encoding=encoding, mapping=map_)
    except DataError as exc:
        raise fail(exc, 2) from None
    except ValueError as exc:  # unknown format or encoding
        raise fail(f"{input}: {exc}", 2) from None
    settings = JudgeSettings(template=template, mode=mode.value if mode else None, reference=reference,
                             both_orders=swap, fast=fast, max_new_tokens=max_new_tokens, rubric=rubric_obj)
    try:  # every prompt renders, once (a sample that does not fit the template/mode, duplicate ids)
        batch = prepare(intake.samples, settings, limit=limit)
    except ValueError as exc:
        raise fail(f"{input}: {exc}{_one_answer_hint(map_)}") from None
    checked_spec(spec)  # offline, well under a second: a model folder or cached hub id that cannot work
    if kind == "mini" and _grades_single(intake.samples, mode.value if mode else None):
        from judgelm.engines.mini import warn_single_answer

        warn_single_answer()  # before the run (the engine says it too, once, where the CLI is not in front)
    engine: Any
    if workers or ray_address:  # the spec is loaded by every Ray actor
        from judgelm.judging.scaleout import RayBackend

        engine = RayBackend(spec, options, workers=workers, address=ray_address)
    else:
        try:
            engine = load_engine(spec, **options)
        except ModuleNotFoundError as exc:
            if judge is None and exc.name and exc.name.startswith("judgelm"):
                raise default_judge_missing(exc) from None
            raise
        except OSError as exc:  # a checkpoint that does not exist / cannot be read, or no built-in weights
            if judge is None:
                raise default_judge_missing(exc) from None
            raise fail(f"--judge {spec}: {exc}") from None
        except ValueError as exc:
            raise fail(f"--judge {spec}: {exc}") from None
    try:
        summary = run_judge(
            batch, engine, output, batch_size=batch_size, resume=not restart,
            cache=False if no_cache else (cache_path or True), progress=progress,
        )
    except KeyboardInterrupt:
        raise _interrupted(output, len(batch)) from None
    except (DataError, RunBusy) as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:  # a sample that does not fit the template/mode (PromptError), duplicate ids
        raise fail(f"{input}: {exc}") from None
    finally:
        engine.close()
    s = summary
    typer.echo(
        f"judged {s.samples} samples ({s.requests} requests) with {s.judge} in {elapsed():.1f}s "
        f"(judging {s.wall_s:.1f}s, {s.samples_per_s:.2f} samples/s)\n"
        f"  engine calls {s.judged}, from cache {s.from_cache}, resumed {s.resumed}\n"
        f"  ok {s.ok}, unparsed {s.unparsed}, errors {s.errors}\n"
        f"  cost ${s.cost_usd:.4f} ({s.prompt_tokens} prompt + {s.completion_tokens} completion tokens)\n"
        f"  output {s.output}  (state {s.state})"
    )
    for name, c in s.criteria.items():  # rubric runs: one line per criterion
        told = (f"mean grade {c['mean']:.2f}" if c["mean"] is not None else
                "preferred " + (", ".join(f"{k} {n}" for k, n in sorted(c["preferred"].items())) or "-"))
        typer.echo(f"  criterion {name}: {told}, ok {c['ok']}, unparsed {c['unparsed']}, errors {c['errors']}")
    echo_rejects(intake, output)
    if s.errors:
        top = "; ".join(f"{n}× {m}" for m, n in s.error_messages.items())
        log.warning("%d request(s) failed (%s): run the same command again to retry only those", s.errors, top)
