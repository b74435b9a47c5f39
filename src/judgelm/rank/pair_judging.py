"""Live judging for ``judgelm rank``: judge the pairs of a ranking with one judge spec, resumably, and
hand back the judgements."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judgelm.schema import Judgement, Sample

logger = logging.getLogger(__name__)


class JudgeUnavailable(ValueError):
    """The judge spec names an engine that cannot be loaded (missing weights, module or server)."""


def judge_pairs(pairs: Sequence[Sample], path: str | Path, spec: str, *, engine_options: dict[str, Any] | None = None,
                template: str = "judgelm", swap: bool = True, cache: bool = True) -> list[Judgement]:
    """Both orders (``swap``) of every pair judged by ``spec`` into ``path`` (Judgement JSONL).

    The run resumes from ``path``'s state, so a rerun judges only what is missing (the state file
    is also the run's lock: nothing else is left beside the output).
    """
    from judgelm.engines import load_engine
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings

    path = Path(path)
    try:
        engine = load_engine(spec, **(engine_options or {}))
    except (ValueError, ModuleNotFoundError, OSError) as exc:  # OSError: weights not found
        raise JudgeUnavailable(f"--judge {spec}: {exc}") from None
    try:
        s = run_judge(list(pairs), engine, path, JudgeSettings(template=template, both_orders=swap), cache=cache)
    finally:
        engine.close()
    logger.info("judged %d pairs (%d requests, %d engine calls, %d resumed): ok %d, unparsed %d, errors %d",
                s.samples, s.requests, s.judged, s.resumed, s.ok, s.unparsed, s.errors)
    if s.errors:
        logger.warning("%d request(s) failed: run the same command again to retry only those", s.errors)
    return s.judgements
