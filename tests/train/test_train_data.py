"""Training data: swap augmentation is exact, reference show/drop, masking, split by prompt, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_support import read

from judgelm.prompts import render
from judgelm.schema import Answer, Gold, Sample
from judgelm.train.augment import swap_mentions, swap_pair
from judgelm.train.config import TrainConfig, field_docs, load_config
from judgelm.train.data import (
    IGNORE_INDEX,
    BuildReport,
    build_examples,
    encode_example,
    encode_examples,
    make_collator,
    pair_single_grades,
    prompt_key,
    split_by_prompt,
)
from judgelm.train.trainer import TrainDataError, prepare_data

REPO = Path(__file__).resolve().parents[2]

# A row in JudgeLM's own training format (docs/formats.md §2). The shared data hold no JudgeLM-100K file,
# so this one is written here; it exercises every field the swap must exchange.
JUDGELM_ROW = {
    "question_id": 7,
    "question_body": "Name the largest planet in the solar system.",
    "answer1_body": "Jupiter is the largest planet.",
    "answer2_body": "Saturn.",
    "answer1_model_id": "model-a",
    "answer2_model_id": "model-b",
    "answer1_metadata": {"decoding_method": "greedy"},
    "answer2_metadata": {"decoding_method": "top_p_sampling"},
    "score": [9.0, 2.5],
    "text": "9 2.5\nAssistant 1 is correct. Assistant 2 names Saturn, which is wrong; assistant 2 is brief. "
    "Assistant 10 does not exist.",
    "reference": {"text": "Jupiter."},
    "score_w_reference": [10.0, 1.0],
    "text_w_reference": "10 1\nAssistant 1 matches the reference; Assistant 2 does not.",
}


@pytest.fixture()
def judgelm_sample(tmp_path: Path) -> Sample:
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(JUDGELM_ROW) + "\n", encoding="utf-8")
    (sample,) = read(path)
    return sample


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"model": "unused", "data": ["unused"], **kw})


# --- swap augmentation -------------------------------------------------------------------------


def test_swap_mentions_is_an_exact_involution() -> None:
    text = JUDGELM_ROW["text"]
    once = swap_mentions(text)
    assert once == (
        "9 2.5\nAssistant 2 is correct. Assistant 1 names Saturn, which is wrong; assistant 1 is brief. "
        "Assistant 10 does not exist."
    )
    assert swap_mentions(once) == text


def test_swap_twice_is_identity_and_labels_follow_answers(judgelm_sample: Sample) -> None:
    s = judgelm_sample
    swapped = swap_pair(s)
    assert [a.text for a in swapped.answers] == [s.answers[1].text, s.answers[0].text]
    assert [a.model for a in swapped.answers] == ["model-b", "model-a"]
    assert swapped.answers[0].metadata == {"decoding_method": "top_p_sampling"}
    assert swapped.gold.scores == [2.5, 9.0] and swapped.gold.scores_w_reference == [1.0, 10.0]
    assert swapped.gold.verdict == 2 and swapped.gold.verdict_w_reference == 2
    assert swapped.gold.explanation.startswith("Assistant 2 is correct. Assistant 1 names Saturn")
    assert swap_pair(swapped) == s


def test_swapped_example_is_the_swapped_prompt_with_the_swapped_target(judgelm_sample: Sample) -> None:
    plain = build_examples([judgelm_sample], cfg(swap_prob=0.0))[0]
    swapped = build_examples([judgelm_sample], cfg(swap_prob=1.0))[0]
    assert plain.target.split("\n")[0] == "9 2.5" and swapped.target.split("\n")[0] == "2.5 9"
    assert swapped.target == "2.5 9\n" + swap_mentions(plain.target.split("\n", 1)[1])
    assert swapped.prompt == render(judgelm_sample, order=[1, 0])
    assert plain.prompt == render(judgelm_sample)
    assert swapped.swapped and not plain.swapped


def test_augmentation_is_reproducible_with_a_seed(shared_data: Path) -> None:
    pairs, _ = pair_single_grades(read(shared_data / "arena_bench_v1" / "model_judgment" / "claude-1.jsonl")
                                  + read(shared_data / "arena_bench_v1" / "model_judgment" / "gpt-4-turbo.jsonl"))
    a = build_examples(pairs, cfg(seed=3))
    b = build_examples(list(reversed(pairs)), cfg(seed=3))  # order of the file does not matter
    c = build_examples(pairs, cfg(seed=4))
    flags = lambda xs: {e.sample_id: e.swapped for e in xs}  # noqa: E731
    assert flags(a) == flags(b)
    assert flags(a) != flags(c)
    share = sum(flags(a).values()) / len(a)
    assert 0.4 < share < 0.6, share  # swap_prob 0.5 by default


# --- reference support / drop ------------------------------------------------------------------


def test_reference_show_prob(judgelm_sample: Sample) -> None:
    shown = build_examples([judgelm_sample], cfg(reference_show_prob=1.0, swap_prob=0.0))[0]
    hidden = build_examples([judgelm_sample], cfg(reference_show_prob=0.0, swap_prob=0.0))[0]
    assert "[Reference Answer]\nJupiter." in shown.prompt and shown.reference_used
    assert shown.target.startswith("10 1\nAssistant 1 matches the reference")
    assert "[Reference Answer]" not in hidden.prompt and hidden.target.startswith("9 2.5\n")
    # reference drop: about half of many samples are shown with their reference
    many = [judgelm_sample.model_copy(update={"id": f"s{i}"}) for i in range(400)]
    share = sum(e.reference_used for e in build_examples(many, cfg(reference_show_prob=0.5))) / 400
    assert 0.42 < share < 0.58, share


def test_scores_only_targets_and_preference_mapping(shared_data: Path) -> None:
    rows = read(shared_data / "alpaca_eval_gpt4" / "results" / "Yi-34B-Chat" / "alpaca_eval_gpt4" / "annotations.json")[:50]
    report = BuildReport()
    assert build_examples(rows, cfg(), report) == []
    assert report.dropped["no_teacher_scores"] == 50
    mapped = build_examples(rows, cfg(preference_scores={"win": 8, "lose": 4, "tie": 6}, swap_prob=0.0))
    for ex, s in zip(mapped, [r for r in rows if r.gold.verdict is not None]):
        assert ex.target == {1: "8 4", 2: "4 8", 0: "6 6"}[s.gold.verdict]


def test_single_grades_become_single_prompts_or_pairs(shared_data: Path) -> None:
    grades = read(shared_data / "arena_bench_v1" / "model_judgment" / "claude-1.jsonl")[:5]
    single = build_examples(grades, cfg())
    assert single[0].prompt.endswith("### Response:10")
    assert single[0].target == f" {int(grades[0].gold.scores[0])}\n{grades[0].gold.explanation}"
    more = read(shared_data / "arena_bench_v1" / "model_judgment" / "gpt-4-turbo.jsonl")
    pairs, counts = pair_single_grades(grades + more)
    assert counts["pairs_made"] == 5
    ex = build_examples(pairs, cfg(swap_prob=0.0))
    by_id = {g.id.split(":")[0]: g for g in more}
    first = ex[0]
    a, b = pairs[0].gold.scores
    assert first.target == f"{a:g} {b:g}"  # scores only: the critiques judge one answer each
    assert pairs[0].answers[1].text == by_id[pairs[0].id.split(":")[0]].answers[0].text


# --- tokenisation and masking ------------------------------------------------------------------


def test_only_target_tokens_carry_labels(tiny_llama: Path, judgelm_sample: Sample) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    ex = build_examples([judgelm_sample], cfg(swap_prob=0.0))[0]
    enc = encode_example(tok, ex.prompt, ex.target, max_length=4096)
    n_prompt = len(tok(ex.prompt)["input_ids"])
    assert enc.input_ids[0] == tok.bos_token_id and enc.input_ids[-1] == tok.eos_token_id
    assert enc.labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert enc.labels[n_prompt:] == enc.input_ids[n_prompt:]
    assert tok.decode(enc.input_ids[n_prompt:-1]) == ex.target
    assert tok.decode(enc.input_ids[:n_prompt], skip_special_tokens=True) == ex.prompt

    short = {"input_ids": [5, 6, 7], "labels": [IGNORE_INDEX, 6, 7], "attention_mask": [1, 1, 1]}
    batch = make_collator(tok)([{k: list(v) for k, v in short.items()},
                                {"input_ids": enc.input_ids, "labels": enc.labels, "attention_mask": [1] * len(enc.input_ids)}])
    assert batch["input_ids"].shape[1] == len(enc.input_ids)
    assert batch["labels"][0, :3].tolist() == [IGNORE_INDEX, 6, 7]
    assert set(batch["labels"][0, 3:].tolist()) == {IGNORE_INDEX}  # padding never trains
    assert batch["attention_mask"][0].tolist() == [1, 1, 1] + [0] * (len(enc.input_ids) - 3)
    assert tok.padding_side == "left"  # the caller's tokenizer is untouched (generation pads left)


def test_length_policies_are_counted(tiny_llama: Path, judgelm_sample: Sample) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    ex = build_examples([judgelm_sample], cfg(swap_prob=0.0))[0]
    full = encode_example(tok, ex.prompt, ex.target, 4096)
    limit = len(full.input_ids) - 40
    assert encode_example(tok, ex.prompt, ex.target, limit, "drop") is None
    cut = encode_example(tok, ex.prompt, ex.target, limit, "truncate_prompt_middle")
    assert len(cut.input_ids) == limit and cut.truncated
    n_target = sum(1 for x in full.labels if x != IGNORE_INDEX)
    assert cut.input_ids[-n_target:] == full.input_ids[-n_target:]  # the target is never cut
    assert cut.input_ids[:10] == full.input_ids[:10]  # head of the prompt kept
    report = BuildReport(rows=2, used=2)
    encode_examples(tok, [ex, ex], limit, "drop", report)
    assert report.dropped["too_long_for_max_length"] == 2 and report.used == 0
    report = BuildReport(rows=2, used=2)
    encode_examples(tok, [ex, ex], limit, "truncate_prompt_middle", report)
    assert report.notes["prompt_middle_truncated"] == 2


# --- split and data errors ---------------------------------------------------------------------


def test_split_is_by_prompt_never_by_row(shared_data: Path) -> None:
    files = ["claude-1.jsonl", "gpt-4-turbo.jsonl", "palm-2-chat-bison-001.jsonl"]
    grades = [s for f in files for s in read(shared_data / "arena_bench_v1" / "model_judgment" / f)]
    pairs, _ = pair_single_grades(grades)
    train, held = split_by_prompt(pairs, 0.2, seed=0)
    tk, hk = {prompt_key(s) for s in train}, {prompt_key(s) for s in held}
    assert not tk & hk and len(train) + len(held) == len(pairs)
    assert abs(len(hk) / (len(tk) + len(hk)) - 0.2) < 0.01
    assert split_by_prompt(pairs, 0.2, seed=0) == (train, held)


def test_unusable_data_is_a_clear_error_with_counts(shared_data: Path, tiny_llama: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    alpaca = shared_data / "alpaca_eval_gpt4" / "results" / "Yi-34B-Chat" / "alpaca_eval_gpt4" / "annotations.json"
    c = cfg(model=str(tiny_llama), data=[str(alpaca)])
    with pytest.raises(TrainDataError, match=r"no usable training example.*no_teacher_scores': 805"):
        prepare_data(c, tok)
    arena = shared_data / "arena_bench_v1" / "model_judgment" / "claude-1.jsonl"
    c = cfg(model=str(tiny_llama), data=[str(arena)], max_length=200)
    with pytest.raises(TrainDataError, match=r"too_long_for_max_length"):
        prepare_data(c, tok)


def test_cli_reports_bad_data_and_bad_config(shared_data: Path, tiny_llama: Path, tmp_path: Path) -> None:
    from support import run_cli

    alpaca = shared_data / "alpaca_eval_gpt4" / "results" / "Yi-34B-Chat" / "alpaca_eval_gpt4" / "annotations.json"
    res = run_cli("train", "--model", str(tiny_llama), "--data", str(alpaca), "-o", str(tmp_path / "o"))
    assert res.exit_code == 2 and "no_teacher_scores" in res.output, res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: x\ndata: [y]\nlearning_rat: 0.1\n", encoding="utf-8")
    res = run_cli("train", "--config", str(bad))
    assert res.exit_code == 2 and "unknown field(s) learning_rat" in res.output, res.output


# --- configuration -----------------------------------------------------------------------------


def test_yaml_configs_load_and_flags_override(tmp_path: Path) -> None:
    for name in ("tiny-cpu.yaml", "judgelm-7b-paper.yaml"):
        c = load_config(REPO / "configs" / name).validate()
        assert c.data and c.model
    paper = load_config(REPO / "configs" / "judgelm-7b-paper.yaml")
    assert (paper.learning_rate, paper.epochs, paper.max_length, paper.lr_scheduler, paper.warmup_ratio) == (
        2e-5, 3, 2048, "cosine", 0.03,
    )
    assert paper.per_device_batch_size * paper.gradient_accumulation_steps * 8 == 128  # 8 GPUs
    over = load_config(REPO / "configs" / "tiny-cpu.yaml", {"learning_rate": 0.5, "seed": None})
    assert over.learning_rate == 0.5 and over.seed == load_config(REPO / "configs" / "tiny-cpu.yaml").seed
    with pytest.raises(ValueError, match="swap_prob: must be within 0..1"):
        cfg(swap_prob=1.5).validate()


def test_every_config_field_is_documented() -> None:
    doc = (REPO / "docs" / "training.md").read_text(encoding="utf-8")
    for name, help_text, _ in field_docs():
        assert help_text, name
        assert f"`{name}`" in doc, f"docs/training.md does not document {name}"


def test_json_rows_with_bad_teacher_text_name_file_line_field(tmp_path: Path) -> None:
    from judgelm.data import DataError

    path = tmp_path / "bad.jsonl"
    row = dict(JUDGELM_ROW, score=None, text="great\nno scores here")
    path.write_text(json.dumps(JUDGELM_ROW) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl.*2.*text"):
        read(path)


def test_samples_without_usable_gold_are_counted() -> None:
    s = Sample(id="x", question="q", answers=[Answer(text="a"), Answer(text="b")])
    g = s.model_copy(update={"id": "y", "gold": Gold(scores=[1.0, 2.0, 3.0])})
    report = BuildReport()
    assert build_examples([s, g], cfg(), report) == []
    assert report.dropped == {"no_teacher_scores": 1, "scores_do_not_match_answers": 1}


def test_bf16_setting_auto_follows_the_hardware(monkeypatch) -> None:
    """``bf16: auto`` (the smol recipe) = bf16 only where it is fast; other values are refused by name."""
    import torch

    from judgelm.models import dtype as dtype_rules
    from judgelm.train.trainer import _want_bf16

    cfg = TrainConfig(model="tiny", data=["x.jsonl"], bf16="auto")
    if not torch.cuda.is_available():
        for fast in (False, True):
            monkeypatch.setattr(dtype_rules, "cpu_has_fast_bf16", lambda fast=fast: fast)
            assert _want_bf16(cfg) is fast
    assert _want_bf16(TrainConfig(model="tiny", data=["x.jsonl"], bf16=False)) is False
    with pytest.raises(ValueError, match="bf16: expected"):
        TrainConfig(model="tiny", data=["x.jsonl"], bf16="yes").validate(require_data=False)
