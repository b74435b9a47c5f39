"""Building judge training data: candidate answers, sampled pairs, teacher judgements, JudgeLM-format splits.

``generators`` (answer generators hf/openai/vllm: the candidate model's own chat template and
sampling), ``generate`` (a resumable ``judgelm generate`` run), ``pairing`` (answers → pairs),
``dataset`` (teacher judgements → JudgeLM train/val files). A feature above the engines: it may
import :mod:`judgelm.engines`, never the other way round. The face is lazy (no torch on import).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name → the module that defines it (imported on first use)
_WHERE = {
    "GenOutput": "generators",
    "GenRequest": "generators",
    "Generator": "generators",
    "Sampling": "generators",
    "load_generator": "generators",
    "GenerateSummary": "generate",
    "load_prompts": "generate",
    "run_generate": "generate",
    "Candidate": "pairing",
    "PairingReport": "pairing",
    "read_candidates": "pairing",
    "select_pairs": "pairing",
    "BuildOptions": "dataset",
    "build_live": "dataset",
    "build_recorded": "dataset",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import the defining module only when one of its names is asked for."""
    if name not in _WHERE:
        raise AttributeError(f"module 'judgelm.build' has no attribute {name!r}")
    return getattr(importlib.import_module(f"judgelm.build.{_WHERE[name]}"), name)
