"""Agreement of the merged verdicts against gold for every number of samples sent to the strong judge."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from judgelm.evaluation import metrics

logger = logging.getLogger(__name__)


@dataclass
class CurvePoint:
    share: float  # share of samples sent to stage 2
    sent: int
    agreement: float  # merged verdicts vs gold
    f1: float | None = None  # macro F1 (table points only)
    kept_agreement: float | None = None  # stage 1 alone on the samples it keeps
    sent_agreement: float | None = None  # stage 2 on the samples sent


@dataclass
class Curve:
    """Agreement of the merged verdicts against gold for every number of samples sent."""

    n: int  # samples with gold
    points: list[CurvePoint]  # one per k = 0..max_sent
    table: list[CurvePoint]  # the points at 0, 10, …, 100 % (those reachable), with F1
    stage1_agreement: float
    stage2_agreement: float | None  # None when stage 2 did not judge every sample
    complete: bool  # stage-2 verdicts for every sample (a study), else the curve stops at the sent share

    def at_share(self, share: float) -> CurvePoint:
        k = int(round(share * self.n))
        if k >= len(self.points):
            raise ValueError(f"the curve stops at share {self.points[-1].share:.3f} (stage 2 judged no more)")
        return self.points[k]

    def best_within(self, max_share: float) -> CurvePoint:
        """The highest agreement among shares ≤ ``max_share``."""
        pts = [p for p in self.points if p.share <= max_share + 1e-12]
        return max(pts, key=lambda p: (p.agreement, -p.share))

    def min_share_reaching(self, agreement: float) -> CurvePoint | None:
        """The smallest share whose merged agreement is ≥ ``agreement`` (None if never)."""
        return next((p for p in self.points if p.agreement >= agreement - 1e-12), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "complete": self.complete, "stage1_agreement": self.stage1_agreement,
            "stage2_agreement": self.stage2_agreement,
            "table": [asdict(p) for p in self.table], "points": [asdict(p) for p in self.points],
        }


def resolve_verdict(v: int | None, policy: str) -> int:
    return v if v is not None else (0 if policy == "tie" else metrics.WRONG)


def agreement_curve(
    order: Sequence[str],
    stage1: dict[str, int | None],
    stage2: dict[str, int | None],
    gold: dict[str, int],
    *,
    unparsed: str = "tie",
    steps: int = 10,
) -> Curve:
    """Merged agreement when the first k ids of ``order`` (least confident first) go to stage 2.

    ``stage2`` may cover only a prefix of ``order`` (a live run sends only the least confident):
    the curve then stops where stage-2 verdicts stop. Samples without gold are left out;
    unparsed verdicts count as ties (published convention) or as wrong (``unparsed="wrong"``).
    """
    if unparsed not in ("tie", "wrong"):
        raise ValueError("the curve supports unparsed='tie' or 'wrong'")
    ids = [i for i in order if i in gold]
    if not ids:
        raise ValueError("no sample has a gold verdict: the curve needs labelled samples")
    reach = 0
    while reach < len(ids) and ids[reach] in stage2:
        reach += 1
    y = np.array([gold[i] for i in ids])
    p1 = np.array([resolve_verdict(stage1[i], unparsed) for i in ids])
    p2 = np.array([resolve_verdict(stage2[i], unparsed) if i in stage2 else metrics.WRONG for i in ids])
    c1, c2 = (p1 == y).astype(float), (p2 == y).astype(float)
    n = len(ids)
    sent_correct = np.concatenate([[0.0], np.cumsum(c2)])  # correct among the first k (stage 2)
    kept_correct = np.concatenate([np.cumsum(c1[::-1])[::-1], [0.0]])  # correct among k.. (stage 1)
    points = []
    for k in range(reach + 1):
        points.append(CurvePoint(
            share=k / n, sent=k, agreement=float((sent_correct[k] + kept_correct[k]) / n),
            kept_agreement=float(kept_correct[k] / (n - k)) if k < n else None,
            sent_agreement=float(sent_correct[k] / k) if k else None,
        ))
    labels = metrics.metric_labels(y.tolist())
    table = []
    for k in dict.fromkeys(int(round(step / steps * n)) for step in range(steps + 1)):
        if k > reach:
            break
        merged = np.concatenate([p2[:k], p1[k:]]).tolist()
        s = metrics.score(y.tolist(), merged, labels=labels)
        table.append(CurvePoint(**{**asdict(points[k]), "agreement": s.agreement, "f1": s.f1}))
    complete = reach == n
    return Curve(n=n, points=points, table=table, stage1_agreement=points[0].agreement,
                 stage2_agreement=points[-1].agreement if complete else None, complete=complete)
