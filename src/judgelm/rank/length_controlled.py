"""Length-controlled win rates: AlpacaEval 2's GLM (Dubois et al. 2024, ``length_controlled_v1``).

Per model, on its duels against the baseline (y = the model's share of the win, in [0, 1])::

    P(model beats baseline on x) = σ( θ_m + φ_m · tanh(Δ_x / sd(Δ)) + ψ_m · γ_x )

Δ_x = len(model answer) − len(baseline answer) in characters, sd over the model's duels; γ_x is
the instruction's difficulty; θ_m the model term. The LC win rate is the model's prediction with
the length difference set to zero, averaged over its prompts: ``100 · mean_x σ(θ_m + ψ_m γ_x)``.
A model that wins only by writing longer answers gets its win through φ_m, so its LC win rate
stays where its quality is.

Fitting, as AlpacaEval's ``fit_LogisticRegressionCV``: scikit-learn logistic regression without
intercept, L1 penalty, strength chosen by 5-fold cross-validation grouped by prompt, on the
continuous target (each duel twice: label 1 with weight y, label 0 with weight 1 − y).

γ_x, as AlpacaEval's ``instruction_difficulty.ipynb``: the per-instruction coefficients of one joint
fit over all models (a model term and a model-specific length slope per model, a term per
instruction). AlpacaEval ships γ fitted on its own model set (a Hugging Face file); here it is
fitted on the models at hand with an L2 penalty (one solve, sparse design), so with few models
it is noisy — below :data:`MIN_MODELS_FOR_DIFFICULTY` models the γ term is left out
(AlpacaEval's ``length_controlled_minimal``). AlpacaEval's extra regularisation toward "gamed"
(length-prompted) versions of its GPT-4-turbo baseline needs annotations that only exist for that
baseline and is not applied.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from judgelm.rank.win_rates import Duel, Leaderboard

logger = logging.getLogger(__name__)

#: fewer models than this: no instruction-difficulty term (γ would be fitted on too few answers)
MIN_MODELS_FOR_DIFFICULTY = 5
#: L2 strength (scikit-learn's C) of the joint fit that yields γ
DIFFICULTY_C = 1.0
#: AlpacaEval's CV settings
N_SPLITS = 5
RANDOM_STATE = 123
#: AlpacaEval's penalty when it does not cross-validate (``fit_LogisticRegressionCV(n_splits=0)``)
FALLBACK_C = 100.0


@dataclass
class LengthControlled:
    """One model's LC figures and GLM weights (θ = ``model``, φ = ``length``, ψ = ``difficulty``)."""

    model: str
    lc_win_rate: float
    lc_standard_error: float
    weights: dict[str, float]


def _std_delta(duels: Sequence[Duel]) -> np.ndarray:
    delta = np.array([d.model_len - d.baseline_len for d in duels], dtype=float)
    sd = float(np.std(delta, ddof=1)) if len(delta) > 1 else 0.0
    return delta / sd if sd > 0 else np.zeros_like(delta)


def _doubled(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row index, label, weight) of the continuous-target trick: row i as label 1 with weight
    y_i and as label 0 with weight 1 − y_i; zero-weight copies are left out (same fit, and a
    win or loss stays one row, a draw becomes two)."""
    rows = np.r_[np.arange(len(y)), np.arange(len(y))]
    labels = np.r_[np.ones(len(y)), np.zeros(len(y))]
    weights = np.r_[y, 1.0 - y]
    keep = weights > 0
    return rows[keep], labels[keep], weights[keep]


def instruction_difficulty(duels: Sequence[Duel]) -> dict[str, float]:
    """γ per prompt from the joint fit over every model (centred; see the module doc)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    rows = [d for d in duels if d.score is not None]
    models = sorted({d.model for d in rows})
    prompts = sorted({d.prompt for d in rows})
    midx = {m: i for i, m in enumerate(models)}
    pidx = {p: i for i, p in enumerate(prompts)}
    tanh = np.zeros(len(rows))
    for m in models:  # the length feature is standardised per model, as in the per-model fit
        k = [i for i, d in enumerate(rows) if d.model == m]
        tanh[k] = np.tanh(_std_delta([rows[i] for i in k]))
    n, nm = len(rows), len(models)
    r = np.arange(n)
    m_col = np.array([midx[d.model] for d in rows])
    p_col = np.array([pidx[d.prompt] for d in rows])
    x = sparse.hstack([
        sparse.csr_matrix((np.ones(n), (r, m_col)), shape=(n, nm)),  # θ_m
        sparse.csr_matrix((tanh, (r, m_col)), shape=(n, nm)),  # φ_m · tanh(Δ)
        sparse.csr_matrix((np.ones(n), (r, p_col)), shape=(n, len(prompts))),  # γ_x
    ]).tocsr()
    y = np.array([d.score for d in rows], dtype=float)
    idx, labels, weights = _doubled(y)
    clf = LogisticRegression(C=DIFFICULTY_C, fit_intercept=False, solver="liblinear", max_iter=1000)
    clf.fit(x[idx], labels, sample_weight=weights)
    gamma = clf.coef_[0][2 * nm:]
    gamma = gamma - gamma.mean()
    return dict(zip(prompts, map(float, gamma)))


