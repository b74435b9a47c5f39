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

from judgelm.lazy import lazy_face

#: public name → the module that defines it (imported on first use)
_WHERE = {
    "Encoder": ".encoder",
    "HeadConfig": ".model",
    "load_head": ".model",
    "MiniJudge": ".scorer",
    "Problem": ".scorer",
    "TeacherItem": ".teacher",
    "MiniTrainConfig": ".train",
    "train_mini": ".train",
    "load_eval_set": ".evalsets",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_face(__name__, _WHERE, __all__)
