"""Supervised fine-tuning of a judge with transformers' Trainer (+ peft for LoRA/QLoRA).

The training loop, checkpointing, resuming, mixed precision and distribution (DDP / FSDP /
DeepSpeed through ``accelerate launch``) are transformers'/accelerate's; this module only wires
the judge data in, records what was trained on, and writes a model that loads as ``hf:PATH``.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgelm.train.config import TrainConfig, to_dict
from judgelm.train.data import (
    BuildReport,
    Example,
    build_examples,
    encode_examples,
    make_collator,
    pair_single_grades,
    select_short,
    split_by_prompt,
)
from judgelm.train.result import TrainResult

logger = logging.getLogger(__name__)

SUMMARY_FILE = "judgelm_train.json"


class TrainDataError(ValueError):
    """The training data cannot be used as configured (the message says what and how much)."""


@dataclass
class PreparedData:
    train_rows: list[dict[str, list[int]]]
    eval_rows: list[dict[str, list[int]]]
    eval_examples: list[Example]
    report: BuildReport
    eval_report: BuildReport
    n_prompts: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    base_model: str = ""
    tokenizer: Any = None


def load_samples(cfg: TrainConfig) -> tuple[list, dict[str, int]]:
    """Read every source with the package's readers; optionally pair single-answer grades."""
    from judgelm.data import read_samples
    from judgelm.data.rejected import Rejects, rejected_path

    samples = []
    per_source: dict[str, int] = {}
    rejects = Rejects()
    if cfg.teacher_mix is not None:
        from judgelm.train.teacher_mix import build_teacher_samples

        mixed, counts = build_teacher_samples(cfg.teacher_mix)
        samples.extend(mixed)
        per_source.update({f"teacher_mix:{k}": v for k, v in counts.items()})
    for source in cfg.data:
        stream = read_samples(source, fmt=cfg.data_format, skip_bad=cfg.skip_bad_rows, **cfg.data_options)
        got = list(stream)
        rejects.add(stream.report.skipped)
        per_source[source] = len(got)
        for why, n in stream.report.dropped.items():
            per_source[f"{source}: dropped by reader ({why})"] = n
        if stream.report.skipped:
            per_source[f"{source}: bad rows skipped"] = len(stream.report.skipped)
        samples.extend(got)
    if cfg.skip_bad_rows and os.environ.get("RANK", "0") == "0":  # every bad row, for the user to fix
        rejects.write(rejected_path(cfg.output_dir, folder=True))
    if cfg.pair_single_grades:
        samples, counts = pair_single_grades(samples)
        per_source.update({f"pairing:{k}": v for k, v in counts.items()})
    if cfg.select_max_answer_chars is not None or cfg.select_max_question_chars is not None:
        samples, counts = select_short(samples, cfg.select_max_answer_chars, cfg.select_max_question_chars)
        per_source.update({f"selection:{k}": v for k, v in counts.items()})
        per_source["selection:kept"] = len(samples)
    return samples, per_source


TINY = "tiny"


def resolve_base_model(cfg: TrainConfig, examples: list[Example]) -> str:
    """``model: tiny`` → a randomly initialised tiny Llama whose tokenizer is trained on the training
    texts (``output_dir/tiny-base``; reused when resuming). Anything else is returned as is."""
    if cfg.model != TINY:
        return cfg.model
    from judgelm.models.tiny import build_tiny_llama

    base = Path(cfg.output_dir) / "tiny-base"
    if (base / "config.json").is_file():
        return str(base)
    if os.environ.get("LOCAL_RANK", "0") == "0":  # one process builds; the others wait for it
        tmp = base.with_name(f"tiny-base.tmp{os.getpid()}")
        texts = [e.prompt + "\n" + e.target for e in examples[:2000]]
        build_tiny_llama(tmp, texts, seed=cfg.seed, **cfg.tiny_model)
        os.replace(tmp, base)
    else:
        deadline = time.time() + 900
        while not (base / "config.json").is_file():
            if time.time() > deadline:
                raise RuntimeError(f"timed out waiting for rank 0 to build {base}")
            time.sleep(0.5)
    return str(base)


