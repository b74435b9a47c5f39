"""Leaderboards against a baseline: AlpacaEval's win rates reproduced on its 52 recorded GPT-4
annotation files, length-controlled win rates (properties on synthetic duels, and on real files),
rank agreement, and the ``judgelm rank --baseline`` command end to end.

``tests/fixtures/alpaca_eval_gpt4_leaderboard.csv``: the rows of AlpacaEval's published
``src/alpaca_eval/leaderboards/data_AlpacaEval/alpaca_eval_gpt4_leaderboard.csv``
(tatsu-lab/alpaca_eval @ cd543a1, the commit of the shared annotation files) for the models in
shared data; AlpacaEval lists no row for ``mistral-orpo-beta``, whose figures are checked against
a step-by-step transcription of AlpacaEval's ``describe_head2head`` instead.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from support import run_cli

from judgelm.rank.agreement import (
    fixed_scorer,
    metrics,
    rank_agreement,
    win_rate_scorer,
)
from judgelm.rank.win_rates import (
    Duel,
    duels_from_labels,
    leaderboard,
    per_prompt_scores,
)
from judgelm.rank.length_controlled import add_length_controlled, extreme_change, length_controlled

PUBLISHED = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca_eval_gpt4_leaderboard.csv"
BASE = "text_davinci_003"


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _files(shared_data: Path, models: list[str] | None = None) -> list[Path]:
    root = shared_data / "alpaca_eval_gpt4" / "results"
    if models is None:
        return sorted(root.glob("*/alpaca_eval_gpt4/annotations.json"))
    return [root / m / "alpaca_eval_gpt4" / "annotations.json" for m in models]


@pytest.fixture(scope="module")
def all_samples(shared_data):
    """Every sample of the 52 files, and folder name → generator_2 (one file names its model
    differently from its folder: alpaca-7b-neft)."""
    from judgelm.data import read_samples

    samples, name = [], {}
    for f in _files(shared_data):
        rows = list(read_samples(f))
        samples += rows
        name[f.parts[-3]] = rows[0].answers[1].model
    return samples, name


def _alpaca_eval_head2head(preferences: list) -> dict[str, float]:
    """AlpacaEval's BaseScoringRule.describe_head2head (alpaca_eval/metrics/helpers.py), step by step:
    0 → 1.5, nulls dropped, minus 1, mean and pandas' sem (ddof 1)."""
    p = [1.5 if x == 0 else float(x) for x in preferences if x is not None]
    n_draws = sum(x == 1.5 for x in p)
    q = np.array(p) - 1
    return {"win_rate": q.mean() * 100, "standard_error": q.std(ddof=1) / np.sqrt(len(q)) * 100,
            "n_wins": int((q > 0.5).sum()), "n_wins_base": int((q < 0.5).sum()), "n_draws": n_draws,
            "n_total": len(q)}


def test_win_rates_equal_alpaca_eval_on_all_52_files(all_samples, shared_data) -> None:
    samples, name = all_samples
    board = leaderboard(duels_from_labels(samples, BASE), BASE)
    assert len(board.rows) == 52 and BASE not in {r.model for r in board.rows}
    published = {r["model"]: r for r in _csv(PUBLISHED)}
    checked, worst = 0, 0.0
    for folder, model in name.items():
        ours = board.row(model)
        if folder in published:
            ref = {k: float(v) for k, v in published[folder].items() if k != "model" and v != ""}
        else:  # not on AlpacaEval's published board: its own formula on its own file
            assert folder == "mistral-orpo-beta"
            rows = json.loads(_files(shared_data, [folder])[0].read_text())
            ref = _alpaca_eval_head2head([r["preference"] for r in rows])
            ref["avg_length"] = int(np.mean([len(r["output_2"]) for r in rows]))
        worst = max(worst, abs(ours.win_rate - ref["win_rate"]))
        assert ours.win_rate == pytest.approx(ref["win_rate"], abs=0.01), folder
        assert ours.standard_error == pytest.approx(ref["standard_error"], abs=0.01), folder
        for k in ("n_wins", "n_wins_base", "n_draws", "n_total", "avg_length"):
            assert getattr(ours, k) == int(ref[k]), (folder, k)
        checked += 1
    assert checked == 52 and worst < 1e-9
    # the order is AlpacaEval's
    assert [r.model for r in board.rows[:3]] == ["gpt4_1106_preview", "mistral-medium", "pairrm-tulu-2-70b"]


