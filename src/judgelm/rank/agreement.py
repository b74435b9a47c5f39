"""How well does a judge rank models? Its ranking against a reference ranking (e.g. GPT-4's
AlpacaEval preferences, or human labels): Spearman ρ, Kendall τ (scipy.stats) and the top-k
overlap, with BCa intervals (scipy.stats.bootstrap) from resamples of prompts.

Both rankings are functions of the prompts (a :data:`Scorer` maps a vector of prompt counts — one
bootstrap resample — to one score per model), so a reference computed on the same prompts is
resampled *with* the judge (paired: prompt difficulty cancels); a fixed reference (a ratings file
from another run) is a constant scorer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

#: prompt counts (length = number of prompts; all ones = the data as observed) → score per model (NaN = none)
Scorer = Callable[[np.ndarray], np.ndarray]


@dataclass
class Agreement:
    """A judge's ranking against a reference, with 95 % bootstrap (BCa) intervals."""

    reference: str
    score: str  # what both rankings order models by (win_rate, rating)
    models: list[str]
    judge_scores: list[float]
    reference_scores: list[float]
    spearman: float
    kendall: float
    top_k: int
    top_k_overlap: float
    spearman_ci: tuple[float, float] = (float("nan"), float("nan"))
    kendall_ci: tuple[float, float] = (float("nan"), float("nan"))
    top_k_ci: tuple[float, float] = (float("nan"), float("nan"))
    n_prompts: int = 0
    n_boot: int = 0
    seed: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    def summary(self) -> str:
        """One line per figure (what the command prints)."""
        def ci(x: tuple[float, float]) -> str:
            return f"[{x[0]:.3f}, {x[1]:.3f}]"

        return "\n".join([
            (f"rank agreement with {self.reference} ({len(self.models)} models by {self.score}, "
            f"{self.n_prompts} prompts, {self.n_boot} bootstrap resamples):"),
            f"  Spearman rho   {self.spearman:.3f}  95% {ci(self.spearman_ci)}",
            f"  Kendall tau    {self.kendall:.3f}  95% {ci(self.kendall_ci)}",
            f"  top-{self.top_k} overlap {self.top_k_overlap:.3f}  95% {ci(self.top_k_ci)}",
        ])


def top(scores: np.ndarray, models: Sequence[str], k: int) -> list[str]:
    """The ``k`` best models (ties broken by name, so the answer is deterministic)."""
    order = sorted(range(len(models)), key=lambda i: (-scores[i], models[i]))
    return [models[i] for i in order[:k]]


def metrics(judge: np.ndarray, reference: np.ndarray, models: Sequence[str], k: int) -> tuple[float, float, float]:
    """(Spearman ρ, Kendall τ-b, top-k overlap share) on the models scored by both."""
    from scipy.stats import kendalltau, spearmanr

    ok = np.isfinite(judge) & np.isfinite(reference)
    j, r = judge[ok], reference[ok]
    names = [m for m, keep in zip(models, ok) if keep]
    if len(j) < 3:
        return float("nan"), float("nan"), float("nan")
    kk = min(k, len(j))
    overlap = len(set(top(j, names, kk)) & set(top(r, names, kk))) / kk
    return float(spearmanr(j, r).statistic), float(kendalltau(j, r).statistic), overlap


def rank_agreement(models: Sequence[str], judge: Scorer, reference: Scorer, n_prompts: int, *, reference_name: str,
                   score: str, top_k: int = 10, n_boot: int = 200, level: float = 0.95, seed: int = 0) -> Agreement:
    """Point figures on the observed prompts, intervals from ``n_boot`` resamples of the prompts."""
    models = list(models)
    if len(models) < 3:
        raise ValueError(f"rank agreement needs at least 3 models, got {len(models)}")
    k = max(1, min(top_k, len(models) - 1))
    ones = np.ones(n_prompts)
    js, rs = judge(ones), reference(ones)
    rho, tau, ov = metrics(js, rs, models, k)
    lo, hi = _bootstrap(lambda counts: metrics(judge(counts), reference(counts), models, k), n_prompts,
                        n_boot=n_boot, level=level, seed=seed)
    return Agreement(reference_name, score, models, [float(x) for x in js], [float(x) for x in rs], rho, tau, k, ov,
                     (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])), (float(lo[2]), float(hi[2])),
                     n_prompts, n_boot, seed, extra={"interval": "BCa bootstrap over prompts (scipy.stats.bootstrap); "
                                                                 "percentile for top-k and where BCa is undefined"})


def _bootstrap(stat: Callable[[np.ndarray], tuple[float, float, float]], n_prompts: int, *, n_boot: int, level: float,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """BCa intervals (scipy.stats.bootstrap) of the three figures over resamples of prompts.

    A correlation computed from resampled (so noisier) win rates is biased low, and a plain
    percentile interval then sits below the point estimate; BCa corrects that bias. Where BCa is
    undefined (a figure constant over resamples), and for the top-k overlap (a few discrete
    values), the percentile interval of the same resamples is used.
    """
    import warnings

    from scipy.stats import bootstrap

    def f(idx: np.ndarray) -> np.ndarray:
        counts = np.bincount(idx.astype(int), minlength=n_prompts).astype(float)
        return np.array(stat(counts))

    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap((np.arange(n_prompts),), f, n_resamples=n_boot, vectorized=False, method="BCa",
                        confidence_level=level, rng=np.random.default_rng(seed))
    lo, hi = np.array(res.confidence_interval.low, dtype=float), np.array(res.confidence_interval.high, dtype=float)
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    q_lo, q_hi = np.nanquantile(dist, [alpha, 1.0 - alpha], axis=-1)
    bad = ~np.isfinite(lo) | ~np.isfinite(hi)
    bad[2] = True  # top-k overlap takes a few values (multiples of 1/k): BCa's interpolation means nothing there
    lo[bad], hi[bad] = q_lo[bad], q_hi[bad]
    return lo, hi


def win_rate_scorer(scores: np.ndarray) -> Scorer:
    """``scores[i, p]`` = model i's score on prompt p (NaN = none) → weighted mean per model, in %."""
    known = np.isfinite(scores)
    filled = np.where(known, scores, 0.0)

    def f(counts: np.ndarray) -> np.ndarray:
        n = known @ counts
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, 100.0 * (filled @ counts) / np.maximum(n, 1e-12), np.nan)

    return f


def fixed_scorer(values: Sequence[float]) -> Scorer:
    """A reference that does not depend on the prompts (e.g. read from another run's ratings.csv)."""
    v = np.asarray(values, dtype=float)
    return lambda counts: v
