"""Evaluation of absolute grades: figures checked by hand on small data, and the Prometheus ceiling and
length baseline recomputed independently (scipy, straight from the raw JSON) on the 640 shared items."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest
from scipy import stats

from judgelm.evaluation.grades import agreement, ceiling, evaluate_grades, holds_grades, length_grades
from judgelm.schema import Answer, Gold, Judgement, ParseStatus, Sample


def _sample(i: int, text: str, gold: float, **meta) -> Sample:
    return Sample(id=str(i), question="q", answers=[Answer(text=text)], gold=Gold(scores=[gold]), metadata=meta)


def _grade(i: int, score: float | None, criterion: str = "c", status: ParseStatus = ParseStatus.OK) -> Judgement:
    return Judgement(sample_id=str(i), judge="j", template="prometheus-absolute", mode="single", order=[0],
                     scores=None if score is None else [score], status=status,
                     metadata={"criterion": criterion, "scale": [1, 5]})


def test_exact_and_within_one_by_hand() -> None:
    # gold 2.667 rounds to 3; 4.5 rounds half up to 5
    got = agreement([3.0, 4.0, 1.0, 5.0], [2.667, 2.0, 4.0, 4.5])
    assert got["n"] == 4 and got["exact"] == 0.5  # items 1 and 4
    assert got["within_1"] == 0.5  # |3-2.667|, |5-4.5| <= 1; |4-2| and |1-4| are not
    assert got["pearson"] == pytest.approx(stats.pearsonr([3, 4, 1, 5], [2.667, 2, 4, 4.5])[0], abs=1e-4)
    assert agreement([3.0, 3.0, 3.0], [1.0, 2.0, 3.0])["pearson"] is None  # constant side: undefined, not 0


def test_length_grades_follow_the_gold_distribution() -> None:
    lengths = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    gold = [1, 1, 2, 2, 2, 3, 4, 4, 5, 5]  # shares 2/3/1/2/2 of ten items
    assert length_grades(lengths, gold, 1, 5) == [1, 1, 2, 2, 2, 3, 4, 4, 5, 5]
    assert length_grades(lengths[::-1], gold, 1, 5) == [5, 5, 4, 4, 3, 2, 2, 2, 1, 1]


def test_unparsed_grades_are_counted_and_left_out() -> None:
    samples = [_sample(i, "x" * (10 * i + 1), g) for i, g in enumerate([1, 2, 3, 4, 5])]
    preds = [_grade(0, 1), _grade(1, 2), _grade(2, None, status=ParseStatus.UNPARSED), _grade(3, 4), _grade(4, 5)]
    out = evaluate_grades(samples, preds)["criteria"]["c"]
    assert out["items"] == 5 and out["unparsed"] == 1 and out["judge"]["n"] == 4
    assert out["judge"]["exact"] == 1.0 and out["judge"]["pearson"] == 1.0
    assert out["length"]["quantile_grades"]["n"] == 4 and out["ceiling"] is None


def test_gold_grades_per_criterion_and_grade_detection() -> None:
    samples = [_sample(i, "a" * (i + 1), 3, gold_grades={"tone": float(i % 3 + 1)}) for i in range(6)]
    preds = [_grade(i, i % 3 + 1, "tone") for i in range(6)] + [_grade(i, 3, "other") for i in range(6)]
    out = evaluate_grades(samples, preds)["criteria"]
    assert out["tone"]["judge"]["exact"] == 1.0  # gold from metadata.gold_grades
    assert out["other"]["judge"]["exact"] == 1.0 and out["other"]["judge"]["pearson"] is None  # gold.scores fallback
    assert holds_grades(samples)
    pair = Sample(id="p", question="q", answers=[Answer(text="a"), Answer(text="b")], gold=Gold(verdict=1))
    assert not holds_grades([pair])


def test_prometheus_ceiling_and_length_baseline_recomputed_from_raw_json(shared_data: Path) -> None:
    from judgelm.data import read_samples

    raw, samples = [], []
    for name in ("mt_bench_eval.json", "vicuna_eval.json"):
        path = shared_data / "prometheus" / name
        raw += json.loads(path.read_text(encoding="utf-8"))
        samples += list(read_samples(path))
    assert len(samples) == 640 and holds_grades(samples)
    cols = list(zip(*[item["gpt4_score"] for item in raw]))
    pearson = sum(stats.pearsonr(cols[i], cols[j])[0] for i, j in combinations(range(3), 2)) / 3
    kendall = sum(stats.kendalltau(cols[i], cols[j])[0] for i, j in combinations(range(3), 2)) / 3
    top = ceiling(samples)
    assert top is not None and top["annotators"] == 3 and top["n"] == 640
    assert top["pearson"] == pytest.approx(pearson, abs=1e-4) and top["kendall"] == pytest.approx(kendall, abs=1e-4)

    # the length baseline through evaluate_grades, against scipy on the raw response lengths and mean grades
    preds = [Judgement(sample_id=s.id, judge="const", template="prometheus-absolute", mode="single", order=[0],
                       scores=[3.0], metadata={"criterion": "rubric", "scale": [1, 5]}) for s in samples]
    out = evaluate_grades(samples, preds)["criteria"]["rubric"]
    means = [sum(item["gpt4_score"]) / 3 for item in raw]
    lengths = [len(s.answers[0].text) for s in samples]
    assert out["length"]["length_correlation"]["spearman"] == pytest.approx(stats.spearmanr(lengths, means)[0], abs=1e-3)
    assert out["judge"]["pearson"] is None  # a constant judge has no correlation
    assert sum(out["gold_distribution"].values()) == 640
