"""Prepare once, then run: every sample's requests rendered a single time, before any judge is loaded.

Why: ``judgelm judge`` used to render every prompt to check the input (so a sample that does not
fit the template fails before a model loads), and then the runner rendered them all again. A
:class:`PreparedBatch` is that check's result, kept: the runner judges its requests, the cache
key and the resume state read the same prompts, and nothing renders twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from judgelm.engines.base import JudgeRequest
from judgelm.judging.requests import build_requests
from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Sample


@dataclass(frozen=True)
class PreparedBatch:
    """Samples with their rendered requests (per sample, in presentation order, then criterion) and the
    settings they were rendered with."""

    settings: JudgeSettings
    samples: list[Sample] = field(default_factory=list)
    per_sample: list[list[JudgeRequest]] = field(default_factory=list)

    @property
    def requests(self) -> list[JudgeRequest]:
        """Every request, in sample order: the order of the output file."""
        return [r for rs in self.per_sample for r in rs]

    def __len__(self) -> int:
        return len(self.samples)


def prepare(samples: Iterable[Sample], settings: JudgeSettings | None = None, *,
            limit: int | None = None) -> PreparedBatch:
    """Render every request of ``samples`` (the first ``limit``) once. Raises ValueError for a duplicate
    sample id or a sample that does not fit the template or mode (PromptError, RubricError)."""
    settings = settings or JudgeSettings()
    kept: list[Sample] = []
    per_sample: list[list[JudgeRequest]] = []
    seen: set[str] = set()
    for sample in samples:
        if limit is not None and len(kept) >= limit:
            break
        if sample.id in seen:
            raise ValueError(f"duplicate sample id {sample.id!r}: ids must be unique within a run")
        seen.add(sample.id)
        kept.append(sample)
        per_sample.append(build_requests(sample, settings))
    return PreparedBatch(settings=settings, samples=kept, per_sample=per_sample)


def as_prepared(samples: PreparedBatch | Iterable[Sample], settings: JudgeSettings | None = None, *,
                limit: int | None = None) -> PreparedBatch:
    """``samples`` itself when already prepared (its settings win; a different ``settings`` is a mistake),
    else :func:`prepare` them."""
    if isinstance(samples, PreparedBatch):
        if settings is not None and settings != samples.settings:
            raise ValueError("samples were prepared with other settings than the ones given")
        if limit is not None and limit < len(samples):
            return PreparedBatch(samples.settings, samples.samples[:limit], samples.per_sample[:limit])
        return samples
    return prepare(samples, settings, limit=limit)
