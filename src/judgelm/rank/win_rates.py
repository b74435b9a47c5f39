"""A leaderboard against one baseline model, AlpacaEval's way: each model's win rate against the
baseline, its standard error, win / draw / total counts and the average answer length.

AlpacaEval (``alpaca_eval.metrics.helpers.BaseScoringRule.describe_head2head``) encodes a
preference as 1 = baseline wins, 2 = model wins, 0 or 1.5 = draw, null = not parsed; it maps 0 to
1.5, drops the nulls, subtracts 1 and reports ``win_rate = 100 · mean``, ``standard_error =
100 · sem`` (sample standard deviation, ddof 1, over √n), ``n_wins`` (> ½), ``n_wins_base`` (< ½),
``n_draws`` and ``n_total`` (rows with a preference). ``avg_length`` is ``int(mean(len(answer)))``
over *all* the model's answers, in characters. Here a :class:`Duel` carries the same number as
the model's share of the win (1, ½, 0; None = no verdict), so the figures are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from judgelm.rank.games import Game
from judgelm.schema import Sample

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Duel:
    """One answer of ``model`` against the baseline's answer to the same prompt."""

    prompt: str
    model: str
    score: float | None  # the model's share of the win: 1 win, ½ draw, 0 loss; None = no verdict
    model_len: int  # characters
    baseline_len: int


@dataclass
class WinRate:
    """One leaderboard row (AlpacaEval's columns; percentages 0–100)."""

    model: str
    win_rate: float
    standard_error: float
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int
    avg_length: int
    lc_win_rate: float | None = None
    lc_standard_error: float | None = None
    lc_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class Leaderboard:
    """Win rates of every model against ``baseline``, best first (the baseline's own row, 50 %
    by construction, only when asked for)."""

    baseline: str
    rows: list[WinRate]
    lc_method: str = ""

    def row(self, model: str) -> WinRate:
        for r in self.rows:
            if r.model == model:
                return r
        raise KeyError(model)

    def to_dict(self) -> dict[str, object]:
        return {"baseline": self.baseline, "lc_method": self.lc_method,
                "models": [dict(r.__dict__) for r in self.rows]}


def _share(verdict: int, model_first: bool) -> float:
    """The model's share of the win from a verdict on (answer 1, answer 2): 1 win, ½ tie, 0 loss."""
    first = {1: 1.0, 2: 0.0, 0: 0.5}[verdict]
    return first if model_first else 1.0 - first


def duels_from_labels(samples: Iterable[Sample], baseline: str) -> list[Duel]:
    """Duels from recorded labels (``Sample.gold.verdict``; None = AlpacaEval's null preference) of
    every sample that sets a model against ``baseline``; other samples are left out."""
    from judgelm.rank.pairs import prompt_entry

    out = []
    for s in samples:
        names = [a.model for a in s.answers]
        if len(names) != 2 or baseline not in names or names[0] == names[1]:
            continue
        k = 1 - names.index(baseline)  # the model's answer
        verdict = s.gold.verdict if s.gold is not None else None
        score = None if verdict is None else _share(verdict, model_first=(k == 0))
        out.append(Duel(prompt_entry(s).id, str(names[k]), score, len(s.answers[k].text),
                        len(s.answers[1 - k].text)))
    return out


def duels_from_games(pairs: Iterable[Sample], games: Iterable[Game], baseline: str) -> list[Duel]:
    """Duels of the judged ``pairs`` (ids as :func:`~judgelm.rank.pairs.build_pairs` makes them)
    against ``baseline``, scored by their games; a pair without a game has no verdict (None)."""
    by_key = {(g.prompt, g.a, g.b): g.score for g in games}
    out = []
    for s in pairs:
        names = [a.model for a in s.answers]
        if len(names) != 2 or baseline not in names or names[0] == names[1]:
            continue
        k = 1 - names.index(baseline)
        prompt = str(s.metadata.get("prompt_id", s.id))
        first = by_key.get((prompt, str(names[0]), str(names[1])))
        score = None if first is None else (first if k == 0 else 1.0 - first)
        out.append(Duel(prompt, str(names[k]), score, len(s.answers[k].text), len(s.answers[1 - k].text)))
    return out


def win_rate(duels: Sequence[Duel], model: str) -> WinRate:
    """AlpacaEval's head-to-head figures of ``model`` against the baseline (see the module doc)."""
    mine = [d for d in duels if d.model == model]
    if not mine:
        raise ValueError(f"no answer of {model!r} against the baseline")
    scores = np.array([d.score for d in mine if d.score is not None], dtype=float)
    avg_len = int(np.mean([d.model_len for d in mine]))
    if len(scores) == 0:
        return WinRate(model, float("nan"), float("nan"), 0, 0, 0, 0, avg_len)
    se = float(np.std(scores, ddof=1) / np.sqrt(len(scores))) if len(scores) > 1 else float("nan")
    return WinRate(
        model=model, win_rate=100.0 * float(scores.mean()), standard_error=100.0 * se,
        n_wins=int((scores > 0.5).sum()), n_wins_base=int((scores < 0.5).sum()), n_draws=int((scores == 0.5).sum()),
        n_total=len(scores), avg_length=avg_len,
    )


def baseline_row(duels: Sequence[Duel], baseline: str) -> WinRate:
    """The baseline against itself, as AlpacaEval lists it: 50 %, every prompt a draw."""
    per_prompt = {d.prompt: d.baseline_len for d in duels}
    n = len(per_prompt)
    return WinRate(baseline, 50.0, 0.0, 0, 0, n, n, int(np.mean(list(per_prompt.values()))) if n else 0,
                   lc_win_rate=50.0, lc_standard_error=0.0)


def leaderboard(duels: Sequence[Duel], baseline: str, *, include_baseline: bool = False) -> Leaderboard:
    """Every model's :func:`win_rate`, best first (ties broken by name)."""
    models = sorted({d.model for d in duels})
    if not models:
        raise ValueError(f"no game against the baseline {baseline!r}")
    rows = [win_rate(duels, m) for m in models]
    if include_baseline:
        rows.append(baseline_row(duels, baseline))
    rows.sort(key=lambda r: (-(r.win_rate if r.win_rate == r.win_rate else -1.0), r.model))
    return Leaderboard(baseline, rows)


def per_prompt_scores(duels: Sequence[Duel], models: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(prompts, S) with ``S[i, k]`` = model i's score on prompt k (NaN where it has none; prompts
    without any verdict are left out, so a bootstrap resamples judged prompts only): win rates
    are column means, so bootstrap resamples of prompts are cheap column draws."""
    prompts = list(dict.fromkeys(d.prompt for d in duels if d.score is not None))  # prompts with a verdict
    pidx = {p: k for k, p in enumerate(prompts)}
    midx = {m: i for i, m in enumerate(models)}
    s = np.full((len(models), len(prompts)), np.nan)
    for d in duels:
        if d.score is not None and d.model in midx:
            s[midx[d.model], pidx[d.prompt]] = d.score
    return prompts, s
