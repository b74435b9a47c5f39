"""The two-stage cascade run ("integrated" method, docs/formats.md §5): a cheap judge decides what
it is sure of, a strong judge decides the rest (``judgelm cascade``; the run of any number of stages
under a guarantee is :mod:`judgelm.cascade.guaranteed_run`).

Stage 1 judges every sample; its confidence ranks the samples; a policy
(:mod:`judgelm.cascade.policy`) sends the least confident to stage 2. The data side lives below
this module: decisions and merging (:mod:`judgelm.cascade.decisions`), the agreement-vs-share
curve (:mod:`judgelm.cascade.curve`), the cost ledger (:mod:`judgelm.cascade.results`).
:func:`run_cascade` wires them to engines (via :func:`judgelm.judging.runner.run_judge`, so both
stages are resumable) or to recorded judgement files (studies that cost nothing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judgelm.cascade.curve import Curve, agreement_curve, resolve_verdict
from judgelm.cascade.decisions import confidence_order, decide, merged_judgement
from judgelm.cascade.results import CascadeResult, Ledger, StageLedger
from judgelm.evaluation import metrics
from judgelm.schema import Judgement, ParseStatus, Sample

logger = logging.getLogger(__name__)


def _index_recorded(path: str | Path, ids: set[str], stage: int) -> list[Judgement]:
    from judgelm.data.predictions import read_predictions

    recorded = read_predictions(path)
    kept = [j for j in recorded if j.sample_id in ids]
    have = {j.sample_id for j in kept}
    missing = sorted(ids - have)
    if missing:
        raise ValueError(
            f"{path}: stage-{stage} predictions lack {len(missing)} of the {len(ids)} samples needed "
            f"(e.g. ids {missing[:5]})"
        )
    return kept


def _judge(samples: list[Sample], engine: Any, out: Path, settings: dict[str, Any]) -> tuple[list[Judgement], float]:
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings

    t0 = time.perf_counter()
    judge_settings, run_options = JudgeSettings.split(settings)
    summary = run_judge(samples, engine, out, judge_settings, **run_options)
    return summary.judgements, time.perf_counter() - t0


def run_cascade(
    samples: Sequence[Sample],
    *,
    out_dir: str | Path,
    policy: "Any",
    stage1: Any = None,
    stage2: Any = None,
    stage1_predictions: str | Path | None = None,
    stage2_predictions: str | Path | None = None,
    stage1_settings: dict[str, Any] | None = None,
    stage2_settings: dict[str, Any] | None = None,
    calibration: Sequence[Sample] | None = None,
    evaluate_ids: set[str] | None = None,
    confidence_fallback: str = "error",
    unparsed: str = "tie",
    fallback_to_stage1: bool = False,
    seed: int = 0,
    signals: Sequence[str | Path] = (),
) -> CascadeResult:
    """Run both stages and merge. ``policy`` is a :class:`judgelm.cascade.policy.Policy`.

    Stage 1 comes from ``stage1`` (engine or spec, judged into ``out_dir/stage1.jsonl``,
    resumable) or ``stage1_predictions`` (a recorded file); stage 2 likewise. With recorded
    stage-2 predictions covering every sample and gold labels, the full curve is computed; a
    live stage 2 judges only the samples sent. ``calibration``: labelled samples for a
    threshold policy (their stage-1 judgements come from the same source as the main set's).
    ``evaluate_ids``: the samples scored against gold (e.g. all but a calibration split).
    ``fallback_to_stage1``: a sent sample on which stage 2 gives no verdict (unparsable output,
    failure) keeps stage 1's verdict (tagged ``stage2_no_verdict``) instead of staying unparsed.
    ``signals``: extra judgement files (or ``"length"``); stage 1's confidence becomes the agreement
    confidence of :mod:`judgelm.cascade.signals` (its own confidence and the signals' votes).
    """
    from judgelm.cascade.policy import select

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if (stage1 is None) == (stage1_predictions is None):
        raise ValueError("give exactly one of a stage-1 judge or stage-1 predictions")
    if (stage2 is None) == (stage2_predictions is None):
        raise ValueError("give exactly one of a stage-2 judge or stage-2 predictions")
    samples = list(samples)
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise ValueError("sample ids must be unique")
    by_id = {s.id: s for s in samples}
    calib = list(calibration or [])
    calib_ids = {s.id for s in calib}
    overlap = calib_ids & set(ids)
    all_for_stage1 = samples + [s for s in calib if s.id not in overlap]

    # ---- stage 1 (everything, calibration included)
    if stage1_predictions is not None:
        j1 = _index_recorded(stage1_predictions, {s.id for s in all_for_stage1}, 1)
        wall1, rec1 = None, True
    else:
        j1, wall1 = _judge(all_for_stage1, stage1, out_dir / "stage1.jsonl", stage1_settings or {})
        rec1 = False
    d1_all = decide(j1, confidence_fallback=confidence_fallback)
    if signals:
        from dataclasses import replace

        from judgelm.cascade.guaranteed_run import load_signals
        from judgelm.cascade.signals import agreement_confidence

        agree = agreement_confidence(d1_all, load_signals(signals, all_for_stage1, out_dir, None))
        d1_all = {i: replace(d, confidence=agree[i]) for i, d in d1_all.items()}
    d1 = {i: d1_all[i] for i in ids}
    order = confidence_order(d1, seed=seed)

    # ---- the policy (a threshold may need calibration judgements of both stages)
    recorded2 = None
    if stage2_predictions is not None:
        from judgelm.data.predictions import read_predictions

        recorded2 = read_predictions(stage2_predictions)
    calib_info = None
    if calib:
        cal_d1 = {s.id: d1_all[s.id] for s in calib}
        cal_d2 = None
        if recorded2 is not None:
            have = {j.sample_id for j in recorded2}
            if calib_ids <= have:
                cal_d2 = decide([j for j in recorded2 if j.sample_id in calib_ids], confidence_fallback="margin")
        calib_info = (calib, cal_d1, cal_d2)
    sent_ids, policy_info = select(policy, d1, order, calib_info, unparsed=unparsed)
    sent = [i for i in order if i in sent_ids]

    # ---- stage 2 (the samples sent; all of them in a study, for the curve)
    if recorded2 is not None:
        need = set(sent)
        have = {j.sample_id for j in recorded2}
        if not need <= have:
            missing = sorted(need - have)
            raise ValueError(f"{stage2_predictions}: stage-2 predictions lack {len(missing)} of the "
                             f"{len(need)} samples sent (e.g. ids {missing[:5]})")
        wanted = set(ids)
        d2 = decide([j for j in recorded2 if j.sample_id in wanted], confidence_fallback="margin")
        used2 = [j for i in sent for j in d2[i].judgements]
        ledger2 = StageLedger.of(2, used2, recorded=True)
    else:
        j2, wall2 = _judge([by_id[i] for i in sent], stage2, out_dir / "stage2.jsonl", stage2_settings or {}) \
            if sent else ([], 0.0)
        failed = sum(j.status == ParseStatus.ERROR for j in j2)
        if failed:
            logger.warning("stage 2 failed on %d request(s) (recorded as errors): run the same command again "
                           "to retry only those", failed)
        d2 = decide(j2, confidence_fallback="margin")
        ledger2 = StageLedger.of(2, j2, wall_s=wall2)
        if not sent:
            ledger2.judge = getattr(stage2, "name", str(stage2))

    def final(i: str) -> Judgement:
        if i not in sent_ids:
            return merged_judgement(d1[i], 1)
        if fallback_to_stage1 and d2[i].verdict is None:
            j = merged_judgement(d1[i], 1)
            j.metadata["stage2_no_verdict"] = True
            return j
        return merged_judgement(d2[i], 2)

    merged = [final(i) for i in ids]
    used1 = [j for i in ids for j in d1[i].judgements]
    ledger = Ledger([StageLedger.of(1, used1, wall_s=wall1 if not rec1 else None, recorded=rec1), ledger2],
                    n_samples=len(ids), sent=len(sent))
    result = CascadeResult(merged=merged, decisions1=d1, decisions2=d2, order=order, sent=sent, ledger=ledger,
                           policy=policy_info)

    # ---- against gold, where there is gold
    eval_ids = evaluate_ids if evaluate_ids is not None else set(ids)
    gold = {s.id: s.gold.verdict for s in samples
            if s.id in eval_ids and s.gold is not None and s.gold.verdict is not None}
    if gold:
        v1 = {i: d.verdict for i, d in d1.items()}
        v2 = {i: d.verdict if d.verdict is not None or not fallback_to_stage1 else v1.get(i) for i, d in d2.items()}
        result.curve = agreement_curve(order, v1, v2, gold, unparsed=unparsed)
        g = [gold[i] for i in ids if i in gold]
        m = [resolve_verdict(j.verdict, unparsed) for j in merged if j.sample_id in gold]
        s1 = [resolve_verdict(d1[i].verdict, unparsed) for i in ids if i in gold]
        labels = metrics.metric_labels(g)
        result.evaluation = {
            "n": len(g), "unparsed_policy": unparsed,
            "merged": metrics.score(g, m, labels=labels).headline(),
            "merged_ci": metrics.bootstrap_ci(g, m, labels=labels, seed=seed),
            "stage1_alone": metrics.score(g, s1, labels=labels).headline(),
            "sent_among_evaluated": sum(1 for i in sent if i in gold),
        }
        if result.curve.complete:
            s2 = [resolve_verdict(v2[i], unparsed) for i in ids if i in gold]
            result.evaluation["stage2_alone"] = metrics.score(g, s2, labels=labels).headline()
    return result


def write_outputs(result: CascadeResult, out_dir: str | Path, *, title: str = "Cascade") -> dict[str, str]:
    """merged.jsonl, ledger.json, summary.json, curve.csv/json/png and report.html in ``out_dir``."""
    import csv
    import json

    from judgelm.storage import write_jsonl_atomic

    out_dir = Path(out_dir)
    files = {"merged": out_dir / "merged.jsonl", "ledger": out_dir / "ledger.json", "summary": out_dir / "summary.json"}
    write_jsonl_atomic(files["merged"], (j.to_json() for j in result.merged))
    files["ledger"].write_text(json.dumps(result.ledger.to_dict(), indent=2), encoding="utf-8")
    if result.curve is not None:
        files["curve_json"] = out_dir / "curve.json"
        files["curve_json"].write_text(json.dumps(result.curve.to_dict(), indent=1), encoding="utf-8")
        files["curve_csv"] = out_dir / "curve.csv"
        with open(files["curve_csv"], "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["share_sent", "sent", "agreement", "kept_agreement_stage1", "sent_agreement_stage2"])
            for p in result.curve.points:
                w.writerow([f"{p.share:.6f}", p.sent, f"{p.agreement:.6f}",
                            "" if p.kept_agreement is None else f"{p.kept_agreement:.6f}",
                            "" if p.sent_agreement is None else f"{p.sent_agreement:.6f}"])
    from judgelm.cascade.report import write_report

    paths = write_report(result, out_dir, title=title)
    files.update(paths)
    result.files = {k: str(v) for k, v in files.items()}
    files["summary"].write_text(json.dumps(result.summary(), indent=2), encoding="utf-8")
    return result.files


def format_table(curve: Curve) -> str:
    """The curve's table as aligned text (what the command prints)."""
    lines = [f"{'sent':>6} {'n sent':>7} {'agreement':>10} {'macro F1':>9} {'stage-1 kept':>13} {'stage-2 sent':>13}"]
    for p in curve.table:
        lines.append(
            f"{100 * p.share:5.0f}% {p.sent:7d} {100 * p.agreement:9.2f}% {100 * (p.f1 or 0):8.2f}% "
            f"{'' if p.kept_agreement is None else f'{100 * p.kept_agreement:12.2f}%':>13} "
            f"{'' if p.sent_agreement is None else f'{100 * p.sent_agreement:12.2f}%':>13}"
        )
    return "\n".join(lines)