def prepare_data(cfg: TrainConfig, tokenizer=None, samples: list | None = None) -> PreparedData:
    """Split by prompt, build and tokenise examples, and enforce the drop budget.

    ``tokenizer`` None = the base model's (built first for ``model: tiny``).
    """
    from transformers import AutoTokenizer

    source_counts: dict[str, int] = {}
    if samples is None:
        samples, source_counts = load_samples(cfg)
    train_s, eval_s = split_by_prompt(samples, cfg.eval_fraction, seed=cfg.seed)
    if cfg.max_samples is not None:
        train_s = train_s[: cfg.max_samples]
    report, eval_report = BuildReport(), BuildReport()
    train_ex = build_examples(train_s, cfg, report)
    eval_ex = build_examples(eval_s, cfg, eval_report)
    base = resolve_base_model(cfg, train_ex)
    if tokenizer is None:
        from judgelm.models.sources import resolve_model_source

        src = resolve_model_source(base)
        tokenizer = AutoTokenizer.from_pretrained(src.path_or_id, **src.kwargs())
    chat = cfg.chat_template
    train_rows = encode_examples(tokenizer, train_ex, cfg.max_length, cfg.truncation, report, chat=chat)
    eval_rows = encode_examples(tokenizer, eval_ex, cfg.max_length, cfg.truncation, eval_report, chat=chat)
    dropped = sum(report.dropped.values())
    summary = f"{report.rows} rows → {len(train_rows)} training examples; dropped: {dict(report.dropped) or 'none'}; notes: {dict(report.notes) or 'none'}"
    logger.info("data: %s", summary)
    if not train_rows:
        raise TrainDataError(f"no usable training example in {', '.join(cfg.data)}: {summary}")
    if report.rows and dropped / report.rows > cfg.max_dropped_fraction:
        raise TrainDataError(
            f"{dropped} of {report.rows} rows ({dropped / report.rows:.0%}) are unusable, more than "
            f"max_dropped_fraction={cfg.max_dropped_fraction}: {dict(report.dropped)} "
            f"(too_long_for_max_length: raise max_length, set truncation: truncate_prompt_middle or max_answer_chars; "
            f"no_teacher_scores: the rows carry no teacher scores — see preference_scores / pair_single_grades)"
        )
    n_prompts = {"train": len({e.group for e in train_ex}), "eval": len({e.group for e in eval_ex})}
    return PreparedData(train_rows, eval_rows, eval_ex, report, eval_report, n_prompts, source_counts, base, tokenizer)


def _want_bf16(cfg: TrainConfig) -> bool:
    """``bf16``: true/false as given; None = a bf16 GPU is present; ``auto`` = also a CPU with native bf16."""
    import torch

    if isinstance(cfg.bf16, bool):
        return cfg.bf16
    if torch.cuda.is_available():
        return bool(torch.cuda.is_bf16_supported())
    if cfg.bf16 == "auto":
        from judgelm.models.dtype import cpu_has_fast_bf16

        return cpu_has_fast_bf16()
    return False


def load_model(cfg: TrainConfig, base: str | None = None):
    """The base model (``base`` overrides ``cfg.model``), wrapped with LoRA adapters when asked."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    if cfg.finetune == "qlora":
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise RuntimeError(
                "finetune: qlora needs the bitsandbytes package and a CUDA GPU (pip install bitsandbytes); "
                "on CPU use finetune: lora or full"
            ) from None
        if not torch.cuda.is_available():
            raise RuntimeError("finetune: qlora needs a CUDA GPU (4-bit kernels); on CPU use finetune: lora or full")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_use_double_quant=True
        )
    if cfg.finetune != "full" and _want_bf16(cfg):
        kwargs["dtype"] = torch.bfloat16  # frozen base in bf16; adapters train in fp32
    from judgelm.models.sources import mark_dequantised, missing_gguf_support, resolve_model_source

    src = resolve_model_source(base or cfg.model)
    if src.gguf_file:
        if missing_gguf_support():
            raise RuntimeError(missing_gguf_support())
        kwargs.setdefault("dtype", torch.bfloat16 if _want_bf16(cfg) else torch.float32)
    model = AutoModelForCausalLM.from_pretrained(src.path_or_id, **src.model_kwargs(), **kwargs)
    if src.gguf_file:
        mark_dequantised(model)
    if cfg.finetune in ("lora", "qlora"):
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if cfg.finetune == "qlora":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
        elif cfg.gradient_checkpointing:
            model.enable_input_require_grads()
        lora = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=cfg.lora_target_modules,
            task_type="CAUSAL_LM",
            **_lora_layers(cfg, model),
        )
        model = get_peft_model(model, lora)
        trainable, total = model.get_nb_trainable_parameters()
        logger.info("LoRA: %d of %d parameters trainable (%.2f%%)", trainable, total, 100 * trainable / total)
    return model


def _lora_layers(cfg: TrainConfig, model) -> dict[str, Any]:
    """``lora_layers: N`` → peft's ``layers_to_transform`` = the top N decoder layers."""
    if not cfg.lora_layers:
        return {}
    n = int(model.config.num_hidden_layers)
    k = min(int(cfg.lora_layers), n)
    return {"layers_to_transform": list(range(n - k, n))}


