"""Judge-quality metrics: agreement with gold, macro P/R/F1, kappa, bootstrap intervals,
and the two-order (swap) metrics of the JudgeLM and PandaLM papers.

Everything here works on plain aligned verdict sequences (``0`` = tie, ``k`` = answer ``k``),
so the same functions score a judge, a baseline or a combined two-run prediction. Matching
predictions to gold by id, unparsed policies and reading files happen in
:mod:`judgelm.commands.evaluate`; the definitions follow docs/formats.md §4 (see docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

from judgelm.schema import TIE

#: what to do with a prediction that has no verdict (unparsed judge output)
UnparsedPolicy = Literal["tie", "drop", "wrong"]
UNPARSED_POLICIES: tuple[str, ...] = ("tie", "drop", "wrong")

#: label standing for "unparsed, counted as wrong": never equal to a gold verdict
WRONG = -1


def label_name(label: int) -> str:
    """Human name of a verdict label (``0`` → ``tie``, ``k`` → ``k``, ``-1`` → ``unparsed``)."""
    return {TIE: "tie", WRONG: "unparsed"}.get(label, str(label))


def apply_unparsed(
    gold: Sequence[int], pred: Sequence[int | None], policy: UnparsedPolicy
) -> tuple[list[int], list[int], np.ndarray]:
    """Resolve missing verdicts by ``policy``; returns (gold, pred, kept-row mask).

    ``tie`` is the published convention (an unparsable output counts as a tie), ``drop`` leaves
    the row out, ``wrong`` keeps it with the :data:`WRONG` label so it can never be correct.
    """
    if policy not in UNPARSED_POLICIES:
        raise ValueError(f"unknown unparsed policy {policy!r}; choose one of {UNPARSED_POLICIES}")
    keep = np.array([p is not None or policy != "drop" for p in pred], dtype=bool)
    fill = TIE if policy == "tie" else WRONG
    g = [int(x) for x, k in zip(gold, keep) if k]
    p = [int(x) if x is not None else fill for x, k in zip(pred, keep) if k]
    return g, p, keep


def metric_labels(gold: Sequence[int]) -> list[int]:
    """Classes the macro averages run over: the verdicts present in gold.

    On the PandaLM and JudgeLM sets that is tie, 1 and 2, as in the papers. On a set without
    gold ties (LLMBar) it is 1 and 2: a predicted tie is then simply an error (it lowers the
    recall of the gold class) instead of adding a class with no support that would cost every
    judge a third of its F1. The :data:`WRONG` placeholder is never a class either.
    """
    return sorted({int(x) for x in gold} - {WRONG})


@dataclass(frozen=True)
class Scores:
    """Point estimates of one prediction against gold on the same rows."""

    n: int
    agreement: float
    precision: float
    recall: float
    f1: float
    kappa: float
    labels: list[int]
    confusion: list[list[int]]  # rows: gold label, columns: confusion_columns
    confusion_columns: list[int]
    per_class: dict[str, dict[str, float]]

    def headline(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("agreement", "precision", "recall", "f1", "kappa")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            **self.headline(),
            "labels": self.labels,
            "confusion": self.confusion,
            "confusion_columns": [label_name(c) for c in self.confusion_columns],
            "per_class": self.per_class,
        }


def score(gold: Sequence[int], pred: Sequence[int], labels: Sequence[int] | None = None) -> Scores:
    """Agreement (3-way accuracy), macro P/R/F1, Cohen's kappa, confusion matrix.

    ``labels`` defaults to :func:`metric_labels` (the gold classes). The confusion matrix has
    one row per label and one column per label, per other predicted verdict and for unparsed.
    """
    if len(gold) != len(pred):
        raise ValueError(f"gold and predictions differ in length: {len(gold)} vs {len(pred)}")
    if not gold:
        raise ValueError("nothing to score: no row has both a gold verdict and a prediction")
    y, p = np.asarray(gold, dtype=int), np.asarray(pred, dtype=int)
    labels = list(labels) if labels is not None else metric_labels(y)
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    predicted_only = sorted(set(p.tolist()) - set(labels) - {WRONG})
    columns = labels + predicted_only + ([WRONG] if (p == WRONG).any() else [])
    kappa = cohen_kappa_score(y, p) if len(set(y) | set(p)) > 1 else 1.0
    return Scores(
        n=len(y),
        agreement=float(accuracy_score(y, p)),
        precision=float(np.mean(prec)),
        recall=float(np.mean(rec)),
        f1=float(np.mean(f1)),
        kappa=float(np.nan_to_num(kappa, nan=0.0)),
        labels=labels,
        confusion=confusion_matrix(y, p, labels=columns)[: len(labels)].tolist(),
        confusion_columns=columns,
        per_class={
            label_name(c): {"precision": float(pc), "recall": float(rc), "f1": float(fc), "support": int(s)}
            for c, pc, rc, fc, s in zip(labels, prec, rec, f1, support)
        },
    )


def _macro_f1_from_confusions(conf: np.ndarray) -> np.ndarray:
    """Macro F1 for a stack of confusion matrices (B, L, L+extra), zero_division = 0.

    Vectorised so a 1,000-resample bootstrap costs milliseconds; cross-checked against
    sklearn in the tests.
    """
    n_labels = conf.shape[1]
    tp = np.einsum("bii->bi", conf[:, :, :n_labels])
    pred_pos = conf[:, :, :n_labels].sum(axis=1)
    true_pos = conf.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(pred_pos + true_pos > 0, 2 * tp / (pred_pos + true_pos), 0.0)
    return f1.mean(axis=1)


def bootstrap_ci(
    gold: Sequence[int],
    pred: Sequence[int],
    labels: Sequence[int] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Percentile bootstrap intervals (rows resampled with replacement) for agreement and macro F1.

    The seed is fixed so a report is reproducible to the last digit. F1 is averaged over the
    same ``labels`` as the point estimate, so a resample that misses a class still counts it.
    """
    y, p = np.asarray(gold, dtype=int), np.asarray(pred, dtype=int)
    labels = list(labels) if labels is not None else metric_labels(y)
    columns = labels + [WRONG]  # WRONG and any prediction outside ``labels`` share the last column
    index = {c: i for i, c in enumerate(columns)}
    yi = np.array([index[v] for v in y])
    pi = np.array([index.get(v, len(columns) - 1) for v in p])
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(y), size=(n_boot, len(y)))
    cells = yi[rows] * len(columns) + pi[rows]
    conf = np.stack([np.bincount(c, minlength=len(columns) ** 2) for c in cells])
    conf = conf.reshape(n_boot, len(columns), len(columns))[:, : len(labels), :]
    agreement = (yi[rows] == pi[rows]).mean(axis=1)
    f1 = _macro_f1_from_confusions(conf)
    alpha = (1 - level) / 2
    q = [alpha, 1 - alpha]
    return {
        "level": level,
        "n_boot": n_boot,
        "seed": seed,
        "agreement": [float(x) for x in np.quantile(agreement, q)],
        "f1": [float(x) for x in np.quantile(f1, q)],
    }


