"""What a cascade run produced: per-stage cost ledger and the result objects the runs return
(two-stage and guaranteed) and their reports show."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from judgelm.cascade.curve import Curve
from judgelm.cascade.decisions import Decision
from judgelm.schema import Judgement

logger = logging.getLogger(__name__)


@dataclass
class StageLedger:
    """What one stage cost: engine calls, tokens, money and time."""

    stage: int
    judge: str
    samples: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    wall_s: float = 0.0
    recorded: bool = False  # judgements read from a file: calls/time are those of the recording

    @classmethod
    def of(cls, stage: int, judgements: Sequence[Judgement], *, wall_s: float | None = None,
           recorded: bool = False) -> "StageLedger":
        ids = {j.sample_id for j in judgements}
        return cls(
            stage=stage,
            judge=", ".join(sorted({j.judge for j in judgements})) or "-",
            samples=len(ids),
            calls=sum(max(1, j.cost.calls) for j in judgements),
            prompt_tokens=sum(j.cost.prompt_tokens for j in judgements),
            completion_tokens=sum(j.cost.completion_tokens for j in judgements),
            usd=sum(j.cost.usd for j in judgements),
            wall_s=wall_s if wall_s is not None else sum(j.latency_s for j in judgements),
            recorded=recorded,
        )


@dataclass
class Ledger:
    stages: list[StageLedger]
    n_samples: int
    sent: int

    @property
    def total_usd(self) -> float:
        return sum(s.usd for s in self.stages)

    def stage2_alone(self) -> dict[str, float]:
        """Stage 2 on every sample, extrapolated from its cost per sample here (what the cascade saves)."""
        s2 = self.stages[1] if len(self.stages) > 1 else None
        if s2 is None or not s2.samples:
            return {"calls": 0.0, "usd": 0.0, "wall_s": 0.0}
        f = self.n_samples / s2.samples
        return {"calls": s2.calls * f, "usd": s2.usd * f, "wall_s": s2.wall_s * f}

    def to_dict(self) -> dict[str, Any]:
        alone = self.stage2_alone()
        return {
            "n_samples": self.n_samples, "sent_to_stage2": self.sent,
            "share_sent": self.sent / self.n_samples if self.n_samples else 0.0,
            "stages": [asdict(s) for s in self.stages],
            "total": {
                "calls": sum(s.calls for s in self.stages),
                "prompt_tokens": sum(s.prompt_tokens for s in self.stages),
                "completion_tokens": sum(s.completion_tokens for s in self.stages),
                "usd": self.total_usd,
                "wall_s": sum(s.wall_s for s in self.stages),
            },
            "stage2_alone_estimate": alone,
            "stage2_calls_saved": alone["calls"] - (self.stages[1].calls if len(self.stages) > 1 else 0),
        }


def strong_alone(ledgers: Sequence[StageLedger], calibration: Sequence[StageLedger], n: int) -> dict[str, float]:
    """The last (strong) stage on all ``n`` deployed samples, from its cost per sample on the
    calibration part (where it judged every sample), against what the cascade paid it."""
    cal, dep = calibration[-1], ledgers[-1]
    f = n / cal.samples if cal.samples else 0.0
    alone = {"calls": cal.calls * f, "usd": cal.usd * f, "wall_s": cal.wall_s * f}
    return {**alone, "calls_saved": alone["calls"] - dep.calls, "usd_saved": alone["usd"] - dep.usd,
            "share_saved": 1.0 - dep.samples / n if n else 0.0}


@dataclass
class GuaranteedResult:
    """A cascade run under a guarantee: the plan, the merged verdicts of the deployed samples, costs."""

    merged: list[Judgement]
    plan: Any  # judgelm.cascade.escalation_plan.Plan
    plans_tried: dict[str, Any]
    stage_of: dict[str, int]  # deployed sample → deciding stage (1-based; 0 = undecided, "kept")
    ledgers: list[StageLedger]  # deployed part
    calibration_ledgers: list[StageLedger]  # what calibrating cost (every stage on every calibration sample)
    n_calibration: int
    calibration_ids: list[str]
    evaluation: dict[str, Any] = field(default_factory=dict)
    curve: Curve | None = None
    study: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)

    def coverage(self) -> list[dict[str, Any]]:
        """Per stage: how many deployed samples it received and kept."""
        n = len(self.stage_of)
        out, reaching = [], n
        for k, led in enumerate(self.ledgers):
            kept = sum(1 for v in self.stage_of.values() if v == k + 1)
            out.append({"stage": k + 1, "judge": led.judge, "received": reaching, "kept": kept,
                        "coverage": kept / n if n else 0.0,
                        "threshold": self.plan.stages[k].to_dict()["threshold"]})
            reaching -= kept
        return out

    def summary(self) -> dict[str, Any]:
        n = len(self.stage_of)
        out: dict[str, Any] = {
            "deployed": n, "calibration": self.n_calibration,
            "guarantee": self.plan.to_dict(), "plans_tried": self.plans_tried,
            "coverage": self.coverage(), "undecided": sum(1 for v in self.stage_of.values() if v == 0),
            "ledger": {"stages": [asdict(s) for s in self.ledgers],
                       "calibration": [asdict(s) for s in self.calibration_ledgers],
                       "strong_alone": strong_alone(self.ledgers, self.calibration_ledgers, n)},
            "files": self.files,
        }
        if self.evaluation:
            out["evaluation"] = self.evaluation
        if self.curve is not None:
            out["curve"] = {k: v for k, v in self.curve.to_dict().items() if k != "points"}
        if self.study is not None:
            out["study"] = {k: v for k, v in self.study.items() if k != "splits_detail"}
        return out


@dataclass
class CascadeResult:
    merged: list[Judgement]
    decisions1: dict[str, Decision]
    decisions2: dict[str, Decision]
    order: list[str]
    sent: list[str]
    ledger: Ledger
    policy: dict[str, Any]
    curve: Curve | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "samples": len(self.decisions1), "sent_to_stage2": len(self.sent),
            "share_sent": len(self.sent) / max(1, len(self.decisions1)),
            "inconsistent_stage1": sum(d.consistent is False for d in self.decisions1.values()),
            "unparsed_stage1": sum(d.verdict is None for d in self.decisions1.values()),
            "policy": self.policy, "ledger": self.ledger.to_dict(), "files": self.files,
        }
        if self.evaluation:
            out["evaluation"] = self.evaluation
        if self.curve is not None:
            out["curve"] = {k: v for k, v in self.curve.to_dict().items() if k != "points"}
        return out
