"""Cascade mechanics: folding both orders into a confidence, the policies, the curve, and the
CLI on recorded PandaLM predictions (stage 2 = gpt-3.5-turbo as shipped with PandaLM)."""

from __future__ import annotations

import json

import pytest

from judgelm.cascade.curve import agreement_curve
from judgelm.cascade.decisions import confidence_order, decide, merged_judgement
from judgelm.cascade.policy import Policy, calibrate_threshold, select
from judgelm.schema import Cost, Judgement, ParseStatus


def _j(sid: str, order: list[int], verdict: int | None, conf: float | None = 0.9, usd: float = 0.0) -> Judgement:
    return Judgement(sample_id=sid, judge="t", order=order, verdict=verdict, confidence=conf,
                     status=ParseStatus.OK if verdict is not None else ParseStatus.UNPARSED,
                     cost=Cost(calls=1, prompt_tokens=100, completion_tokens=3, usd=usd))


def test_decide_folds_both_orders() -> None:
    d = decide([
        _j("a", [0, 1], 1, 0.9), _j("a", [1, 0], 1, 0.7),    # consistent: the lower confidence
        _j("b", [0, 1], 1, 0.95), _j("b", [1, 0], 2, 0.99),  # inconsistent: unsure whatever it says
        _j("c", [0, 1], None, None), _j("c", [1, 0], 2, 0.8),  # one order unparsed: unsure, other's verdict
        _j("d", [0, 1], 2, 0.6),                              # one order only
    ])
    assert (d["a"].verdict, d["a"].confidence, d["a"].consistent) == (1, 0.7, True)
    assert (d["b"].confidence, d["b"].consistent) == (0.0, False)
    # PandaLM's two-run rule: (1, 2) favours the first-shown answer both times → tie
    assert d["b"].verdict == 0
    assert (d["c"].verdict, d["c"].confidence) == (2, 0.0)
    assert (d["d"].verdict, d["d"].confidence, d["d"].consistent) == (2, 0.6, None)
    assert confidence_order(d, seed=0)[-2:] == ["d", "a"]
    m = merged_judgement(d["a"], 1)
    assert m.metadata["stage"] == 1 and m.metadata["order_verdicts"] == [1, 1] and m.cost.calls == 2
    assert m.cost.prompt_tokens == 200 and m.confidence == 0.7
    mc = merged_judgement(d["c"], 2)
    assert mc.status == ParseStatus.OK and mc.verdict == 2 and mc.metadata["stage"] == 2


def test_missing_confidence_is_refused_unless_margin_is_asked() -> None:
    js = [_j("a", [0, 1], 1, None).model_copy(update={"scores": [8.0, 3.0]}),
          _j("b", [0, 1], 2, None).model_copy(update={"scores": [6.0, 7.0]})]
    with pytest.raises(ValueError, match="carry no confidence"):
        decide(js)
    d = decide(js, confidence_fallback="margin")
    assert d["a"].confidence == pytest.approx(0.5) and d["b"].confidence == pytest.approx(0.1)


def test_curve_endpoints_and_prefix() -> None:
    order = ["a", "b", "c", "d"]
    gold = {"a": 1, "b": 2, "c": 0, "d": 1}
    s1 = {"a": 2, "b": 2, "c": None, "d": 1}  # unparsed counts as tie → c correct
    s2 = {"a": 1, "b": 1, "c": 0, "d": 1}
    curve = agreement_curve(order, s1, s2, gold)
    assert [p.agreement for p in curve.points] == [0.75, 1.0, 0.75, 0.75, 0.75]
    assert curve.stage1_agreement == 0.75 and curve.stage2_agreement == 0.75 and curve.complete
    assert curve.best_within(0.5).share == 0.25 and curve.min_share_reaching(1.0).sent == 1
    wrong = agreement_curve(order, s1, s2, gold, unparsed="wrong")
    assert wrong.points[0].agreement == 0.5
    live = agreement_curve(order, s1, {"a": 1, "b": 1}, gold)  # a live stage 2 judged only two
    assert len(live.points) == 3 and not live.complete and live.stage2_agreement is None


def test_policies() -> None:
    d = decide([_j(s, [0, 1], 1, c) for s, c in zip("abcdef", [0.9, 0.2, 0.5, 0.5, 0.99, 0.1])])
    order = confidence_order(d)
    sent, _ = select(Policy("budget", 0.5), d, order)
    assert sent == {"f", "b", "c", "d"} - {order[3]}  # the three least confident
    sent, info = select(Policy("threshold", 0.5), d, order)
    assert sent == {"b", "f"} and info["threshold"] == 0.5
    with pytest.raises(ValueError, match="calibration"):
        select(Policy("target", 0.8), d, order)
    with pytest.raises(ValueError, match="within 0..1"):
        Policy("budget", 1.5)


def test_calibrated_threshold_is_the_lowest_reaching_the_target() -> None:
    conf = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    ok = [0, 0, 1, 0, 1, 1, 1, 1, 1, 1]
    cal = calibrate_threshold(conf, ok, 0.8)  # kept from 0.3: 7/8 = 0.875 ≥ 0.8
    assert cal.threshold == 0.3 and cal.kept_share == 0.8 and cal.estimated_agreement == pytest.approx(7 / 8)
    assert calibrate_threshold(conf, ok, 1.0).threshold == 0.5
    none = calibrate_threshold(conf, [0] * 10, 0.5)
    assert none.threshold is None and none.kept_share == 0.0
    merged = calibrate_threshold(conf, ok, 0.9, correct2=[1] * 10, on="merged")
    assert merged.threshold == 0.3 and merged.estimated_agreement == pytest.approx(0.9)  # 7 kept + 2 sent right


