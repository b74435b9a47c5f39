"""What a judging run needs from whatever does the judging: the :class:`Backend` protocol.

Why a protocol and not ``Engine | str``: the runners used to take an engine *or a spec string* and
load (and close) the engine themselves, so loading, ownership and Ray start-up were hidden inside
them. Now a spec is resolved at the edge (``judgelm judge``, :class:`~judgelm.judging.judge.Judge`,
the cascade/rank/build commands) and the runners only call what this protocol names. Every
:class:`~judgelm.engines.base.Engine` is a Backend as it stands; the Ray actors
(:class:`~judgelm.judging.scaleout.RayBackend`) are a :class:`ParallelBackend`. Whoever made a
backend closes it; the runners never do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from judgelm.engines.base import EngineOutput, JudgeRequest

logger = logging.getLogger(__name__)


@runtime_checkable
class Backend(Protocol):
    """Judges batches of requests: a name (recorded in every judgement and the cache key), the batch size it
    wants, ``judge_batch``, and ``generation_settings`` (what it decodes with: the rest of the cache key,
    read by :func:`judgelm.judging.requests.engine_settings`)."""

    name: str
    preferred_batch_size: int

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        """One output per request, in the same order."""
        ...

    def generation_settings(self) -> dict[str, Any]:
        """The settings that change its outputs (part of the response-cache key)."""
        ...


@runtime_checkable
class ParallelBackend(Backend, Protocol):
    """A backend with several replicas (Ray actors): it sizes batches so every replica gets several, and
    streams finished batches back as they complete (in any order), so each is committed at once."""

    def batch_size_for(self, n_pending: int) -> int:
        """Requests per batch for ``n_pending`` requests."""
        ...

    def judge_batches(self, batches: list[list[JudgeRequest]]
                      ) -> Iterator[tuple[list[JudgeRequest], list[EngineOutput]]]:
        """(batch, outputs) pairs as the replicas finish them."""
        ...


def check_backend(backend: Any) -> Backend:
    """``backend`` itself when it is one; a spec string (or anything else) fails here, naming what to do."""
    if isinstance(backend, str):
        raise TypeError(f"the runners take a loaded judge, not the spec {backend!r}: "
                        f"load it first (judgelm.engines.load_engine({backend!r}))")
    if not isinstance(backend, Backend):
        raise TypeError(f"{type(backend).__name__} is not a judging backend (needs name, preferred_batch_size, "
                        f"judge_batch and generation_settings)")
    return backend
