"""The vllm engine against a real vLLM (the CPU build here): the same judgements as the hf engine
on the same model — the smol judge of tests/fixtures merged into an HF folder — in fast and explained mode,
both answer orders (--swap), on the examples and on PandaLM's test set.

Run with .venv-vllm's interpreter (scripts/setup-vllm.sh); elsewhere the module is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed in this interpreter: scripts/setup-vllm.sh builds "
                                   ".venv-vllm; run .venv-vllm/bin/python -m pytest tests/vllm_real")

from judging_runs import EXAMPLES, check_likelihoods, judge_all, shared_data_dir  # noqa: E402  (after the skip: it is only for the vLLM runs)

from judgelm.engines import load_engine  # noqa: E402


def rows(path: Path) -> dict[tuple[str, tuple[int, ...]], dict]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[(row["sample_id"], tuple(row["order"]))] = row
    return out


@pytest.fixture(scope="module")
def vllm_engine(judge_dir: Path):  # noqa: ANN201
    """One vLLM engine for the module (one model load). float32 like the hf side: the comparison is of
    engines, not of dtypes (``auto`` is bf16 on a CPU with AMX)."""
    with load_engine(f"vllm:{judge_dir}", dtype="float32", max_model_len=4096, kv_cache_space=1) as engine:
        yield engine


@pytest.fixture(scope="module")
def vllm_judgements(vllm_engine, hf_judgements: dict[str, Path], tmp_path_factory) -> dict[str, Path]:  # noqa: ANN001
    assert vllm_engine.settings["enforce_eager"] is True and vllm_engine.settings["kv_cache_memory_bytes"] == 2**30
    assert vllm_engine.chat_template is True  # the merged folder carries judgelm_train.json
    return judge_all(vllm_engine, tmp_path_factory.mktemp("vllm-judgements"), shared_data_dir())


@pytest.mark.parametrize("run", ["examples-fast", "examples-explained", "pandalm-fast"])
def test_vllm_gives_the_hf_judgements(run: str, hf_judgements: dict[str, Path],
                                      vllm_judgements: dict[str, Path]) -> None:
    if run not in hf_judgements:
        pytest.skip(f"{run}: shared data not found")
    hf, vl = rows(hf_judgements[run]), rows(vllm_judgements[run])
    assert hf.keys() == vl.keys() and len(hf) >= 12
    assert {k[1] for k in hf} == {(0, 1), (1, 0)}  # both orders judged
    for key, h in hf.items():
        v = vl[key]
        assert v["judge"].startswith("vllm:") and h["judge"].startswith("hf:")
        assert (v["status"], v["verdict"], v["scores"]) == (h["status"], h["verdict"], h["scores"]), key
        assert v["raw"] == h["raw"], key
        assert v["confidence"] == pytest.approx(h["confidence"], abs=1e-3), key
    assert sum(h["status"] == "ok" for h in hf.values()) >= len(hf) // 2  # the comparison is of real verdicts


def test_prompt_logprobs_equal_the_hf_models(vllm_engine, judge_dir: Path) -> None:  # noqa: ANN001
    """An answer's per-token log-probabilities after its question, read by vLLM without generating,
    equal transformers' on the same weights within 1e-3 nats per token."""
    import torch

    from judgelm.data.intake import read_input
    from judgelm.models.loading import load_causal_lm, prompt_token_ids
    from judgelm.prompts.chat import wrap_chat

    lm = load_causal_lm(str(judge_dir), dtype="float32", device="cpu")
    tok = lm.tokenizer
    seqs, starts = [], []
    for sample in read_input(EXAMPLES).samples:
        context = prompt_token_ids(tok, wrap_chat(tok, sample.question))
        for answer in sample.answers:
            seqs.append(context + tok(answer.text, add_special_tokens=False)["input_ids"])
            starts.append(len(context))
    got = vllm_engine.prompt_logprobs(seqs, starts)
    worst = 0.0
    with torch.inference_mode():
        for seq, start, lps in zip(seqs, starts, got):
            logits = lm.model(torch.tensor([seq])).logits[0].float()
            want = torch.log_softmax(logits[:-1], dim=-1).gather(1, torch.tensor(seq[1:])[:, None])[:, 0]
            want = want[start - 1:].tolist()
            assert len(lps) == len(want) == len(seq) - start > 0
            worst = max(worst, max(abs(a - b) for a, b in zip(lps, want)))
    assert worst < 1e-3, worst



def test_reading_judge_likelihoods_through_vllm(vllm_engine, hf_likelihoods: list[list]) -> None:  # noqa: ANN001
    from judgelm.engines.likelihood_vllm import VLLMLikelihoodScorer

    scorer = VLLMLikelihoodScorer(engine=vllm_engine, max_answer_tokens=256)
    assert scorer.fingerprint().endswith("|vllm")
    check_likelihoods(scorer, hf_likelihoods)
