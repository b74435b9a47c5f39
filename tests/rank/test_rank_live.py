"""``judgelm rank`` on real AlpacaEval answers: judged live (tiny Llama, and the built-in judge when
its weights are shipped), resumed, and re-ranked from recorded judgements (GPT-4's preferences)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MINI_WEIGHTS = Path(__file__).resolve().parents[2] / "src" / "judgelm" / "assets" / "mini"
MODELS = ("gpt4", "alpaca-7b", "vicuna-13b")  # + text_davinci_003, the output_1 of every file


def _files(shared_data: Path) -> list[str]:
    return [str(shared_data / f"alpaca_eval_gpt4/results/{m}/alpaca_eval_gpt4/annotations.json") for m in MODELS]


def _cli(args: list[str]):

    from support import run_cli

    res = run_cli("rank", *args)
    return res, res.output + ("" if res.exception is None else repr(res.exception))


def test_tiny_judge_pipeline_then_rank_from_recorded_gpt4(shared_data, tiny_llama, tmp_path) -> None:
    out = tmp_path / "tiny"
    res, text = _cli([*_files(shared_data), "-o", str(out), "--judge", f"hf:{tiny_llama}", "--dtype", "float32",
                      "--device", "cpu", "--max-prompts", "5", "--no-cache"])
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == 5 * 3  # text_davinci_003 is in every input pair: each model against it
    judged = [json.loads(line) for line in (out / "judgements.jsonl").read_text().splitlines()]
    assert len(judged) == 2 * len(pairs)  # both orders
    n_verdicts = sum(j["verdict"] is not None for j in judged)
    if n_verdicts == 0:  # a random tiny model writes no score line: no game is invented from that
        assert res.exit_code != 0 and "no judged pair" in text
    else:
        assert res.exit_code == 0, text

    # GPT-4's recorded preferences are judgements of (model, text_davinci_003) pairs: rank from them
    prefs: dict[tuple[str, str], float | None] = {}
    for f in _files(shared_data):
        for row in json.loads(Path(f).read_text()):
            prefs[(row["instruction"], row["generator_2"])] = row["preference"]
    verdict = {1.0: 2, 2.0: 1, 1.5: 0, 0.0: 0}  # output_1 is davinci = answer 2 of our pair
    rec = tmp_path / "gpt4.jsonl"
    lines = []
    for p in pairs:
        a, b = (x["model"] for x in p["answers"])
        assert "text_davinci_003" in (a, b)
        if b == "text_davinci_003" and prefs.get((p["question"], a)) is not None:
            lines.append(json.dumps({"id": p["id"], "verdict": verdict[float(prefs[(p["question"], a)])],
                                     "judge": "alpaca_eval_gpt4"}))
    rec.write_text("\n".join(lines) + "\n")
    res, text = _cli([*_files(shared_data), "-o", str(tmp_path / "rec"), "--judgements", str(rec),
                      "--max-prompts", "5", "--n-boot", "50", "--no-lc"])
    assert res.exit_code == 0, text
    ranking = json.loads((tmp_path / "rec" / "ranking.json").read_text())
    assert ranking["stats"]["judged"] == len(lines) and ranking["stats"]["missing"] == len(pairs) - len(lines)
    assert ranking["games"] == len(lines)


@pytest.mark.skipif(not any(MINI_WEIGHTS.glob("*.safetensors")), reason="built-in judge weights not shipped yet")
def test_builtin_judge_ranks_alpaca_eval_models_and_resumes(shared_data, tmp_path) -> None:
    args = [*_files(shared_data), "-o", str(tmp_path), "--judge", "mini", "--max-prompts", "20", "--n-boot", "100",
            "--no-cache", "--all-pairs"]
    res, text = _cli(args)
    assert res.exit_code == 0, text
    print(text)
    ranking = json.loads((tmp_path / "ranking.json").read_text())
    assert {m["model"] for m in ranking["models"]} == set(MODELS)  # the baseline is not ranked
    assert ranking["hidden"] == ["text_davinci_003"] and ranking["leaderboard"]["baseline"] == "text_davinci_003"
    assert ranking["stats"]["pairs"] == 120 and ranking["games"] > 100
    for m in ranking["models"]:
        lo, hi = m["ci"]
        assert lo <= m["rating"] <= hi
    assert ranking["best"] and set(ranking["best"]) <= {m["model"] for m in ranking["models"]}
    for f in ("heatmap.png", "ratings.png", "report.html", "win_rates.png", "lc_vs_raw.png"):
        assert (tmp_path / f).stat().st_size > 0
    assert not (tmp_path / "judgements.jsonl.lock").exists()
    before = (tmp_path / "judgements.jsonl").read_text()
    res2, text2 = _cli(args)  # rerun: everything resumed from the state, same ranking
    assert res2.exit_code == 0, text2
    assert (tmp_path / "judgements.jsonl").read_text() == before
    assert json.loads((tmp_path / "ranking.json").read_text())["models"] == ranking["models"]
