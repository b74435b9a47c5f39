"""Judge requests and their results: samples → one request per presentation order, engine outputs →
Judgements in the sample's ORIGINAL answer order, and the guarded engine call.

Below both the in-process runner and the Ray actors (:mod:`judgelm.judging.scaleout`), which is why it
is its own module: each side imports it, neither imports the other.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest
from judgelm.judging.backend import Backend
from judgelm.judging.settings import JudgeSettings
from judgelm.prompts import PINNED_MODES
from judgelm.prompts.relabel import to_original_order
from judgelm.schema import Cost, Judgement, ParseStatus, Sample, verdict_from_scores

logger = logging.getLogger(__name__)


def order_key(order: list[int]) -> str:
    return "-".join(str(i) for i in order)


def split_key(key: str) -> tuple[str, list[int]]:
    """``"<sample_id>|1-0"`` → (sample_id, [1, 0]). Sample ids may themselves contain ``|``.
    Rubric requests end in ``~<criterion>`` (``"<sample_id>|0~helpfulness"``)."""
    sample_id, _, order = key.rpartition("|")
    order = order.partition(CRITERION_SEP)[0]
    return sample_id, [int(i) for i in order.split("-")]


#: separates a rubric request's criterion from its order in the key (criterion names never hold it)
CRITERION_SEP = "~"


def build_requests(sample: Sample, settings: JudgeSettings | None = None) -> list[JudgeRequest]:
    """One request per presentation order: the original one, plus the reversed one with ``both_orders``.

    Swapping is meaningful only with ≥ 2 presented answers (not in single/vqa grading). Rubric
    templates (``prometheus-*``) make one request per order and criterion (:func:`build_rubric_requests`).
    Runs call it through :func:`judgelm.judging.prepared.prepare`, which renders each prompt once.
    """
    from judgelm.prompts import render
    from judgelm.prompts.render import presentation_orders, resolve_mode, scoring_shape

    settings = settings or JudgeSettings()
    if settings.is_rubric:
        return build_rubric_requests(sample, settings)
    if settings.rubric is not None:
        raise ValueError(f"a rubric needs a rubric template (prometheus-absolute or prometheus-relative), "
                         f"not {settings.template!r}")
    template = settings.template
    mode = resolve_mode(sample, template, settings.mode)
    n_scores, _ = scoring_shape(sample, mode)
    orders = presentation_orders(len(sample.answers), mode, settings.both_orders)
    requests = []
    for order in orders:
        prompt = render(sample, template=template, mode=mode, reference=settings.reference, order=order)
        requests.append(
            JudgeRequest(
                key=f"{sample.id}|{order_key(order)}",
                sample=sample.reordered(order),
                prompt=prompt,
                template=template,
                mode=mode,
                n_answers=n_scores,
                fast=settings.fast,
                max_new_tokens=settings.generation_length,
                reference_used=settings.reference or mode == "vqa",  # vqa always shows the gold answer
            )
        )
    return requests


def build_rubric_requests(sample: Sample, settings: JudgeSettings) -> list[JudgeRequest]:
    """One request per presentation order and criterion (the run's rubric, else the sample's own).

    Absolute grading shows one answer (mode ``single``), relative grading two (``pair``, both orders
    with ``both_orders``). The grade comes after the feedback, so requests are never ``fast``.
    """
    from judgelm.prompts.prometheus import ABSOLUTE, RELATIVE, criteria_for, render_rubric, wants_reference
    from judgelm.prompts.render import presentation_orders
    from judgelm.prompts.rubric import RubricError

    template = settings.template
    wanted = 1 if template == ABSOLUTE else 2
    if len(sample.answers) != wanted:
        what = f"grades exactly 1 answer, got {len(sample.answers)} (use {RELATIVE} for two)" if wanted == 1 else \
            f"compares exactly 2 answers, got {len(sample.answers)}"
        raise RubricError(f"sample {sample.id!r}: {template} {what}")
    criteria = criteria_for(sample, settings.rubric)
    show_reference = wants_reference(sample, settings.rubric, settings.reference)
    mode = "single" if template == ABSOLUTE else "pair"
    orders = [[0]] if template == ABSOLUTE else presentation_orders(len(sample.answers), mode, settings.both_orders)
    requests = []
    for criterion in criteria:
        for order in orders:
            requests.append(
                JudgeRequest(
                    key=f"{sample.id}|{order_key(order)}{CRITERION_SEP}{criterion.name}",
                    sample=sample.reordered(order),
                    prompt=render_rubric(sample, criterion, template, reference=show_reference, order=order),
                    template=template,
                    mode=mode,
                    n_answers=len(order),
                    fast=False,
                    max_new_tokens=settings.generation_length,
                    reference_used=show_reference,
                    criterion=criterion,
                )
            )
    return requests


def _rubric_judgement(request: JudgeRequest, output: EngineOutput, base: dict[str, Any], order: list[int]) -> Judgement:
    """A rubric request's judgement: absolute → ``scores=[grade]``; relative → a verdict (A/B).

    A grade outside the criterion's scale, whether parsed from text or given directly by the
    engine, is rejected (status unparsed, ``metadata.parse_error`` says why), never clipped.
    """
    from judgelm.prompts.parsing import parse_prometheus_absolute, parse_prometheus_relative
    from judgelm.prompts.prometheus import ABSOLUTE

    criterion = request.criterion
    assert criterion is not None, "rubric requests carry their criterion"
    base["metadata"].update(criterion=criterion.name, scale=[criterion.low, criterion.high])
    absolute = request.template == ABSOLUTE

    def unparsed(why: str, explanation: str | None) -> Judgement:
        base["metadata"]["parse_error"] = why
        return Judgement(**base, status=ParseStatus.UNPARSED, explanation=explanation)

    if output.scores is not None:  # an engine that grades directly
        _, _, rest = (output.text or "").partition("\n")
        explanation = rest.strip() or None
        presented = [float(s) for s in output.scores]
        if len(presented) != len(order):
            return unparsed(f"engine gave {len(presented)} grade(s) for {len(order)} answer(s)", explanation)
        bad = [s for s in presented if not criterion.in_range(s)]
        if bad:
            return unparsed(f"grade {bad[0]:g} outside the rubric's scale {criterion.low}..{criterion.high} "
                            f"(rejected, not clipped)", explanation)
        scores = _to_original(order, presented)
        verdict = None if absolute else verdict_from_scores(scores)
        return Judgement(**base, scores=scores, verdict=verdict, explanation=explanation)
    if absolute:
        parsed = parse_prometheus_absolute(output.text, criterion.low, criterion.high)
    else:
        parsed = parse_prometheus_relative(output.text)
    if not parsed.ok:
        return unparsed(parsed.error or "unparsed", parsed.explanation)
    if absolute:
        return Judgement(**base, scores=parsed.scores, verdict=None, explanation=parsed.explanation)
    verdict = order[(parsed.verdict or 1) - 1] + 1
    return Judgement(**base, verdict=verdict, explanation=parsed.explanation)


def _to_original(order: list[int], presented: list[float]) -> list[float]:
    original = [0.0] * len(order)
    for pos, idx in enumerate(order):
        original[idx] = float(presented[pos])
    return original


def _json_safe(extra: dict[str, Any]) -> dict[str, Any]:
    safe = {}
    for k, v in extra.items():
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        safe[k] = v
    return safe


def to_judgement(request: JudgeRequest, output: EngineOutput, judge_name: str) -> Judgement:
    """Parse ``output`` (unless the engine scored directly) and express it in ORIGINAL answer order."""
    sample_id, order = split_key(request.key)
    pinned = request.mode in PINNED_MODES
    base: dict[str, Any] = dict(
        sample_id=sample_id,
        judge=judge_name,
        template=request.template,
        mode=request.mode,
        reference_used=request.reference_used,
        order=order,
        raw=output.text or "",
        confidence=output.confidence,
        cost=Cost(
            prompt_tokens=output.prompt_tokens,
            completion_tokens=output.completion_tokens,
            usd=output.cost_usd,
            calls=1,
        ),
        latency_s=output.latency_s,
        metadata=_json_safe(output.extra),
    )
    if output.error is not None:
        if request.criterion is not None:
            base["metadata"]["criterion"] = request.criterion.name
        return Judgement(**{**base, "confidence": None}, status=ParseStatus.ERROR, error=output.error)
    if request.criterion is not None:
        judgement = _rubric_judgement(request, output, base, order)
    else:
        judgement = _parsed_judgement(request, output, base, order, pinned)
    if judgement.explanation and judgement.swapped:  # speak of the answers as the user numbered them
        judgement.explanation = to_original_order(judgement.explanation, order, request.template)
        judgement.metadata["explanation_order"] = "original"
    return judgement


def _parsed_judgement(request: JudgeRequest, output: EngineOutput, base: dict[str, Any], order: list[int],
                      pinned: bool) -> Judgement:
    """The Judgement of a successful engine output (scores and verdict in the original order)."""
    from judgelm.prompts.parsing import parse_judgelm, parse_pandalm

    explanation = None
    presented_verdict: int | None = None
    if output.scores is not None:
        presented = [float(s) for s in output.scores]
        if pinned and len(presented) == 1:
            presented = [10.0, presented[0]]
        # engines that score directly may still explain themselves after the score line
        _, _, rest = (output.text or "").partition("\n")
        explanation = rest.strip() or None
    else:
        if request.template == "pandalm":
            parsed = parse_pandalm(output.text)
        else:
            parsed = parse_judgelm(output.text, n_answers=request.n_answers, pinned_first=10 if pinned else None)
        if not parsed.ok:
            base["metadata"]["parse_error"] = getattr(parsed, "error", None)
            return Judgement(**base, status=ParseStatus.UNPARSED, explanation=parsed.explanation)
        presented = [float(s) for s in parsed.scores] if parsed.scores is not None else None
        presented_verdict = parsed.verdict
        explanation = parsed.explanation
        if parsed.reference:
            base["metadata"]["generated_reference"] = parsed.reference

    if pinned:
        # Assistant 1 is the anchor pinned at 10, Assistant 2 the graded answer. A one-answer sample
        # (anchor = reference) gets that one score; a two-answer sample (anchor = first presented)
        # keeps both, in original order. Grading compares nothing: no verdict.
        if not presented or len(presented) < 2:
            return Judgement(**base, status=ParseStatus.UNPARSED)
        scores = [presented[1]] if len(order) == 1 else _to_original(order, presented[:2])
        return Judgement(**base, scores=scores, verdict=None, explanation=explanation)

    scores = _to_original(order, presented) if presented is not None else None
    if presented_verdict is not None:
        verdict = 0 if presented_verdict == 0 else order[presented_verdict - 1] + 1
    else:
        verdict = verdict_from_scores(scores)
    return Judgement(**base, scores=scores, verdict=verdict, explanation=explanation)


def engine_settings(engine: Engine) -> dict[str, Any]:
    """Generation settings that change an engine's output (part of the cache key): the engine says
    (:meth:`Engine.generation_settings`); a copy, so the caller may not change the engine's own dict."""
    return dict(engine.generation_settings())


def safe_judge_batch(engine: Backend, batch: list[JudgeRequest]) -> list[EngineOutput]:
    """``engine.judge_batch`` where a crash becomes error outputs (recorded, retried next run)."""
    try:
        outputs = engine.judge_batch(batch)
        if len(outputs) != len(batch):
            raise RuntimeError(f"engine returned {len(outputs)} outputs for {len(batch)} requests")
        return outputs
    except Exception as exc:  # noqa: BLE001 — any engine failure is recorded per request
        logger.exception("engine %s failed on a batch of %d", engine.name, len(batch))
        return [EngineOutput(text="", error=f"{type(exc).__name__}: {exc}") for _ in batch]


def call_settings(request: JudgeRequest, engine_settings_: dict[str, Any]) -> dict[str, Any]:
    extra = {} if request.criterion is None else {"criterion": request.criterion.to_dict()}
    return {
        **extra,
        "template": request.template,
        "mode": request.mode,
        "n_answers": request.n_answers,
        "fast": request.fast,
        "max_new_tokens": request.max_new_tokens,
        **engine_settings_,
    }
