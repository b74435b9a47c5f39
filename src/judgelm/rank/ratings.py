"""Ranking models by pairwise judgements: PandaLM's use, "which of my checkpoints is best?".

Answers of several models to the same prompts (:func:`load_answer_table`) become pair samples
(:func:`build_pairs`: every model pair per prompt, or ``k`` sampled pairs per prompt), judged in
both orders by any engine (:func:`judgelm.judging.runner.run_judge`, resumable) or taken from recorded
judgements/labels. Each judged pair is a game (:func:`games_from_judgements`); the games give the
win/tie/loss matrix and a Bradley–Terry fit (:func:`fit_bradley_terry`, ties as half a win)
with bootstrap intervals over prompts (:func:`bootstrap_ratings`); models whose intervals do not
overlap are separable, which gives a partial order (:func:`partial_order`) and the best model or
the set tied for best.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgelm.rank.games import Game, wtl_matrix

logger = logging.getLogger(__name__)

#: Elo-like scale of the printed ratings: 400 points = 10:1 odds; the mean model sits at 1000
SCALE = 400.0 / math.log(10.0)
CENTER = 1000.0




# --------------------------------------------------------------------------- Bradley–Terry


def _pair_totals(games: Sequence[Game], models: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(prompts, per-prompt win totals T[p, i, j] = points of model i against model j on prompt p).

    Bradley–Terry depends on the games only through these totals, so fits and bootstrap
    resamples work on an (models × models) matrix, not on every game.
    """
    idx = {m: i for i, m in enumerate(models)}
    prompts = list(dict.fromkeys(g.prompt for g in games))
    pidx = {p: k for k, p in enumerate(prompts)}
    totals = np.zeros((len(prompts), len(models), len(models)))
    for g in games:
        k, i, j = pidx[g.prompt], idx[g.a], idx[g.b]
        totals[k, i, j] += g.score
        totals[k, j, i] += 1.0 - g.score
    return prompts, totals


def _fit_totals(wins: np.ndarray, prior: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    m = wins.shape[0]
    rows, y, w = [], [], []
    for i in range(m):
        for j in range(i + 1, m):
            if wins[i, j] + wins[j, i] <= 0:
                continue
            x = np.zeros(m)
            x[i], x[j] = 1.0, -1.0
            rows += [x, x]
            y += [1, 0]
            w += [wins[i, j], wins[j, i]]
    if not rows:
        raise ValueError("no games to fit")
    clf = LogisticRegression(C=prior, fit_intercept=False, solver="newton-cholesky", max_iter=200, tol=1e-10)
    clf.fit(np.array(rows), np.array(y), sample_weight=np.array(w))
    beta = clf.coef_[0]
    return CENTER + SCALE * (beta - beta.mean())


def fit_bradley_terry(games: Sequence[Game], models: Sequence[str], *, prior: float = 1.0) -> np.ndarray:
    """Bradley–Terry log-strengths on the Elo-like scale (mean model = 1000, +400 = 10:1 odds).

    A game with score ``s`` is a win of ``a`` with weight ``s`` and a win of ``b`` with weight
    ``1 − s`` (ties = half a win each). Fitted as a weighted logistic regression without
    intercept (scikit-learn) whose L2 penalty is a N(0, ``prior``) prior on each log-strength:
    it keeps an undefeated model finite and pulls models with few games toward the middle.
    """
    if not games:
        raise ValueError("no games to fit")
    _, totals = _pair_totals(games, models)
    return _fit_totals(totals.sum(axis=0), prior)


def bootstrap_ratings(
    games: Sequence[Game], models: Sequence[str], *, n_boot: int = 200, level: float = 0.95, seed: int = 0,
    prior: float = 1.0,
) -> np.ndarray:
    """Percentile intervals (shape ``(len(models), 2)``) from resampling *prompts* with replacement
    (games on one prompt are not independent), refitting each time."""
    prompts, totals = _pair_totals(games, models)
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, len(models)))
    for b in range(n_boot):
        counts = np.bincount(rng.integers(0, len(prompts), size=len(prompts)), minlength=len(prompts))
        draws[b] = _fit_totals(np.tensordot(counts, totals, axes=1), prior)
    alpha = (1.0 - level) / 2.0
    return np.quantile(draws, [alpha, 1.0 - alpha], axis=0).T


