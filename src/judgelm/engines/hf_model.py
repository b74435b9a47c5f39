"""Loading a causal LM with transformers, once for every user of it: the hf judge engine, answer
generation (``judgelm generate``), the server's OpenAI-protocol endpoints (which reuse the engine's
model) and benchmarks. Device and dtype rules live here too: bf16 wherever it is fast (a bf16 GPU, or
a CPU whose matmul library has native bf16 kernels), fp32 on other CPUs, never fp16 on a CPU."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


def resolve_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (oneDNN's bf16 GEMM: AVX512-BF16, AMX, AVX512 cores).

    Where it does not (AVX2-only CPUs), torch falls back to a scalar bf16 kernel: measured on an
    AVX2 EPYC, two threads, 1.8 GFLOP/s per GEMM in bf16 against 67 in fp32, and 4-5x slower end to
    end (benchmarks/bench_cpu_dtype.py). The ``auto`` dtype on such a CPU is therefore fp32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def cpu_compute_dtype():
    """The dtype CPU work runs in: bf16 where it is fast (:func:`cpu_has_fast_bf16`), else fp32."""
    import torch

    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32


def resolve_dtype(dtype: Any, device: str):
    """``auto``: bf16 on GPUs that have it (fp16 on older ones), :func:`cpu_compute_dtype` on a CPU."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return cpu_compute_dtype()
    names = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp32": torch.float32, "float32": torch.float32,
             "fp16": torch.float16, "float16": torch.float16}
    if dtype not in names:
        raise ValueError(f"unknown dtype {dtype!r}: expected auto, bfloat16, float32 or float16")
    if names[dtype] is torch.float16 and not device.startswith("cuda"):
        raise ValueError("float16 on CPU is slow and inaccurate: use bfloat16 or float32 (or auto)")
    if names[dtype] is torch.bfloat16 and not device.startswith("cuda") and not cpu_has_fast_bf16():
        logger.warning("dtype bfloat16 on a CPU without native bf16 matmul (%s): expect it to run 4-5x slower "
                       "than float32 (dtype auto picks float32 here)", torch.backends.cpu.get_cpu_capability())
    return names[dtype]


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
    :mod:`judgelm.engines.bases`) or a LoRA adapter folder (``adapter_config.json``: its base is
    loaded by the same rules — it may be a named base — and the adapter merged in)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from judgelm.engines.bases import adapter_base, mark_dequantised, missing_gguf_support, resolve_model_source

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
