"""Does the guarantee hold? Many random calibration splits by prompt, each checked on its held-back part.

Why: a guarantee "agreement ≥ alpha with probability ≥ 1 − delta" is a statement about the draw of
the calibration data, so one run proves nothing; the proof is its failure rate over many draws.
Each split calibrates on ``share`` of the prompts and applies the plan to the other prompts;
a **failure** is a split whose plan claims the guarantee while the held-back agreement on what it
covers (every item for ``on="all"``, the kept items for ``on="kept"``) is below alpha. A split
that cannot prove the level claims nothing (it escalates its budget cap or abstains) and is
counted as a refusal, not a failure. Needs every stage's judgements of every sample (recorded).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from judgelm.cascade.escalation_plan import AgreementTest, calibrate, route
from judgelm.schema import Sample

logger = logging.getLogger(__name__)


def guarantee_study(
    samples: Sequence[Sample],
    stages: Sequence[Any],  # judgelm.cascade.guaranteed_run.StageSource, recorded
    *,
    alpha: float,
    delta: float = 0.1,
    on: str = "all",
    share: float = 0.5,
    splits: int = 200,
    signals: Sequence[str | Path] = (),
    confidence: str = "auto",
    test: str = "prompt",
    max_escalate: float = 1.0,
    unparsed: str = "tie",
    seed: int = 0,
) -> dict[str, Any]:
    """Failure rate, refusal rate, mean escalated share, coverage and held-back agreement over ``splits`` splits."""
    from judgelm.cascade.guaranteed_run import (
        Stage,
        choose_plan,
        confidence_array,
        is_correct,
        load_signals,
    )
    from judgelm.data.predictions import read_predictions
    from judgelm.data.split import prompt_key

    labelled = [s for s in samples if s.gold is not None and s.gold.verdict is not None]
    if any(src.predictions is None for src in stages):
        raise ValueError("the study needs recorded judgements of every stage (--stage*-predictions)")
    ids = [s.id for s in labelled]
    st = [Stage(src, read_predictions(src.predictions)) for src in stages]
    for s in st:
        s.judge(labelled, Path("."), "study")  # recorded: only reads
    extra = load_signals(signals, labelled, Path("."), None)
    decs = [s.decisions(ids) for s in st]
    own = [s.has_confidence() for s in st]
    modes = ["own", "agreement"] if confidence == "auto" else [confidence]
    conf = {m: confidence_array(ids, decs, own, m, extra) for m in modes}
    gold = [s.gold.verdict for s in labelled]  # type: ignore[union-attr]
    correct = np.array([[is_correct(d[i].verdict, g, unparsed) for d in decs] for i, g in zip(ids, gold)])
    keys = np.array([prompt_key(s) for s in labelled])
    groups = sorted(set(keys))
    n_k = len(st)
    rows = []
    for j in range(splits):
        g = list(groups)
        random.Random(seed + j).shuffle(g)
        cal_groups = set(g[: max(1, round(len(g) * share))])
        cal = np.isin(keys, list(cal_groups))
        held = ~cal
        index = {k: c for c, k in enumerate(sorted(set(keys[cal])))}
        tester = (AgreementTest("prompt", np.array([index[k] for k in keys[cal]]), len(set(keys[held])))
                  if test == "prompt" else AgreementTest("binomial"))
        plans = {m: calibrate(conf[m][cal], correct[cal], alpha, delta / len(modes), on,  # type: ignore[arg-type]
                              tester, max_escalate=max_escalate) for m in modes}
        for m, p in plans.items():
            p.confidence = m
        plan = choose_plan(plans)
        th = [s.threshold for s in plan.stages]
        who = route(conf[plan.confidence][held], th, last_abstains=(on == "kept"))
        c_held = correct[held]
        covered = who >= 0
        agree = float(c_held[np.where(covered)[0], who[covered]].mean()) if covered.any() else None
        rows.append({
            "seed": seed + j, "confidence": plan.confidence, "guaranteed": plan.guaranteed,
            "held_back": int(held.sum()), "agreement": agree, "coverage": float(covered.mean()),
            "escalated_to_last": float(((who == n_k - 1) | ~covered).mean()),
            "stage_coverage": [float((who == k).mean()) for k in range(n_k)],
            "failed": bool(plan.guaranteed and agree is not None and agree < alpha),
        })
    claimed = [r for r in rows if r["guaranteed"]]

    def mean(key: str, rs: list[dict[str, Any]]) -> float | None:
        vals = [r[key] for r in rs if r[key] is not None]
        return float(np.mean(vals)) if vals else None

    out = {
        "alpha": alpha, "delta": delta, "on": on, "share": share, "splits": splits, "test": test,
        "max_escalate": max_escalate, "confidence": confidence, "n": len(ids),
        "failure_rate": sum(r["failed"] for r in rows) / splits,
        "failure_rate_among_claimed": (sum(r["failed"] for r in claimed) / len(claimed)) if claimed else None,
        "claim_rate": len(claimed) / splits,
        "agreement_mean": mean("agreement", rows), "agreement_mean_claimed": mean("agreement", claimed),
        "agreement_min_claimed": min((r["agreement"] for r in claimed if r["agreement"] is not None), default=None),
        "escalated_mean": mean("escalated_to_last", rows), "escalated_mean_claimed": mean("escalated_to_last", claimed),
        "coverage_mean": mean("coverage", rows),
        "stage_coverage_mean": [float(np.mean([r["stage_coverage"][k] for r in rows])) for k in range(n_k)],
        "confidence_chosen": {m: sum(r["confidence"] == m for r in rows) for m in modes},
        "splits_detail": rows,
    }
    logger.info("guarantee study: %d splits, failure rate %.3f (delta %.2f), claimed %.2f",
                splits, out["failure_rate"], delta, out["claim_rate"])
    return out


def format_study(study: dict[str, Any]) -> str:
    """A few lines for the command's output."""
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.2f}%"
    cov = ", ".join(f"stage {k + 1} {pct(c)}" for k, c in enumerate(study["stage_coverage_mean"]))
    return (f"guarantee study: {study['splits']} random calibration splits by prompt ({pct(study['share'])} of the "
            f"prompts each), level {pct(study['alpha'])} on {study['on']}, delta {study['delta']}\n"
            f"  failure rate {pct(study['failure_rate'])} (must be ≤ {pct(study['delta'])}); "
            f"guarantee claimed on {pct(study['claim_rate'])} of the splits\n"
            f"  held-back agreement: mean {pct(study['agreement_mean'])} (claimed splits "
            f"{pct(study['agreement_mean_claimed'])}, min {pct(study['agreement_min_claimed'])}); "
            f"escalated to the last stage: mean {pct(study['escalated_mean'])}\n"
            f"  coverage per stage (mean): {cov}; confidence chosen: {study['confidence_chosen']}")
