"""The model card (README.md) written next to a trained judge: what it was trained on and how."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from judgelm.train.config import to_dict

if TYPE_CHECKING:
    from judgelm.train.config import TrainConfig
    from judgelm.train.result import TrainResult


def render_model_card(cfg: "TrainConfig", result: "TrainResult") -> str:
    """Markdown with Hub-style front matter; every number comes from the run itself."""
    import torch

    front = {
        "library_name": "transformers",
        "base_model": cfg.model,
        "tags": ["judgelm", "llm-judge", cfg.finetune],
        "pipeline_tag": "text-generation",
    }
    train, ev = result.report["train"], result.report["eval"]
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).strip(),
        "---",
        "",
        f"# Judge fine-tuned from `{cfg.model}`",
        "",
        f"Trained with `judgelm train` ({cfg.finetune} fine-tuning, template `{cfg.template}`). "
        f"Use it as a judge with `judgelm judge --judge hf:{Path(cfg.output_dir).resolve()}`.",
        "",
        "## Data",
        "",
        "| source | samples read |",
        "|---|---|",
    ]
    sources = result.report.get("sources") or {}
    for src in cfg.data or ["(samples given in memory)"]:
        lines.append(f"| `{src}` | {sources.get(src, '—')} |")
    for k, v in sources.items():
        if k not in cfg.data:
            lines.append(f"| {k} | {v} |")
    lines += [
        "",
        f"- split by prompt: {result.report['prompts'].get('train', 0)} training prompts, "
        f"{result.report['prompts'].get('eval', 0)} held-out prompts",
        f"- training rows: {train['rows']} → {train['used']} examples; dropped: {train['dropped'] or 'none'}",
        f"- augmentation and length notes: {train['notes'] or 'none'}",
        f"- held-out rows: {ev['rows']} → {ev['used']} examples",
        f"- target: `s1 s2\\nexplanation` ({cfg.targets}); swap_prob={cfg.swap_prob}, "
        f"reference_show_prob={cfg.reference_show_prob}, max_length={cfg.max_length}, truncation={cfg.truncation}, "
        f"max_answer_chars={cfg.max_answer_chars}",
        "",
        "## Training",
        "",
        f"- steps: {result.global_step}, processes (world size): {result.world_size}",
        f"- final training loss: {_num(result.train_loss)}; held-out loss: {_num(result.eval_loss)}",
        f"- wall time: {result.seconds:.0f} s on {platform.machine()} "
        f"({'CUDA: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU'})",
        f"- global batch: {cfg.per_device_batch_size} x {result.world_size} x {cfg.gradient_accumulation_steps}; "
        f"lr {cfg.learning_rate} ({cfg.lr_scheduler}, warmup {cfg.warmup_ratio}); epochs {cfg.epochs}; "
        f"max_steps {cfg.max_steps}; seed {cfg.seed}",
        "",
        "## Full configuration",
        "",
        "```yaml",
        yaml.safe_dump(to_dict(cfg), sort_keys=False).strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.4f}"


def write_model_card(out_dir: str | Path, cfg: "TrainConfig", result: "TrainResult") -> Path:
    path = Path(out_dir) / "README.md"
    path.write_text(render_model_card(cfg, result), encoding="utf-8")
    return path
