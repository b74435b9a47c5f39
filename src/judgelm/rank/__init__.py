"""Ranking models from pairwise judgements (PandaLM's "which checkpoint is best", AlpacaEval's leaderboard).

* :mod:`~judgelm.rank.pairs` — answers of several models → pair samples to judge;
* :mod:`~judgelm.rank.pair_judging` — the pairs judged live by one judge spec, resumably;
* :mod:`~judgelm.rank.games` — judged pairs or recorded labels → games, win/tie/loss matrix;
* :mod:`~judgelm.rank.ratings` — Bradley–Terry ratings, bootstrap intervals, partial order;
* :mod:`~judgelm.rank.win_rates` — win rates against one baseline model (AlpacaEval's leaderboard);
* :mod:`~judgelm.rank.length_controlled` — AlpacaEval 2's length-controlled win rates;
* :mod:`~judgelm.rank.agreement` — the judge's ranking against a reference ranking;
* :mod:`~judgelm.rank.pipeline` — one ``judgelm rank`` run from inputs to results;
* :mod:`~judgelm.rank.report` — ranking.json, CSVs, figures and the HTML page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgelm.lazy import lazy_face

if TYPE_CHECKING:
    from judgelm.rank.agreement import rank_agreement
    from judgelm.rank.games import games_from_judgements, games_from_labels
    from judgelm.rank.length_controlled import add_length_controlled
    from judgelm.rank.pair_judging import JudgeUnavailable, judge_pairs
    from judgelm.rank.pairs import build_pairs, load_answer_table
    from judgelm.rank.ratings import Ranking, rank
    from judgelm.rank.report import write_outputs
    from judgelm.rank.win_rates import Leaderboard, leaderboard

#: public name → the module that holds it, imported on first use (numpy and scipy load with the ranking, not
#: with the package)
_EXPORTS: dict[str, str] = {
    "load_answer_table": "judgelm.rank.pairs",
    "build_pairs": "judgelm.rank.pairs",
    "judge_pairs": "judgelm.rank.pair_judging",
    "JudgeUnavailable": "judgelm.rank.pair_judging",
    "games_from_judgements": "judgelm.rank.games",
    "games_from_labels": "judgelm.rank.games",
    "rank": "judgelm.rank.ratings",
    "Ranking": "judgelm.rank.ratings",
    "leaderboard": "judgelm.rank.win_rates",
    "Leaderboard": "judgelm.rank.win_rates",
    "add_length_controlled": "judgelm.rank.length_controlled",
    "rank_agreement": "judgelm.rank.agreement",
    "write_outputs": "judgelm.rank.report",
}

__all__ = ["JudgeUnavailable", "Leaderboard", "Ranking", "add_length_controlled", "build_pairs",
           "games_from_judgements", "games_from_labels", "judge_pairs", "leaderboard", "load_answer_table", "rank",
           "rank_agreement", "write_outputs"]


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, __all__)
