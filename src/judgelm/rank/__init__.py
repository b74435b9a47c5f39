"""Ranking models from pairwise judgements (PandaLM's "which checkpoint is best", AlpacaEval's leaderboard).

* :mod:`~judgelm.rank.pairs` — answers of several models → pair samples to judge;
* :mod:`~judgelm.rank.games` — judged pairs or recorded labels → games, win/tie/loss matrix;
* :mod:`~judgelm.rank.ratings` — Bradley–Terry ratings, bootstrap intervals, partial order;
* :mod:`~judgelm.rank.report` — ranking.json, CSVs, figures and the HTML page.
"""
