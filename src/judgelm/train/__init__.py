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

from typing import TYPE_CHECKING

from judgelm.lazy import lazy_face
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


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, __all__)
