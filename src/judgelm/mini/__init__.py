"""The built-in CPU judge: frozen MiniLM features + a small order-invariant head.

Modules: ``encoder`` (embeddings, long-input policy, disk cache), ``features`` (structural
features), ``model`` (head: quality, tie band, grade scale, temperature), ``scorer`` (problems →
scores / verdict / confidence: ``MiniJudge``), ``teacher`` (GPT-4 teacher labels, read through
:mod:`judgelm.data`'s readers), ``train`` (the recipe, ``train_mini``), ``evalsets`` (the
human-labelled evaluation sets). The engine is ``judgelm.engines.mini.MiniEngine``; the shipped
weights live in ``judgelm/assets/mini``. Nothing here imports from :mod:`judgelm.engines`; the
face is lazy (no torch on import).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name → the module that defines it (imported on first use)
_WHERE = {
    "Encoder": "encoder",
    "HeadConfig": "model",
    "load_head": "model",
    "MiniJudge": "scorer",
    "Problem": "scorer",
    "TeacherItem": "teacher",
    "MiniTrainConfig": "train",
    "train_mini": "train",
    "load_eval_set": "evalsets",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import the defining module only when one of its names is asked for (torch is heavy)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'judgelm.mini' has no attribute {name!r}")
    return getattr(importlib.import_module(f"judgelm.mini.{_WHERE[name]}"), name)
