"""``judgelm cascade``: a cheap judge on everything, a strong judge on what it is unsure of.

Stage 1 (default: the built-in judge) judges every sample; the least confident go to stage 2
(any engine, e.g. ``openai:gpt-4o`` or a large local judge behind ``--stage2-api-base``), by a
fixed share (``--budget-share``) or a threshold calibrated on labelled data (``--target-agreement``), or
with a guaranteed agreement level (``--guarantee A --delta D --calibration N|FILE``: any number of
stages via ``--stage-mid``, confidence from agreement via ``--signal``).
Either stage can be a recorded judgement file instead (studies cost nothing). Writes
merged.jsonl (each judgement tagged ``metadata.stage``), ledger.json, and with gold labels the
agreement-vs-share curve (curve.csv/json/png) and report.html. See docs/cascade.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Optional

import typer

from judgelm.commands.errors import fail
from judgelm.commands.options import (
    DeviceOption,
    DtypeOption,
    EncodingOption,
    MapOption,
    SkipBadOption,
    echo_rejects,
)

log = logging.getLogger(__name__)




@contextmanager
def _closing(engines: list[Any]) -> Iterator[None]:
    """Input errors become one ``Error:`` line (exit 2 for bad data); the engines started are closed."""
    from judgelm.data.errors import DataError

    try:
        yield
    except DataError as exc:
        raise fail(str(exc), 2) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:
        for e in engines:
            e.close()


def _engine(spec: str, prefix: str, opts: dict[str, Any]) -> Any:
    from judgelm.commands.options import checked_spec, engine_options
    from judgelm.engines import load_engine

    kind, _ = checked_spec(spec, f"--{prefix}")
    try:
        return load_engine(spec, **engine_options(kind, **opts))
    except (ValueError, ImportError, OSError) as exc:  # OSError: weights not found
        raise fail(f"--{prefix} {spec}: {exc}") from None


def _stage_source(value: str, prefix: str, opts: dict[str, Any], settings: dict[str, Any]) -> Any:
    """A recorded file when ``value`` is an existing path, otherwise an engine spec."""
    from pathlib import Path

    from judgelm.cascade.guaranteed_run import StageSource

    if Path(value).exists():
        return StageSource(predictions=value)
    return StageSource(engine=_engine(value, prefix, opts), settings=settings)


def _guaranteed(a: dict[str, Any]) -> None:
    """``--guarantee``: calibrate every stage's threshold with a finite-sample guarantee, then run."""
    from judgelm.cascade.guaranteed_run import run_guaranteed, write_guaranteed
    from judgelm.cascade.guaranteed_report import describe_guarantee
    from judgelm.cascade.split_study import format_study, guarantee_study
    from judgelm.data.intake import read_input
    from judgelm.engines import DEFAULT_JUDGE

    if any(a[k] is not None for k in ("budget", "target_agreement", "threshold")):
        raise typer.BadParameter("--guarantee replaces --budget-share / --target-agreement / --threshold")
    if a["guarantee_on"] not in ("all", "kept"):
        raise typer.BadParameter("--guarantee-on must be all or kept")
    if a["test"] not in ("prompt", "binomial"):
        raise typer.BadParameter("--test must be prompt or binomial")
    if not 0.0 < a["delta"] < 1.0:
        raise typer.BadParameter("--delta must be within (0, 1)")
    if a["stage1"] and a["stage1_predictions"]:
        raise typer.BadParameter("give --stage1 or --stage1-predictions, not both")
    if bool(a["stage2"]) == bool(a["stage2_predictions"]):
        raise typer.BadParameter("give exactly one of --stage2 or --stage2-predictions")
    cal_arg = a["calibration"] or (str(a["calib_fraction"]) if a["calib_fraction"] else None)
    if not cal_arg:
        raise typer.BadParameter("--guarantee needs --calibration N|FILE (labelled samples)")
    signals = a["signal"] or []
    mids = a["stage_mid"] or []
    conf = a["confidence"] or ("agreement" if signals or mids else "own")
    if conf not in ("own", "agreement", "auto"):
        raise typer.BadParameter("--confidence must be own, agreement or auto")
    eopts = dict(dtype=a["dtype"], device=a["device"])
    common = dict(reference=a["reference"], cache=not a["no_cache"])
    engines: list[Any] = []
    with _closing(engines):  # every input is read and checked before an engine is loaded
        intake = read_input(a["input"], a["format"], skip_bad=a["skip_bad"], limit=a["limit"], encoding=a["encoding"],
                            mapping=a["map_"])
        samples = intake.samples
        try:
            n_cal = float(cal_arg)
        except ValueError:
            calib_intake = read_input(cal_arg, skip_bad=a["skip_bad"], encoding=a["encoding"], mapping=a["map_"])
            intake.rejects.add(calib_intake.rejects.errors)
            calibration: Any = calib_intake.samples
        else:
            calibration = n_cal if n_cal < 1 else n_cal / max(1, len(samples))
            if not 0.0 < calibration < 1.0:
                raise typer.BadParameter("--calibration N must leave samples to deploy", param_hint="--calibration")
        from judgelm.cascade.guaranteed_run import StageSource

        if a["stage1_predictions"]:
            stages = [StageSource(predictions=a["stage1_predictions"])]
        else:
            stages = [StageSource(engine=_engine(a["stage1"] or DEFAULT_JUDGE, "stage1",
                                                 dict(api_base=a["stage1_api_base"], **eopts)),
                                  settings=dict(template=a["template"], swap=a["swap"], **common))]
        for m in mids:
            stages.append(_stage_source(m, "stage-mid", eopts, dict(template=a["template"], swap=a["swap"], **common)))
        s2opts = dict(api_base=a["api_base"], api_key_env=a["api_key_env"], api=a["api"], concurrency=a["concurrency"],
                      budget_usd=a["budget_usd"], price_in=a["price_in"], price_out=a["price_out"], **eopts)
        if a["stage2_predictions"]:
            stages.append(StageSource(predictions=a["stage2_predictions"]))
        else:
            stages.append(StageSource(engine=_engine(a["stage2"], "stage2", s2opts),
                                      settings=dict(template=a["stage2_template"] or a["template"],
                                                    swap=a["stage2_swap"], **common)))
        engines = [s.engine for s in stages if s.engine is not None]
        params = dict(alpha=a["guarantee"], delta=a["delta"], on=a["guarantee_on"], signals=signals, confidence=conf,
                      test=a["test"], max_escalate=a["max_escalate"], unparsed=a["unparsed"], seed=a["seed"])
        result = run_guaranteed(samples, out_dir=a["output"], stages=stages, calibration=calibration,
                                engine_loader=lambda spec: _engine(spec, "signal", eopts),
                                signal_settings=dict(template=a["template"], **common), **params)
        if a["study_splits"]:
            share = calibration if isinstance(calibration, float) else 0.5
            result.study = guarantee_study(samples, stages, share=share, splits=a["study_splits"], **params)
        write_guaranteed(result, a["output"], title=f"Cascade with a guarantee on {a['input']}")
    summary = result.summary()
    typer.echo(describe_guarantee(summary))
    if result.study is not None:
        typer.echo(format_study(result.study))
    if result.curve is not None:
        from judgelm.cascade.two_stage import format_table

        typer.echo("agreement vs. share escalated (deployed samples):")
        typer.echo(format_table(result.curve))
    typer.echo(f"output {a['output']}/merged.jsonl, plan {a['output']}/summary.json, report {a['output']}/report.html")
    echo_rejects(intake, a["output"], folder=True)


