"""What a training run returns; below the trainer and the model card that reports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TrainResult:
    output_dir: str
    completed: bool  # False when stopped early by stop_after_steps (resume to finish)
    global_step: int
    train_loss: float | None
    eval_loss: float | None
    seconds: float
    world_size: int
    report: dict[str, Any]
