"""The escalation plan of a guaranteed cascade: per-stage thresholds with a finite-sample guarantee,
chosen by fixed-sequence testing on a labelled calibration split, and the routing they imply.

Why: a threshold tuned to *reach* a target on calibration data misses it on new data about half
the time (docs/cascade.md). Fixed-sequence testing ("Trust or Escalate", Jung et al. 2024;
"Learn then Test", Angelopoulos et al. 2021) instead picks a threshold whose agreement is at
least ``alpha`` with probability ≥ 1 − ``delta`` over the draw of the calibration data.

How: candidate thresholds are ordered before any label is looked at, from the safest (most
escalated) on. For each, H0 "agreement < alpha" is tested with the exact binomial tail
p = P(Bin(n, alpha) ≥ k) (k of n calibration items right; rejecting at p ≤ delta is the one-sided
Clopper–Pearson lower bound exceeding alpha). Testing stops at the first candidate not rejected;
the last rejected one is chosen. No multiplicity correction is needed along one fixed sequence.

Two things can be guaranteed (``on``):

* ``"all"`` — the agreement of the **final cascade output on every item**: the last stage never
  abstains, the earlier stages' thresholds move together along one path (each escalates the same
  share s of the calibration items reaching it, s from the budget cap down to 0), from "everything to the last stage" towards
  "stage 1 keeps everything".
* ``"kept"`` — Trust-or-Escalate's guarantee: the agreement on the items **some stage keeps**.
  Every stage, the last included, abstains below its threshold; each stage is tested on the
  calibration items that reach it at level ``delta / K`` (Bonferroni over the K stages), its
  candidates ordered from the most confident 10 % kept upwards in steps of 1 %. What no stage keeps is left
  undecided (reported as the coverage).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from scipy.stats import binom

logger = logging.getLogger(__name__)

GuaranteeOn = Literal["all", "kept"]
KEPT_START = 0.10  # "kept": the first candidate keeps the 10 % most confident (label-free)


def p_value(correct: int, n: int, alpha: float) -> float:
    """Exact one-sided binomial p-value of H0 "agreement < alpha" given ``correct`` of ``n`` right."""
    if n == 0:
        return 1.0
    return float(binom.sf(correct - 1, n, alpha))


@lru_cache(maxsize=64)
def _resamples(c: int, m: int | None, boot: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Bootstrap index draws (fixed per shape and seed: the same plan for the same data)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, c, (boot, c)), (rng.integers(0, c, (boot, m)) if m else None)


@dataclass(frozen=True)
class AgreementTest:
    """The test of H0 "agreement < alpha" on the covered calibration items.

    * ``"binomial"``: the exact binomial tail (:func:`p_value`): items are independent draws,
      and what is guaranteed is the expected agreement on new items.
    * ``"prompt"`` (default): the unit is the prompt, since the items of one prompt are strongly
      correlated (PandaLM: 999 pairs, 170 prompts). Per calibration prompt j, d_j = k_j − alpha·n_j
      (k_j right of its n_j covered items); the deployed batch of ``m`` prompts reaches alpha iff
      its d's sum to ≥ 0. The statistic t = d̄ / (s·sqrt(1/c + 1/m)) (c calibration prompts, d̄ and
      s their mean and standard deviation) is referred to the bootstrap distribution of its pivot
      (d̄*_m − d̄*_c) / (s*_c·sqrt(1/c + 1/m)) — c and m prompts redrawn from the calibration prompts,
      ``boot`` times (studentized bootstrap: it follows the skew and heavy tails of d that a
      Student t misses): p = (1 + #{pivot* ≤ −t}) / (boot + 1). A prediction bound for the agreement
      realised on the deployed batch (``m=None``: the expected agreement). Approximate, not exact;
      the PandaLM study measures its failure rate.
    """

    method: Literal["binomial", "prompt"] = "prompt"
    clusters: np.ndarray | None = None  # prompt index of every calibration item ("prompt")
    m_deploy: int | None = None  # prompts of the deployed batch ("prompt"); None: the expectation
    boot: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("binomial", "prompt"):
            raise ValueError(f"test must be 'binomial' or 'prompt', got {self.method!r}")
        if self.method == "prompt" and self.clusters is None:
            raise ValueError("the prompt-level test needs the prompt of every calibration item")

    def p(self, right: np.ndarray, covered: np.ndarray, alpha: float) -> float:
        """p-value of H0 "agreement on the covered items < alpha" (``right``, ``covered``: bool per item)."""
        n = int(covered.sum())
        if n == 0:
            return 1.0
        k = int((right & covered).sum())
        if self.method == "binomial":
            return p_value(k, n, alpha)
        assert self.clusters is not None
        n_c = int(self.clusters.max()) + 1
        kj = np.bincount(self.clusters, weights=(right & covered).astype(float), minlength=n_c)
        nj = np.bincount(self.clusters, weights=covered.astype(float), minlength=n_c)
        d = kj - alpha * nj
        c = len(d)
        if c < 2:
            return 1.0
        mean, sd = float(d.mean()), float(d.std(ddof=1))
        m = self.m_deploy
        scale = np.sqrt(1.0 / c + (1.0 / m if m else 0.0))
        if sd == 0.0:
            return 0.0 if mean > 0 else 1.0
        t = mean / (sd * scale)
        ic, im = _resamples(c, m, self.boot, self.seed)
        dc = d[ic]
        s_star = dc.std(axis=1, ddof=1)
        s_star[s_star == 0.0] = np.inf  # a resample without spread says nothing
        centre = d[im].mean(axis=1) if im is not None else mean
        pivot = (centre - dc.mean(axis=1)) / (s_star * scale)
        return float((1 + np.count_nonzero(pivot <= -t)) / (self.boot + 1))


def lower_bound(correct: int, n: int, delta: float) -> float:
    """One-sided Clopper–Pearson lower confidence bound (level 1 − delta) of the agreement."""
    from scipy.stats import beta

    if n == 0 or correct == 0:
        return 0.0
    return float(beta.ppf(delta, correct, n - correct + 1))


@dataclass
class StagePlan:
    """What calibration chose for one stage: keep items whose confidence ≥ ``threshold``."""

    stage: int
    threshold: float  # +inf: keep nothing (escalate or abstain on everything)
    calib_reaching: int  # calibration items that reached this stage
    calib_kept: int
    calib_kept_correct: int

    @property
    def calib_coverage(self) -> float:
        return self.calib_kept / self.calib_reaching if self.calib_reaching else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["threshold"] = None if not np.isfinite(self.threshold) else self.threshold
        d["calib_coverage"] = self.calib_coverage
        return d


@dataclass
class Plan:
    """The thresholds of every stage, and what the calibration showed about them."""

    alpha: float
    delta: float
    on: str
    n_calibration: int
    stages: list[StagePlan]
    guaranteed: bool  # False: even the safest candidate was not proven (everything escalated / abstained)
    p_value: float | None  # of the chosen candidate ("all")
    calib_agreement: float | None  # on what the guarantee covers, on the calibration items
    calib_lower_bound: float | None
    tested: int = 0  # candidates tested along the sequence
    confidence: str = "own"  # which confidence source the thresholds apply to
    test: str = "binomial"  # the test of each candidate (AgreementTest.method)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "stages"}
        d["stages"] = [s.to_dict() for s in self.stages]
        return d


def route(conf: np.ndarray, thresholds: Sequence[float], *, last_abstains: bool) -> np.ndarray:
    """Stage index (0-based) deciding each item; -1 = nobody (only when the last stage abstains).

    ``conf[i, k]`` is stage k's confidence on item i; stage k keeps items with conf ≥ threshold k
    among those the earlier stages escalated. Without abstention the last stage takes the rest.
    """
    n, k_stages = conf.shape
    out = np.full(n, -1, dtype=int)
    open_ = np.ones(n, dtype=bool)
    for k in range(k_stages):
        if k == k_stages - 1 and not last_abstains:
            out[open_] = k
            break
        keep = open_ & (conf[:, k] >= thresholds[k])
        out[keep] = k
        open_ &= ~keep
    return out


def _quantile_thresholds(conf: np.ndarray, share: float) -> list[float]:
    """Per stage but the last, in turn: the threshold escalating the ``share`` least confident of the
    calibration items that reach it (label-free, so the path is fixed before any test)."""
    out = []
    open_ = np.ones(len(conf), dtype=bool)
    for k in range(conf.shape[1] - 1):
        c = np.sort(conf[open_, k])
        j = round(share * len(c))
        out.append(float("inf") if j >= len(c) else float(c[j]))
        open_ &= ~(conf[:, k] >= out[-1])
    out.append(-float("inf"))
    return out


def calibrate_all(conf: np.ndarray, correct: np.ndarray, alpha: float, delta: float, tester: AgreementTest,
                  *, steps: int = 100, max_escalate: float = 1.0) -> Plan:
    """``on="all"``: thresholds whose final-output agreement on every item is ≥ alpha w.p. ≥ 1 − delta.

    ``conf`` / ``correct``: [n, K] arrays over the calibration items (every stage judged every
    calibration item). The path: escalated share s = ``max_escalate``, then 1/``steps`` less at a
    time down to 0, each stage but the last escalating its s least confident items. Starting at a
    budget cap below 1 is still a fixed sequence, and usually a stronger one: a cheap stage that is
    better than the strong judge on its confident items makes the middle of the path the best part.
    """
    n, _k_stages = conf.shape
    everything = np.ones(n, dtype=bool)
    best: tuple[list[float], float] | None = None
    tested = 0
    top = int(np.floor(max_escalate * steps + 1e-9))
    for j in range(top, -1, -1):
        th = _quantile_thresholds(conf, j / steps)
        who = route(conf, th, last_abstains=False)
        p = tester.p(correct[np.arange(n), who], everything, alpha)
        tested += 1
        if p > delta:
            break
        best = (th, p)
    if best is None:
        th = _quantile_thresholds(conf, top / steps)
        who = route(conf, th, last_abstains=False)
        plan = _plan(conf, correct, th, who, alpha, delta, "all", False,
                     tester.p(correct[np.arange(n), who], everything, alpha), tested)
        plan.notes.append(f"agreement {alpha:.4f} is not proven on {n} calibration items even with "
                          f"{100 * top / steps:.0f}% escalated: that share is escalated and nothing is guaranteed")
        return plan
    th, p = best
    who = route(conf, th, last_abstains=False)
    return _plan(conf, correct, th, who, alpha, delta, "all", True, p, tested)


def calibrate_kept(conf: np.ndarray, correct: np.ndarray, alpha: float, delta: float, tester: AgreementTest,
                   *, steps: int = 100) -> Plan:
    """``on="kept"``: per stage in turn, the lowest threshold whose kept agreement is ≥ alpha
    w.p. ≥ 1 − delta/K, on the calibration items that reach the stage; the last stage abstains too.
    Candidates keep the most confident q of the items reaching the stage, q = 10 %, 11 %, … 100 %
    (the same 1/``steps`` grid as ``"all"``)."""
    n, k_stages = conf.shape
    d_k = delta / k_stages
    open_ = np.ones(n, dtype=bool)
    thresholds: list[float] = []
    tested = 0
    for k in range(k_stages):
        th = float("inf")
        cs = np.sort(conf[open_, k])[::-1]
        last_m = 0
        for j in range(int(np.ceil(KEPT_START * steps - 1e-9)), steps + 1):
            m = max(1, round(j / steps * len(cs)))
            if not len(cs) or m == last_m:
                continue
            last_m = m
            tested += 1
            covered = open_ & (conf[:, k] >= cs[m - 1])
            if tester.p(correct[:, k], covered, alpha) > d_k:
                break
            th = float(cs[m - 1])
        thresholds.append(th)
        open_ &= ~(conf[:, k] >= th)
    who = route(conf, thresholds, last_abstains=True)
    kept = who >= 0
    p = None
    if kept.any():
        right = np.zeros(n, dtype=bool)
        right[kept] = correct[np.where(kept)[0], who[kept]]
        p = tester.p(right, kept, alpha)
    plan = _plan(conf, correct, thresholds, who, alpha, delta, "kept", bool(kept.any()), p, tested)
    if not kept.any():
        plan.notes.append(f"no stage is proven to reach {alpha:.4f} on any share of its calibration items: "
                          "every item is left undecided")
    return plan


def _plan(conf: np.ndarray, correct: np.ndarray, th: Sequence[float], who: np.ndarray, alpha: float, delta: float,
          on: str, guaranteed: bool, p: float | None, tested: int) -> Plan:
    stages = []
    open_ = np.ones(len(who), dtype=bool)
    for s in range(conf.shape[1]):
        here = who == s
        stages.append(StagePlan(s + 1, float(th[s]), int(open_.sum()), int(here.sum()),
                                int(correct[here, s].sum())))
        open_ &= ~here
    covered = who >= 0
    n_cov = int(covered.sum())
    k = sum(st.calib_kept_correct for st in stages)
    return Plan(alpha, delta, on, len(who), stages, guaranteed, p, k / n_cov if n_cov else None,
                lower_bound(k, n_cov, delta) if n_cov else None, tested)


def calibrate(conf: np.ndarray, correct: np.ndarray, alpha: float, delta: float, on: GuaranteeOn = "all",
              tester: AgreementTest | None = None, steps: int = 100, max_escalate: float = 1.0) -> Plan:
    """The thresholds for guarantee ``on`` ("all" or "kept"); see the module docstring.
    ``tester`` defaults to the exact binomial test (independent items)."""
    conf = np.asarray(conf, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    if conf.shape != correct.shape or conf.ndim != 2 or not len(conf):
        raise ValueError("calibration needs [items, stages] confidence and correctness arrays of equal shape")
    if conf.shape[1] < 2:
        raise ValueError("a cascade needs at least two stages")
    if not 0.0 < alpha < 1.0 or not 0.0 < delta < 1.0:
        raise ValueError("the guaranteed level and delta must be within (0, 1)")
    tester = tester or AgreementTest("binomial")
    if tester.clusters is not None and len(tester.clusters) != len(conf):
        raise ValueError("the tester needs one prompt index per calibration item")
    if on == "all":
        plan = calibrate_all(conf, correct, alpha, delta, tester, steps=steps, max_escalate=max_escalate)
    elif on == "kept":
        plan = calibrate_kept(conf, correct, alpha, delta, tester, steps=steps)
    else:
        raise ValueError(f"guarantee-on must be 'all' or 'kept', got {on!r}")
    plan.test = tester.method
    return plan
