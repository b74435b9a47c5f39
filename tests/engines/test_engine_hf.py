"""The hf engine's mechanics on real tiny Llamas (random weights, and one taught a few judgements)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from judgelm.engines import load_engine
from judgelm.engines.base import JudgeRequest
from judgelm.engines.batching import common_prefix_length, token_budget_batches
from judgelm.engines.confidence import (
    JUDGELM_VALUES,
    ValueTokens,
    classify_token,
    judgelm_reading,
    read_slots,
    win_probabilities,
)
from judgelm.prompts import render
from judgelm.schema import Answer, Sample

REPO = Path(__file__).resolve().parents[2]


def _samples() -> list[Sample]:
    rows = [json.loads(line) for line in (REPO / "examples" / "pairs.jsonl").read_text().splitlines() if line.strip()]
    return [Sample(id=str(r["question_id"]), question=r["question_body"], reference=r["reference"]["text"],
                   answers=[Answer(text=r["answer1_body"]), Answer(text=r["answer2_body"])]) for r in rows]


def _request(sample: Sample, *, template: str = "judgelm", mode: str = "pair", fast: bool = True,
             max_new_tokens: int = 16) -> JudgeRequest:
    return JudgeRequest(key=f"{sample.id}|{template}|{mode}", sample=sample, prompt=render(sample, template, mode),
                        template=template, mode=mode, fast=fast, max_new_tokens=max_new_tokens)


@pytest.fixture(scope="module")
def engine32(tiny_llama: Path):
    return load_engine(f"hf:{tiny_llama}", dtype="float32", token_budget=65536)


# ---------------------------------------------------------------- batching & prefix reuse
def test_token_budget_batches_respect_budget_and_sort_longest_first() -> None:
    lengths = [5, 100, 30, 31, 7, 60]
    batches = token_budget_batches(lengths, token_budget=120)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches[0] == [1]  # 100 alone: a second row would pad to 200 > 120
    for b in batches:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 120
    firsts = [lengths[b[0]] for b in batches]
    assert firsts == sorted(firsts, reverse=True)


def test_common_prefix_length() -> None:
    assert common_prefix_length([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert common_prefix_length([[7, 8], [7, 8]]) == 2
    assert common_prefix_length([[1], [2]]) == 0


def test_batched_greedy_equals_per_sample_across_lengths(tiny_llama: Path) -> None:
    # the shared-prefix prefill runs only outside batch-invariant mode (docs/judging.md)
    engine32 = load_engine(f"hf:{tiny_llama}", dtype="float32", token_budget=65536, batch_invariant=False)
    samples = _samples()
    reqs = [_request(s, fast=False, max_new_tokens=6) for s in samples]
    reqs.append(_request(samples[0], mode="single", fast=False, max_new_tokens=6))
    assert len({len(engine32.encode(r.prompt)) for r in reqs}) > 3  # really different lengths
    engine32.stats.prefill_batches.clear()
    batched = engine32.judge_batch(reqs)
    lcp, suffixes = engine32.stats.prefill_batches[0]
    assert lcp >= 8 and len(suffixes) == len(reqs)  # the shared system prompt ran once for the batch
    alone = [engine32.judge_batch([r])[0] for r in reqs]
    assert [o.text for o in batched] == [o.text for o in alone]
    assert all(o.completion_tokens == 6 for o in batched)  # random weights never stop early here


def test_token_counts_confidence_and_latency(engine32, tiny_llama: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    reqs = [_request(s) for s in _samples()]
    outs = engine32.judge_batch(reqs)
    for r, o in zip(reqs, outs):
        assert o.prompt_tokens == len(tok(r.prompt)["input_ids"])
        assert tok(r.prompt)["input_ids"][0] == tok.bos_token_id
        assert 1 <= o.completion_tokens <= 3 * r.n_answers + 2  # fast mode: score-line budget
        assert 0.0 <= o.confidence <= 1.0
        assert o.latency_s > 0


def test_identical_prompts_run_once(engine32) -> None:
    s = _samples()[0]
    before = engine32.stats.deduplicated
    a, b = engine32.judge_batch([_request(s), _request(s)])
    assert engine32.stats.deduplicated == before + 1
    assert a.text == b.text and a.confidence == b.confidence


def test_cpu_default_dtype_is_bf16_only_where_the_cpu_has_native_bf16(tiny_llama: Path) -> None:
    from judgelm.models.dtype import cpu_has_fast_bf16

    want = torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    eng = load_engine(f"hf:{tiny_llama}")
    assert eng.device == "cpu" and eng.dtype == want
    assert next(eng.model.parameters()).dtype == want
    out = eng.judge_batch([_request(_samples()[1], template="pandalm")])[0]
    assert out.completion_tokens >= 1 and 0.0 <= out.confidence <= 1.0


def test_float16_on_cpu_is_refused(tiny_llama: Path) -> None:
    with pytest.raises(ValueError, match="bfloat16"):
        load_engine(f"hf:{tiny_llama}", dtype="float16")


def test_beam_search_matches_generate(engine32) -> None:
    """PandaLM's original decoding (beams + repetition penalty) gives what ``generate`` gives."""
    r = _request(_samples()[2], template="pandalm", fast=False, max_new_tokens=10)
    engine32.num_beams, engine32.repetition_penalty = 3, 1.2
    try:
        out = engine32.judge_batch([r])[0]
    finally:
        engine32.num_beams, engine32.repetition_penalty = 1, 1.0
    ids = torch.tensor([engine32.encode(r.prompt)])
    ref = engine32.model.generate(ids, do_sample=False, num_beams=3, repetition_penalty=1.2, max_new_tokens=10,
                                  early_stopping=True, pad_token_id=engine32.pad_id)
    assert out.text == engine32.tokenizer.decode(ref[0, ids.shape[1]:], skip_special_tokens=True)
    assert 0.0 <= out.confidence <= 1.0


