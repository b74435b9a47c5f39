"""``judgelm train``: fine-tune a judge (recipe sft; smol = sft with the packaged smol config) or build the built-in mini judge (recipe mini)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from judgelm.commands.errors import fail

logger = logging.getLogger(__name__)


def main(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (every field: docs/training.md)."),
    recipe: str = typer.Option("sft", "--recipe", help="sft = fine-tune an LLM judge; smol = the smol judge's recipe (sft with the packaged config judgelm/train/recipes/smol.yaml unless --config); mini = train the built-in CPU judge."),
    model: Optional[str] = typer.Option(None, "--model", help="Base model directory or hub id."),
    data: Optional[list[str]] = typer.Option(None, "--data", help="Training source (repeatable)."),
    data_format: Optional[str] = typer.Option(None, "--format", help="Force a reader for every source."),
    output_dir: Optional[str] = typer.Option(None, "--output-dir", "-o", help="Where the judge is written."),
    finetune: Optional[str] = typer.Option(None, "--finetune", help="full | lora | qlora."),
    epochs: Optional[float] = typer.Option(None, "--epochs"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Per-device batch size."),
    grad_accum: Optional[int] = typer.Option(None, "--grad-accum", help="Gradient accumulation steps."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate."),
    max_length: Optional[int] = typer.Option(None, "--max-length"),
    truncation: Optional[str] = typer.Option(None, "--truncation", help="drop | truncate_prompt_middle."),
    max_answer_chars: Optional[int] = typer.Option(None, "--max-answer-chars", help="Cut every answer to N characters."),
    max_question_chars: Optional[int] = typer.Option(None, "--max-question-chars", help="Cut the question to N characters."),
    swap_prob: Optional[float] = typer.Option(None, "--swap-prob"),
    reference_show_prob: Optional[float] = typer.Option(None, "--reference-show-prob"),
    pair_single_grades: Optional[bool] = typer.Option(None, "--pair-single-grades/--no-pair-single-grades"),
    targets: Optional[str] = typer.Option(None, "--targets", help="full | scores_only."),
    eval_fraction: Optional[float] = typer.Option(None, "--eval-fraction", help="Share of prompts held out."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    bf16: Optional[bool] = typer.Option(None, "--bf16/--no-bf16"),
    gradient_checkpointing: Optional[bool] = typer.Option(None, "--gradient-checkpointing/--no-gradient-checkpointing"),
    save_steps: Optional[int] = typer.Option(None, "--save-steps"),
    resume: Optional[str] = typer.Option(None, "--resume", help="'auto' (newest checkpoint in output dir) or a checkpoint path."),
    stop_after_steps: Optional[int] = typer.Option(None, "--stop-after-steps", help="Checkpoint and stop at this step."),
    num_processes: int = typer.Option(1, "--num-processes", help="Launch this many processes with accelerate."),
    accelerate_config: Optional[str] = typer.Option(None, "--accelerate-config", help="configs/ddp.yaml, fsdp_full_shard.yaml, ..."),
    main_port: Optional[int] = typer.Option(None, "--main-port", help="Rendezvous port for multi-process runs."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Train on the good rows of sources with a few bad ones; "
                                  "the bad rows go to OUTPUT_DIR/input.rejected.jsonl (config: skip_bad_rows)."),
) -> None:
    """Fine-tune a judge on teacher-labelled data (YAML config and/or flags)."""
    from judgelm.train.launch import in_distributed_run, launch_command

    overrides: dict[str, Any] = {
        "model": model, "data": data or None, "data_format": data_format, "output_dir": output_dir,
        "finetune": finetune, "epochs": epochs, "max_steps": max_steps, "per_device_batch_size": batch_size,
        "gradient_accumulation_steps": grad_accum, "learning_rate": lr, "max_length": max_length,
        "truncation": truncation, "max_answer_chars": max_answer_chars,
        "max_question_chars": max_question_chars, "swap_prob": swap_prob,
        "reference_show_prob": reference_show_prob, "pair_single_grades": pair_single_grades, "targets": targets,
        "eval_fraction": eval_fraction, "seed": seed, "bf16": bf16, "gradient_checkpointing": gradient_checkpointing,
        "save_steps": save_steps, "resume_from_checkpoint": resume, "stop_after_steps": stop_after_steps,
        "skip_bad_rows": True if skip_bad else None,
    }  # fmt: skip
    if recipe == "mini":
        _run_mini(config, overrides)
        return
    if recipe == "smol":
        from judgelm.train.recipes import recipe_path

        config = config or recipe_path("smol")
        recipe = "sft"
    if recipe != "sft":
        raise typer.BadParameter(f"unknown recipe {recipe!r}: use sft, smol or mini", param_hint="--recipe")

    if (num_processes > 1 or accelerate_config) and not in_distributed_run():
        cmd = launch_command(sys.argv[1:], num_processes, accelerate_config, main_port=main_port)
        logger.info("launching: %s", " ".join(cmd))
        raise typer.Exit(subprocess.call(cmd))

    from judgelm.train.config import load_config
    from judgelm.train.trainer import TrainDataError, train

    try:
        cfg = load_config(config, overrides).validate()
        result = train(cfg)
    except (ValueError, RuntimeError, OSError, TrainDataError, *_data_errors()) as exc:
        raise fail(exc, 2) from None
    if os.environ.get("RANK", "0") != "0":
        return  # one summary line per run, not per process
    from judgelm.data.rejected import count_rejected, rejected_path

    n_bad = count_rejected(rejected_path(cfg.output_dir, folder=True)) if cfg.skip_bad_rows else 0
    if n_bad:
        typer.echo(f"rejected {n_bad} bad row(s) -> {rejected_path(cfg.output_dir, folder=True)}")
    if result.completed:
        typer.echo(
            f"trained {result.global_step} steps in {result.seconds:.0f}s (final loss {result.train_loss}); "
            f"judge with: judgelm judge --judge hf:{result.output_dir}"
        )
    else:
        typer.echo(f"stopped at step {result.global_step}; resume with --resume auto")


def _run_mini(config: Optional[Path], overrides: dict[str, Any]) -> None:
    """The built-in CPU judge has its own trainer and config (judgelm.mini.train.train_mini)."""
    given = sorted(k for k, v in overrides.items() if v is not None)
    if given:
        raise fail(f"flags {', '.join(given)} belong to --recipe sft; put mini settings in its YAML (--config)", 2)
    try:
        from judgelm.mini.train import train_mini
    except ImportError as exc:
        raise fail(f"the mini recipe is not available in this installation ({exc})", 2) from None
    out = train_mini(str(config) if config is not None else None)
    typer.echo(f"built-in judge written to {out}")


def _data_errors() -> tuple[type[Exception], ...]:
    """The readers' DataError (file, line, field) — reported like any other bad-input error."""
    try:
        from judgelm.data.errors import DataError
    except ImportError:
        return ()
    return (DataError,)
