"""Every reader on real rows of ../shared/data: counts, label conventions, exact field values."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from judgelm.data import (
    DataError,
    load_samples,
    read_answers,
    read_prompts,
    read_samples,
)
from judgelm.data.pandalm import majority
from judgelm.schema import Sample


def test_pandalm_testset(shared_data: Path) -> None:
    stream = read_samples(shared_data / "pandalm" / "testset-v1.json")
    samples = list(stream)
    assert stream.report.formats == {"pandalm": 1}
    assert len(samples) == 999
    assert Counter(s.gold.verdict for s in samples) == {1: 422, 2: 472, 0: 105}
    first = samples[0]
    assert first.id == "0"
    assert first.question.startswith("The sentence you are given might be too wordy")
    assert first.input == ("If you have any questions about my rate or if you find it necessary to increase or "
                           "decrease the scope for this project, please let me know.")
    assert [a.text for a in first.answers] == [
        "If you have any questions about my rate, please let me know.",
        "If you have any questions, please let me know.",
    ]
    assert first.metadata == {"motivation_app": "Grammarly", "cmp_key": "bloom-7b_llama-7b", "annotators": [2, 2, 2]}
    assert first.gold.source == "human-majority"
    # ids are str(idx) and unique; rows without an input have input None
    assert len({s.id for s in samples}) == 999
    assert sum(s.input is None for s in samples) == 167
    # six responses are JSON booleans in the released file; they read as the text "True"
    by_id = {s.id: s for s in samples}
    assert by_id["157"].answers[0].text == "True" and by_id["157"].answers[1].text == "True."


def test_pandalm_no_majority_is_none(shared_data: Path, tmp_path: Path) -> None:
    assert majority([0, 1, 2]) is None and majority([1, 2, 1]) == 1 and majority([0, 0, 2]) == 0
    rows = json.loads((shared_data / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))[:2]
    rows[1].update(annotator1=0, annotator2=1, annotator3=2)
    path = tmp_path / "two.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    samples = load_samples(path)
    assert samples[0].gold.verdict == 2 and samples[1].gold.verdict is None
    assert samples[1].metadata["annotators"] == [0, 1, 2]


def _alpaca(shared_data: Path, model: str) -> Path:
    return shared_data / "alpaca_eval_gpt4" / "results" / model / "alpaca_eval_gpt4" / "annotations.json"


def test_alpaca_eval_file(shared_data: Path) -> None:
    samples = load_samples(_alpaca(shared_data, "gpt4"))
    assert len(samples) == 805
    first = samples[0]
    assert first.question == "What are the names of some famous actors that started their careers on Broadway?"
    assert [a.model for a in first.answers] == ["text_davinci_003", "gpt4"]
    assert first.answers[0].text.startswith("Some famous actors that started their careers on Broadway include:")
    assert first.gold.verdict == 2 and first.gold.source == "alpaca_eval_gpt4"
    assert first.metadata["dataset"] == "helpful_base" and first.metadata["annotator"] == "alpaca_eval_gpt4"
    # integer labels in this file: 0 = draw
    assert Counter(s.gold.verdict for s in samples) == {2: 761, 1: 32, 0: 12}
    assert Counter(s.metadata["dataset"] for s in samples)["selfinstruct"] == 252
    assert len({s.id for s in samples}) == 805
    # ids are stable: same file, same ids
    assert [s.id for s in load_samples(_alpaca(shared_data, "gpt4"), limit=3)] == [s.id for s in samples[:3]]


def test_alpaca_eval_draw_and_null(shared_data: Path) -> None:
    """gpt-3.5-turbo-0301: float labels with 1.5 (draw) and one null (unparsed → no verdict)."""
    samples = load_samples(_alpaca(shared_data, "gpt-3.5-turbo-0301"))
    assert len(samples) == 805
    assert Counter(s.gold.verdict for s in samples) == {2: 716, 1: 83, 0: 5, None: 1}
    draws = [s for s in samples if s.gold.verdict == 0]
    assert all(s.metadata["preference"] == 1.5 for s in draws)


def test_alpaca_eval_exclude_dataset(shared_data: Path) -> None:
    stream = read_samples(_alpaca(shared_data, "gpt4"), exclude_datasets=["selfinstruct"])
    samples = list(stream)
    assert len(samples) == 805 - 252
    assert all(s.metadata["dataset"] != "selfinstruct" for s in samples)
    assert stream.report.dropped == {"dataset 'selfinstruct' excluded": 252}


def test_alpaca_eval_folder_detected(shared_data: Path) -> None:
    """A results/ folder reads every annotations.json below it (here: one model's folder)."""
    stream = read_samples(shared_data / "alpaca_eval_gpt4" / "results" / "gpt4")
    assert sum(1 for _ in stream) == 805
    assert stream.report.formats == {"alpaca_eval": 1}
    from judgelm.data import get_format

    assert len(get_format("alpaca_eval").files(shared_data / "alpaca_eval_gpt4" / "results")) == 52


def test_llmbar(shared_data: Path) -> None:
    natural = load_samples(shared_data / "llmbar" / "LLMBar" / "Natural" / "dataset.json")
    assert len(natural) == 100
    assert Counter(s.gold.verdict for s in natural) == {2: 58, 1: 42}
    assert natural[0].id == "LLMBar/Natural/0" and natural[0].gold.verdict == 1
    assert natural[0].question.startswith("Summarize the following content.\n\nMy girlfriend is Malaysian")
    assert natural[0].answers[0].text.startswith("My girlfriend's visa to stay in the UK expires")
    fair = load_samples(shared_data / "llmbar" / "Processed" / "FairEval" / "dataset.json")
    assert len(fair) == 66 and fair[0].question == "How can I improve my time management skills?"
    case = read_samples(shared_data / "llmbar" / "CaseStudy")
    assert Counter(s.metadata["subset"] for s in case) == {
        "CaseStudy/Base_10": 54, "CaseStudy/Base_9": 54, "CaseStudy/Constraint": 89,
        "CaseStudy/Negation": 59, "CaseStudy/Normal": 59,
    }


def test_autoj(shared_data: Path) -> None:
    samples = load_samples(shared_data / "autoj" / "single_traindata.jsonl")
    assert len(samples) == 960 and len({s.id for s in samples}) == 960
    first = samples[0]
    assert first.question == "Evaluate the efficiency of the popular programming languages you have got to know."
    assert first.answers[0].text.startswith("As an AI language model, I do not have personal opinions")
    assert first.answers[0].text.endswith("and is well-suited to system programming and operating")
    assert "[END DATA]" not in first.answers[0].text and "***" not in first.answers[0].text
    assert first.gold.scores == [3.0] and first.gold.verdict is None
    assert first.gold.explanation.endswith("Rating: [[3]]")
    assert first.metadata["scenario"] == "default" and first.metadata["source_dataset"] == "chatbot_arena"
    assert samples[8].gold.scores == [5.5]  # half points exist


def test_arena_bench_judgments(shared_data: Path) -> None:
    path = shared_data / "arena_bench_v1" / "model_judgment" / "claude-1.jsonl"
    samples = load_samples(path)
    assert len(samples) == 300
    first = samples[0]
    assert first.id == "970fd8f43ebe4afeb63ed8abade32e12:claude-1"
    assert first.question.startswith("You are one of the top Chemists in the world.")
    assert first.question.endswith("Ensure that the molecule follows this format correctly and can be developed.")
    assert first.reference.startswith("As an AI, I don't have the capability to design a novel pharmaceutical drug.")
    assert first.reference.endswith("I recommend consulting with a medicinal chemist or a drug discovery team for this task.")
    assert first.answers[0].model == "claude-1"
    assert first.answers[0].text.startswith("Here is my attempt at designing a novel pharmaceutical")
    assert first.answers[0].text.endswith("but can provide more details if needed.")
    assert first.gold.scores == [1.0] and first.gold.explanation.endswith("Rating: [[1]]")
    # the judge's rating could not be parsed on two rows: gold scores None, the sample is kept
    assert [i for i, s in enumerate(samples) if s.gold.scores is None] == [127, 181]
    # the question cut from the prompt is the benchmark's question
    questions = {p.id: p for p in read_prompts(shared_data / "arena_bench_v1" / "question.jsonl")}
    assert all(s.question == questions[s.metadata["question_id"]].turns[0] for s in samples)


def test_arena_bench_prompts_and_references(shared_data: Path) -> None:
    prompts = list(read_prompts(shared_data / "arena_bench_v1" / "question.jsonl"))
    assert len(prompts) == 300
    assert prompts[0].id == "66c00ddde3dc4128a14d6afd5e899342" and prompts[0].category == "arena-bench-v1"
    assert all(p.reference for p in prompts)  # reference_answer/gpt-4.jsonl found next to it
    answers = list(read_answers(shared_data / "arena_bench_v1" / "reference_answer" / "gpt-4.jsonl"))
    assert len(answers) == 300 and answers[0].model == "gpt-4"
    assert answers[0].question_id == "0000d826867d47dabd7d4b110beea2e9"
    assert answers[0].text.startswith("Sure, I'd be happy to explain cognitive bias!")


def test_mt_bench_prompts(shared_data: Path) -> None:
    prompts = list(read_prompts(shared_data / "mt_bench" / "mt_bench" / "question.jsonl"))
    assert len(prompts) == 80 and all(len(p.turns) == 2 for p in prompts)
    by_id = {p.id: p for p in prompts}
    assert by_id["81"].category == "writing" and by_id["81"].reference is None
    assert by_id["81"].turns[1] == "Rewrite your previous response. Start every sentence with the letter A."
    # the gpt-4 reference file wins (what FastChat's judges are shown); the inline answer key
    # is kept in metadata and fills in for questions the file does not cover
    assert by_id["111"].metadata["inline_reference"] == ["Area is 3", "5pi"]
    assert by_id["111"].metadata["reference_source"] == "gpt-4"
    assert by_id["111"].reference[0] != "Area is 3"
    assert by_id["101"].reference[0].startswith("If you have just overtaken the second person")
    assert by_id["95"].reference == by_id["95"].metadata["inline_reference"]
    assert by_id["95"].metadata["reference_source"] == "question"
    assert sum(p.reference is not None for p in prompts) == 40
    no_refs = list(read_prompts(shared_data / "mt_bench" / "mt_bench" / "question.jsonl", references=None))
    assert sum(p.reference is not None for p in no_refs) == 39
    vicuna = list(read_prompts(shared_data / "mt_bench" / "vicuna_bench"))
    assert len(vicuna) == 80 and vicuna[0].turns == ["How can I improve my time management skills?"]
    assert sum(p.reference is not None for p in vicuna) == 10


def test_prompt_file_is_not_samples(shared_data: Path) -> None:
    with pytest.raises(DataError, match="read_prompts"):
        load_samples(shared_data / "mt_bench" / "mt_bench" / "question.jsonl")
    with pytest.raises(DataError, match="read_answers"):
        load_samples(shared_data / "mt_bench" / "mt_bench" / "reference_answer" / "gpt-4.jsonl")


def test_prometheus_vicuna(shared_data: Path) -> None:
    samples = load_samples(shared_data / "prometheus" / "vicuna_eval.json")
    assert len(samples) == 320 and len({s.id for s in samples}) == 320
    first = samples[0]
    assert first.id == "1:vicuna"
    assert first.question == "How can I improve my time management skills?"
    assert first.history == []
    assert first.answers[0].text.startswith("Improving your time management skills can help you to be more productive")
    assert first.answers[0].text.endswith("become more productive and efficient.")
    assert first.reference.startswith("To improve your time management skills, start by setting clear goals.")
    assert first.reference.endswith("also involves taking care of your mental health.")
    assert first.metadata["rubric"].startswith(
        "[Does the response provide detailed and actionable steps grounded on real-world scenarios?]\nScore 1: ")
    assert first.metadata["rubric"].endswith("all of which are firmly grounded on real-world scenarios.")
    assert first.gold.scores == [5.0] and first.metadata["gpt4_scores"] == [5, 5, 5]
    assert first.metadata["scale"] == [1, 5]


def test_prometheus_mt_bench_dialogue(shared_data: Path) -> None:
    samples = load_samples(shared_data / "prometheus" / "mt_bench_eval.json")
    assert len(samples) == 320
    first = samples[0]
    assert first.id == "83:llama2_chat_13b"
    assert first.question == "Take your previous response and rephrase it as a limerick."
    assert [t.role for t in first.history] == ["user", "assistant"]
    assert first.history[0].content.startswith("Imagine you are writing a blog post comparing two popular smartphone")
    assert first.history[1].content.startswith("Sure, here's an outline for a blog post")
    assert first.answers[0].text.startswith("Sure, here's a limerick comparing two smartphone models:")
    assert first.gold.scores == [pytest.approx(8 / 3, abs=1e-3)]  # mean of [3, 2, 3]
    assert first.metadata["gpt4_scores"] == [3, 2, 3]
    # the dialogue's first user turn is MT-bench's first turn for every item
    mt = {p.id: p for p in read_prompts(shared_data / "mt_bench" / "mt_bench" / "question.jsonl", references=None)}
    assert all(s.history[0].content == mt[s.id.split(":")[0]].turns[0] for s in samples)


def test_judgelm_example_pairs(examples_dir: Path) -> None:
    samples = load_samples(examples_dir / "pairs.jsonl")
    assert len(samples) == 6
    assert samples[0].id == "1" and samples[0].question == "What is the capital of Australia?"
    assert [a.model for a in samples[0].answers] == ["model-a", "model-b"]
    assert samples[0].answers[1].text == "Sydney."
    assert samples[0].reference == "Canberra is the capital of Australia."
    assert samples[0].gold is None  # no teacher labels in the example


def test_judgelm_with_teacher_labels(tmp_path: Path) -> None:
    rows = [
        {"question_id": 7, "question_body": "2+2?", "answer1_body": "4", "answer2_body": "5",
         "answer1_model_id": "m1", "answer2_model_id": "m2",
         "answer1_metadata": {"decoding_method": "greedy"}, "answer2_metadata": {"decoding_method": "top_p"},
         "score": [10, 2], "text": "10 2\nAssistant 1 is right; Assistant 2 is wrong.",
         "reference": {"text": "4"}, "text_w_reference": "9 1\nWith the reference: 1 matches.",
         "score_w_reference": [9, 1]},
        {"question_id": 8, "question_body": "q", "answer1_body": "a", "answer2_body": "b", "score": [1, 1],
         "text": "error"},
        {"question_id": 9, "question_body": "q", "answer1_body": "a", "answer2_body": "b", "answer3_body": "c",
         "text": "3 3 1\nA tie between 1 and 2."},
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    stream = read_samples(path)
    samples = list(stream)
    assert [s.id for s in samples] == ["7", "9"]
    assert stream.report.dropped == {"teacher output 'error'": 1} and stream.report.rows == 3
    s = samples[0]
    assert s.gold.scores == [10.0, 2.0] and s.gold.verdict == 1
    assert s.gold.explanation == "Assistant 1 is right; Assistant 2 is wrong."
    assert s.gold.scores_w_reference == [9.0, 1.0] and s.gold.verdict_w_reference == 1
    assert s.gold.explanation_w_reference == "With the reference: 1 matches."
    assert s.answers[0].metadata == {"decoding_method": "greedy"} and s.reference == "4"
    three = samples[1]
    assert len(three.answers) == 3 and three.gold.scores == [3.0, 3.0, 1.0] and three.gold.verdict == 0


def test_judgelm_answer_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps({"question_id": 3, "question_body": "q?", "text": "an answer", "model": "vicuna-7b",
                                "decoding_method": "greedy", "scores": [7, 8]}) + "\n", encoding="utf-8")
    (rec,) = read_answers(path)
    assert rec.question_id == "3" and rec.model == "vicuna-7b" and rec.text == "an answer"
    assert rec.decoding_method == "greedy" and rec.scores == [7.0, 8.0] and rec.question == "q?"


def test_mmvet_hand_made(tmp_path: Path) -> None:
    """No MM-Vet file in the shared data: a small one in its published layout."""
    questions = {
        "v1_0": {"imagename": "v1_0.png", "capability": ["ocr", "math"], "question": "What is x?", "answer": "2<OR>two"},
        "v1_1": {"imagename": "v1_1.jpg", "capability": ["rec"], "question": "Colours?", "answer": "red<AND>blue"},
    }
    (tmp_path / "mm-vet.json").write_text(json.dumps(questions), encoding="utf-8")
    (tmp_path / "llava.json").write_text(json.dumps({"v1_0": "x = 2", "v1_1": "Red and blue."}), encoding="utf-8")
    samples = load_samples(tmp_path / "mm-vet.json", predictions=tmp_path / "llava.json")
    assert [s.id for s in samples] == ["v1_0", "v1_1"]
    assert samples[0].answers[0].text == "x = 2" and samples[0].answers[0].model == "llava"
    assert samples[1].reference == "red<AND>blue" and samples[1].metadata["capability"] == ["rec"]
    assert samples[0].metadata["mode"] == "vqa"
    with pytest.raises(DataError, match="predictions"):
        load_samples(tmp_path / "mm-vet.json")
    (tmp_path / "partial.json").write_text(json.dumps({"v1_0": "2"}), encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(tmp_path / "mm-vet.json", predictions=tmp_path / "partial.json")
    assert "key 'v1_1'" in str(err.value) and "prediction" in str(err.value)


def test_canonical_round_trip(shared_data: Path, tmp_path: Path) -> None:
    from judgelm.data import write_samples

    original = load_samples(shared_data / "prometheus" / "mt_bench_eval.json", limit=20)
    out = tmp_path / "canon.jsonl"
    assert write_samples(original, out) == 20
    again = load_samples(out)
    assert again == original
    assert all(isinstance(s, Sample) for s in again)


def test_folder_detection(shared_data: Path) -> None:
    """A folder reads the files of the first known format it holds, and only those."""
    judged = read_samples(shared_data / "arena_bench_v1")  # also holds question.jsonl, reference_answer/
    assert sum(1 for _ in judged) == 4500 and judged.report.formats == {"arena_bench": 15}
    inner = read_samples(shared_data / "arena_bench_v1" / "model_judgment", limit=3)
    assert len(list(inner)) == 3
    panda = read_samples(shared_data / "pandalm")  # the recorded-prediction files are not samples
    assert sum(1 for _ in panda) == 999 and panda.report.formats == {"pandalm": 1}
    with pytest.raises(DataError, match="read_prompts"):
        load_samples(shared_data / "mt_bench")
