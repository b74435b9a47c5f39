"""Metric definitions on small hand-checked examples (docs/formats.md §4)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from judgelm.evaluation import baselines, metrics
from judgelm.evaluation.metrics import (
    WRONG,
    apply_unparsed,
    bootstrap_ci,
    pandalm_two_run,
    score,
    swap_scores,
)
from judgelm.schema import Answer, Gold, Sample

GOLD = [1, 2, 0, 1]
PRED = [1, None, 0, 2]


def test_unparsed_tie_is_published_convention() -> None:
    g, p, keep = apply_unparsed(GOLD, PRED, "tie")
    assert p == [1, 0, 0, 2] and keep.all()
    s = score(g, p)
    assert s.agreement == pytest.approx(0.5)
    # tie: P 1/2 R 1 → 2/3; answer 1: P 1 R 1/2 → 2/3; answer 2: 0  → macro 4/9
    assert s.f1 == pytest.approx(4 / 9)


def test_unparsed_drop_leaves_row_out() -> None:
    g, p, keep = apply_unparsed(GOLD, PRED, "drop")
    assert (g, p) == ([1, 0, 1], [1, 0, 2]) and keep.tolist() == [True, False, True, True]
    assert score(g, p).agreement == pytest.approx(2 / 3)


def test_unparsed_wrong_never_matches_and_adds_no_class() -> None:
    g, p, _ = apply_unparsed(GOLD, PRED, "wrong")
    assert p == [1, WRONG, 0, 2]
    s = score(g, p)
    assert s.agreement == pytest.approx(0.5)
    assert s.labels == [0, 1, 2]
    # tie: 1; answer 1: P 1 R 1/2 → 2/3; answer 2: 0 → macro 5/9
    assert s.f1 == pytest.approx(5 / 9)
    assert s.confusion_columns == [0, 1, 2, WRONG]
    assert s.confusion[2] == [0, 0, 0, 1]  # gold 2's unparsed output has its own column


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unparsed policy"):
        apply_unparsed(GOLD, PRED, "ignore")  # type: ignore[arg-type]


def test_score_confusion_and_kappa() -> None:
    s = score([1, 1, 2, 2, 0], [1, 2, 2, 2, 0])
    assert s.confusion == [[1, 0, 0], [0, 1, 1], [0, 0, 2]]
    # p_o = 4/5; p_e = (1*1 + 2*1 + 2*3)/25 = 9/25 → kappa = (0.8 - 0.36) / 0.64
    assert s.kappa == pytest.approx((0.8 - 0.36) / 0.64)
    assert s.per_class["2"]["support"] == 2


def test_bootstrap_f1_matches_sklearn_on_each_resample() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=80)
    p = np.where(rng.random(80) < 0.6, y, rng.integers(0, 3, size=80))
    p[:5] = WRONG
    rows = rng.integers(0, 80, size=(20, 80))
    columns = [0, 1, 2, WRONG]
    conf = np.zeros((20, 3, 4), dtype=int)
    for b in range(20):
        for yy, pp in zip(y[rows[b]], p[rows[b]]):
            conf[b, yy, columns.index(pp)] += 1
    ours = metrics._macro_f1_from_confusions(conf)
    ref = [f1_score(y[r], p[r], labels=[0, 1, 2], average="macro", zero_division=0) for r in rows]
    assert ours == pytest.approx(ref)


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300).tolist()
    p = [v if rng.random() < 0.7 else (v + 1) % 3 for v in y]
    a = bootstrap_ci(y, p, n_boot=500, seed=7)
    assert a == bootstrap_ci(y, p, n_boot=500, seed=7)
    s = score(y, p)
    assert a["agreement"][0] < s.agreement < a["agreement"][1]
    assert a["f1"][0] < s.f1 < a["f1"][1]
    assert 0.05 < a["agreement"][1] - a["agreement"][0] < 0.2


# both runs in ORIGINAL answer order; hand-checked, see comments
FIRST = [1, 1, 2, 0, 1, 0, 2]
SECOND = [1, 2, 1, 1, 0, 0, 0]
#        ok  first-shown twice  second-shown twice  tie/second  first/tie  ok  second/tie


def test_swap_consistency_and_bias_by_hand() -> None:
    sw = swap_scores(FIRST, SECOND)
    assert sw.consistency == pytest.approx(2 / 7)
    assert sw.bias_first == pytest.approx(2 / 7)
    assert sw.bias_second == pytest.approx(3 / 7)
    assert sw.delta_bias == pytest.approx(1 / 7)
    assert sw.consistency + sw.bias_first + sw.bias_second == pytest.approx(1)
    assert sw.inconsistent == 5
    assert sw.bias_first_within_inconsistent == pytest.approx(2 / 5)


def test_pandalm_two_run_rule_by_hand() -> None:
    # same position twice → tie; both tie → tie; otherwise the first run's verdict
    assert pandalm_two_run(FIRST, SECOND) == [1, 0, 0, 0, 1, 0, 2]


def test_wrong_outputs_are_inconsistent_without_lean() -> None:
    sw = swap_scores([1, WRONG, WRONG], [1, 0, 1])
    # (WRONG, tie): no lean at all; (WRONG, 1 shown second): only the parsed run leans → second
    assert sw.consistency == pytest.approx(1 / 3)
    assert sw.bias_first == 0 and sw.bias_second == pytest.approx(1 / 3)
    assert swap_scores([WRONG], [WRONG]).consistency == 0


def test_reliability_bins_and_ece() -> None:
    rel = metrics.reliability([True, False, True, True], [0.95, 0.95, 0.55, 0.55], bins=10)
    assert [b["n"] for b in rel["bins"]] == [2, 2]
    # bin 0.5-0.6: acc 1, conf .55; bin 0.9-1: acc .5, conf .95 → ECE = .5*.45 + .5*.45
    assert rel["ece"] == pytest.approx(0.45)


def _pair(a: str, b: str, gold: int) -> Sample:
    return Sample(id=a + b, question="q", answers=[Answer(text=a), Answer(text=b)], gold=Gold(verdict=gold))


def test_baselines() -> None:
    assert baselines.majority([2, 1, 2, 0]) == [2, 2, 2, 2]
    assert baselines.majority_verdict([1, 2]) == 1  # deterministic on equal counts
    samples = [_pair("long answer", "short", 1), _pair("a", "abc", 1), _pair("same", "size", 0)]
    assert baselines.longer(samples) == [1, 2, 0]


def test_macro_runs_over_gold_classes_only() -> None:
    """LLMBar-style gold without ties: a predicted tie is an error, not a class with no support."""
    s = score([1, 2, 1, 2], [1, 0, 1, 2])
    assert s.labels == [1, 2]
    assert s.agreement == pytest.approx(0.75)
    # answer 1: P 1 R 1; answer 2: P 1 R 1/2 → F1 2/3; macro F1 5/6
    assert s.f1 == pytest.approx(5 / 6)
    assert s.confusion_columns == [1, 2, 0]
    assert s.confusion == [[2, 0, 0], [0, 1, 1]]
