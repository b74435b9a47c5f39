"""LoRA training steps through the project's own trainer (``judgelm.train.train``) on one device.

Why the project's trainer and not a bare loop: what is unproven on a GPU is that path — Trainer
arguments, bf16 detection, peft wrapping, collator and saving the adapters.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from judgelm.schema import Sample


def lora_steps(model_dir: str, samples: list[Sample], out_dir: Path, plan: Any) -> dict[str, Any]:
    """``plan.lora_steps`` optimiser steps of LoRA on ``model_dir``; returns the figures."""
    import torch

    from judgelm.train.config import TrainConfig
    from judgelm.train.trainer import train

    cfg = TrainConfig(
        model=model_dir, output_dir=str(out_dir), finetune="lora", merge_lora=False, max_steps=plan.lora_steps,
        per_device_batch_size=plan.lora_batch, learning_rate=2e-4, warmup_ratio=0.0, lr_scheduler="constant",
        max_length=plan.lora_max_length, save_steps=10**6, save_total_limit=1, logging_steps=5, seed=0,
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    result = train(cfg, samples=samples)
    seconds = time.perf_counter() - t0
    summary = out_dir / "judgelm_train.json"
    figures: dict[str, Any] = {"completed": result.completed, "global_step": result.global_step,
                               "train_loss": result.train_loss, "seconds": seconds, "trainer_seconds": result.seconds,
                               "batch": plan.lora_batch, "adapter_saved": (out_dir / "adapter_config.json").is_file(),
                               "summary_written": summary.is_file(),
                               "steps_per_s": result.global_step / seconds if seconds else 0.0}
    if torch.cuda.is_available():
        figures["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
    from gpucheck.speed import free_device_memory

    free_device_memory("cuda" if torch.cuda.is_available() else "cpu")
    return figures
