"""Which samples a cascade sends to stage 2.

* ``budget`` — a fixed share: the ``round(F·n)`` least confident samples (ties in confidence
  broken by the seeded order of :func:`judgelm.cascade.decisions.confidence_order`).
* ``threshold`` — every sample whose stage-1 confidence is below ``t``.
* ``target`` — a threshold calibrated on labelled data so that agreement reaches ``A``:
  the lowest threshold (= the fewest samples sent) whose estimated agreement on the
  calibration samples is ≥ ``A``. ``on="kept"`` (default) estimates stage 1's agreement on the
  samples it keeps (needs only stage-1 judgements of the calibration set); ``on="merged"``
  estimates the agreement of the merged verdicts (needs stage-2 verdicts of the calibration
  set too, e.g. recorded ones). When no threshold reaches ``A``, everything goes to stage 2.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from judgelm.cascade.decisions import Decision
    from judgelm.schema import Sample

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    kind: Literal["budget", "threshold", "target"]
    value: float
    on: Literal["kept", "merged"] = "kept"  # target only

    def __post_init__(self) -> None:
        if self.kind not in ("budget", "threshold", "target"):
            raise ValueError(f"unknown policy {self.kind!r}")
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"{self.kind} must be within 0..1, got {self.value}")
        if self.on not in ("kept", "merged"):
            raise ValueError(f"target-on must be 'kept' or 'merged', got {self.on!r}")


@dataclass
class Calibration:
    threshold: float | None  # None: no threshold reaches the target → send everything
    target: float
    on: str
    n: int
    kept_share: float
    estimated_agreement: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def calibrate_threshold(
    confidence: Sequence[float],
    correct1: Sequence[bool],
    target: float,
    *,
    correct2: Sequence[bool] | None = None,
    on: str = "kept",
) -> Calibration:
    """The lowest confidence threshold whose estimated agreement on the calibration rows is ≥ ``target``.

    Samples with confidence ≥ threshold stay with stage 1. ``on="kept"``: agreement of stage 1 on
    those; ``on="merged"``: of stage 1 on those plus stage 2 (``correct2``) on the rest.
    """
    c = np.asarray(confidence, dtype=float)
    ok1 = np.asarray(correct1, dtype=float)
    if len(c) != len(ok1) or not len(c):
        raise ValueError("calibration needs one correctness flag per confidence, and at least one row")
    if on == "merged":
        if correct2 is None:
            raise ValueError("target on merged agreement needs stage-2 verdicts of the calibration samples")
        ok2 = np.asarray(correct2, dtype=float)
    n = len(c)
    for t in np.unique(c):  # ascending: the first that reaches the target keeps the most
        keep = c >= t
        if on == "kept":
            est = float(ok1[keep].mean())
        else:
            est = float((ok1[keep].sum() + ok2[~keep].sum()) / n)
        if est >= target:
            return Calibration(float(t), target, on, n, float(keep.mean()), est)
    est_all = float(ok2.mean()) if on == "merged" else None
    logger.warning("no confidence threshold reaches agreement %.4f on the %d calibration samples: "
                   "everything goes to stage 2", target, n)
    return Calibration(None, target, on, n, 0.0, est_all)


def _correct(verdict: int | None, gold: int, unparsed: str) -> bool:
    if verdict is None:
        return unparsed == "tie" and gold == 0
    return verdict == gold


def select(
    policy: Policy,
    decisions: dict[str, "Decision"],
    order: list[str],
    calibration: tuple[list["Sample"], dict[str, "Decision"], dict[str, "Decision"] | None] | None = None,
    *,
    unparsed: str = "tie",
) -> tuple[set[str], dict[str, Any]]:
    """(ids sent to stage 2, a description of the decision for the summary)."""
    info: dict[str, Any] = {"kind": policy.kind, "value": policy.value}
    if policy.kind == "budget":
        k = int(round(policy.value * len(order)))
        return set(order[:k]), info
    if policy.kind == "threshold":
        threshold: float | None = policy.value
    else:
        if calibration is None:
            raise ValueError("--target-agreement needs labelled calibration data (--calibration or --calib-fraction)")
        samples, d1, d2 = calibration
        labelled = [s for s in samples if s.gold is not None and s.gold.verdict is not None]
        if not labelled:
            raise ValueError("the calibration samples carry no gold verdicts")
        conf = [d1[s.id].confidence for s in labelled]
        ok1 = [_correct(d1[s.id].verdict, s.gold.verdict, unparsed) for s in labelled]  # type: ignore[union-attr]
        ok2 = None
        if d2 is not None:
            ok2 = [_correct(d2[s.id].verdict, s.gold.verdict, unparsed) for s in labelled]  # type: ignore[union-attr]
        cal = calibrate_threshold(conf, ok1, policy.value, correct2=ok2, on=policy.on)
        info["calibration"] = cal.to_dict()
        threshold = cal.threshold
    info["threshold"] = threshold
    if threshold is None:
        return set(order), info
    return {i for i in order if decisions[i].confidence < threshold}, info