def test_null_preferences_are_left_out_and_draws_count_half() -> None:
    duels = [Duel("p1", "m", 1.0, 10, 5), Duel("p2", "m", 0.5, 10, 5), Duel("p3", "m", None, 40, 5),
             Duel("p4", "m", 0.0, 10, 5)]
    r = leaderboard(duels, "b").row("m")
    assert r.win_rate == pytest.approx(50.0) and r.n_total == 3 and r.n_draws == 1 and r.n_wins == r.n_wins_base == 1
    assert r.standard_error == pytest.approx(100 * np.std([1, 0.5, 0], ddof=1) / np.sqrt(3))
    assert r.avg_length == 17  # every answer counts in the length, as AlpacaEval's avg_length


# --------------------------------------------------------------------------- length control


def _synthetic(rng: np.random.Generator, quality: dict[str, float], longer: dict[str, float], n: int = 400,
               length_effect: float = 1.5) -> tuple[list[Duel], dict[str, float]]:
    """Duels against a ~500-character baseline from a judge of the GLM's own form: it likes
    quality, and length through tanh(Δ / sd Δ); answer lengths vary widely around ``longer``.
    Also returns each model's true LC win rate, 100 · mean σ(quality + difficulty)."""
    difficulty = rng.normal(0, 0.7, n)
    duels = []
    for m, q in quality.items():
        base = np.maximum(50, rng.normal(500, 150, n)).astype(int)
        lens = np.maximum(50, base * (1 + longer[m]) + rng.normal(0, 400, n)).astype(int)
        delta = (lens - base).astype(float)
        z = q + length_effect * np.tanh(delta / delta.std(ddof=1)) + difficulty
        y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
        duels += [Duel(f"p{i}", m, float(y[i]), int(lens[i]), int(base[i])) for i in range(n)]
    truth = {m: float(100 * np.mean(1 / (1 + np.exp(-(q + difficulty))))) for m, q in quality.items()}
    return duels, truth


def test_lc_a_model_that_is_only_longer_gains_nothing() -> None:
    rng = np.random.default_rng(0)
    quality = {"verbose": 0.0, "same": 0.0, "good": 1.0, "weak": -1.0, "good-verbose": 1.0}
    longer = {"verbose": 1.0, "same": 0.0, "good": 0.0, "weak": 0.0, "good-verbose": 1.0}
    duels, truth = _synthetic(rng, quality, longer)
    board = add_length_controlled(leaderboard(duels, "base"), duels)
    assert "instruction difficulty" in board.lc_method
    v, s = board.row("verbose"), board.row("same")
    assert v.win_rate > truth["verbose"] + 15 and abs(s.win_rate - truth["same"]) < 6  # length buys raw wins…
    assert abs(v.lc_win_rate - truth["verbose"]) < 6  # …not LC ones
    assert v.lc_weights["length"] > 0.5
    g, gv = board.row("good"), board.row("good-verbose")
    assert gv.win_rate > g.win_rate + 5
    assert abs(gv.lc_win_rate - truth["good-verbose"]) < 6 and abs(g.lc_win_rate - truth["good"]) < 6
    assert board.row("weak").lc_win_rate < s.lc_win_rate < g.lc_win_rate  # quality order kept


def test_lc_does_not_depend_on_the_unit_of_length() -> None:
    duels, _ = _synthetic(np.random.default_rng(1), {"a": 0.3}, {"a": 0.8})
    doubled = [Duel(d.prompt, d.model, d.score, 2 * d.model_len, 2 * d.baseline_len) for d in duels]
    a, b = length_controlled(duels, "a", None), length_controlled(doubled, "a", None)
    assert a.lc_win_rate == pytest.approx(b.lc_win_rate, abs=1e-6)


def test_lc_on_recorded_gpt4_preferences(all_samples) -> None:
    """Ten real models: long answers lose part of their win; the LC order is close to AlpacaEval's
    published LC order (exact figures need AlpacaEval's own instruction difficulties)."""
    samples, name = all_samples
    folders = ["gpt4", "claude", "llama-2-70b-chat-hf", "cohere", "vicuna-13b", "guanaco-65b",
               "falcon-40b-instruct", "alpaca-7b", "gpt-3.5-turbo-0301", "text_davinci_001"]
    models = {name[f] for f in folders}
    duels = [d for d in duels_from_labels(samples, BASE) if d.model in models]
    board = add_length_controlled(leaderboard(duels, BASE), duels)
    published = {r["model"]: float(r["length_controlled_winrate"]) for r in _csv(PUBLISHED)
                 if r["length_controlled_winrate"]}
    rows = {f: board.row(name[f]) for f in folders}
    assert all(r.lc_win_rate is not None and 0 < r.lc_win_rate < 100 for r in rows.values())
    # the longest answers (cohere 1983, llama-2-70b-chat 1790 chars) lose the most
    assert rows["cohere"].win_rate - rows["cohere"].lc_win_rate > 10
    assert rows["llama-2-70b-chat-hf"].win_rate - rows["llama-2-70b-chat-hf"].lc_win_rate > 10
    from scipy.stats import spearmanr

    rho = spearmanr([rows[f].lc_win_rate for f in folders], [published[f] for f in folders]).statistic
    assert rho > 0.9


