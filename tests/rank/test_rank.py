"""Ranking: Bradley–Terry on a synthetic league with a known order, the game rules, and ranking
real AlpacaEval models from GPT-4's recorded preferences (compared with AlpacaEval's own metric)."""

from __future__ import annotations

import json

import numpy as np
from support import run_cli

from judgelm.rank.games import (
    Game,
    games_from_judgements,
    games_from_labels,
    wtl_matrix,
)
from judgelm.rank.pairs import build_pairs, load_answer_table
from judgelm.rank.ratings import fit_bradley_terry, partial_order, rank
from judgelm.schema import Judgement, ParseStatus

AE_MODELS = ["gpt4", "claude", "vicuna-13b", "falcon-40b-instruct", "alpaca-7b"]


def _league(strength: dict[str, float], n_prompts: int, seed: int = 0, tie_band: float = 0.15) -> list[Game]:
    """Every pair plays once per prompt; P(a beats b) = logistic(sa − sb), close games tie."""
    rng = np.random.default_rng(seed)
    names = sorted(strength)
    games = []
    for p in range(n_prompts):
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                pa = 1 / (1 + np.exp(-(strength[a] - strength[b])))
                u = rng.random()
                score = 0.5 if abs(u - pa) < tie_band / 2 else float(u < pa)
                games.append(Game(f"p{p}", a, b, score))
    return games


def test_bradley_terry_recovers_a_known_order_with_intervals() -> None:
    strength = {"ckpt-a": 2.0, "ckpt-b": 1.0, "ckpt-c": 0.0, "ckpt-d": -1.5}
    r = rank(_league(strength, 150), n_boot=100, seed=1)
    by_rating = [r.models[k] for k in r.order()]
    assert by_rating == ["ckpt-a", "ckpt-b", "ckpt-c", "ckpt-d"]
    # well-separated strengths → a total order, one best model
    assert r.levels == [["ckpt-a"], ["ckpt-b"], ["ckpt-c"], ["ckpt-d"]] and r.best == ["ckpt-a"]
    for k in range(len(r.models)):
        lo, hi = r.intervals[k]
        assert lo < r.ratings[k] < hi
    # rating gaps on the Elo scale track the true log-odds gaps (400/ln10 per unit), shrunk a bit by the prior
    gap = r.ratings[r.models.index("ckpt-a")] - r.ratings[r.models.index("ckpt-d")]
    assert 0.6 * 3.5 * 173.7 < gap < 1.1 * 3.5 * 173.7


def test_equal_models_are_tied_for_best() -> None:
    strength = {"m1": 1.0, "m2": 1.0, "weak": -1.0}
    r = rank(_league(strength, 120, seed=3), n_boot=100)
    assert r.best == ["m1", "m2"]
    assert r.levels[-1] == ["weak"]
    assert r.below["m1"] == {"weak"} and r.below["m2"] == {"weak"}


def test_undefeated_model_stays_finite() -> None:
    games = [Game(f"p{i}", "a", "b", 1.0) for i in range(30)]
    ratings = fit_bradley_terry(games, ["a", "b"])
    assert np.isfinite(ratings).all() and ratings[0] > ratings[1]


def test_partial_order_levels_are_longest_chains() -> None:
    # a above b and c; b above d; c overlaps b and d
    iv = np.array([[10, 12], [6, 8], [3, 7], [2.5, 4]], dtype=float)
    below, levels = partial_order(["a", "b", "c", "d"], iv)
    assert below["a"] == {"b", "c", "d"} and below["b"] == {"d"} and below["c"] == set()
    assert levels == [["a"], ["b", "c"], ["d"]]


def _j(sid: str, order: list[int], verdict: int | None) -> Judgement:
    return Judgement(sample_id=sid, judge="t", order=order, verdict=verdict,
                     status=ParseStatus.OK if verdict is not None else ParseStatus.UNPARSED)


def test_games_from_both_orders(shared_data) -> None:
    table = load_answer_table([shared_data / f"alpaca_eval_gpt4/results/{m}/alpaca_eval_gpt4/annotations.json"
                               for m in ("gpt4", "alpaca-7b")])
    pairs = build_pairs(table, max_prompts=4)
    assert [[a.model for a in p.answers] for p in pairs[:3]] == [
        ["alpaca-7b", "gpt4"], ["alpaca-7b", "text_davinci_003"], ["gpt4", "text_davinci_003"]]
    assert len(pairs) == 4 * 3
    a, b, c, d = (p.id for p in pairs[:4])
    js = [
        _j(a, [0, 1], 1), _j(a, [1, 0], 1),      # consistent win of answer 1
        _j(b, [0, 1], 1), _j(b, [1, 0], 2),      # inconsistent → a tie
        _j(c, [0, 1], None), _j(c, [1, 0], 2),   # one order unparsed → the other decides
        _j(d, [0, 1], None), _j(d, [1, 0], None),  # nothing → dropped, not a tie
    ]
    games, stats = games_from_judgements(pairs, js)
    assert [g.score for g in games] == [1.0, 0.5, 0.0]
    assert stats == {"pairs": 12, "judged": 3, "no_verdict": 1, "missing": 8, "inconsistent": 1}
    m = wtl_matrix(games, sorted({g.a for g in games} | {g.b for g in games}))
    assert int(m["wins"].sum()) == int(m["losses"].sum()) == 2 and int(m["ties"].sum()) == 2


