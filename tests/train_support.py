"""Helpers shared by the training tests: real rows from ../shared/data, read with the package's readers."""

from __future__ import annotations

from pathlib import Path

from judgelm.data import read_samples
from judgelm.schema import Sample

#: arena-bench answer files of strong (GPT-4) and weak models — see train/test_train_format.py
ARENA_STRONG = ("gpt-4-turbo.jsonl", "gpt-4-0314.jsonl")
ARENA_WEAK = ("arena-bench-judgment_judge_any.jsonl", "palm-2-chat-bison-001.jsonl", "Mistral-7B-Instruct-v0.1.jsonl")


def read(path: Path, fmt: str | None = None, **opts) -> list[Sample]:
    """Samples of a real file (bad rows are an error: the shared files are clean)."""
    return list(read_samples(str(path), fmt=fmt, **opts))