# --------------------------------------------------------------------------- rank agreement


def test_agreement_metrics() -> None:
    models = [f"m{i}" for i in range(8)]
    x = np.arange(8, dtype=float)
    assert metrics(x, x, models, 3) == pytest.approx((1.0, 1.0, 1.0))
    rho, tau, ov = metrics(x, -x, models, 3)
    assert rho == pytest.approx(-1) and tau == pytest.approx(-1) and ov == 0.0
    y = x.copy()
    y[[6, 7]] = y[[7, 6]]  # the best two swapped: top-2 overlap still complete
    assert metrics(x, y, models, 2)[2] == 1.0 and metrics(x, y, models, 1)[2] == 0.0


def test_agreement_bootstrap_is_paired_over_prompts() -> None:
    rng = np.random.default_rng(0)
    true = np.linspace(-1.5, 1.5, 10)
    p = 1 / (1 + np.exp(-true))[:, None]
    judge = (rng.random((10, 200)) < p).astype(float)
    noisy = (rng.random((10, 200)) < p).astype(float)
    models = [f"m{i}" for i in range(10)]
    a = rank_agreement(models, win_rate_scorer(judge), win_rate_scorer(noisy), 200, reference_name="ref",
                       score="win_rate", top_k=3, n_boot=100)
    assert a.spearman_ci[0] <= a.spearman <= a.spearman_ci[1] and a.spearman > 0.7
    assert a.kendall_ci[0] <= a.kendall <= a.kendall_ci[1] <= 1.0
    same = rank_agreement(models, win_rate_scorer(judge), win_rate_scorer(judge), 200, reference_name="itself",
                          score="win_rate", n_boot=50)
    assert same.spearman == pytest.approx(1.0) and same.spearman_ci == pytest.approx((1.0, 1.0))
    fixed = rank_agreement(models, win_rate_scorer(judge), fixed_scorer(true), 200, reference_name="truth",
                           score="win_rate", n_boot=50)
    assert fixed.spearman_ci[1] - fixed.spearman_ci[0] > 0  # the judge's side still varies


def test_per_prompt_scores_are_win_rates() -> None:
    duels = [Duel("p1", "a", 1.0, 1, 1), Duel("p2", "a", 0.5, 1, 1), Duel("p1", "b", 0.0, 1, 1),
             Duel("p2", "b", None, 1, 1)]
    prompts, s = per_prompt_scores(duels, ["a", "b"])
    assert prompts == ["p1", "p2"]
    assert win_rate_scorer(s)(np.ones(2)).tolist() == [75.0, 0.0]


# --------------------------------------------------------------------------- the command


FEW = ["gpt4", "claude", "vicuna-13b", "falcon-40b-instruct", "alpaca-7b"]


def test_cli_baseline_leaderboard_from_labels(shared_data, tmp_path) -> None:
    files = [str(f) for f in _files(shared_data, FEW)]
    res = run_cli("rank", *files, "--from-labels", "--baseline", BASE, "-o", str(tmp_path), "--n-boot", "30")
    assert res.exit_code == 0, res.output
    assert "win rates against text_davinci_003" in res.output
    assert "gpt4                    95.28   0.72" in res.output  # AlpacaEval: 95.2795, s.e. 0.7163
    rows = _csv(tmp_path / "ratings.csv")
    assert [r["model"] for r in rows] == FEW  # AlpacaEval's order; the baseline is not a ranked model
    for col in ("win_rate", "standard_error", "lc_win_rate", "avg_length"):
        assert all(r[col] != "" for r in rows), col
    assert float(rows[0]["win_rate"]) == pytest.approx(95.2795, abs=1e-3) and rows[0]["avg_length"] == "1365"
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<table>" in page and "<td>gpt4</td>" in page and "<pre>" not in page
    for f in ("win_rates.png", "lc_vs_raw.png", "ratings.png"):
        assert (tmp_path / f).stat().st_size > 0
    ranking = json.loads((tmp_path / "ranking.json").read_text())
    assert ranking["hidden"] == [BASE] and BASE not in {m["model"] for m in ranking["models"]}
    assert ranking["leaderboard"]["models"][0]["model"] == "gpt4"

    res = run_cli("rank", *files, "--from-labels", "--include-baseline", "-o", str(tmp_path / "b"), "--n-boot", "30")
    assert res.exit_code == 0, res.output
    assert "is the baseline" in res.output  # found by itself: the model in every pair
    listed = [r["model"] for r in _csv(tmp_path / "b" / "ratings.csv")]
    assert BASE in listed and listed.index(BASE) == 3  # 50 %: between vicuna-13b (70.4) and falcon (45.7)