def test_sampled_design_draws_k_pairs_per_prompt(shared_data) -> None:
    files = [shared_data / f"alpaca_eval_gpt4/results/{m}/alpaca_eval_gpt4/annotations.json" for m in AE_MODELS]
    table = load_answer_table(files)
    assert len(table.models) == 6 and len(table.prompts) == 805
    pairs = build_pairs(table, max_prompts=30, pairs_per_prompt=3, seed=7)
    assert len(pairs) == 90
    again = build_pairs(table, max_prompts=30, pairs_per_prompt=3, seed=7)
    assert [p.id for p in pairs] == [p.id for p in again]
    covered = {(p.answers[0].model, p.answers[1].model) for p in pairs}
    assert len(covered) >= 12  # the 15 pairs are spread over prompts, not the same 3 each time


def test_rank_from_recorded_gpt4_preferences_matches_alpaca_eval_order(shared_data) -> None:
    from judgelm.data import read_samples

    files = [shared_data / f"alpaca_eval_gpt4/results/{m}/alpaca_eval_gpt4/annotations.json" for m in AE_MODELS]
    samples = [s for f in files for s in read_samples(f)]
    games, stats = games_from_labels(samples)
    assert stats["pairs"] == 5 * 805 and stats["judged"] + stats["no_verdict"] == stats["pairs"]
    r = rank(games, stats=stats, n_boot=100)
    # AlpacaEval's leaderboard metric: win rate against text_davinci_003 (draws = ½)
    win_rate = {}
    for m in AE_MODELS:
        rows = [s for s in samples if s.answers[1].model == m and s.gold.verdict is not None]
        win_rate[m] = sum({2: 1.0, 0: 0.5, 1: 0.0}[s.gold.verdict] for s in rows) / len(rows)
    leaderboard = sorted(AE_MODELS, key=lambda m: -win_rate[m])
    ours = [m for m in (r.models[k] for k in r.order()) if m != "text_davinci_003"]
    assert ours == leaderboard == ["gpt4", "claude", "vicuna-13b", "falcon-40b-instruct", "alpaca-7b"]
    assert r.best == ["gpt4"]
    assert r.levels[-1] == ["alpaca-7b"]


def test_cli_from_labels_writes_report(shared_data, tmp_path) -> None:

    from support import run_cli

    files = [str(shared_data / f"alpaca_eval_gpt4/results/{m}/alpaca_eval_gpt4/annotations.json")
             for m in ("gpt4", "alpaca-7b", "vicuna-13b")]
    res = run_cli("rank", *files, "--from-labels", "-o", str(tmp_path), "--n-boot", "50", "--no-lc")
    assert res.exit_code == 0, res.output
    print(res.output)
    assert "best: gpt4" in res.output
    out = json.loads((tmp_path / "ranking.json").read_text())
    assert next(m["model"] for m in out["models"]) == "gpt4"
    # text_davinci_003 is in every pair: the baseline, said so, and not ranked
    assert "text_davinci_003 answers in every input pair" in res.output and out["hidden"] == ["text_davinci_003"]
    assert {m["model"] for m in out["models"]} == {"gpt4", "alpaca-7b", "vicuna-13b"}
    # models met only the baseline: no head-to-head heat map, win rates against the baseline instead
    assert not (tmp_path / "heatmap.png").exists()
    for f in ("win_rates.png", "ratings.png", "report.html", "ratings.csv", "wtl.csv"):
        assert (tmp_path / f).stat().st_size > 0
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()


def test_cli_bad_input_is_a_clear_error(tmp_path) -> None:


    bad = tmp_path / "answers.jsonl"
    bad.write_text('{"question_id": 1, "question_body": "q", "text": "hi", "model": "a"}\n'
                   '{"question_id": 1, "question_body": "q", "model": "b"}\n')
    res = run_cli("rank", str(bad), "-o", str(tmp_path / "out"), "--judge", "mini")
    assert res.exit_code != 0
    msg = res.output + str(res.exception)
    assert f"{bad}:2" in msg and "'text'" in msg


def test_judgelm_answer_files_per_model_or_one_with_model_column(shared_data, tmp_path) -> None:
    rows = json.loads((shared_data / "alpaca_eval_gpt4/results/vicuna-13b/alpaca_eval_gpt4/annotations.json")
                      .read_text())[:12]
    per_model = {}
    for model, field in (("text_davinci_003", "output_1"), ("vicuna-13b", "output_2")):
        per_model[model] = [{"question_id": k, "question_body": r["instruction"], "text": r[field], "model": model,
                             "decoding_method": "greedy"} for k, r in enumerate(rows)]
    files = []
    for model, recs in per_model.items():
        files.append(tmp_path / f"{model}.jsonl")
        files[-1].write_text("".join(json.dumps(r) + "\n" for r in recs))
    one = tmp_path / "all.jsonl"
    one.write_text("".join(json.dumps(r) + "\n" for recs in per_model.values() for r in recs))
    a, b = load_answer_table(files), load_answer_table([one])
    assert a.models == b.models == ["text_davinci_003", "vicuna-13b"]
    assert a.answers == b.answers and a.coverage() == {"text_davinci_003": 12, "vicuna-13b": 12}
    pairs = build_pairs(a)
    assert len(pairs) == 12 and pairs[0].id == "0|text_davinci_003|vicuna-13b"
    assert pairs[0].question == rows[0]["instruction"] and pairs[0].answers[1].text == rows[0]["output_2"]