# --------------------------------------------------------------------- two presentation orders


def favoured_position(verdict: int, swapped: bool) -> int:
    """Presented position (1 = shown first, 2 = shown second, 0 = none) a pair verdict favours.

    ``verdict`` is in ORIGINAL answer order (the schema convention); in the swapped run the
    original answer 2 was shown first.
    """
    if verdict == TIE or verdict == WRONG:
        return 0
    return 3 - verdict if swapped else verdict


@dataclass(frozen=True)
class SwapScores:
    """Consistency and position bias of a judge run in both orders on the same pairs.

    ``bias_first``/``bias_second`` are shares of all compared pairs (JudgeLM's table: they add
    up with consistency to 1); ``*_within_inconsistent`` are the same counts over the
    inconsistent pairs only.
    """

    n: int
    consistency: float
    bias_first: float
    bias_second: float
    delta_bias: float
    inconsistent: int
    bias_first_within_inconsistent: float
    bias_second_within_inconsistent: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def swap_scores(first: Sequence[int], second: Sequence[int]) -> SwapScores:
    """Consistency and position bias; ``first`` = original-order run, ``second`` = swapped run.

    Both in original answer order. An inconsistent pair "favours the first position" when its
    two runs lean more to the answer shown first than to the one shown second, counting a tie
    as no lean: e.g. verdicts (1, 2) pick the first-shown answer both times, (0, 2) leans first
    once. For a pair every inconsistent case leans one way, so the three shares add up to 1.
    Unparsed outputs must be resolved beforehand (:data:`WRONG` = inconsistent, no lean).
    """
    if len(first) != len(second):
        raise ValueError(f"the two runs differ in length: {len(first)} vs {len(second)}")
    if not first:
        raise ValueError("no pair was judged in both orders")
    a, b = np.asarray(first, dtype=int), np.asarray(second, dtype=int)
    if ((a > 2) | (b > 2)).any():
        raise ValueError("swap metrics are defined for pairs (verdicts 0, 1, 2)")
    consistent = (a == b) & (a != WRONG)
    positions = [(favoured_position(int(x), False), favoured_position(int(y), True)) for x, y in zip(a, b)]
    lean = np.array([sum(+1 if q == 1 else -1 if q == 2 else 0 for q in pair) for pair in positions])
    first_bias = int((~consistent & (lean > 0)).sum())
    second_bias = int((~consistent & (lean < 0)).sum())
    n, n_inc = len(a), int((~consistent).sum())
    return SwapScores(
        n=n,
        consistency=float(consistent.mean()),
        bias_first=first_bias / n,
        bias_second=second_bias / n,
        delta_bias=abs(first_bias - second_bias) / n,
        inconsistent=n_inc,
        bias_first_within_inconsistent=first_bias / n_inc if n_inc else 0.0,
        bias_second_within_inconsistent=second_bias / n_inc if n_inc else 0.0,
    )


def pandalm_two_run(first: Sequence[int], second: Sequence[int]) -> list[int]:
    """PandaLM's combination of an original-order and a swapped-order run (original order).

    Both tie → tie; both favour the same *position* (a sign of position bias) → tie;
    otherwise the first run's verdict.
    """
    out = []
    for x, y in zip(first, second, strict=True):
        px, py = favoured_position(x, False), favoured_position(y, True)
        if x == TIE and y == TIE:
            out.append(TIE)
        elif px != 0 and px == py:
            out.append(TIE)
        else:
            out.append(int(x))
    return out


# --------------------------------------------------------------------- confidence


def reliability(correct: Sequence[bool], confidence: Sequence[float], bins: int = 10) -> dict[str, Any]:
    """Calibration of a judge's confidence: per-bin accuracy vs mean confidence, and ECE."""
    c = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(c, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        m = which == b
        if not m.any():
            continue
        acc, conf = float(ok[m].mean()), float(c[m].mean())
        ece += m.mean() * abs(acc - conf)
        rows.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(m.sum()), "accuracy": acc, "confidence": conf})
    return {"bins": rows, "ece": float(ece), "n": int(len(c))}