def rating_scorer(games: Sequence[Game], models: Sequence[str], prompts: Sequence[str], *,
                  prior: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """Prompt counts (over ``prompts``, e.g. one bootstrap resample) → Bradley–Terry ratings of
    ``models``: what :mod:`judgelm.rank.agreement` resamples when rankings are by rating."""
    idx = {m: i for i, m in enumerate(models)}
    pidx = {p: k for k, p in enumerate(prompts)}
    totals = np.zeros((len(prompts), len(models), len(models)))
    for g in games:
        if g.prompt in pidx and g.a in idx and g.b in idx:
            k, i, j = pidx[g.prompt], idx[g.a], idx[g.b]
            totals[k, i, j] += g.score
            totals[k, j, i] += 1.0 - g.score
    return lambda counts: _fit_totals(np.tensordot(counts, totals, axes=1), prior)


def partial_order(models: Sequence[str], intervals: np.ndarray) -> tuple[dict[str, set[str]], list[list[str]]]:
    """(model → models separably below it, levels top-down).

    ``a`` is above ``b`` when ``a``'s interval lies wholly above ``b``'s. A model's level is the
    length of the longest chain of models above it, so level 0 holds the models nobody beats
    separably (the best, or the set tied for best).
    """
    above: dict[str, set[str]] = {m: set() for m in models}
    below: dict[str, set[str]] = {m: set() for m in models}
    for i, a in enumerate(models):
        for j, b in enumerate(models):
            if i != j and intervals[i, 0] > intervals[j, 1]:
                below[a].add(b)
                above[b].add(a)
    level: dict[str, int] = {}

    def depth(m: str) -> int:
        if m not in level:
            level[m] = 0 if not above[m] else 1 + max(depth(x) for x in above[m])
        return level[m]

    for m in models:
        depth(m)
    levels = [sorted((m for m in models if level[m] == k), key=str) for k in range(max(level.values()) + 1)]
    return below, levels


@dataclass
class Ranking:
    models: list[str]
    ratings: np.ndarray
    intervals: np.ndarray
    wtl: dict[str, np.ndarray]
    levels: list[list[str]]
    below: dict[str, set[str]]
    stats: dict[str, int]
    n_games: int
    n_prompts: int
    n_boot: int
    seed: int
    hidden: tuple[str, ...] = ()  # fitted (e.g. the baseline that connects the others), not ranked

    @property
    def best(self) -> list[str]:
        return self.levels[0]

    def order(self) -> list[int]:
        """Indices of the ranked models, best rating first (hidden models left out)."""
        return [int(k) for k in np.argsort(-self.ratings, kind="stable") if self.models[k] not in self.hidden]

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for k in self.order():
            m = self.models[k]
            w, t, l = (int(self.wtl[x][k].sum()) for x in ("wins", "ties", "losses"))
            rows.append({"model": m, "rating": float(self.ratings[k]), "ci": [float(x) for x in self.intervals[k]],
                         "wins": w, "ties": t, "losses": l,
                         "win_rate": (w + 0.5 * t) / max(1, w + t + l), "beats": sorted(self.below[m])})
        return {
            "models": rows, "best": self.best, "levels": self.levels,
            "wtl": {k: v.tolist() for k, v in self.wtl.items() if k != "win_rate"},
            "win_rate": [[None if math.isnan(x) else float(x) for x in row] for row in self.wtl["win_rate"]],
            "model_order": self.models, "hidden": list(self.hidden), "games": self.n_games, "prompts": self.n_prompts, "stats": self.stats,
            "bootstrap": {"n_boot": self.n_boot, "level": 0.95, "seed": self.seed, "over": "prompts"},
            "method": "Bradley-Terry (ties = half wins), L2 prior, Elo-like scale (mean 1000, 400 = 10:1 odds)",
        }


def rank(games: Sequence[Game], *, stats: dict[str, int] | None = None, n_boot: int = 200, seed: int = 0,
         prior: float = 1.0, hide: Sequence[str] = ()) -> Ranking:
    """Ratings, intervals, W/T/L matrix and the partial order of the models in ``games``.

    ``hide``: models fitted with the others but not ranked — a baseline every model played, which
    is what makes the others comparable, is not itself a contestant (AlpacaEval lists it apart).
    """
    models = sorted({g.a for g in games} | {g.b for g in games})
    shown = [m for m in models if m not in set(hide)]
    if len(shown) < 2 and not (len(shown) == 1 and len(models) >= 2):
        raise ValueError("ranking needs games between at least two models")
    ratings = fit_bradley_terry(games, models, prior=prior)
    intervals = bootstrap_ratings(games, models, n_boot=n_boot, seed=seed, prior=prior)
    keep = [models.index(m) for m in shown]
    below, levels = partial_order(shown, intervals[keep])
    below.update({m: set() for m in models if m not in below})
    return Ranking(models, ratings, intervals, wtl_matrix(games, models), levels, below, dict(stats or {}),
                   len(games), len({g.prompt for g in games}), n_boot, seed, tuple(m for m in models if m in set(hide)))


#: model names longer than this are cut (with "…") in figures and printed tables; files keep them whole
NAME_WIDTH = 36


def short(name: str, width: int = NAME_WIDTH) -> str:
    """``name`` cut to ``width`` characters (an AlpacaEval file names one model by its run id)."""
    return name if len(name) <= width else name[: width - 1] + "…"


def format_ranking(r: Ranking) -> str:
    """The ranking as aligned text (what the command prints)."""
    width = max(len(short(r.models[k])) for k in r.order())
    lines = [f"{'model':<{width}}  {'rating':>7}  {'95% interval':>17}  {'W':>5} {'T':>5} {'L':>5}  level"]
    level_of = {m: k for k, ms in enumerate(r.levels) for m in ms}
    for k in r.order():
        m = r.models[k]
        w, t, l = (int(r.wtl[x][k].sum()) for x in ("wins", "ties", "losses"))
        lo, hi = r.intervals[k]
        lines.append(f"{short(m):<{width}}  {r.ratings[k]:7.1f}  [{lo:7.1f}, {hi:7.1f}]  {w:5d} {t:5d} {l:5d}  {level_of[m]}")
    lines.append("partial order (level k: the longest chain of models separably better has k links; "
                 "level 0 = nobody is separably better):")
    for k, ms in enumerate(r.levels):
        lines.append(f"  {k}: {', '.join(ms)}")
    best = r.best
    lines.append(f"best: {best[0]}" if len(best) == 1 else f"tied for best (not separable): {', '.join(best)}")
    return "\n".join(lines)
