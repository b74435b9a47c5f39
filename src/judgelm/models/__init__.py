"""Model loading, one level below the engines: where weights come from (:mod:`~judgelm.models.sources`:
hub id, folder, GGUF file, named base, LoRA adapter), the one transformers loader
(:mod:`~judgelm.models.loading`), the CPU/GPU dtype rule (:mod:`~judgelm.models.dtype`), the tiny
test Llama (:mod:`~judgelm.models.tiny`) and the export to a plain HF folder (:mod:`~judgelm.models.export`).

Engines, training, the reading judge, answer generation and mini import from here; nothing here
imports from :mod:`judgelm.engines`. The face is lazy: ``import judgelm.models`` loads no torch.
"""

from __future__ import annotations

from judgelm.lazy import lazy_face

#: public name → the module that defines it (imported on first use)
_WHERE = {
    "LoadedModel": ".loading",
    "load_causal_lm": ".loading",
    "prompt_token_ids": ".loading",
    "cpu_compute_dtype": ".dtype",
    "cpu_has_fast_bf16": ".dtype",
    "resolve_device": ".dtype",
    "resolve_dtype": ".dtype",
    "NAMED_BASES": ".sources",
    "ModelSource": ".sources",
    "NamedBase": ".sources",
    "adapter_base": ".sources",
    "resolve_model_source": ".sources",
    "build_tiny_llama": ".tiny",
    "export_hf": ".export",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_face(__name__, _WHERE, __all__)
