"""Loading a causal LM with transformers, once for every user of it: the hf judge engine, answer
generation (``judgelm generate``), the server's OpenAI-protocol endpoints (which reuse the engine's
model), the reading judge's likelihoods, training and benchmarks. The device and dtype rules it
applies live in :mod:`judgelm.models.dtype`; where the weights come from in
:mod:`judgelm.models.sources`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from judgelm.models.dtype import resolve_device, resolve_dtype

logger = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A model in eval mode on its device, its tokenizer (with a pad token) and its stop tokens."""

    model: Any
    tokenizer: Any
    device: str
    dtype: Any
    eos_ids: set[int]


def load_causal_lm(
    target: str,
    *,
    dtype: Any = "auto",
    device: str = "auto",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
    padding_side: str | None = None,
) -> LoadedModel:
    """``AutoModelForCausalLM`` + ``AutoTokenizer`` from a hub id, a local folder, a GGUF file
    (``path/to/x.gguf``, dequantised), a named base (``smollm2-135m-instruct``,
    :mod:`judgelm.models.sources`) or a LoRA adapter folder (``adapter_config.json``: its base is
    loaded by the same rules — it may be a named base — and the adapter merged in)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from judgelm.models.sources import adapter_base, mark_dequantised, missing_gguf_support, resolve_model_source

    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    adapter_dir, base = adapter_base(target)
    src = resolve_model_source(base or target)
    if src.gguf_file and missing_gguf_support():
        raise RuntimeError(missing_gguf_support())
    tok_src = adapter_dir if adapter_dir and _has_tokenizer(adapter_dir) else None
    if tok_src:
        tok = AutoTokenizer.from_pretrained(tok_src, trust_remote_code=trust_remote_code)
    else:
        tok = AutoTokenizer.from_pretrained(src.path_or_id, **src.kwargs(), trust_remote_code=trust_remote_code)
    if padding_side:
        tok.padding_side = padding_side
    if tok.pad_token_id is None:
        tok.pad_token = tok.unk_token or tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(src.path_or_id, **src.model_kwargs(), **kwargs)
    if src.gguf_file:
        mark_dequantised(model)
    if adapter_dir:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
        logger.info("merged the LoRA adapter %s into %s", adapter_dir, src)
    model = model.to(device).eval()
    eos = model.generation_config.eos_token_id
    eos = eos if eos is not None else tok.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
    return LoadedModel(model, tok, device, dtype, eos_ids)


def prompt_token_ids(tokenizer: Any, prompt: str) -> list[int]:
    """A judge prompt's token ids, starting with BOS (the JudgeLM code forces the first id to BOS).

    One rule for every engine, so the hf engine and vLLM read the same tokens even where a
    tokenizer (SmolLM2's, say) adds no BOS of its own."""
    ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    bos = tokenizer.bos_token_id
    if bos is not None and (not ids or ids[0] != bos):
        ids = [bos] + ids
    return ids


def _has_tokenizer(folder: str) -> bool:
    from pathlib import Path

    return (Path(folder) / "tokenizer.json").is_file() or (Path(folder) / "tokenizer_config.json").is_file()