def test_cli_labelled_inputs_need_a_choice(shared_data, tmp_path) -> None:
    files = [str(f) for f in _files(shared_data, ["gpt4", "alpaca-7b"])]
    res = run_cli("rank", *files, "-o", str(tmp_path))
    assert res.exit_code != 0
    msg = res.output + str(res.exception)
    assert "carry their own labels" in msg and "--from-labels" in msg and "--judge" in msg
    assert not (tmp_path / "judgements.jsonl").exists()  # nothing was judged
    res = run_cli("rank", *files, "--from-labels", "--max-prompts", "5", "-o", str(tmp_path))
    flat = " ".join(res.output.replace("│", " ").split())  # typer draws the message in a wrapped box
    assert res.exit_code == 2 and "--from-labels ranks every labelled pair" in flat  # not silently ignored


def test_cli_judge_against_baseline_with_reference_labels(shared_data, tmp_path) -> None:
    """Recorded judgements (here: GPT-4's own preferences rewritten as judgements of the pairs) ranked
    against the labels: the agreement is perfect, and it is computed on the judged prompts only."""
    files = [str(f) for f in _files(shared_data, FEW)]
    out = tmp_path / "j"
    # a first run writes pairs.jsonl (each model against the baseline on 40 sampled prompts)
    res = run_cli("rank", *files, "--judgements", str(tmp_path / "none.jsonl"), "--sample-prompts", "40",
                  "-o", str(out))
    assert res.exit_code != 0 and "not found" in (res.output + str(res.exception))
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == 40 * len(FEW) and all(BASE in {a["model"] for a in p["answers"]} for p in pairs)
    prefs = {}
    for f in files:
        for row in json.loads(Path(f).read_text()):
            prefs[(row["instruction"], row["generator_2"])] = row["preference"]
    lines = []
    for p in pairs:
        a, b = (x["model"] for x in p["answers"])
        pref = prefs[(p["question"], a if b == BASE else b)]
        if pref is None:
            continue
        model_wins = {2.0: True, 1.0: False}.get(float(pref))
        verdict = 0 if model_wins is None else (1 if model_wins == (b == BASE) else 2)
        lines.append(json.dumps({"id": p["id"], "verdict": verdict, "judge": "recorded"}))
    rec = tmp_path / "recorded.jsonl"
    rec.write_text("\n".join(lines) + "\n")
    res = run_cli("rank", *files, "--judgements", str(rec), "--sample-prompts", "40", "--reference", "labels",
                  "--top-k", "2", "-o", str(out), "--n-boot", "30", "--no-lc")
    assert res.exit_code == 0, res.output
    agreement = json.loads((out / "ranking.json").read_text())["agreement"]
    assert agreement["spearman"] == pytest.approx(1.0) and agreement["kendall"] == pytest.approx(1.0)
    assert agreement["top_k_overlap"] == 1.0 and agreement["n_prompts"] == 40
    assert "Spearman rho" in res.output and (out / "agreement.png").stat().st_size > 0
    # the same run's ratings.csv as a fixed reference
    res = run_cli("rank", *files, "--judgements", str(rec), "--sample-prompts", "40", "--reference",
                  str(out / "ratings.csv"), "-o", str(tmp_path / "k"), "--n-boot", "30", "--no-lc")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "k" / "ranking.json").read_text())["agreement"]["spearman"] == pytest.approx(1.0)


def test_cli_builtin_judge_leaves_no_lock(shared_data, tmp_path) -> None:
    files = [str(f) for f in _files(shared_data, ["gpt4", "alpaca-7b"])]
    res = run_cli("rank", *files, "--judge", "mini", "--max-prompts", "4", "-o", str(tmp_path), "--n-boot", "20",
                  "--no-lc", "--no-cache")
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "judgements.jsonl").read_text().splitlines()) == 2 * 2 * 4  # 2 models × 4 prompts × 2 orders
    assert not (tmp_path / "judgements.jsonl.lock").exists()
    assert "win rates against text_davinci_003" in res.output


def test_extreme_lc_changes_are_flagged_as_alpaca_eval_does() -> None:
    assert extreme_change(99.5, 52.4) and extreme_change(20.0, 2.0) and extreme_change(40.0, 60.0)
    assert not extreme_change(95.3, 86.6) and not extreme_change(20.0, 29.0)
