"""A cascade of any number of stages whose thresholds carry a guarantee (``judgelm cascade --guarantee``).

Why: a fixed share or a threshold tuned to reach a target says nothing about new data; the user
asks "at least 80 % agreement, with probability 90 %" and gets the escalation plan that delivers
it, or is told it cannot be proven (:mod:`judgelm.cascade.escalation_plan`).

How: the input is split by prompt into a labelled calibration part and the deployed part (or the
calibration samples come from a file). Every stage judges every calibration sample (the price of
the guarantee, in the ledger); the thresholds are calibrated there; then the deployed samples flow
through the stages: stage k keeps what it is confident of, the rest goes to stage k + 1, which
judges only those. Each stage's confidence is its own (``own``), the agreement of several cheap
signals with it (``agreement``: :mod:`judgelm.cascade.signals`, the earlier stages included), or
the better of the two on the calibration part (``auto``: both calibrated at delta / 2, the one
escalating less is kept — Bonferroni, so the guarantee still holds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from judgelm.cascade.decisions import Decision, decide, merged_judgement
from judgelm.cascade.escalation_plan import AgreementTest, Plan, calibrate
from judgelm.cascade.results import GuaranteedResult, StageLedger
from judgelm.cascade.signals import (
    Signal,
    agreement_confidence,
    length_signal,
    signal_from_decisions,
    signal_from_judgements,
)
from judgelm.schema import Judgement, Sample

logger = logging.getLogger(__name__)

ConfidenceMode = Literal["own", "agreement", "auto"]


@dataclass
class StageSource:
    """One stage: an engine (judged live, resumably) or a file of recorded judgements."""

    engine: Any = None
    predictions: str | Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.predictions) if self.predictions is not None else getattr(self.engine, "name", str(self.engine))


@dataclass
class Stage:
    source: StageSource
    recorded: list[Judgement] | None  # a recorded file, read once
    judgements: dict[str, list[Judgement]] = field(default_factory=dict)  # per sample, what this stage judged
    wall: dict[str, float] = field(default_factory=dict)  # "calibration" / "deploy" seconds (live)

    def judge(self, samples: list[Sample], out: Path, part: str) -> None:
        todo = [s for s in samples if s.id not in self.judgements]
        if not todo:
            return
        if self.recorded is not None:
            want = {s.id for s in todo}
            for j in self.recorded:
                if j.sample_id in want:
                    self.judgements.setdefault(j.sample_id, []).append(j)
            missing = sorted(want - set(self.judgements))
            if missing:
                raise ValueError(f"{self.source.predictions}: recorded judgements lack {len(missing)} of the "
                                 f"{len(want)} samples this stage must judge (e.g. ids {missing[:5]})")
            return
        from judgelm.judging.runner import run_judge
        from judgelm.judging.settings import JudgeSettings

        t0 = time.perf_counter()
        judge_settings, run_options = JudgeSettings.split(self.source.settings)
        summary = run_judge(todo, self.source.engine, out, judge_settings, **run_options)
        self.wall[part] = self.wall.get(part, 0.0) + time.perf_counter() - t0
        want = {s.id for s in todo}
        for j in summary.judgements:
            if j.sample_id in want:
                self.judgements.setdefault(j.sample_id, []).append(j)

    def decisions(self, ids: Sequence[str]) -> dict[str, Decision]:
        return decide([j for i in ids for j in self.judgements[i]], confidence_fallback="margin")

    def has_confidence(self) -> bool:
        return any(j.confidence is not None for js in self.judgements.values() for j in js)


def load_signals(specs: Sequence[str | Path], samples: list[Sample], out_dir: Path, engine_loader: Any,
                 settings: dict[str, Any] | None = None) -> list[Signal]:
    """``length``, a recorded judgement file, or an engine spec (judged on every sample, both orders,
    with ``settings`` for :func:`judgelm.judging.runner.run_judge`, into ``out_dir/signalN.jsonl``)."""
    from judgelm.data.predictions import read_predictions

    out: list[Signal] = []
    for i, spec in enumerate(specs):
        if str(spec) == "length":
            out.append(length_signal(samples))
        elif Path(spec).exists():
            out.append(signal_from_judgements(Path(spec).name, read_predictions(spec)))
        else:
            if engine_loader is None:
                raise ValueError(f"signal {spec!r} is neither 'length' nor an existing file")
            from judgelm.judging.runner import run_judge
            from judgelm.judging.settings import JudgeSettings

            engine = engine_loader(str(spec))
            try:
                judge_settings, run_options = JudgeSettings.split({"swap": True, **(settings or {})})
                summary = run_judge(samples, engine, out_dir / f"signal{i + 1}.jsonl", judge_settings, **run_options)
                out.append(signal_from_judgements(str(spec), summary.judgements))
            finally:
                engine.close()
    return out


def stage_confidence(stage_idx: int, decisions: dict[str, Decision], own: bool, mode: str,
                     signals: Sequence[Signal], earlier: Sequence[Signal]) -> dict[str, float]:
    """Stage ``stage_idx``'s confidence per sample in ``mode`` ("own" or "agreement")."""
    if mode == "own":
        return {i: d.confidence if own else 0.0 for i, d in decisions.items()}
    return agreement_confidence(decisions, [*signals, *earlier], own=own)