def label_tail_loss(model, inputs: dict, num_items_in_batch=None):
    """(loss, outputs) with the vocabulary head run only at the last positions of each row.

    With left padding (:class:`judgelm.train.data.LeftPadCollator`) the labelled target ends every
    row, so ``logits_to_keep = longest labelled tail + 1`` covers every label: the same loss as
    transformers' (mean over labelled tokens, or sum / ``num_items_in_batch`` under gradient
    accumulation), without a 49k-word head on every prompt token.
    """
    import torch

    inputs = dict(inputs)
    labels = inputs.pop("labels")
    labelled = labels != -100
    width = labels.shape[1]
    first = torch.where(labelled.any(1), labelled.float().argmax(1), torch.full_like(labels[:, 0], width))
    k = max(1, int(width - first.min()))
    out = model(**inputs, logits_to_keep=k + 1)
    logits = out.logits[:, :-1].float()
    target = labels[:, width - k:]
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum")
    n = num_items_in_batch if num_items_in_batch is not None else labelled.sum()
    n = n.to(loss.device) if torch.is_tensor(n) else torch.tensor(float(n))
    return loss / n.clamp(min=1), out


def label_tail_trainer_class():
    """A Trainer whose loss is :func:`label_tail_loss` (``logits_at_labels_only: true``)."""
    from transformers import Trainer

    class LabelTailTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001
            loss, out = label_tail_loss(model, inputs, num_items_in_batch)
            return (loss, out) if return_outputs else loss

    return LabelTailTrainer


def _callbacks(cfg: TrainConfig) -> list:
    from transformers import TrainerCallback

    class StopAt(TrainerCallback):
        """Ends the run at ``stop_after_steps`` with a checkpoint, keeping the full run's schedule."""

        def on_step_end(self, args, state, control, **kw):  # noqa: ANN001
            if cfg.stop_after_steps and state.global_step >= cfg.stop_after_steps:
                control.should_save = True
                control.should_training_stop = True
            return control

    return [StopAt()]


def training_arguments(cfg: TrainConfig, has_eval: bool):
    """transformers.TrainingArguments for ``cfg`` (launcher settings come from the environment)."""
    import torch
    from transformers import TrainingArguments

    # transformers 5 renamed gradient_checkpointing → activation_checkpointing (old name deprecated)
    params = inspect.signature(TrainingArguments.__init__).parameters
    ckpt = "activation_checkpointing" if "activation_checkpointing" in params else "gradient_checkpointing"
    checkpointing = {
        ckpt: cfg.gradient_checkpointing,
        f"{ckpt}_kwargs": {"use_reentrant": False} if cfg.gradient_checkpointing else None,
    }
    return TrainingArguments(
        output_dir=cfg.output_dir,
        **checkpointing,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_batch_size,
        per_device_eval_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=float(cfg.warmup_ratio) if cfg.warmup_ratio < 1 else int(cfg.warmup_ratio),
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        bf16=_want_bf16(cfg),
        seed=cfg.seed,
        data_seed=cfg.seed,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval and cfg.eval_steps else "no",
        eval_steps=cfg.eval_steps if has_eval and cfg.eval_steps else None,
        report_to=cfg.report_to or "none",
        dataloader_num_workers=cfg.num_workers,
        remove_unused_columns=False,
        include_num_input_tokens_seen=True,
        use_cpu=not torch.cuda.is_available(),
        ddp_find_unused_parameters=False if cfg.finetune == "full" else None,
        **({"train_sampling_strategy": "group_by_length"} if cfg.group_by_length else {}),
    )


