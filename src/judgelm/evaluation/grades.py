"""Evaluating absolute grades (rubric scores on any integer scale) against gold grades.

Pairwise agreement does not apply to one answer graded 1-5, so ``judgelm eval`` switches to this
module when the gold set holds grades (``gold.scores`` of single-answer samples, no verdict):

* per criterion: Pearson, Spearman and Kendall (tau-b) correlations (scipy), the exact-match rate
  (the grade equals the gold rounded half up) and the within-1 rate (``|grade - gold| <= 1``);
  unparsed and failed predictions are counted and left out of every figure (never turned into a grade);
* the **length baseline** on the same items: the answer's length in characters (its rank correlation
  with the gold), and length cut into the scale by quantiles so that each grade gets the share of
  items the gold gives it (the fairest length-to-grade mapping: it knows the gold distribution);
* the **inter-annotator ceiling** where a sample carries several gold samples (Prometheus:
  ``metadata.gpt4_scores``, three GPT-4 grades): the mean pairwise correlation, exact and
  within-1 rates between those samples — no judge can be expected to agree with the gold better than
  the gold's own samples agree with each other.

Gold grade of a sample for criterion ``c``: ``metadata.gold_grades[c]`` when present, else the
sample's one gold score (Prometheus: the mean of the three GPT-4 grades).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from judgelm.schema import Judgement, ParseStatus, Sample

logger = logging.getLogger(__name__)

#: what a judgement's criterion is called when it graded without a rubric (single-answer JudgeLM scores)
NO_CRITERION = "score"


def holds_grades(samples: Sequence[Sample]) -> bool:
    """True when the gold set is graded (single answers with gold scores) rather than pairwise."""
    graded = [s for s in samples if s.gold is not None and (s.gold.scores or s.metadata.get("gold_grades"))]
    with_verdict = [s for s in samples if s.gold is not None and s.gold.verdict is not None]
    return bool(graded) and not with_verdict and all(len(s.answers) == 1 for s in graded)


def split_by_criterion(predictions: Sequence[Judgement]) -> dict[str, list[Judgement]]:
    """Rubric predictions grouped by ``metadata.criterion`` (file order); empty when none has a criterion."""
    if not any(j.metadata.get("criterion") is not None for j in predictions):
        return {}
    groups: dict[str, list[Judgement]] = {}
    for j in predictions:
        groups.setdefault(str(j.metadata.get("criterion") or NO_CRITERION), []).append(j)
    return groups


def gold_grade(sample: Sample, criterion: str) -> float | None:
    """The sample's gold grade on ``criterion`` (see the module docstring), None when it has none."""
    per = sample.metadata.get("gold_grades")
    if isinstance(per, dict) and criterion in per and per[criterion] is not None:
        return float(per[criterion])
    if sample.gold is not None and sample.gold.scores and len(sample.gold.scores) == 1:
        return float(sample.gold.scores[0])
    return None


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def correlations(pred: Sequence[float], gold: Sequence[float]) -> dict[str, float | None]:
    """Pearson, Spearman and Kendall tau-b (None where undefined: fewer than 3 items or a constant side)."""
    from scipy import stats

    if len(pred) < 3 or len(set(pred)) < 2 or len(set(gold)) < 2:
        return {"pearson": None, "spearman": None, "kendall": None}
    return {
        "pearson": _finite(stats.pearsonr(pred, gold)[0]),
        "spearman": _finite(stats.spearmanr(pred, gold)[0]),
        "kendall": _finite(stats.kendalltau(pred, gold)[0]),
    }


def agreement(pred: Sequence[float], gold: Sequence[float]) -> dict[str, Any]:
    """Correlations plus the exact-match (vs gold rounded half up) and within-1 rates, on ``n`` items."""
    n = len(pred)
    out: dict[str, Any] = {"n": n, **correlations(pred, gold)}
    out["exact"] = _finite(sum(p == round_half_up(g) for p, g in zip(pred, gold)) / n) if n else None
    out["within_1"] = _finite(sum(abs(p - g) <= 1 for p, g in zip(pred, gold)) / n) if n else None
    out["mean_pred"] = _finite(float(np.mean(pred))) if n else None
    out["mean_gold"] = _finite(float(np.mean(gold))) if n else None
    return out


def length_grades(lengths: Sequence[int], gold: Sequence[float], low: int, high: int) -> list[int]:
    """"Longer answers get higher grades": lengths cut into ``low..high`` at quantiles so that each grade
    gets the share of items the (rounded) gold gives it; ties of length get the same grade."""
    levels = list(range(low, high + 1))
    rounded = [min(high, max(low, round_half_up(g))) for g in gold]
    shares = np.cumsum([rounded.count(k) for k in levels])[:-1] / len(rounded)
    cuts = np.quantile(np.asarray(lengths, dtype=float), shares) if len(shares) else np.array([])
    return [levels[int(np.searchsorted(cuts, n, side="left"))] for n in lengths]


