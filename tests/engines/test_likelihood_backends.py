"""The prompt-log-probability path of ``judgelm.engines.likelihood_vllm`` (what vLLM's in-process
engine and its server answer) builds the reading judge's scores exactly as the transformers scorer:
same context and answer tokens, end-of-turn, truncation, empty answers, caches. Checked here with the
per-token log-probabilities of one full transformers forward pass per sequence as the backend; the
same path against a real vLLM is in tests/vllm_real."""

from __future__ import annotations

from pathlib import Path

import pytest

from judgelm.engines.likelihood import EMPTY_CONTEXT, LikelihoodScorer, question_messages
from judgelm.engines.likelihood_vllm import _PromptLogprobScorer, make_scorer

ITEMS = [("What is the capital of Australia?", "Canberra, purpose-built as the seat of government."),
         ("What is the capital of Australia?", "Sydney."),
         ("Convert 5 kilometres to miles.", ""),
         ("Convert 5 kilometres to miles.", "5 km is about 3.11 miles, since one kilometre is 0.621371 miles.")]


class FullForward(_PromptLogprobScorer):
    """Per-token log-probabilities from one plain forward pass per sequence (no KV sharing)."""

    def __init__(self, model_dir: str, max_answer_tokens: int | None = None) -> None:
        from judgelm.models.loading import load_causal_lm

        self.hf = load_causal_lm(model_dir, dtype="float32", device="cpu")
        self._setup(model_dir, self.hf.tokenizer, self.hf.dtype, max_answer_tokens, None, "full-forward")

    def prompt_logprobs(self, sequences: list[list[int]], starts: list[int]) -> list[list[float]]:
        import torch

        out = []
        with torch.inference_mode():
            for seq, start in zip(sequences, starts):
                logits = self.hf.model(torch.tensor([seq])).logits[0].float()
                lp = torch.log_softmax(logits[:-1], dim=-1).gather(1, torch.tensor(seq[1:])[:, None])[:, 0]
                out.append(lp[start - 1:].tolist())
        return out


@pytest.mark.parametrize("max_answer_tokens", [None, 6])
def test_prompt_logprob_path_gives_the_scorers_figures(tiny_llama: Path, max_answer_tokens: int | None) -> None:
    ref = LikelihoodScorer(str(tiny_llama), dtype="float32", device="cpu", max_answer_tokens=max_answer_tokens)
    alt = FullForward(str(tiny_llama), max_answer_tokens=max_answer_tokens)
    contexts = [question_messages(q) for q, _ in ITEMS]
    answers = [a for _, a in ITEMS]
    want, got = ref.signals(contexts, answers), alt.signals(contexts, answers)
    for w, g in zip(want, got):
        for a, b in ((w.cond, g.cond), (w.uncond, g.uncond)):
            assert (a.n_tokens, a.truncated) == (b.n_tokens, b.truncated)
            assert b.logprob == pytest.approx(a.logprob, abs=1e-4 * max(1, a.n_tokens))
    assert any(s.cond.truncated for s in got) == (max_answer_tokens is not None)
    # every distinct item scored once, the rest from the cache
    assert (EMPTY_CONTEXT, "Sydney.") in alt.cache and len(alt.cache) == len(set(zip(contexts, answers))) + 4
    assert alt.fingerprint().endswith("|full-forward") and alt.fingerprint() != ref.fingerprint()


def test_unknown_likelihood_backend_is_named() -> None:
    with pytest.raises(ValueError, match="hf, vllm or server"):
        make_scorer("llamacpp", "m")
    with pytest.raises(ValueError, match="api_base"):
        make_scorer("server", "m")