# ---------------------------------------------------------------------------- CLI on recorded data


def _cli(args: list[str]):

    from support import run_cli

    res = run_cli("cascade", *args)
    return res, res.output + ("" if res.exception is None else str(res.exception))


def test_cli_study_with_calibrated_target(shared_data, tmp_path) -> None:
    p = shared_data / "pandalm"
    res, out = _cli([str(p / "testset-v1.json"), "-o", str(tmp_path),
                     "--stage1-predictions", str(p / "pandalm-7b-testset-v1.json"), "--margin-confidence",
                     "--stage2-predictions", str(p / "gpt-3.5-turbo-testset-v1.json"),
                     "--target-agreement", "0.66", "--target-on", "merged", "--calib-fraction", "0.3"])
    assert res.exit_code == 0, out
    print(out)
    summary = json.loads((tmp_path / "summary.json").read_text())
    cal = summary["policy"]["calibration"]
    assert cal["on"] == "merged" and cal["estimated_agreement"] >= 0.66 and 200 < cal["n"] < 400
    assert cal["threshold"] is not None and cal["kept_share"] > 0
    # the report scores only the prompts left out of calibration
    assert summary["evaluation"]["n"] == 999 - cal["n"]
    merged = [json.loads(line) for line in (tmp_path / "merged.jsonl").read_text().splitlines()]
    assert len(merged) == 999 and {m["metadata"]["stage"] for m in merged} <= {1, 2}
    assert sum(m["metadata"]["stage"] == 2 for m in merged) == summary["sent_to_stage2"]
    led = json.loads((tmp_path / "ledger.json").read_text())
    assert [s["recorded"] for s in led["stages"]] == [True, True]
    assert led["stages"][1]["samples"] == summary["sent_to_stage2"]
    for f in ("curve.csv", "curve.json", "curve.png", "report.html"):
        assert (tmp_path / f).stat().st_size > 0


def test_cli_target_out_of_reach_sends_everything_and_says_so(shared_data, tmp_path) -> None:
    """On this calibration split gpt-3.5 alone agrees 67.9%: a 0.75 target cannot be met by any
    threshold, so everything goes to stage 2 and the estimate is reported as it is."""
    p = shared_data / "pandalm"
    res, out = _cli([str(p / "testset-v1.json"), "-o", str(tmp_path),
                     "--stage1-predictions", str(p / "pandalm-7b-testset-v1.json"), "--margin-confidence",
                     "--stage2-predictions", str(p / "gpt-3.5-turbo-testset-v1.json"),
                     "--target-agreement", "0.75", "--target-on", "merged", "--calib-fraction", "0.3"])
    assert res.exit_code == 0, out
    cal = json.loads((tmp_path / "summary.json").read_text())["policy"]["calibration"]
    assert cal["threshold"] is None and cal["kept_share"] == 0.0 and cal["estimated_agreement"] < 0.75
    assert "999 of 999 samples (100.0%) sent to stage 2" in out


def test_cli_errors_name_the_problem(shared_data, tmp_path) -> None:
    p = shared_data / "pandalm"
    res, out = _cli([str(p / "testset-v1.json"), "-o", str(tmp_path / "a"),
                     "--stage1-predictions", str(p / "pandalm-7b-testset-v1.json"),
                     "--stage2-predictions", str(p / "gpt-3.5-turbo-testset-v1.json"), "--budget", "0.5"])
    assert res.exit_code != 0 and "carry no confidence" in out
    short = tmp_path / "short.jsonl"
    short.write_text("".join(json.dumps({"id": str(i), "verdict": 1}) + "\n" for i in range(10)))
    res, out = _cli([str(p / "testset-v1.json"), "-o", str(tmp_path / "b"), "--margin-confidence",
                     "--stage1-predictions", str(p / "pandalm-7b-testset-v1.json"),
                     "--stage2-predictions", str(short), "--budget", "0.5"])
    assert res.exit_code != 0 and str(short) in out and "lack" in out
    res, out = _cli([str(p / "testset-v1.json"), "-o", str(tmp_path / "c"), "--budget", "0.5", "--threshold", "0.5",
                     "--stage2-predictions", str(short)])
    assert res.exit_code != 0 and "exactly one of --budget" in out


def test_fallback_to_stage1_where_stage2_gives_no_verdict(shared_data, tmp_path) -> None:
    from judgelm.cascade.two_stage import run_cascade
    from judgelm.data import read_samples

    samples = list(read_samples(shared_data / "pandalm" / "testset-v1.json", limit=4))
    s1 = tmp_path / "s1.jsonl"
    s1.write_text("".join(_j(s.id, [0, 1], 1, c).to_json() + "\n" for s, c in zip(samples, [0.1, 0.2, 0.8, 0.9])))
    s2 = tmp_path / "s2.jsonl"  # stage 2 could not parse its output on the least confident sample
    s2.write_text("".join(json.dumps({"id": s.id, "verdict": v}) + "\n" for s, v in zip(samples, [None, 2, 2, 2])))
    for fallback, expected in ((False, [None, 2]), (True, [1, 2])):
        r = run_cascade(samples, out_dir=tmp_path / str(fallback), policy=Policy("budget", 0.5),
                        stage1_predictions=s1, stage2_predictions=s2, fallback_to_stage1=fallback)
        assert r.sent == [samples[0].id, samples[1].id]
        assert [j.verdict for j in r.merged[:2]] == expected
        stages = [j.metadata["stage"] for j in r.merged]
        assert stages == ([1, 2, 1, 1] if fallback else [2, 2, 1, 1])
        assert r.merged[0].metadata.get("stage2_no_verdict", False) is fallback
        assert r.ledger.stages[1].calls == 2  # the failed stage-2 call is still paid for