def length_baseline(lengths: Sequence[int], gold: Sequence[float], low: int, high: int) -> dict[str, Any]:
    """The length baseline: rank correlation of raw length with gold, and the quantile-mapped grades' figures."""
    mapped = length_grades(lengths, gold, low, high)
    return {"length_correlation": correlations([float(n) for n in lengths], gold),
            "quantile_grades": agreement([float(g) for g in mapped], gold)}


def ceiling(samples: Sequence[Sample], key: str = "gpt4_scores") -> dict[str, Any] | None:
    """Inter-annotator agreement between the gold's own samples (``metadata[key]``: k grades per item).

    Mean over annotator pairs (i, j) of the correlations between sample i and sample j across items,
    and of their exact and within-1 rates. None when the samples carry no such list.
    """
    rows = [s.metadata.get(key) for s in samples]
    rows = [r for r in rows if isinstance(r, list) and len(r) >= 2]
    if len(rows) < 3:
        return None
    k = min(len(r) for r in rows)
    cols = [[float(r[i]) for r in rows] for i in range(k)]
    pairs = [agreement(cols[i], cols[j]) for i, j in combinations(range(k), 2)]

    def mean(name: str) -> float | None:
        vals = [p[name] for p in pairs if p[name] is not None]
        return _finite(float(np.mean(vals))) if vals else None

    return {"source": f"metadata.{key}", "annotators": k, "pairs": len(pairs), "n": len(rows),
            **{m: mean(m) for m in ("pearson", "spearman", "kendall", "exact", "within_1")}}


def evaluate_grades(samples: Iterable[Sample], predictions: Iterable[Judgement]) -> dict[str, Any]:
    """Per-criterion figures of a judge's grades against the gold grades, with the length baseline
    and the inter-annotator ceiling on the same items (the summary ``judgelm eval`` prints)."""
    gold_samples: dict[str, Sample] = {}
    n_samples = 0
    for s in samples:
        n_samples += 1
        if s.id in gold_samples:
            raise ValueError(f"gold set has two samples with id {s.id!r}")
        gold_samples[s.id] = s
    by_criterion: dict[str, dict[str, Judgement]] = defaultdict(dict)
    scales: dict[str, tuple[int, int]] = {}
    for j in predictions:
        if j.swapped:
            continue
        name = str(j.metadata.get("criterion") or NO_CRITERION)
        if j.sample_id in by_criterion[name]:
            raise ValueError(f"sample {j.sample_id!r} has several predictions on criterion {name!r}")
        by_criterion[name][j.sample_id] = j
        scale = j.metadata.get("scale")
        if isinstance(scale, list) and len(scale) == 2:
            scales.setdefault(name, (int(scale[0]), int(scale[1])))
    if not by_criterion:
        raise ValueError("no prediction in the original answer order")
    per: dict[str, Any] = {}
    judges: set[str] = set()
    for name, preds in by_criterion.items():
        judges.update(j.judge for j in preds.values())
        matched = [(gold_samples[i], j) for i, j in preds.items() if i in gold_samples]
        with_gold = [(s, j, g) for s, j in matched if (g := gold_grade(s, name)) is not None]
        missing = sum(1 for s in gold_samples.values() if gold_grade(s, name) is not None and s.id not in preds)
        graded = [(s, j, g) for s, j, g in with_gold if j.status == ParseStatus.OK and j.scores]
        if not with_gold:
            raise ValueError(f"criterion {name!r}: no prediction matches a gold sample with a grade")
        low, high = scales.get(name, (min(round_half_up(g) for _, _, g in with_gold),
                                      max(round_half_up(g) for _, _, g in with_gold)))
        gold_all = [g for _, _, g in with_gold]
        row: dict[str, Any] = {
            "scale": [low, high],
            "items": len(with_gold),
            "missing": missing,
            "unparsed": sum(j.status == ParseStatus.UNPARSED for _, j, _ in with_gold),
            "errors": sum(j.status == ParseStatus.ERROR for _, j, _ in with_gold),
            "judge": agreement([float(j.scores[0]) for _, j, _ in graded], [g for _, _, g in graded]),  # type: ignore[index]
            "length": length_baseline([len(s.answers[0].text) for s, _, _ in graded], [g for _, _, g in graded],
                                      low, high) if graded else None,
            "length_all_items": length_baseline([len(s.answers[0].text) for s, _, _ in with_gold], gold_all, low, high),
            "gold_distribution": {str(k): sum(round_half_up(g) == k for g in gold_all) for k in range(low, high + 1)},
        }
        row["ceiling"] = ceiling([s for s, _, _ in with_gold])
        per[name] = row
    return {"judge": ", ".join(sorted(judges)), "kind": "grades", "n_gold": n_samples,
            "gold_rule": "gold grade = metadata.gold_grades[criterion], else the sample's one gold score "
                         "(Prometheus: mean of the three GPT-4 grades); exact = grade equals gold rounded half up",
            "criteria": per}
