"""What "the same prompt" means, and splits that keep every prompt on one side.

A judge trained, calibrated or validated on rows that share prompts with the rows it is scored on
looks better than it is, so training/validation splits, cascade calibration splits, the built-in
judge's recipe and ranking all group rows by :func:`prompt_key` and split whole prompts.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from judgelm.schema import Sample

T = TypeVar("T")


def text_key(text: str) -> str:
    """Identity of a prompt text: whitespace-normalised, case-folded, hashed (16 hex digits)."""
    return hashlib.sha1(" ".join(text.split()).lower().encode("utf-8")).hexdigest()[:16]


def prompt_key(sample: Sample) -> str:
    """Identity of a sample's prompt: its history, question and input (not its answers)."""
    parts = [t.content for t in sample.history] + [sample.question, sample.input or ""]
    return text_key(" ".join(parts))


def split_by_prompt(items: Sequence[T], share: float, *, seed: int = 0,
                    key: Callable[[T], str] = prompt_key) -> tuple[list[T], list[T]]:  # type: ignore[assignment]
    """(kept, held): ``share`` of the distinct prompts (at least one when there are two or more),
    with all their rows, held out; reproducible for a ``seed``; rows keep their order."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"the held-out share must be within [0, 1), got {share}")
    keys = [key(it) for it in items]
    groups = sorted(set(keys))
    if share == 0.0 or len(groups) < 2:
        return list(items), []
    random.Random(seed).shuffle(groups)
    held = set(groups[: max(1, int(round(len(groups) * share)))])
    return ([it for it, k in zip(items, keys) if k not in held], [it for it, k in zip(items, keys) if k in held])
