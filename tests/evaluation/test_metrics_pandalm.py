"""Proof on real data: the recorded PandaLM-test-set predictions reproduce docs/formats.md §4.

| judge | accuracy | precision | recall | F1 |
| gpt-3.5-turbo (recorded) | 71.07 | 58.79 | 57.36 | 57.55 |
| PandaLM-7B (recorded)    | 66.77 | 57.38 | 57.50 | 57.43 |

(999 pairs, gold = majority of 3 annotators, ``garbage`` counted as tie, macro over 0/1/2.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from judgelm.data import read_samples
from judgelm.data.predictions import read_predictions
from judgelm.evaluation.verdicts import evaluate
from judgelm.schema import Sample

TABLE = {
    "gpt-3.5-turbo-testset-v1.json": (71.07, 58.79, 57.36, 57.55),
    "pandalm-7b-testset-v1.json": (66.77, 57.38, 57.50, 57.43),
}


@pytest.fixture(scope="module")
def pandalm_gold(shared_data: Path) -> list[Sample]:
    return list(read_samples(shared_data / "pandalm" / "testset-v1.json"))


@pytest.mark.parametrize("name", sorted(TABLE))
def test_recorded_predictions_reproduce_published_table(shared_data: Path, pandalm_gold: list[Sample], name: str) -> None:
    result = evaluate(pandalm_gold, read_predictions(shared_data / "pandalm" / name), n_boot=200).summary
    got = tuple(round(100 * result[k], 2) for k in ("agreement", "precision", "recall", "f1"))
    assert got == TABLE[name]
    assert result["n"] == 999 and result["labels"] == [0, 1, 2]
    assert result["n_gold_dropped"] == 0 and result["missing"] == 0


def test_garbage_outputs_are_counted_not_hidden(shared_data: Path, pandalm_gold: list[Sample]) -> None:
    preds = read_predictions(shared_data / "pandalm" / "gpt-3.5-turbo-testset-v1.json")
    assert sum(p.verdict is None for p in preds) == 25  # the "garbage" rows
    tie = evaluate(pandalm_gold, preds, unparsed="tie", n_boot=50).summary
    drop = evaluate(pandalm_gold, preds, unparsed="drop", n_boot=50).summary
    wrong = evaluate(pandalm_gold, preds, unparsed="wrong", n_boot=50).summary
    for s in (tie, drop, wrong):
        assert s["unparsed_count"] == 25 and s["unparsed"] == pytest.approx(25 / 999)
    assert drop["n"] == 974 and tie["n"] == wrong["n"] == 999
    # a tie is sometimes right, "wrong" never is
    assert wrong["agreement"] < tie["agreement"]
    assert wrong["agreement"] == pytest.approx(drop["agreement"] * 974 / 999)


def test_longer_answer_baseline_on_real_sets(shared_data: Path, pandalm_gold: list[Sample]) -> None:
    """The project brief's measured figures: 61.1 on the PandaLM test set, 56 on LLMBar Natural."""
    preds = read_predictions(shared_data / "pandalm" / "pandalm-7b-testset-v1.json")
    base = evaluate(pandalm_gold, preds, n_boot=50).summary["baselines"]
    assert round(100 * base["longer"]["agreement"], 1) == 61.1
    assert base["majority"]["verdict"] == 2 and round(100 * base["majority"]["agreement"], 2) == 47.25

    natural = list(read_samples(shared_data / "llmbar" / "LLMBar" / "Natural" / "dataset.json"))
    from judgelm.evaluation import baselines, metrics

    gold = [s.gold.verdict for s in natural]  # type: ignore[union-attr]
    assert metrics.score(gold, baselines.longer(natural)).agreement == pytest.approx(0.56)