def main(
    input: Annotated[str, typer.Argument(help="Samples to judge (any format judgelm reads; gold labels enable the curve).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder (merged.jsonl, ledger.json, curve.*, report.html).")],
    stage1: Annotated[Optional[str], typer.Option("--stage1", help="Stage-1 judge spec (default: the built-in judge 'mini').")] = None,
    stage1_predictions: Annotated[Optional[str], typer.Option(
        "--stage1-predictions", help="Recorded stage-1 judgements (Judgement JSONL from `judgelm judge`, with confidence).")] = None,
    stage2: Annotated[Optional[str], typer.Option("--stage2", help="Stage-2 judge spec, e.g. openai:gpt-4o or hf:BAAI/JudgeLM-33B-v1.0.")] = None,
    stage2_predictions: Annotated[Optional[str], typer.Option(
        "--stage2-predictions", help="Recorded stage-2 judgements (Judgement JSONL, PandaLM gpt/pandalm files, verdicts).")] = None,
    budget: Annotated[Optional[float], typer.Option("--budget-share", min=0.0, max=1.0,
                                                   help="Send this share of samples (least confident) to stage 2.")] = None,
    budget_old: Annotated[Optional[float], typer.Option("--budget", min=0.0, max=1.0, hidden=True,
                                                       help="Former name of --budget-share.")] = None,
    target_agreement: Annotated[Optional[float], typer.Option(
        "--target-agreement", min=0.0, max=1.0, help="Calibrate a confidence threshold reaching this agreement.")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0.0, max=1.0,
                                                      help="Send samples whose stage-1 confidence is below this.")] = None,
    target_on: Annotated[str, typer.Option("--target-on", help="kept: stage-1 agreement on the kept samples; "
                                           "merged: agreement of the merged verdicts (needs stage-2 calibration verdicts).")] = "kept",
    calibration: Annotated[Optional[str], typer.Option(
        "--calibration", help="Labelled calibration samples: a FILE, or N = that many of INPUT's samples "
                              "(whole prompts; a number below 1 is a share); the rest is deployed and scored.")] = None,
    calib_fraction: Annotated[Optional[float], typer.Option(
        "--calib-fraction", min=0.01, max=0.99, help="Calibrate on this share of INPUT's prompts (split by prompt); "
                                                     "the rest is what the report scores.")] = None,
    swap: Annotated[bool, typer.Option("--swap/--no-swap", help="Stage 1 judges both orders (inconsistent = unsure).")] = True,
    stage2_swap: Annotated[bool, typer.Option("--stage2-swap", help="Stage 2 judges both orders too.")] = False,
    template: Annotated[str, typer.Option("--template", "-t", help="Stage-1 prompt template: judgelm | pandalm.")] = "judgelm",
    stage2_template: Annotated[Optional[str], typer.Option("--stage2-template", help="Stage-2 template (default: --template).")] = None,
    reference: Annotated[bool, typer.Option("--reference", help="Show the reference answer to both judges.")] = False,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Input format name (default: detect).")] = None,
    map_: MapOption = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N samples.")] = None,
    skip_bad: SkipBadOption = False,
    encoding: EncodingOption = "utf-8",
    margin_confidence: Annotated[bool, typer.Option(
        "--margin-confidence", help="Stage-1 judgements without confidence: rank by score margin instead of refusing.")] = False,
    unparsed: Annotated[str, typer.Option("--unparsed", help="Unparsed verdicts count as: tie | wrong.")] = "tie",
    fallback_to_stage1: Annotated[bool, typer.Option(
        "--fallback-stage1", help="Where stage 2 gives no verdict (unparsable output, failure), keep stage 1's.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Tie-break order, calibration split, bootstrap.")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")] = False,
    api_base: Annotated[Optional[str], typer.Option("--stage2-api-base", help="OpenAI-compatible base URL of stage 2.")] = None,
    api_key_env: Annotated[Optional[str], typer.Option("--stage2-api-key-env", help="Env variable with stage 2's key.")] = None,
    api: Annotated[Optional[str], typer.Option("--stage2-api", help="chat | completions (raw prompt, JudgeLM/PandaLM weights).")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--stage2-concurrency", min=1)] = None,
    budget_usd: Annotated[Optional[float], typer.Option("--stage2-budget-usd", help="Hard spending cap for stage 2.")] = None,
    price_in: Annotated[Optional[float], typer.Option("--stage2-price-in", help="USD per 1M prompt tokens.")] = None,
    price_out: Annotated[Optional[float], typer.Option("--stage2-price-out", help="USD per 1M completion tokens.")] = None,
    stage1_api_base: Annotated[Optional[str], typer.Option("--stage1-api-base", help="Base URL when stage 1 is openai:.")] = None,
    dtype: DtypeOption = None,
    device: DeviceOption = None,
    guarantee: Annotated[Optional[float], typer.Option(
        "--guarantee", min=0.0, max=1.0, help="Guarantee this agreement with probability 1 - delta "
                                              "(fixed-sequence testing on --calibration; see docs/cascade.md).")] = None,
    delta: Annotated[float, typer.Option("--delta", min=0.0, max=1.0, help="Allowed probability that the guarantee fails.")] = 0.1,
    guarantee_on: Annotated[str, typer.Option(
        "--guarantee-on", help="all: the final verdicts on every sample (the last stage never abstains); "
                               "kept: the samples some stage keeps (every stage may abstain).")] = "all",
    stage_mid: Annotated[Optional[list[str]], typer.Option(
        "--stage-mid", help="An intermediate stage between --stage1 and --stage2 (engine spec or recorded file); repeatable.")] = None,
    signal: Annotated[Optional[list[str]], typer.Option(
        "--signal", help="Extra confidence signal: a judgement FILE, an engine spec (judged on every sample) "
                         "or 'length'; repeatable.")] = None,
    confidence: Annotated[Optional[str], typer.Option(
        "--confidence", help="own: each stage's calibrated confidence; agreement: the mean agreement of the signals "
                             "and earlier stages with it; auto: both, chosen on calibration (default: agreement "
                             "with --signal or --stage-mid, else own).")] = None,
    test: Annotated[str, typer.Option("--test", help="prompt: prompt-level prediction bound on the deployed samples; "
                                                     "binomial: exact, for independent samples.")] = "prompt",
    max_escalate: Annotated[float, typer.Option(
        "--max-escalate", min=0.0, max=1.0, help="Budget cap: each stage but the last escalates at most this share of what "
                                              "it receives (two stages: the share sent to stage 2).")] = 1.0,
    study_splits: Annotated[int, typer.Option(
        "--study-splits", min=0, help="Also check the guarantee on N random calibration splits (recorded stages).")] = 0,
) -> None:
    """Judge INPUT with a cheap stage 1, send the least confident to stage 2, merge, and report."""
    from judgelm.cascade.policy import Policy
    from judgelm.cascade.report import describe
    from judgelm.cascade.two_stage import format_table, run_cascade, write_outputs
    from judgelm.data.intake import read_input
    from judgelm.engines import DEFAULT_JUDGE

    from pathlib import Path

    from judgelm.commands.options import checked_spec, checked_template

    budget = budget if budget is not None else budget_old
    checked_template(template)
    if stage2_template:
        checked_template(stage2_template, "--stage2-template")
    for flag, value in (("--stage1", stage1), ("--stage2", stage2)):
        if value and not Path(value).exists():  # an existing path is a recorded file
            checked_spec(value, flag)
    if guarantee is not None:
        return _guaranteed(locals())
    chosen = [(n, v) for n, v in (("budget", budget), ("target", target_agreement), ("threshold", threshold))
              if v is not None]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --budget-share, --target-agreement, --threshold")
    if stage1 and stage1_predictions:
        raise typer.BadParameter("give --stage1 or --stage1-predictions, not both")
    if bool(stage2) == bool(stage2_predictions):
        raise typer.BadParameter("give exactly one of --stage2 or --stage2-predictions")
    if unparsed not in ("tie", "wrong"):
        raise typer.BadParameter("--unparsed must be tie or wrong")
    if calibration and calib_fraction:
        raise typer.BadParameter("give --calibration or --calib-fraction, not both")
    kind, value = chosen[0]
    try:
        policy = Policy(kind, value, on=target_on)  # type: ignore[arg-type]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if kind == "target" and not (calibration or calib_fraction):
        raise typer.BadParameter("--target-agreement needs --calibration FILE or --calib-fraction F")

    engines: list[Any] = []
    with _closing(engines):  # every input is read and checked before an engine is loaded
        intake = read_input(input, format, skip_bad=skip_bad, limit=limit, encoding=encoding, mapping=map_)
        samples = intake.samples
        calib = None
        evaluate_ids = None
        if calibration:
            calib_intake = read_input(calibration, skip_bad=skip_bad, encoding=encoding, mapping=map_)
            intake.rejects.add(calib_intake.rejects.errors)
            calib = calib_intake.samples
        elif calib_fraction:
            from judgelm.data.split import split_by_prompt

            rest, calib = split_by_prompt(samples, calib_fraction, seed=seed)
            if not calib:
                raise typer.BadParameter("a calibration split by prompt needs samples of at least two prompts",
                                         param_hint="--calib-fraction")
            evaluate_ids = {s.id for s in rest}
        s1: Any = None
        s2: Any = None
        if not stage1_predictions:
            s1 = _engine(stage1 or DEFAULT_JUDGE, "stage1", dict(api_base=stage1_api_base, dtype=dtype, device=device))
            engines.append(s1)
        if stage2:
            s2 = _engine(stage2, "stage2", dict(api_base=api_base, api_key_env=api_key_env, api=api,
                                                concurrency=concurrency, budget_usd=budget_usd, price_in=price_in,
                                                price_out=price_out, dtype=dtype, device=device))
            engines.append(s2)
        cache: Any = False if no_cache else True
        common = dict(reference=reference, cache=cache)
        result = run_cascade(
            samples, out_dir=output, policy=policy, stage1=s1, stage2=s2,
            stage1_predictions=stage1_predictions, stage2_predictions=stage2_predictions,
            stage1_settings=dict(template=template, swap=swap, **common),
            stage2_settings=dict(template=stage2_template or template, swap=stage2_swap, **common),
            calibration=calib, evaluate_ids=evaluate_ids,
            confidence_fallback="margin" if margin_confidence else "error", unparsed=unparsed,
            fallback_to_stage1=fallback_to_stage1, seed=seed, signals=signal or (),
        )
        write_outputs(result, output, title=f"Cascade on {input}")
    summary = result.summary()
    typer.echo(f"cascade: {summary['sent_to_stage2']} of {summary['samples']} samples "
               f"({100 * summary['share_sent']:.1f}%) sent to stage 2; stage 1 inconsistent "
               f"{summary['inconsistent_stage1']}, unparsed {summary['unparsed_stage1']}")
    if "threshold" in summary["policy"]:
        typer.echo(f"  confidence threshold: {summary['policy']['threshold']}")
    typer.echo(describe(summary))
    ev = result.evaluation
    if ev:
        line = (f"agreement on {ev['n']} labelled samples: merged {100 * ev['merged']['agreement']:.2f}% "
                f"(stage 1 alone {100 * ev['stage1_alone']['agreement']:.2f}%")
        if "stage2_alone" in ev:
            line += f", stage 2 alone {100 * ev['stage2_alone']['agreement']:.2f}%"
        typer.echo(line + ")")
    if result.curve is not None:
        typer.echo("agreement vs. share sent to stage 2" + ("" if result.curve.complete else
                                                            " (stops at the share stage 2 judged)") + ":")
        typer.echo(format_table(result.curve))
    typer.echo(f"output {output}/merged.jsonl, report {output}/report.html")
    echo_rejects(intake, output, folder=True)
