"""End to end: ``judgelm serve`` (a real OpenAI-protocol server on loopback, tiny Llama) plays the
candidate models and the teacher; ``generate`` → ``build`` → ``train`` → ``judge`` through the CLI.

The teacher must write JudgeLM score lines, which a randomly initialised model never does, so the
tiny model is first taught the output format with ``judgelm.train`` on a dozen labelled rows (about a minute
on a busy CPU); everything after that is the user's path with their own prompts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgelm.cli import app
from judgelm.data import read_samples

REPO = Path(__file__).resolve().parents[2]

QUESTIONS = [
    "What is the capital of France?", "Name a prime number.", "How many legs does a spider have?",
    "What colour is the sky?", "Give a synonym of happy.", "What is 2 plus 3?",
    "Name a planet.", "What do bees make?",
]
SEED_ANSWERS = [("Paris is the capital.", "London."), ("7 is prime.", "Nine."), ("Eight legs.", "Six."),
                ("Blue.", "Green."), ("Joyful.", "Sad."), ("Five.", "Six.")]


def _cli(*args: str) -> str:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output[-3000:]
    return res.output


def _format_teacher(tmp: Path) -> Path:
    """A tiny Llama taught to answer JudgeLM prompts with 'a b' score lines and a sentence."""
    from judgelm.models.tiny import build_tiny_llama
    from judgelm.prompts import render
    from judgelm.schema import Answer, Sample
    from judgelm.train.config import load_config
    from judgelm.train.trainer import train

    rows = []
    for i, (good, bad) in enumerate(SEED_ANSWERS):
        rows.append({"question_id": f"seed{i}", "question_body": f"Seed question {i}: {QUESTIONS[i]}",
                     "answer1_body": good, "answer2_body": bad, "answer1_model_id": "x", "answer2_model_id": "y",
                     "score": [8, 3], "text": "8 3\nAssistant 1 is more helpful than Assistant 2.",
                     "reference": {"text": good}, "score_w_reference": [9, 2],
                     "text_w_reference": "9 2\nAssistant 1 matches the reference."})
    seed_file = tmp / "seed.jsonl"
    seed_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    texts = [render(Sample(id="t", question=QUESTIONS[0], answers=[Answer(text="a"), Answer(text="b")], reference="r"),
                    reference=ref) for ref in (False, True)] + QUESTIONS
    base = build_tiny_llama(tmp / "tiny", texts, seed=0)
    cfg = load_config(None, {"model": str(base), "data": [str(seed_file)], "output_dir": str(tmp / "teacher"),
                             "max_steps": 72, "learning_rate": 1e-2, "per_device_batch_size": 4,
                             "max_length": 512, "bf16": False, "save_steps": 1000, "lr_scheduler": "constant",
                             "warmup_ratio": 0.0, "logging_steps": 20}).validate()
    result = train(cfg)
    assert result.completed
    return Path(result.output_dir)


@pytest.mark.slow
def test_generate_build_train_judge(tmp_path: Path) -> None:
    from support import Server

    teacher_dir = _format_teacher(tmp_path)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"question_id": i + 1, "question_body": q}) + "\n"
                               for i, q in enumerate(QUESTIONS)), encoding="utf-8")
    server = Server(["--judge", f"hf:{teacher_dir}", "--no-ui", "--jobs-db", str(tmp_path / "jobs.sqlite")],
                    tmp_path / "serve.log")
    try:
        api = ["--api-base", server.url + "/v1", "--no-progress"]
        # 1. candidate models and a "strong" reference model: the same server, different decoding
        for name, temp, seed in (("model-a", "0", "0"), ("model-b", "1.2", "7"), ("reference", "0.7", "1")):
            out = _cli("generate", str(prompts), "--model", "openai:tiny", "-o", str(tmp_path / f"{name}.jsonl"),
                       "--name", name, "--temperature", temp, "--seed", seed, "--max-new-tokens", "12", *api)
            assert json.loads(out[out.index("{"):])["generated"] == len(QUESTIONS)
        row = json.loads((tmp_path / "model-b.jsonl").read_text().splitlines()[0])
        assert (row["model"], row["decoding_method"], row["temperature"], row["seed"]) == ("model-b", "sampling", 1.2, 7)
        # 2. pairs + teacher judgements with and without the reference
        data = tmp_path / "data"
        out = _cli("build", str(tmp_path / "model-a.jsonl"), str(tmp_path / "model-b.jsonl"),
                   "--reference", str(tmp_path / "reference.jsonl"), "--teacher", "openai:tiny", "--api",
                   "completions", "--max-new-tokens", "24", "--val-fraction", "0.25", "-o", str(data),
                   "--no-cache", *api)
        summary = json.loads((data / "summary.json").read_text())
        assert summary["complete"] is True
        t = summary["teacher_outputs"]
        pairs = summary["pairing"]["pairs"]
        p = summary["pairing"]  # two models: one pair per question, unless an answer was empty or identical
        assert pairs >= 1 and pairs + p["identical_pairs_dropped"] + p["questions_with_fewer_than_two_answers"] \
            == p["questions"]
        # questions where every answer was empty disappear; the empties are counted per model
        assert p["questions"] == len(QUESTIONS) or p["empty_answers_dropped_total"] > 0
        assert t.get("ok_no_reference", 0) + t.get("unparsed_no_reference", 0) == pairs
        assert summary["rows"] == t.get("ok_no_reference", 0) >= pairs // 2
        assert summary["rows_with_reference_judgement"] == t.get("ok_with_reference", 0) > 0
        assert summary["val"]["rows"] > 0 and summary["train"]["rows"] > 0
        assert sum(summary["score_histogram"].values()) == 2 * summary["rows"]
        train_rows = list(read_samples(data / "train.jsonl"))
        assert all(s.gold and s.gold.scores and len(s.gold.scores) == 2 for s in train_rows)
        val_rows = list(read_samples(data / "val.jsonl"))
        # the reference-pass judgements are carried into the rows (train or val: the split is random and
        # the untrained teacher's outputs parse only now and then, so a few rows may all land in val)
        with_ref = sum(1 for s in train_rows + val_rows if s.gold and s.gold.scores_w_reference)
        assert with_ref == summary["rows_with_reference_judgement"]
    finally:
        server.stop()
    # 3. train a judge on the built data, 4. judge the held-out split with it
    judge_dir = tmp_path / "judge"
    _cli("train", "--model", str(tmp_path / "tiny"), "--data", str(data / "train.jsonl"), "-o", str(judge_dir),
         "--max-steps", "4", "--lr", "1e-3", "--batch-size", "2", "--max-length", "512", "--no-bf16")
    assert (judge_dir / "config.json").is_file()
    _cli("judge", str(data / "val.jsonl"), "--judge", f"hf:{judge_dir}", "-o", str(tmp_path / "verdicts.jsonl"),
         "--no-cache", "--no-progress", "--dtype", "float32")
    verdicts = [json.loads(line) for line in (tmp_path / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == summary["val"]["rows"]
    assert all(v["judge"] == f"hf:{judge_dir}" and v["status"] in ("ok", "unparsed") for v in verdicts)
    # 5. the teacher's val labels are the gold of `judgelm eval`
    out = _cli("eval", "--gold", str(data / "val.jsonl"), "--pred", str(tmp_path / "verdicts.jsonl"), "--json")
    result = json.loads(out[out.index("{"):])
    assert (result["n"], result["missing"]) == (summary["val"]["rows"], 0)
    assert 0.0 <= result["agreement"] <= 1.0