def confidence_array(ids: Sequence[str], decs: Sequence[dict[str, Decision]], own: Sequence[bool], mode: str,
                     signals: Sequence[Signal]) -> np.ndarray:
    """[len(ids), K]: every stage's confidence on every sample (earlier stages are signals of later ones)."""
    conf = np.zeros((len(ids), len(decs)))
    for k in range(len(decs)):
        earlier = [signal_from_decisions(f"stage{j + 1}", decs[j]) for j in range(k)]
        c = stage_confidence(k, decs[k], own[k], mode, signals, earlier)
        conf[:, k] = [c[i] for i in ids]
    return conf


def is_correct(verdict: int | None, gold: int, unparsed: str) -> bool:
    return (verdict if verdict is not None else (0 if unparsed == "tie" else -99)) == gold


def run_guaranteed(
    samples: Sequence[Sample],
    *,
    out_dir: str | Path,
    stages: Sequence[StageSource],
    alpha: float,
    delta: float = 0.1,
    on: str = "all",
    calibration: Sequence[Sample] | float,
    signals: Sequence[str | Path] = (),
    confidence: ConfidenceMode = "auto",
    test: str = "prompt",
    max_escalate: float = 1.0,
    unparsed: str = "tie",
    seed: int = 0,
    engine_loader: Any = None,
    signal_settings: dict[str, Any] | None = None,
) -> GuaranteedResult:
    """Calibrate every stage's threshold on the calibration part, then run the deployed part.

    ``calibration``: labelled samples, or a share in (0, 1) of the input's prompts (split with
    ``seed``; the rest is deployed and, where it has gold, scored). ``signals``: extra confidence
    sources (see :func:`load_signals`). ``engine_loader``: spec → engine, for engine signals, judged
    with ``signal_settings``.
    """
    from judgelm.data.split import prompt_key, split_by_prompt

    if len(stages) < 2:
        raise ValueError("a cascade needs at least two stages")
    if confidence not in ("own", "agreement", "auto"):
        raise ValueError(f"confidence must be own, agreement or auto, got {confidence!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = list(samples)
    if isinstance(calibration, float):
        deploy, calib = split_by_prompt(samples, calibration, seed=seed)
    else:
        calib = list(calibration)
        cal_ids = {s.id for s in calib}
        deploy = [s for s in samples if s.id not in cal_ids]
    calib = [s for s in calib if s.gold is not None and s.gold.verdict is not None]
    if len({prompt_key(s) for s in calib}) < 2:
        raise ValueError("the calibration part needs labelled samples of at least two prompts")
    if not deploy:
        raise ValueError("nothing left to deploy once the calibration samples are set aside")
    cal_ids = [s.id for s in calib]
    dep_ids = [s.id for s in deploy]
    if len(set(cal_ids + dep_ids)) != len(cal_ids) + len(dep_ids):
        raise ValueError("sample ids must be unique")
    by_id = {s.id: s for s in calib + deploy}
    from judgelm.data.predictions import read_predictions

    st = [Stage(src, read_predictions(src.predictions) if src.predictions is not None else None) for src in stages]
    extra = load_signals(signals, calib + deploy, out_dir, engine_loader, signal_settings)

    # ---- calibration: every stage judges every calibration sample
    for k, s in enumerate(st):
        s.judge(calib, out_dir / f"stage{k + 1}.calibration.jsonl", "calibration")
    gold = np.array([by_id[i].gold.verdict for i in cal_ids])  # type: ignore[union-attr]
    keys = [prompt_key(by_id[i]) for i in cal_ids]
    index = {k: j for j, k in enumerate(dict.fromkeys(keys))}
    clusters = np.array([index[k] for k in keys])
    m_deploy = len({prompt_key(s) for s in deploy})
    tester = AgreementTest("prompt", clusters, m_deploy) if test == "prompt" else AgreementTest("binomial")

    def arrays(ids: Sequence[str], mode: str) -> tuple[np.ndarray, list[dict[str, Decision]]]:
        decs = [s.decisions(ids) for s in st]
        return confidence_array(ids, decs, [s.has_confidence() for s in st], mode, extra), decs

    modes = ["own", "agreement"] if confidence == "auto" else [confidence]
    plans: dict[str, Plan] = {}
    correct = None
    for mode in modes:
        conf, decs = arrays(cal_ids, mode)
        correct = np.array([[is_correct(d[i].verdict, g, unparsed) for d in decs] for i, g in zip(cal_ids, gold)])
        plans[mode] = calibrate(conf, correct, alpha, delta / len(modes), on,  # type: ignore[arg-type]
                                tester, max_escalate=max_escalate)
        plans[mode].confidence = mode
    plan = choose_plan(plans)
    if len(modes) > 1:
        plan.notes.append(f"confidence chosen on the calibration part: {plan.confidence} "
                          f"(each source calibrated at delta/{len(modes)} = {delta / len(modes):.3f})")
    plan.delta = delta

    # ---- deployment: stage k judges what the earlier stages escalated
    open_ids = list(dep_ids)
    decided: dict[str, int] = {}
    dep_decs: list[dict[str, Decision]] = []
    confs: dict[str, list[float]] = {}  # each stage's confidence on the samples it received
    for k, s in enumerate(st):
        if not open_ids:
            dep_decs.append({})
            continue
        s.judge([by_id[i] for i in open_ids], out_dir / f"stage{k + 1}.jsonl", "deploy")
        d = s.decisions(open_ids)
        dep_decs.append(d)
        earlier = [signal_from_decisions(f"stage{j + 1}", dep_decs[j]) for j in range(k)]
        c = stage_confidence(k, d, s.has_confidence(), plan.confidence, extra, earlier)
        for i in open_ids:
            confs.setdefault(i, []).append(round(c[i], 6))
        last = k == len(st) - 1
        th = plan.stages[k].threshold
        keep = [i for i in open_ids if c[i] >= th] if not (last and on == "all") else list(open_ids)
        for i in keep:
            decided[i] = k
        kept = set(keep)
        open_ids = [i for i in open_ids if i not in kept]

    merged: list[Judgement] = []
    for i in dep_ids:
        k = decided.get(i)
        if k is None:  # "kept": nobody is sure enough; the last stage's verdict, flagged for a human
            j = merged_judgement(dep_decs[-1][i], len(st))
            j.metadata.update(abstained=True)
        else:
            j = merged_judgement(dep_decs[k][i], k + 1)
            j.metadata.update(abstained=False)
        j.metadata["stage_confidences"] = confs[i]  # stage 1's, stage 2's, … up to the deciding stage
        merged.append(j)

    ledgers = []
    calib_ledgers = []
    for k, s in enumerate(st):
        dep_js = [j for i in dep_decs[k] for j in s.judgements[i]]
        ledgers.append(StageLedger.of(k + 1, dep_js, wall_s=s.wall.get("deploy"), recorded=s.recorded is not None))
        if not dep_js:
            ledgers[-1].judge = s.source.label
        cal_js = [j for i in cal_ids for j in s.judgements[i]]
        calib_ledgers.append(StageLedger.of(k + 1, cal_js, wall_s=s.wall.get("calibration"),
                                            recorded=s.recorded is not None))
    result = GuaranteedResult(merged=merged, plan=plan, plans_tried={m: p.to_dict() for m, p in plans.items()},
                              stage_of={i: decided.get(i, -1) + 1 for i in dep_ids}, ledgers=ledgers,
                              calibration_ledgers=calib_ledgers, n_calibration=len(cal_ids),
                              calibration_ids=cal_ids)
    result.evaluation = _evaluate(deploy, merged, dep_decs, st, decided, plan, unparsed)
    if result.evaluation and len(st) == 2 and st[1].recorded is not None:
        result.curve = _curve(dep_ids, deploy, st, plan.confidence, extra, unparsed, seed)
    return result


def _curve(dep_ids: list[str], deploy: list[Sample], st: list[Stage], mode: str, extra: Sequence[Signal],
           unparsed: str, seed: int) -> Any:
    """Two stages, the second recorded for every deployed sample: agreement vs. share escalated,
    least confident (by the plan's confidence) first."""
    from judgelm.cascade.curve import agreement_curve

    st[1].judge(deploy, Path("."), "curve")  # recorded: only reads
    decs = [s.decisions(dep_ids) for s in st]
    conf = confidence_array(dep_ids, decs, [s.has_confidence() for s in st], mode, extra)[:, 0]
    rng = np.random.default_rng(seed)
    order = [dep_ids[k] for k in np.lexsort((rng.permutation(len(dep_ids)), conf))]
    gold = {s.id: s.gold.verdict for s in deploy if s.gold is not None and s.gold.verdict is not None}
    return agreement_curve(order, {i: d.verdict for i, d in decs[0].items()},
                           {i: d.verdict for i, d in decs[1].items()}, gold, unparsed=unparsed)


def write_guaranteed(result: GuaranteedResult, out_dir: str | Path, *, title: str = "Cascade with a guarantee") -> dict[str, str]:
    """merged.jsonl, summary.json (plan, coverage, ledger, evaluation, study), curve.* and report.html."""
    import json

    from judgelm.cascade.guaranteed_report import write_guarantee_report
    from judgelm.storage import write_jsonl_atomic

    out_dir = Path(out_dir)
    files = {"merged": out_dir / "merged.jsonl", "summary": out_dir / "summary.json"}
    write_jsonl_atomic(files["merged"], (j.to_json() for j in result.merged))
    if result.curve is not None:
        files["curve_json"] = out_dir / "curve.json"
        files["curve_json"].write_text(json.dumps(result.curve.to_dict(), indent=1), encoding="utf-8")
    if result.study is not None:
        files["study"] = out_dir / "study.json"
        files["study"].write_text(json.dumps(result.study, indent=1), encoding="utf-8")
    files.update(write_guarantee_report(result, out_dir, title=title))
    result.files = {k: str(v) for k, v in files.items()}
    files["summary"].write_text(json.dumps(result.summary(), indent=2), encoding="utf-8")
    return result.files


def choose_plan(plans: dict[str, Plan]) -> Plan:
    """A guaranteed plan before one that is not; then the one leaving more to the cheap stages."""
    def key(p: Plan) -> tuple[bool, float]:
        last = p.stages[-1]
        cheap = 1.0 - (last.calib_kept / p.n_calibration if p.on == "all" else 0.0)
        cover = sum(s.calib_kept for s in p.stages) / p.n_calibration
        return (p.guaranteed, cheap if p.on == "all" else cover)
    return max(plans.values(), key=key)


def _evaluate(deploy: list[Sample], merged: list[Judgement], decs: list[dict[str, Decision]], st: list[Stage],
              decided: dict[str, int], plan: Plan, unparsed: str) -> dict[str, Any]:
    """Against gold on the deployed samples that have it: what the guarantee covers, per stage, alone."""
    gold = {s.id: s.gold.verdict for s in deploy if s.gold is not None and s.gold.verdict is not None}
    if not gold:
        return {}
    ok = {j.sample_id: is_correct(j.verdict, gold[j.sample_id], unparsed) for j in merged if j.sample_id in gold}
    covered = [i for i in ok if i in decided]
    per_stage = []
    for k in range(len(st)):
        here = [i for i in covered if decided[i] == k]
        per_stage.append({"stage": k + 1, "kept": len(here), "coverage": len(here) / len(ok),
                          "agreement": (sum(ok[i] for i in here) / len(here)) if here else None})
    reached = sum(ok[i] for i in covered) / len(covered) if covered else None
    ev: dict[str, Any] = {
        "n": len(ok), "unparsed_policy": unparsed, "covered": len(covered), "coverage": len(covered) / len(ok),
        "agreement_covered": reached, "agreement_all": sum(ok.values()) / len(ok),
        "escalated_to_last": sum(1 for i in ok if i not in decided or decided[i] == len(st) - 1) / len(ok),
        "guarantee_met": None if reached is None or not plan.guaranteed else bool(reached >= plan.alpha),
        "stages": per_stage,
    }
    for k, s in enumerate(st):  # a stage alone, where it judged every deployed sample (recorded)
        if s.recorded is not None:
            have = {j.sample_id for j in s.recorded}
            if set(gold) <= have:
                d = decide([j for j in s.recorded if j.sample_id in gold], confidence_fallback="margin")
                ev[f"stage{k + 1}_alone"] = sum(is_correct(d[i].verdict, g, unparsed) for i, g in gold.items()) / len(gold)
    return ev
