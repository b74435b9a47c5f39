"""Stage judgements → one decision per sample with a confidence (both orders folded in), and merging stages."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from judgelm.evaluation import metrics
from judgelm.schema import Cost, Judgement, ParseStatus

logger = logging.getLogger(__name__)


@dataclass
class Decision:
    """One sample's verdict from one stage, both presentation orders folded in."""

    sample_id: str
    verdict: int | None  # original answer order; None = no usable verdict
    confidence: float  # 0..1; 0 = unsure (unparsed, or inconsistent across orders)
    consistent: bool | None  # None when judged in one order only
    judgements: list[Judgement] = field(default_factory=list)


def _confidence_of(j: Judgement, fallback: str) -> float:
    if j.verdict is None:
        return 0.0
    if j.confidence is not None:
        return float(min(1.0, max(0.0, j.confidence)))
    if fallback == "margin" and j.scores and len(j.scores) >= 2:
        top = sorted(j.scores, reverse=True)
        return float(min(1.0, (top[0] - top[1]) / 10.0))
    return 0.0


def decide(judgements: Iterable[Judgement], *, confidence_fallback: str = "error") -> dict[str, Decision]:
    """Fold judgements into one :class:`Decision` per sample (insertion order of first sight).

    With both orders: a consistent pair keeps its verdict and the *lower* of the two
    confidences; an inconsistent pair is unsure (confidence 0) and gets PandaLM's two-run verdict
    (:func:`judgelm.evaluation.metrics.pandalm_two_run`). An unparsed/failed judgement has confidence 0.
    Judgements without any confidence: ``confidence_fallback="margin"`` ranks by the score margin
    (|s1 − s2| / 10), ``"error"`` (default) refuses, since a cascade without a confidence is
    a random split.
    """
    groups: dict[str, list[Judgement]] = defaultdict(list)
    for j in judgements:
        groups[j.sample_id].append(j)
    if confidence_fallback == "error":
        missing = [j for js in groups.values() for j in js if j.verdict is not None and j.confidence is None]
        if missing:
            raise ValueError(
                f"{len(missing)} stage-1 judgement(s) by {missing[0].judge!r} carry no confidence (e.g. sample "
                f"{missing[0].sample_id!r}): use a judge that reports one (mini, hf, openai with logprobs) or "
                "rank by the score margin (confidence_fallback='margin')"
            )
    out: dict[str, Decision] = {}
    for sid, js in groups.items():
        first = [j for j in js if not j.swapped]
        second = [j for j in js if j.swapped]
        if len(first) > 1 or len(second) > 1:
            raise ValueError(f"sample {sid!r} has {len(js)} judgements: expected one per presentation order")
        if not second or not first:
            j = js[0]
            out[sid] = Decision(sid, j.verdict, _confidence_of(j, confidence_fallback), None, js)
            continue
        a, b = first[0], second[0]
        if a.verdict is None or b.verdict is None:
            v = a.verdict if a.verdict is not None else b.verdict
            out[sid] = Decision(sid, v, 0.0, None if v is None else False, [a, b])
        elif a.verdict == b.verdict:
            c = min(_confidence_of(a, confidence_fallback), _confidence_of(b, confidence_fallback))
            out[sid] = Decision(sid, a.verdict, c, True, [a, b])
        else:
            two_run = metrics.pandalm_two_run([a.verdict], [b.verdict])[0] if len(a.order) == 2 else a.verdict
            out[sid] = Decision(sid, two_run, 0.0, False, [a, b])
    return out


def confidence_order(decisions: dict[str, Decision], seed: int = 0) -> list[str]:
    """Sample ids from least to most confident; equal confidences in a seeded random order
    (files are often sorted by model pair, so input order would bias who goes first)."""
    ids = list(decisions)
    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(len(ids))
    conf = np.array([decisions[i].confidence for i in ids], dtype=float)
    idx = np.lexsort((tiebreak, conf))
    return [ids[k] for k in idx]


def merged_judgement(decision: Decision, stage: int) -> Judgement:
    """One judgement standing for the sample's final decision, tagged ``metadata.stage``.

    With two orders, the original-order judgement carries the folded verdict; the per-order
    verdicts, consistency and the summed cost are kept in metadata/cost.
    """
    js = decision.judgements
    base = next((j for j in js if not j.swapped), js[0])
    cost = Cost(
        prompt_tokens=sum(j.cost.prompt_tokens for j in js),
        completion_tokens=sum(j.cost.completion_tokens for j in js),
        usd=sum(j.cost.usd for j in js),
        calls=sum(j.cost.calls for j in js),
    )
    meta = {**base.metadata, "stage": stage}
    if len(js) > 1:
        meta.update(orders=[j.order for j in js], order_verdicts=[j.verdict for j in js], consistent=decision.consistent)
    update: dict[str, Any] = {"verdict": decision.verdict, "cost": cost, "metadata": meta,
                              "latency_s": sum(j.latency_s for j in js)}
    if stage == 1:
        update["confidence"] = decision.confidence
    if decision.verdict is None and base.status == ParseStatus.OK:
        update["status"] = ParseStatus.UNPARSED
    elif decision.verdict is not None and base.status != ParseStatus.OK:
        update["status"] = ParseStatus.OK  # the other order gave the verdict
        update["error"] = None
    return base.model_copy(update=update)
