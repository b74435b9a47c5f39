"""The proof on real data: PandaLM's human test set (999 pairs), stage 2 = the gpt-3.5-turbo
predictions shipped with PandaLM (71.07% agreement alone), stage 1 = the built-in judge when its
weights are shipped (both orders, its calibrated confidence), otherwise the recorded PandaLM-7B
predictions (no confidence: a random order, i.e. the baseline a confidence has to beat).

Prints the agreement-vs-share curve; asserts its endpoints against the evaluation module's own
figures. Whether ≤ 50% sent reaches ≥ 71.07% is printed (docs/cascade.md records it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from judgelm.cascade.policy import Policy
from judgelm.cascade.two_stage import format_table, run_cascade, write_outputs
from judgelm.data import read_samples
from judgelm.data.predictions import read_predictions
from judgelm.evaluation.verdicts import evaluate

MINI_WEIGHTS = Path(__file__).resolve().parents[2] / "src" / "judgelm" / "assets" / "mini"


def _stage1(shared_data: Path, samples: list, tmp_path: Path) -> tuple[dict, str]:
    if any(MINI_WEIGHTS.glob("*.safetensors")):
        from judgelm.engines import load_engine
        from judgelm.judging.runner import run_judge
        from judgelm.judging.settings import JudgeSettings

        out = tmp_path / "mini-stage1.jsonl"
        with load_engine("mini") as engine:
            run_judge(samples, engine, out, JudgeSettings(both_orders=True), cache=False)
        return {"stage1_predictions": out}, "built-in judge (mini), both orders"
    return ({"stage1_predictions": shared_data / "pandalm" / "pandalm-7b-testset-v1.json",
             "confidence_fallback": "margin"}, "PandaLM-7B (recorded, no confidence → random order)")


def test_cascade_on_pandalm_test_with_recorded_gpt35_stage2(shared_data, tmp_path) -> None:
    p = shared_data / "pandalm"
    samples = list(read_samples(p / "testset-v1.json"))
    stage1, label = _stage1(shared_data, samples, tmp_path)
    gpt = p / "gpt-3.5-turbo-testset-v1.json"
    result = run_cascade(samples, out_dir=tmp_path, policy=Policy("budget", 0.5), stage2_predictions=gpt, **stage1)
    write_outputs(result, tmp_path, title="PandaLM test: cascade → gpt-3.5-turbo (recorded)")
    curve = result.curve
    assert curve is not None and curve.complete and curve.n == 999

    # endpoints = each judge alone, as `judgelm eval` scores them (unparsed/garbage = tie); with both
    # orders stage 1 alone is PandaLM's two-run rule, which is what the cascade folds the orders into
    s1 = read_predictions(stage1["stage1_predictions"])
    first, second = [j for j in s1 if not j.swapped], [j for j in s1 if j.swapped]
    ev1 = evaluate(samples, s1, n_boot=10).summary
    alone1 = ev1["pandalm_rule"]["agreement"] if second else ev1["agreement"]
    assert curve.points[0].agreement == pytest.approx(alone1)
    alone2 = evaluate(samples, read_predictions(gpt), n_boot=10).summary["agreement"]
    assert round(100 * alone2, 2) == 71.07
    assert curve.points[-1].agreement == pytest.approx(alone2) and curve.stage2_agreement == pytest.approx(alone2)
    # the run itself sent the 500 least confident; its merged agreement is that point of the curve
    assert len(result.sent) == 500 and result.sent == result.order[:500]
    assert result.evaluation["merged"]["agreement"] == pytest.approx(curve.points[500].agreement)

    at_half = curve.best_within(0.5)
    reach = curve.min_share_reaching(alone2)
    print(f"\nstage 1: {label}; {len(first)} + {len(second)} judgements")
    print(format_table(curve))
    print(f"best within 50% sent: {100 * at_half.agreement:.2f}% at {100 * at_half.share:.1f}% sent; "
          f"≥ 71.07% first reached at {'never' if reach is None else f'{100 * reach.share:.1f}% sent'}; "
          f"goal (≤ 50% sent, ≥ 71.07%) {'MET' if reach is not None and reach.share <= 0.5 else 'NOT met'}")
    assert (tmp_path / "curve.png").stat().st_size > 0
