"""Score a judge's verdicts against gold labels (absolute grades: :mod:`judgelm.evaluation.grades`):
matching by id, the unparsed policy, baselines on the same rows, bootstrap intervals and the
two-order metrics.

This is the engine behind ``judgelm eval`` (and reusable by benchmarks): it turns samples and
judgements into one JSON-friendly summary plus the per-row data the HTML report plots.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from judgelm.evaluation import baselines, metrics
from judgelm.evaluation.metrics import WRONG, UnparsedPolicy
from judgelm.schema import Judgement, ParseStatus, Sample

logger = logging.getLogger(__name__)


@dataclass
class Row:
    """One evaluated sample: gold, the judge's verdict(s) and what plots need."""

    id: str
    gold: int
    pred: int | None  # raw verdict, None = unparsed
    scores: list[float] | None = None
    confidence: float | None = None
    longer: int = 0
    swapped_pred: int | None = None
    swapped_scores: list[float] | None = None
    has_swapped: bool = False


@dataclass
class Evaluation:
    """The summary (what ``judgelm eval --json`` prints) and the rows behind it."""

    summary: dict[str, Any]
    rows: list[Row] = field(default_factory=list)


def _resolve(values: Iterable[int | None], policy: UnparsedPolicy) -> list[int]:
    return [v if v is not None else (0 if policy == "tie" else WRONG) for v in values]


def _scored(gold: list[int], pred: list[int], labels: list[int]) -> dict[str, Any]:
    return metrics.score(gold, pred, labels=labels).to_dict()


def evaluate(
    samples: Iterable[Sample],
    predictions: Iterable[Judgement],
    swapped: Iterable[Judgement] | None = None,
    unparsed: UnparsedPolicy = "tie",
    n_boot: int = 1000,
    seed: int = 0,
) -> Evaluation:
    """Evaluate ``predictions`` (and optionally a swapped-order run) against the samples' gold.

    Predictions and gold are matched by sample id. ``predictions`` may itself hold both orders
    (two judgements per sample told apart by ``order``); then ``swapped`` must be None.
    Gold-less samples are dropped and counted; gold ids without prediction are counted as
    ``missing``; the unparsed policy decides what an output without verdict counts as.
    """
    from judgelm.data.predictions import split_orders

    if unparsed not in metrics.UNPARSED_POLICIES:
        raise ValueError(f"unknown unparsed policy {unparsed!r}; choose one of {metrics.UNPARSED_POLICIES}")
    first, second = split_orders(list(predictions))
    if swapped is not None:
        if second:
            raise ValueError("the predictions already hold a swapped run; do not also pass --pred-swapped")
        extra_first, second = split_orders(list(swapped))
        if extra_first:
            # a swapped run written in the original order (e.g. PandaLM-style recorded files)
            # cannot be told apart by ``order``: take it as given
            second = {**extra_first, **second}
    if not first:
        raise ValueError("no prediction in the original answer order")

    gold: dict[str, Sample] = {}
    all_ids: set[str] = set()
    n_samples = dropped = 0
    for s in samples:
        n_samples += 1
        if s.id in all_ids:
            raise ValueError(f"gold set has two samples with id {s.id!r}")
        all_ids.add(s.id)
        if s.gold is None or s.gold.verdict is None:
            dropped += 1
            continue
        gold[s.id] = s

    missing = [i for i in gold if i not in first]
    extra = [i for i in first if i not in all_ids]
    if missing:
        logger.warning("%d gold samples have no prediction (e.g. %s)", len(missing), missing[:3])
    if extra:
        logger.warning("%d predictions have no gold sample (e.g. %s)", len(extra), extra[:3])
    matched = [i for i in gold if i in first]
    if not matched:
        raise ValueError("no prediction matches a gold sample id")

    judgements = [first[i] for i in matched]
    unparsed_count = sum(j.verdict is None for j in judgements)
    errors = sum(j.status == ParseStatus.ERROR for j in judgements)
    kept = [i for i in matched if unparsed != "drop" or first[i].verdict is not None]
    rows = [
        Row(
            id=i,
            gold=int(gold[i].gold.verdict),  # type: ignore[union-attr]
            pred=first[i].verdict,
            scores=first[i].scores,
            confidence=first[i].confidence,
            longer=baselines.longer_verdict(gold[i]),
            swapped_pred=second[i].verdict if i in second else None,
            swapped_scores=second[i].scores if i in second else None,
            has_swapped=i in second,
        )
        for i in kept
    ]
    y = [r.gold for r in rows]
    p = _resolve((r.pred for r in rows), unparsed)
    labels = metrics.metric_labels(y)
    main = metrics.score(y, p, labels=labels)
    judge_names = sorted({j.judge for j in judgements})

    summary: dict[str, Any] = {
        "judge": ", ".join(judge_names),
        "unparsed_policy": unparsed,
        **main.headline(),
        "n": main.n,
        "n_gold": n_samples,
        "n_gold_dropped": dropped,
        "missing": len(missing),
        "extra": len(extra),
        "unparsed": unparsed_count / len(matched),
        "unparsed_count": unparsed_count,
        "errors": errors,
        "ci": metrics.bootstrap_ci(y, p, labels=labels, n_boot=n_boot, seed=seed),
        "labels": main.labels,
        "confusion": main.confusion,
        "confusion_columns": main.to_dict()["confusion_columns"],
        "per_class": main.per_class,
        "gold_distribution": {metrics.label_name(c): y.count(c) for c in labels},
        "pred_distribution": {metrics.label_name(c): p.count(c) for c in sorted(set(p))},
    }
    summary["baselines"] = {
        "majority": {"verdict": baselines.majority_verdict(y), **_scored(y, baselines.majority(y), labels)},
        "longer": _scored(y, [r.longer for r in rows], labels),
    }
    # an unparsed output's confidence says nothing about a verdict it did not give
    confident = [(r, c) for r, c in zip(rows, p) if r.confidence is not None and r.pred is not None]
    if confident:
        summary["reliability"] = metrics.reliability(
            [r.gold == c for r, c in confident], [float(r.confidence) for r, _ in confident]  # type: ignore[arg-type]
        )
    if second:
        summary.update(_swap_summary(rows, second, unparsed, labels))
    return Evaluation(summary=summary, rows=rows)


def _swap_summary(rows: list[Row], second: dict[str, Judgement], policy: UnparsedPolicy, labels: list[int]) -> dict[str, Any]:
    """Consistency, position bias and PandaLM's two-run rule on the pairs judged both ways."""
    pairs = [r for r in rows if r.has_swapped and r.gold <= 2 and (r.pred or 0) <= 2 and (r.swapped_pred or 0) <= 2]
    swapped_unparsed = sum(r.swapped_pred is None for r in pairs)
    if policy == "drop":
        pairs = [r for r in pairs if r.pred is not None and r.swapped_pred is not None]
    out: dict[str, Any] = {
        "swapped_missing": sum(not r.has_swapped for r in rows),
        "swapped_unparsed_count": swapped_unparsed,
    }
    if not pairs:
        logger.warning("no evaluated pair has a swapped-order prediction")
        return out
    a = _resolve((r.pred for r in pairs), policy)
    b = _resolve((r.swapped_pred for r in pairs), policy)
    y = [r.gold for r in pairs]
    sw = metrics.swap_scores(a, b)
    combined = metrics.pandalm_two_run(a, b)
    out.update(sw.to_dict())
    out["n_swap"] = out.pop("n")
    out["swapped_run"] = metrics.score(y, b, labels=labels).headline()
    out["pandalm_rule"] = {"n": len(y), **_scored(y, combined, labels)}
    return out