# ---------------------------------------------------------------- a tiny judge that learned its format
TARGETS = {  # (template, mode) → what the taught model writes
    ("judgelm", "pair"): "8 3\nAssistant 1 is correct and Assistant 2 is not.",
    ("judgelm", "single"): " 6\nThe answer is partly right.",
    ("pandalm", "pair"): "2\n\n### Reason: Response 2 is better.\n\n### Reference: ok",
}


@pytest.fixture(scope="module")
def taught_judge(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama fine-tuned for a few steps to write each target for the first example."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("taught")
    shutil.copytree(tiny_llama, out, dirs_exist_ok=True)
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    sample = _samples()[0]
    batch = []
    for (template, mode), target in TARGETS.items():
        prompt_ids = tok(render(sample, template, mode))["input_ids"]
        target_ids = tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        batch.append((torch.tensor([prompt_ids + target_ids]), len(prompt_ids)))
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(120):
        loss = 0.0
        for ids, n_prompt in batch:
            labels = ids.clone()
            labels[:, :n_prompt] = -100
            loss = loss + model(input_ids=ids, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def judge(taught_judge: Path):
    return load_engine(f"hf:{taught_judge}", dtype="float32")


def test_fast_mode_stops_at_newline_and_reads_confidence(judge) -> None:
    s = _samples()[0]
    fast, full = judge.judge_batch([_request(s), _request(s, fast=False, max_new_tokens=40)])
    assert fast.text == "8 3\n"
    assert fast.completion_tokens == len(judge.tokenizer("8 3\n", add_special_tokens=False)["input_ids"])
    assert full.text.startswith("8 3\nAssistant 1") and full.completion_tokens > fast.completion_tokens
    assert fast.confidence > 0.5 and fast.confidence == pytest.approx(full.confidence)
    p_tie, p1, p2 = fast.extra["verdict_probs"]
    assert p1 == pytest.approx(fast.confidence) and p_tie + p1 + p2 == pytest.approx(1.0)
    assert fast.extra["expected_scores"][0] > fast.extra["expected_scores"][1]


def test_single_mode_reads_the_grade(judge) -> None:
    out = judge.judge_batch([_request(_samples()[0], mode="single")])[0]
    assert out.text == " 6\n"
    slots = out.extra["slot_distributions"]
    assert len(slots) == 1 and out.confidence == pytest.approx(slots[0]["6"]) and out.confidence > 0.5


def test_pandalm_mode_verdict_distribution(judge) -> None:
    s = _samples()[0]
    fast, full = judge.judge_batch([_request(s, template="pandalm"),
                                    _request(s, template="pandalm", fast=False, max_new_tokens=30)])
    assert fast.text == "2\n"
    assert full.text.startswith("2\n\n### Reason:")
    p_tie, p1, p2 = fast.extra["verdict_probs"]
    assert fast.confidence == pytest.approx(p2) and p2 > max(p1, p_tie)


def test_untaught_prompt_in_same_batch_keeps_its_own_output(judge) -> None:
    """A garbage row and a well-formed row share a batch; the garbage row gets confidence 0 only if unparsable."""
    taught, other = judge.judge_batch([_request(_samples()[0]), _request(_samples()[3])])
    assert taught.text == "8 3\n"
    if judgelm_reading(other.text, other.extra["slot_distributions"], 2, pinned=False).confidence == 0.0:
        assert other.confidence == 0.0


# ---------------------------------------------------------------- confidence arithmetic
def test_classify_token() -> None:
    assert classify_token("8", JUDGELM_VALUES) == ("bare", ("8",))
    assert classify_token(" 8", JUDGELM_VALUES) == ("sep", ("8",))
    assert classify_token("1", JUDGELM_VALUES) == ("bare", ("1", "10"))
    assert classify_token("10", JUDGELM_VALUES) == ("bare", ("10",))
    assert classify_token("7\n", JUDGELM_VALUES) == ("bare", ("7",))
    assert classify_token("\n", JUDGELM_VALUES) is None
    assert classify_token("12", JUDGELM_VALUES) is None
    assert classify_token("T", ("1", "2", "Tie")) == ("bare", ("Tie",))


def test_read_slots_resolves_ten_with_the_next_step() -> None:
    texts = ["1", "0", " ", "7", "8", "\n", "x"]
    vt = ValueTokens.build(texts, JUDGELM_VALUES)
    g = {key: i for i, key in enumerate(vt.groups)}

    def masses(**by_key: float) -> list[float]:
        m = [0.0] * len(vt.groups)
        for name, p in by_key.items():
            m[g[{"one": ("bare", ("1", "10")), "seven": ("bare", ("7",)), "eight": ("bare", ("8",)),
                 "cont": ("cont", ("0",))}[name]]] = p
        return m

    # greedy "1" "0" " " "7" "\n": slot 1 = {1 or 10: 0.8, 8: 0.2}, and "0" follows "1" with p = 0.75
    steps = [masses(one=0.8, eight=0.2), masses(cont=0.75), masses(), masses(seven=0.6, eight=0.3), masses()]
    slots = read_slots([0, 1, 2, 3, 5], steps, vt, n_slots=2)
    nonzero = [{v: p for v, p in slot.items() if p > 1e-12} for slot in slots]
    assert nonzero[0] == pytest.approx({"10": 0.6, "1": 0.2, "8": 0.2})
    assert nonzero[1] == pytest.approx({"7": 2 / 3, "8": 1 / 3})
    reading = judgelm_reading("10 7\n", slots, n_answers=2, pinned=False)
    # P(answer 1 wins) = P(10)·1 + P(8)·P(7) = 0.6 + 0.2·2/3
    assert reading.confidence == pytest.approx(0.6 + 0.2 * 2 / 3)
    assert judgelm_reading("garbage", slots, n_answers=2, pinned=False).confidence == 0.0


def test_win_probabilities() -> None:
    tie, one, two = win_probabilities([{8.0: 1.0}, {8.0: 0.5, 9.0: 0.25, 3.0: 0.25}])
    assert (tie, one, two) == pytest.approx((0.5, 0.25, 0.25))
    probs = win_probabilities([{5.0: 0.5, 6.0: 0.5}, {5.0: 0.5, 6.0: 0.5}, {4.0: 1.0}])
    assert sum(probs) == pytest.approx(1.0) and probs[3] == 0.0


# ---------------------------------------------------------------- context window
def test_a_prompt_over_the_context_fails_alone_without_truncation(tiny_llama: Path, tmp_path: Path) -> None:
    """A too-long prompt is an error for that request only; the rest of the batch is judged, and a
    run records it as an error (retried by the next run), never as a verdict on a cut prompt."""
    from judgelm.judging.runner import run_judge

    samples = _samples()[:2]
    long = samples[1].model_copy(update={"answers": [Answer(text="word " * 3000), samples[1].answers[1]]})
    engine = load_engine(f"hf:{tiny_llama}", dtype="float32")
    assert engine.max_context == 2048  # read from the model config
    outs = engine.judge_batch([_request(samples[0]), _request(long)])
    assert outs[0].error is None and outs[0].text
    assert outs[1].error and "over hf:" in outs[1].error and "context of 2048 tokens" in outs[1].error
    summary = run_judge([samples[0], long], engine, tmp_path / "out.jsonl", cache=False)
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert summary.errors == 1 and rows[0]["status"] != "error"  # ok, or unparsed: random weights
    assert rows[1]["status"] == "error" and "context of 2048" in rows[1]["error"]


def test_cpu_dtype_rule_follows_the_cpus_bf16_support(monkeypatch, caplog) -> None:
    """auto = bf16 only where the CPU multiplies bf16 natively; an explicit bf16 elsewhere warns."""
    import logging

    from judgelm.models import dtype as dtype_rules

    monkeypatch.setattr(dtype_rules, "cpu_has_fast_bf16", lambda: False)
    assert dtype_rules.resolve_dtype("auto", "cpu") == torch.float32
    with caplog.at_level(logging.WARNING, logger="judgelm.models.dtype"):
        assert dtype_rules.resolve_dtype("bfloat16", "cpu") == torch.bfloat16
    assert "without native bf16" in caplog.text
    monkeypatch.setattr(dtype_rules, "cpu_has_fast_bf16", lambda: True)
    assert dtype_rules.resolve_dtype("auto", "cpu") == torch.bfloat16
    assert dtype_rules.resolve_dtype("float32", "cpu") == torch.float32
