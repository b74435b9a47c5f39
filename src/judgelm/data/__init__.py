"""The data layer: one sample model (:mod:`judgelm.schema`), many readers.

``read_samples(source, fmt=None, *, mapping=None, skip_bad=False, limit=None, **opts)`` reads
any supported format (see :data:`FORMATS` and docs/data.md) into :class:`~judgelm.schema.Sample`;
``write_samples`` writes the canonical JSONL. Prompts without answers (MT-bench, Vicuna-bench,
arena-bench questions) are read with :func:`read_prompts`, model answer files with
:func:`read_answers`.
"""

from __future__ import annotations

# format modules register themselves on import; the import order is the detection order
from judgelm.data import (
    alpaca_eval,  # noqa: F401
    arena,  # noqa: F401
    autoj,  # noqa: F401
    canonical,  # noqa: F401
    judgelm_jsonl,  # noqa: F401  (judgelm)
    llmbar,  # noqa: F401
    mapping,  # noqa: F401
    mmvet,  # noqa: F401
    pandalm,  # noqa: F401
    prometheus,  # noqa: F401
)
from judgelm.data.answers import AnswerRecord, read_answers
from judgelm.data.canonical import write_samples
from judgelm.data.errors import DataError, Dropped
from judgelm.data.mapping import parse_mapping
from judgelm.data.questions import Prompt, read_prompts
from judgelm.data.reader import ReadReport, SampleStream, load_samples, read_samples
from judgelm.data.registry import FORMATS, Format, get_format, register

__all__ = [
    "FORMATS",
    "AnswerRecord",
    "DataError",
    "Dropped",
    "Format",
    "Prompt",
    "ReadReport",
    "SampleStream",
    "get_format",
    "load_samples",
    "parse_mapping",
    "read_answers",
    "read_prompts",
    "read_samples",
    "register",
    "write_samples",
]
