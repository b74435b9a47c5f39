"""The reading judge's head: a per-answer utility that is linear in a few derived features.

``u(a) = Σ_j w_j · f_j(a)``; answer 1 beats answer 2 with probability ``σ(u(a1) − u(a2))``. Because
the pair's logit is a difference of the same function of each answer, swapping the answers flips
the verdict exactly (swap consistency 100% by construction), and N answers are ranked by ``u``.
A tie is declared when the two utilities are within ``margin`` (chosen on validation data).

Features (each a function of one answer's :class:`AnswerEvidence`):

* ``pmi`` summed PMI ``log P(a|q) − log P(a)`` (nats), ``pmi_mean`` per token,
* ``cond_mean`` ``log P(a|q)`` per token (fluency given the question),
* ``log_chars`` ``log(1 + characters)``, ``log_tokens``,
* ``mini`` the built-in judge's latent quality of the answer in this problem,
* ``expert`` / ``expert_mean`` ``log P(a | expert system prompt, q) − log P(a | q)``, summed / per
  token: how much more likely the answer becomes when the model is asked to be a meticulous expert,
* ``offtopic@θ`` ``min(0, pmi_mean − θ)``: only negative when the question barely changes the
  answer's likelihood (an answer to another question, a canned reply), so it can veto without
  touching on-topic answers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from judgelm.reading.signals import AnswerEvidence

FEATURES: dict[str, Callable[[AnswerEvidence], float]] = {
    "pmi": lambda e: e.pmi,
    "pmi_mean": lambda e: e.pmi_mean,
    "cond_mean": lambda e: e.cond / max(1, e.tokens),
    "log_chars": lambda e: math.log1p(e.chars),
    "log_tokens": lambda e: math.log1p(e.tokens),
    "mini": lambda e: e.mini,
    "expert": lambda e: _need_expert(e) - e.cond,
    "expert_mean": lambda e: (_need_expert(e) - e.cond) / max(1, e.tokens),
}


def _need_expert(e: AnswerEvidence) -> float:
    if e.expert is None:
        raise ValueError("this head reads the expert-prompt likelihood: gather(..., expert=True)")
    return e.expert


def needs_expert(features: Sequence[str]) -> bool:
    """Whether a head with these features needs the expert-prompt likelihood scored."""
    return any(f.startswith("expert") for f in features)


def feature(name: str) -> Callable[[AnswerEvidence], float]:
    """A feature by name, including ``offtopic@θ``."""
    if name.startswith("offtopic@"):
        theta = float(name.split("@", 1)[1])
        return lambda e: min(0.0, e.pmi_mean - theta)
    if name not in FEATURES:
        raise ValueError(f"unknown reading-judge feature {name!r}: expected one of {', '.join(FEATURES)} or offtopic@THETA")
    return FEATURES[name]


@dataclass
class Head:
    """Weights over named features (applied to standardised values) and a tie margin."""

    features: list[str]
    weights: list[float]
    scale: list[float]  # divide each raw feature by this before weighting
    margin: float = 0.0  # |u1 - u2| below this is a tie (3-way sets)
    meta: dict = field(default_factory=dict)

    def utility(self, e: AnswerEvidence) -> float:
        return sum(w * feature(f)(e) / s for f, w, s in zip(self.features, self.weights, self.scale))

    def contributions(self, e: AnswerEvidence) -> dict[str, float]:
        """Each feature's share of the utility (for explanations)."""
        return {f: w * feature(f)(e) / s for f, w, s in zip(self.features, self.weights, self.scale)}

    def prob_first(self, a: AnswerEvidence, b: AnswerEvidence) -> float:
        """P(a beats b) under the head's logistic model."""
        d = self.utility(a) - self.utility(b)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, d))))

    def verdict(self, evidence: Sequence[AnswerEvidence], ties: bool = True) -> tuple[int, list[float]]:
        """(0 tie / k best answer 1-based, utilities) for 1..N answers."""
        u = [self.utility(e) for e in evidence]
        if len(u) == 1:
            return 1, u
        order = sorted(range(len(u)), key=lambda i: (-u[i], i))
        best, second = order[0], order[1]
        if u[best] == u[second] or (ties and u[best] - u[second] < self.margin):
            return 0, u
        return best + 1, u

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"features": self.features, "weights": self.weights, "scale": self.scale,
                                          "margin": self.margin, "meta": self.meta}, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Head":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        head = cls(raw["features"], [float(w) for w in raw["weights"]], [float(s) for s in raw["scale"]],
                   float(raw.get("margin", 0.0)), raw.get("meta", {}))
        for f in head.features:
            feature(f)  # unknown names fail at load, not mid-run
        return head


def fit(pairs: Sequence[tuple[AnswerEvidence, AnswerEvidence, int]], features: list[str], c: float = 1.0) -> Head:
    """Logistic regression on feature differences, without intercept, on both orientations of every
    non-tie pair (so the fit itself is symmetric); features are scaled by their spread."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    fns = [feature(f) for f in features]
    rows = [(a, b, v) for a, b, v in pairs if v in (1, 2)]
    vals = np.array([[fn(e) for fn in fns] for a, b, _ in rows for e in (a, b)], dtype=np.float64)
    scale = np.maximum(vals.std(0), 1e-6)
    x, y = [], []
    for a, b, v in rows:
        d = (np.array([fn(a) for fn in fns]) - np.array([fn(b) for fn in fns])) / scale
        x += [d, -d]
        y += [1 if v == 1 else 0, 0 if v == 1 else 1]
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000).fit(np.array(x), np.array(y))
    return Head(list(features), [float(w) for w in model.coef_[0]], [float(s) for s in scale])


def accuracy(head: Head, pairs: Sequence[tuple[AnswerEvidence, AnswerEvidence, int]], ties: bool) -> float:
    """Share of pairs whose verdict matches the label (ties count when ``ties``; else non-tie pairs only)."""
    rows = [(a, b, v) for a, b, v in pairs if ties or v in (1, 2)]
    if not rows:
        return float("nan")
    return sum(head.verdict([a, b], ties=ties)[0] == v for a, b, v in rows) / len(rows)


def best_margin(head: Head, pairs: Sequence[tuple[AnswerEvidence, AnswerEvidence, int]]) -> float:
    """The tie margin with the best 3-way accuracy on ``pairs`` (0 when ties never pay off)."""
    diffs = sorted(abs(head.utility(a) - head.utility(b)) for a, b, _ in pairs)
    best, best_acc = 0.0, -1.0
    for q in [0.0] + [diffs[int(len(diffs) * k / 40)] for k in range(1, 20)]:
        head.margin = q
        acc = accuracy(head, pairs, ties=True)
        if acc > best_acc + 1e-12:
            best, best_acc = q, acc
    head.margin = best
    return best
