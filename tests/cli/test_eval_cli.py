"""`judgelm eval`: JSON output, matching by id, missing/extra/unparsed counts, both orders, errors."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from eval_data import write_judgements

from judgelm.data import read_samples, write_samples
from judgelm.data.predictions import read_predictions
from judgelm.evaluation.verdicts import evaluate
from judgelm.schema import Answer, Gold, Judgement, ParseStatus, Sample

REQUIRED = ("agreement", "precision", "recall", "f1", "kappa", "n", "n_gold_dropped", "unparsed", "unparsed_count",
            "missing", "ci", "confusion", "per_class", "baselines")


def run_eval(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUDGELM_LOG": "WARNING"}
    return subprocess.run([sys.executable, "-m", "judgelm.cli", "eval", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env)


def test_cli_json_on_real_pandalm(shared_data: Path, tmp_path: Path) -> None:
    d = shared_data / "pandalm"
    proc = run_eval("--gold", d / "testset-v1.json", "--pred", d / "gpt-3.5-turbo-testset-v1.json", "--json",
                    "--bootstrap", "200", "--report", tmp_path / "report")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in REQUIRED:
        assert key in out
    for key in ("agreement", "precision", "recall", "f1", "unparsed"):
        assert 0 <= out[key] <= 1
    assert round(100 * out["agreement"], 2) == 71.07 and round(100 * out["f1"], 2) == 57.55
    assert out["unparsed_count"] == 25 and out["unparsed_policy"] == "tie"
    lo, hi = out["ci"]["agreement"]
    assert lo < out["agreement"] < hi
    assert set(out["baselines"]) == {"majority", "longer"}
    assert sum(map(sum, out["confusion"])) == 999
    assert out["report"] == str(tmp_path / "report" / "index.html")
    assert "71.1" in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")


def test_cli_table_and_policy_flag(shared_data: Path) -> None:
    d = shared_data / "pandalm"
    proc = run_eval("--gold", d / "testset-v1.json", "--pred", d / "gpt-3.5-turbo-testset-v1.json",
                    "--unparsed", "drop", "--bootstrap", "100")
    assert proc.returncode == 0, proc.stderr
    assert "judge" in proc.stdout and "longer wins" in proc.stdout and "unparsed: 25" in proc.stdout
    bad = run_eval("--gold", d / "testset-v1.json", "--pred", d / "gpt-3.5-turbo-testset-v1.json", "--unparsed", "skip")
    assert bad.returncode != 0 and "--unparsed" in bad.stderr


def test_predictions_are_matched_by_id_not_position(shared_data: Path, tmp_path: Path) -> None:
    gold = list(read_samples(shared_data / "pandalm" / "testset-v1.json"))
    preds = read_predictions(shared_data / "pandalm" / "pandalm-7b-testset-v1.json")
    reference = evaluate(gold, preds, n_boot=100).summary

    shuffled = preds[:]
    random.Random(1).shuffle(shuffled)
    lines = [json.dumps({"id": p.sample_id, "verdict": p.verdict}) for p in shuffled[5:]]  # 5 missing
    lines.append(json.dumps({"id": "not-in-gold", "verdict": 1}))
    path = tmp_path / "shuffled.jsonl"
    path.write_text("\n".join(lines) + "\n")
    shuffled_result = evaluate(gold, read_predictions(path), n_boot=100).summary
    assert shuffled_result["missing"] == 5 and shuffled_result["extra"] == 1 and shuffled_result["n"] == 994

    full = tmp_path / "full.jsonl"
    full.write_text("".join(json.dumps({"id": p.sample_id, "verdict": p.verdict}) + "\n" for p in shuffled))
    again = evaluate(gold, read_predictions(full), n_boot=100).summary
    for key in ("agreement", "precision", "recall", "f1", "kappa", "confusion", "ci"):
        assert again[key] == reference[key]


# hand-checked swap example (same as tests/evaluation/test_metrics.py), verdicts in ORIGINAL answer order
FIRST = [1, 1, 2, 0, 1, 0, 2]
SECOND = [1, 2, 1, 1, 0, 0, 0]
GOLD = [1, 1, 2, 0, 1, 0, 2]


@pytest.fixture()
def small_gold(tmp_path: Path) -> Path:
    samples = [
        Sample(id=f"s{i}", question=f"question {i}", answers=[Answer(text="a" * (i + 1)), Answer(text="b" * 4)],
               gold=Gold(verdict=g))
        for i, g in enumerate(GOLD)
    ]
    samples.append(Sample(id="nolabel", question="q", answers=[Answer(text="x"), Answer(text="y")]))
    path = tmp_path / "gold.jsonl"
    write_samples(samples, path)
    return path


def _judgement(i: int, verdict: int | None, swapped: bool) -> Judgement:
    return Judgement(sample_id=f"s{i}", judge="hand", order=[1, 0] if swapped else [0, 1], verdict=verdict,
                     status=ParseStatus.OK if verdict is not None else ParseStatus.UNPARSED)


def test_swap_metrics_from_one_file_or_two(small_gold: Path, tmp_path: Path) -> None:
    first = [_judgement(i, v, False) for i, v in enumerate(FIRST)]
    second = [_judgement(i, v, True) for i, v in enumerate(SECOND)]
    both = write_judgements(tmp_path / "both.jsonl", second[3:] + first + second[:3])
    proc = run_eval("--gold", small_gold, "--pred", both, "--json", "--bootstrap", "50")
    assert proc.returncode == 0, proc.stderr
    one = json.loads(proc.stdout)
    assert one["n"] == 7 and one["n_gold_dropped"] == 1 and one["agreement"] == 1.0
    assert one["consistency"] == pytest.approx(2 / 7)
    assert one["bias_first"] == pytest.approx(2 / 7)
    assert one["bias_second"] == pytest.approx(3 / 7)
    assert one["delta_bias"] == pytest.approx(1 / 7)
    # two-run rule → [1, 0, 0, 0, 1, 0, 2] against gold [1, 1, 2, 0, 1, 0, 2]: 5 of 7
    assert one["pandalm_rule"]["agreement"] == pytest.approx(5 / 7)

    samples = list(read_samples(small_gold))
    split = evaluate(samples, first, swapped=second, n_boot=50).summary
    for key in ("consistency", "bias_first", "bias_second", "delta_bias", "pandalm_rule"):
        assert split[key] == one[key]
    with pytest.raises(ValueError, match="already hold a swapped run"):
        evaluate(samples, first + second, swapped=second)


def test_unparsed_in_the_swapped_run(small_gold: Path) -> None:
    samples = list(read_samples(small_gold))
    first = [_judgement(i, v, False) for i, v in enumerate(FIRST)]
    second = [_judgement(i, None if i == 0 else v, True) for i, v in enumerate(SECOND)]
    tie = evaluate(samples, first, swapped=second, unparsed="tie", n_boot=20).summary
    drop = evaluate(samples, first, swapped=second, unparsed="drop", n_boot=20).summary
    assert tie["swapped_unparsed_count"] == drop["swapped_unparsed_count"] == 1
    assert tie["n_swap"] == 7 and drop["n_swap"] == 6
    # pair 0 was consistent (1, 1); as (1, tie) it now leans to the first position
    assert tie["consistency"] == pytest.approx(1 / 7) and tie["bias_first"] == pytest.approx(3 / 7)
    assert drop["consistency"] == pytest.approx(1 / 6)


def test_bad_prediction_line_names_file_line_and_field(small_gold: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "s0", "verdict": 1}\n{"id": "s1", "verdict": "first"}\n')
    proc = run_eval("--gold", small_gold, "--pred", path, "--json")
    assert proc.returncode == 2
    assert f"{path}:2" in proc.stderr and "'verdict'" in proc.stderr

    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "s0", "verdict": 1}\n\n{"id": "s0", "verdict": 2}\n')
    with pytest.raises(Exception, match=r"dup.jsonl:3: field 'sample_id': second prediction"):
        read_predictions(dup)