def train(cfg: TrainConfig, samples: list | None = None) -> TrainResult:
    """Fine-tune ``cfg.model`` on the judge data; write the final model + model card to ``output_dir``.

    ``samples`` (already-read :class:`Sample` objects) bypass ``cfg.data`` — for callers and tests
    that build data in memory; the model card then records the data as given by the caller.
    """
    from transformers import Trainer
    from transformers.trainer_utils import get_last_checkpoint

    cfg.validate(require_data=samples is None)
    start = time.time()
    data = prepare_data(cfg, samples=samples)
    tokenizer = data.tokenizer
    model = load_model(cfg, data.base_model)
    args = training_arguments(cfg, has_eval=bool(data.eval_rows))
    trainer_cls = label_tail_trainer_class() if cfg.logits_at_labels_only else Trainer
    trainer = trainer_cls(
        model=model,
        args=args,
        train_dataset=data.train_rows,
        eval_dataset=data.eval_rows or None,
        data_collator=make_collator(tokenizer, left_pad=cfg.logits_at_labels_only),
        processing_class=tokenizer,
        callbacks=_callbacks(cfg),
    )

    resume = cfg.resume_from_checkpoint
    if resume == "auto":
        resume = get_last_checkpoint(cfg.output_dir) if os.path.isdir(cfg.output_dir) else None
        logger.info("resume: %s", resume or "no checkpoint found, starting fresh")
    trainer.train(resume_from_checkpoint=resume)
    completed = trainer.state.global_step >= trainer.state.max_steps
    eval_loss = None
    if data.eval_rows and completed and cfg.evaluate_at_end:
        eval_loss = trainer.evaluate().get("eval_loss")
    result = TrainResult(
        output_dir=cfg.output_dir,
        completed=completed,
        global_step=trainer.state.global_step,
        train_loss=_final_loss(trainer),
        eval_loss=eval_loss,
        seconds=round(time.time() - start, 1),
        world_size=args.world_size,
        report={"train": data.report.as_dict(), "eval": data.eval_report.as_dict(), "prompts": data.n_prompts, "sources": data.sources},
    )
    if completed:
        save_final(trainer, cfg, tokenizer, result)
    else:
        logger.info("stopped at step %d of %d; resume with resume_from_checkpoint: auto", result.global_step, trainer.state.max_steps)
    return result


def name_adapter_base(folder: Path, base: str) -> None:
    """Record the base as configured (e.g. the named base ``smollm2-135m-instruct``), not the folder it
    resolved to on this machine, so the adapter loads wherever that base resolves."""
    cfg_file = Path(folder) / "adapter_config.json"
    if base and base != TINY and cfg_file.is_file():
        data = json.loads(cfg_file.read_text(encoding="utf-8"))
        data["base_model_name_or_path"] = base
        cfg_file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _final_loss(trainer) -> float | None:
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return float(losses[-1]) if losses else None


def _run_figures(trainer) -> dict[str, Any]:
    """Loss curve, tokens seen and speed of the run, for model cards (from the trainer's log)."""
    import torch

    hist = trainer.state.log_history
    tokens = [h for h in hist if "num_input_tokens_seen" in h]
    speed = [h["train_tokens_per_second"] for h in hist if "train_tokens_per_second" in h]
    return {
        "losses": [[h["step"], round(float(h["loss"]), 4)] for h in hist if "loss" in h],
        "tokens_seen": tokens[-1]["num_input_tokens_seen"] if tokens else None,
        "train_tokens_per_second": speed[-1] if speed else None,
        "torch_threads": torch.get_num_threads(),
    }


def save_final(trainer, cfg: TrainConfig, tokenizer, result: TrainResult) -> Path:
    """Final weights (LoRA merged when asked), tokenizer, model card and a JSON summary — main process only."""
    from judgelm.train.modelcard import write_model_card

    out = Path(cfg.output_dir)
    model = trainer.model
    if cfg.finetune in ("lora", "qlora") and cfg.merge_lora:
        model = trainer.accelerator.unwrap_model(model)
        model = model.merge_and_unload()
        if trainer.is_world_process_zero():
            model.save_pretrained(out)
    else:
        if getattr(trainer, "is_fsdp_enabled", False):
            # sharded checkpoints resume fast; the final model must be one plain state dict (hf:PATH)
            trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
        trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        if cfg.finetune in ("lora", "qlora") and not cfg.merge_lora:
            name_adapter_base(out, cfg.model)
        tokenizer.save_pretrained(out)
        summary = {
            "config": to_dict(cfg),
            "completed": result.completed,
            "global_step": result.global_step,
            "train_loss": result.train_loss,
            "eval_loss": result.eval_loss,
            "seconds": result.seconds,
            "world_size": result.world_size,
            "data": result.report,
            **_run_figures(trainer),
        }
        (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        write_model_card(out, cfg, result)
    trainer.accelerator.wait_for_everyone()
    return out
