"""``judgelm build``: pairing, recorded teachers on the real shared data, a live teacher on loopback."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from judgelm.build.dataset import BuildOptions, build_live, build_recorded, make_pairs
from judgelm.build.pairing import PairingReport, select_pairs
from judgelm.data import read_samples

REPO = Path(__file__).resolve().parents[2]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _answers(tmp: Path, model: str, texts: dict[int, str]) -> Path:
    return _write(tmp / f"{model}.jsonl", [
        {"question_id": q, "question_body": f"Question {q}?", "text": t, "model": model,
         "decoding_method": "greedy", "temperature": 0.0} for q, t in texts.items()])


def _options(k: int) -> dict[str, list[tuple[str, str, int]]]:
    models = ["a", "b", "c", "d"]
    pairs = [(m1, m2) for i, m1 in enumerate(models) for m2 in models[i + 1:]]
    return {f"q{q}": [(m1, m2, n) for n, (m1, m2) in enumerate(pairs)] for q in range(k)}


def test_pairing_strategies_are_seeded_and_balanced() -> None:
    cands = _options(60)
    assert len(select_pairs(cands, strategy="all")) == 60 * 6
    r1 = select_pairs(cands, strategy="random", k=2, seed=1)
    assert len(r1) == 120 and r1 == select_pairs(cands, strategy="random", k=2, seed=1)
    assert r1 != select_pairs(cands, strategy="random", k=2, seed=2)
    rep = PairingReport()
    select_pairs(cands, strategy="balanced", k=1, seed=0, report=rep)
    assert sum(rep.model_pairs.values()) == 60 and set(rep.model_pairs.values()) == {10}  # 60 / 6 exactly
    with pytest.raises(ValueError, match="unknown pairing strategy"):
        select_pairs(cands, strategy="best")


def test_pairs_drop_empty_duplicate_and_identical_answers(tmp_path: Path) -> None:
    a = _answers(tmp_path, "m1", {1: "Paris.", 2: "Four", 3: "same text"})
    b = _answers(tmp_path, "m2", {1: "It is Paris, the capital.", 2: "   ", 3: "same text"})
    c = _answers(tmp_path, "m3", {1: "Lyon.", 3: "different"})
    dup = _write(tmp_path / "m3b.jsonl", [{"question_id": 1, "question_body": "Question 1?", "text": "Marseille",
                                           "model": "m3"}])
    samples, rep = make_pairs([a, b, c, dup], BuildOptions(strategy="all", seed=0),
                              references={"1": "Paris is the capital of France."})
    d = rep.to_dict()
    assert d["empty_answers_dropped"] == {"m2": 1} and d["duplicate_answer_rows"] == 1
    assert d["identical_pairs_dropped"] == 1  # m1 and m2 on question 3
    assert d["questions_with_fewer_than_two_answers"] == 1  # question 2: only m1 left
    ids = sorted(s.id for s in samples)
    assert ids == ["1::m1::m2", "1::m1::m3", "1::m2::m3", "3::m1::m3", "3::m2::m3"]
    for s in samples:
        assert s.question == f"Question {s.metadata['prompt_id']}?"
        assert (s.reference is not None) == (s.metadata["prompt_id"] == "1")
        assert s.answers[0].metadata["decoding_method"] == "greedy"
    swapped = [s for s in samples if s.metadata["positions_swapped"]]
    assert all(s.answers[0].model > s.answers[1].model for s in swapped)


def test_recorded_arena_bench_grades(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "arena_bench_v1" / "model_judgment"
    out = tmp_path / "arena"
    summary = build_recorded(src, "arena_bench", out, options=BuildOptions(strategy="balanced", k=3, seed=0))
    t = summary["teacher_outputs"]
    assert t["recorded_judgements"] == 4500
    assert t["unparsed_teacher"] > 0  # null scores: kept out, counted
    assert t["pairs_skipped_grades_with_different_references"] > 0
    train = read_samples(out / "train.jsonl")
    val = read_samples(out / "val.jsonl")
    rows_t, rows_v = list(train), list(val)
    assert len(rows_t) + len(rows_v) == summary["rows"] == 900  # 300 questions × 3
    qs_t = {s.metadata["prompt_id"] for s in rows_t}
    qs_v = {s.metadata["prompt_id"] for s in rows_v}
    assert qs_t and qs_v and not qs_t & qs_v  # split by question
    raw = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    for r, s in zip(raw, rows_t):
        s1, s2 = r["score"]
        assert r["text"].startswith(f"{int(s1)} {int(s2)}\nAssistant 1: ")
        assert r["score_w_reference"] == r["score"] and r["teacher_reference_shown"] is True
        assert r["reference"]["text"] and s.gold.scores == [s1, s2]
    hist = summary["score_histogram"]
    assert sum(hist.values()) == 2 * summary["rows"]


def test_recorded_alpaca_eval_preferences(shared_data: Path, tmp_path: Path) -> None:
    results = shared_data / "alpaca_eval_gpt4" / "results"
    src = tmp_path / "results"
    for model in ("alpaca-7b", "claude-2"):
        (src / model / "alpaca_eval_gpt4").mkdir(parents=True)
        (src / model / "alpaca_eval_gpt4" / "annotations.json").symlink_to(
            results / model / "alpaca_eval_gpt4" / "annotations.json")
    out = tmp_path / "alpaca"
    summary = build_recorded(src, "alpaca_eval", out, options=BuildOptions(strategy="all", seed=0),
                             exclude_datasets="selfinstruct")
    t = summary["teacher_outputs"]
    assert t["read_dropped: dataset 'selfinstruct' excluded"] == 2 * 252
    kept = summary["rows"]
    assert kept == t["recorded_judgements"] - sum(v for k, v in t.items() if k not in (
        "recorded_judgements",) and not k.startswith("read_dropped"))
    rows = [json.loads(line) for p in ("train.jsonl", "val.jsonl") for line in (out / p).read_text().splitlines()]
    assert len(rows) == kept and all(r["dataset"] != "selfinstruct" for r in rows)
    for r in rows:
        assert r["synthetic_scores"] is True and r["text"] == " ".join(str(int(x)) for x in r["score"])
        assert sorted(r["score"]) in ([4.0, 8.0], [6.0, 6.0])
        winner = {1: "text_davinci_003"}.get(r["preference"])
        if winner:  # preference 1 = the baseline won, wherever it is shown now
            pos = 0 if r["answer1_model_id"] == winner else 1
            assert r["score"][pos] == 8.0
    assert Counter(r["positions_swapped"] for r in rows)[True] > kept // 4
    assert len(list(read_samples(out / "train.jsonl"))) == summary["train"]["rows"]


def test_live_teacher_counts_unparsed_and_stops_at_budget(tiny_llama: Path, tmp_path: Path) -> None:
    """An untrained tiny teacher on a real OpenAI-protocol server: its outputs do not parse — they
    are counted and kept out, never ties; a budget cap leaves pairs pending, the rerun finishes."""
    from openai_stub_server import StubServer

    from judgelm.engines import load_engine

    a = _answers(tmp_path, "m1", {1: "Paris.", 2: "Four."})
    b = _answers(tmp_path, "m2", {1: "Lyon.", 2: "Five."})
    ref = _answers(tmp_path, "strong", {1: "Paris is the capital.", 2: "2 + 2 = 4."})
    out = tmp_path / "data"
    with StubServer(tiny_llama) as server:
        from judgelm.prompts import render

        samples, _ = make_pairs([a, b], BuildOptions())
        worst = max(len(render(s).encode()) + 16 for s in samples) * 1000.0 / 1e6  # the engine's reservation
        poor = load_engine("openai:tiny", api_base=server.url, api="completions", budget_usd=1.5 * worst,
                           price_in=1000.0, price_out=0.0, max_retries=0)
        s1 = build_live([a, b], out, poor, reference_file=ref, max_new_tokens=8, cache=False)
        assert s1["complete"] is False and s1["teacher_outputs"]["budget_exhausted_no_reference"] >= 1
        engine = load_engine("openai:tiny", api_base=server.url, api="completions")
        s2 = build_live([a, b], out, engine, reference_file=ref, max_new_tokens=8, cache=False)
        assert max(server.completed.values()) == 1  # resumed: nothing judged twice
    t = s2["teacher_outputs"]
    assert s2["complete"] is True
    assert t["unparsed_no_reference"] == 2 and s2["rows"] == 0  # kept out, counted
    assert s2["cost"]["resumed"] >= 1
    judged = [json.loads(line) for line in (out / "teacher" / "with_reference.jsonl").read_text().splitlines()]
    assert len(judged) == 2 and all(j["reference_used"] for j in judged)


def test_fastchat_answers_with_mt_bench_questions_and_references(shared_data: Path, tmp_path: Path) -> None:
    """FastChat answer files carry no question text: it comes from --prompts, with MT-bench's
    GPT-4 reference turns; multi-turn answers are paired on the chosen turn."""
    from judgelm.build.dataset import read_questions

    mt = shared_data / "mt_bench" / "mt_bench" / "question.jsonl"
    questions, references = read_questions(mt, turn=1)
    assert len(questions) == 80 and len(references) >= 30
    files = []
    for model in ("m1", "m2"):
        files.append(_write(tmp_path / f"{model}.jsonl", [
            {"question_id": int(q), "answer_id": f"{model}-{q}", "model_id": model,
             "choices": [{"index": 0, "turns": [f"{model} first answer to {q}", f"{model} second answer to {q}"]}]}
            for q in list(questions)[:5]]))
    for turn in (1, 2):
        qs, refs = read_questions(mt, turn=turn)
        samples, rep = make_pairs(files, BuildOptions(turn=turn), references=refs, questions=qs)
        assert rep.pairs == 5 and len(samples) == 5
        for s in samples:
            q = s.metadata["prompt_id"]
            assert s.question == qs[q] and s.reference == refs.get(q)
            assert {a.text for a in s.answers} == {f"m1 {('first', 'second')[turn - 1]} answer to {q}",
                                                   f"m2 {('first', 'second')[turn - 1]} answer to {q}"}
    with pytest.raises(Exception, match="question_body|--prompts"):
        make_pairs(files, BuildOptions())
