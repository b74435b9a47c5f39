"""Judged pairs → games (who beat whom on which prompt) and the win/tie/loss matrix."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from judgelm.rank.pairs import prompt_entry
from judgelm.schema import Judgement, Sample

logger = logging.getLogger(__name__)




# --------------------------------------------------------------------------- games


@dataclass(frozen=True)
class Game:
    """One compared pair on one prompt: ``score`` = a's share of the win (1 win, ½ tie, 0 loss),
    averaged over the orders that gave a verdict."""

    prompt: str
    a: str
    b: str
    score: float
    orders: int = 1


def _points(verdict: int) -> float:
    return {1: 1.0, 2: 0.0, 0: 0.5}[verdict]


def games_from_judgements(pairs: Sequence[Sample], judgements: Iterable[Judgement]) -> tuple[list[Game], dict[str, int]]:
    """Games of judged pairs; each presentation order with a verdict counts half when both exist.

    So a pair judged inconsistently across orders (position bias) is a tie, and an unparsed
    order leaves the other one to decide. Pairs with no verdict in any order are dropped and
    counted (returned stats), never read as ties.
    """
    by_id: dict[str, list[Judgement]] = defaultdict(list)
    for j in judgements:
        by_id[j.sample_id].append(j)
    games, stats = [], {"pairs": len(pairs), "judged": 0, "no_verdict": 0, "missing": 0, "inconsistent": 0}
    for s in pairs:
        js = by_id.get(s.id)
        if not js:
            stats["missing"] += 1
            continue
        verdicts = [j.verdict for j in js if j.verdict is not None and j.verdict in (0, 1, 2)]
        if not verdicts:
            stats["no_verdict"] += 1
            continue
        stats["judged"] += 1
        if len(set(verdicts)) > 1:
            stats["inconsistent"] += 1
        score = float(np.mean([_points(v) for v in verdicts]))
        a, b = s.answers[0].model, s.answers[1].model
        games.append(Game(str(s.metadata.get("prompt_id", s.id)), str(a), str(b), score, len(verdicts)))
    return games, stats


def games_from_labels(samples: Iterable[Sample]) -> tuple[list[Game], dict[str, int]]:
    """Games from recorded pairwise labels (``Sample.gold.verdict``), e.g. AlpacaEval's GPT-4
    preferences of each model against text_davinci_003. Unlabelled samples are dropped and counted."""
    games, stats = [], {"pairs": 0, "judged": 0, "no_verdict": 0}
    for s in samples:
        stats["pairs"] += 1
        if len(s.answers) != 2 or not all(a.model for a in s.answers):
            raise ValueError(f"sample {s.id}: ranking from labels needs two answers that name their models")
        if s.gold is None or s.gold.verdict is None:
            stats["no_verdict"] += 1
            continue
        stats["judged"] += 1
        games.append(Game(prompt_entry(s).id, str(s.answers[0].model), str(s.answers[1].model),
                          _points(s.gold.verdict)))
    return games, stats


def wtl_matrix(games: Sequence[Game], models: Sequence[str]) -> dict[str, np.ndarray]:
    """Win/tie/loss counts, row model vs column model (a game scoring ½ is a tie)."""
    idx = {m: i for i, m in enumerate(models)}
    n = len(models)
    w, t, l = np.zeros((n, n), int), np.zeros((n, n), int), np.zeros((n, n), int)
    for g in games:
        i, j = idx[g.a], idx[g.b]
        if g.score > 0.5:
            w[i, j] += 1
            l[j, i] += 1
        elif g.score < 0.5:
            l[i, j] += 1
            w[j, i] += 1
        else:
            t[i, j] += 1
            t[j, i] += 1
    games_n = w + t + l
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games_n > 0, (w + 0.5 * t) / np.maximum(games_n, 1), np.nan)
    return {"wins": w, "ties": t, "losses": l, "win_rate": rate}
