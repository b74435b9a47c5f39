"""Supervised fine-tuning of judges (``judgelm train``; docs/training.md).

* :mod:`judgelm.train.config` — :class:`TrainConfig`, every field documented, YAML + flag overrides;
* :mod:`judgelm.train.augment` — swap augmentation (answers, ids, scores, ``Assistant 1/2`` mentions);
* :mod:`judgelm.train.data` — samples → (prompt, target) examples, split by prompt, tokenisation/masking;
* :mod:`judgelm.train.trainer` — :func:`train`: transformers ``Trainer`` (+ peft LoRA/QLoRA), resume, final save;
* :mod:`judgelm.train.result` — :class:`TrainResult`, what a run returns;
* :mod:`judgelm.train.modelcard` — the README.md written next to the model;
* :mod:`judgelm.train.launch` — multi-process re-launch (accelerate launch / torchrun).

Importing this package is cheap; torch/transformers load when training starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from judgelm.train.config import TrainConfig, load_config

if TYPE_CHECKING:
    from judgelm.train.result import TrainResult
    from judgelm.train.trainer import train

#: public name → the module that holds it, imported on first use (torch and transformers load when training
#: starts)
_EXPORTS: dict[str, str] = {
    "train": "judgelm.train.trainer",
    "TrainResult": "judgelm.train.result",
}

__all__ = ["TrainConfig", "TrainResult", "load_config", "train"]


def __getattr__(name: str) -> Any:
    """Import an entry point's module on first use, so importing the package stays cheap."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