def _fit_model(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AlpacaEval's L1 LogisticRegressionCV on the continuous target, CV folds grouped by duel."""
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import GroupKFold

    idx, labels, weights = _doubled(y)
    folds = min(N_SPLITS, len(y))
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # the grid's weakest penalties on small, separable data
        scorer = get_scorer("neg_log_loss").set_score_request(sample_weight=True)
        clf = LogisticRegressionCV(Cs=10, cv=GroupKFold(folds), scoring=scorer, l1_ratios=(1.0,), solver="liblinear",
                                   fit_intercept=False, random_state=RANDOM_STATE, use_legacy_attributes=False)
        clf.set_fit_request(sample_weight=True)
        try:
            clf.fit(x[idx], labels, sample_weight=weights, groups=idx)
        except ValueError as exc:  # a CV fold with one class only (few, lopsided verdicts)
            logger.info("no cross-validated penalty (%s): AlpacaEval's fixed C=%g instead", exc, FALLBACK_C)
            clf = LogisticRegression(C=FALLBACK_C, l1_ratio=1.0, solver="liblinear", fit_intercept=False,
                                     random_state=RANDOM_STATE)
            clf.fit(x[idx], labels, sample_weight=weights)
    return np.asarray(clf.coef_[0], dtype=float)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def length_controlled(duels: Sequence[Duel], model: str, difficulty: dict[str, float] | None) -> LengthControlled:
    """One model's LC win rate: fit the GLM on its duels, predict at zero length difference."""
    mine = [d for d in duels if d.model == model]
    feats = [np.tanh(_std_delta(mine))]
    names = ["length"]
    if difficulty is not None:
        feats.append(np.array([difficulty.get(d.prompt, 0.0) for d in mine]))
        names.append("difficulty")
    feats.append(np.ones(len(mine)))
    names.append("model")
    x = np.column_stack(feats)
    known = np.array([d.score is not None for d in mine])
    if known.sum() < 2 * N_SPLITS or len({d.score for d in mine if d.score is not None}) < 2:
        raise ValueError(f"{model}: too few or one-sided verdicts ({int(known.sum())}) for a length-controlled fit")
    coef = _fit_model(x[known], np.array([d.score for d in mine if d.score is not None], dtype=float))
    at_zero = x.copy()
    at_zero[:, 0] = 0.0  # no length difference
    p = _sigmoid(at_zero @ coef)  # every prompt of the model, as AlpacaEval predicts on all its rows
    se = float(np.std(p, ddof=1) / np.sqrt(len(p))) if len(p) > 1 else float("nan")
    return LengthControlled(model, 100.0 * float(p.mean()), 100.0 * se, dict(zip(names, map(float, coef))))


def add_length_controlled(board: Leaderboard, duels: Sequence[Duel]) -> Leaderboard:
    """Fill ``lc_win_rate`` / ``lc_standard_error`` / ``lc_weights`` of every row (the baseline: 50)."""
    models = sorted({d.model for d in duels})
    difficulty = None
    if len(models) >= MIN_MODELS_FOR_DIFFICULTY:
        difficulty = instruction_difficulty(duels)
        board.lc_method = (f"GLM tanh(length difference) + instruction difficulty (joint fit on {len(models)} "
                           "models) + model term; prediction at zero length difference")
    else:
        board.lc_method = (f"GLM tanh(length difference) + model term (no instruction difficulty: "
                           f"{len(models)} < {MIN_MODELS_FOR_DIFFICULTY} models); prediction at zero length difference")
        logger.info("length control without instruction difficulty: only %d models", len(models))
    for row in board.rows:
        if row.model == board.baseline:
            continue
        try:
            lc = length_controlled(duels, row.model, difficulty)
        except ValueError as exc:
            logger.warning("no length-controlled win rate: %s", exc)
            continue
        row.lc_win_rate, row.lc_standard_error, row.lc_weights = lc.lc_win_rate, lc.lc_standard_error, lc.weights
        if extreme_change(row.win_rate, lc.lc_win_rate):
            logger.warning("%s: length-controlled win rate %.1f%% vs raw %.1f%%: a change this large is where "
                           "AlpacaEval warns too (a strong length effect, or a poor GLM fit)", row.model,
                           lc.lc_win_rate, row.win_rate)
    return board


def extreme_change(raw: float, lc: float, abs_diff: float = 10.0, rel_diff: float = 4.0) -> bool:
    """AlpacaEval's ``get_is_extreme_changes``: LC below min(raw − raw/4, raw − 10) or above
    max(raw + (100 − raw)/4, raw + 10)."""
    return lc < min(raw - raw / rel_diff, raw - abs_diff) or lc > max(raw + (100 - raw) / rel_diff, raw + abs_diff)
