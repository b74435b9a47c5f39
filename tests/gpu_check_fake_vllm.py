"""A stand-in for the ``vllm`` package, for the test of the check's vLLM part on a CPU.

It implements the part of vLLM's offline API that ``judgelm.engines.vllm`` uses — ``LLM(...)``,
``get_tokenizer()``, ``generate(prompts, params)`` with stop strings, top-k logprobs and EOS — by
greedy decoding with transformers, one prompt at a time. It proves the glue (the check's vLLM process,
the engine's request translation and output reading), never vLLM itself; its version says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

__version__ = "0.0-test-double"


@dataclass
class SamplingParams:
    temperature: float = 1.0
    max_tokens: int = 16
    logprobs: int | None = None
    stop: list[str] = field(default_factory=list)
    include_stop_str_in_output: bool = False
    repetition_penalty: float = 1.0
    skip_special_tokens: bool = True


class LLM:
    def __init__(self, model: str, tensor_parallel_size: int = 1, dtype: str = "auto",
                 enable_prefix_caching: bool = False, max_model_len: int | None = None, **options: Any) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        assert enable_prefix_caching, "the judge engine always asks for prefix caching"
        self.options = options
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=max_model_len or 2048))

    def get_tokenizer(self) -> Any:
        return self.tokenizer

    def generate(self, prompts: list[str | dict[str, list[int]]], params: list[SamplingParams],
                 use_tqdm: bool = True) -> list[Any]:
        return [self._one(p, sp) for p, sp in zip(prompts, params)]

    def _one(self, prompt: str | dict[str, list[int]], sp: SamplingParams) -> Any:
        import torch

        # like vLLM: a text prompt is tokenized here, a TokensPrompt dict is taken as it is
        ids = prompt["prompt_token_ids"] if isinstance(prompt, dict) else self.tokenizer(prompt)["input_ids"]
        seq, out_ids, steps = list(ids), [], []
        eos = self.tokenizer.eos_token_id
        text = ""
        with torch.inference_mode():
            for _ in range(sp.max_tokens):
                logits = self.model(torch.tensor([seq])).logits[0, -1].float()
                logp = torch.log_softmax(logits, -1)
                tok = int(logp.argmax())
                top = torch.topk(logp, sp.logprobs or 1)
                steps.append({int(i): SimpleNamespace(logprob=float(v)) for v, i in zip(top.values, top.indices)}
                             | {tok: SimpleNamespace(logprob=float(logp[tok]))})
                out_ids.append(tok)
                seq.append(tok)
                if tok == eos:
                    break
                text = self.tokenizer.decode(out_ids, skip_special_tokens=sp.skip_special_tokens)
                hit = min((text.find(s) for s in sp.stop if s in text), default=-1)
                if hit >= 0:
                    stop = next(s for s in sp.stop if text.find(s) == hit)
                    text = text[: hit + (len(stop) if sp.include_stop_str_in_output else 0)]
                    break
        completion = SimpleNamespace(text=text, token_ids=out_ids, logprobs=steps if sp.logprobs else None)
        return SimpleNamespace(prompt_token_ids=ids, outputs=[completion])
