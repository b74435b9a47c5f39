"""The judging runner: prepared requests → backend → judgements, resumable and cached.

* :func:`judgelm.judging.prepared.prepare` renders every request once (one per presentation order);
  the runners take that :class:`PreparedBatch` (or samples plus a :class:`JudgeSettings`, prepared here).
* :func:`to_judgement` parses an engine's text (or takes its direct scores) and maps everything
  back to the sample's ORIGINAL answer order.
* :func:`judge_samples` judges in memory (serve, cascade); :func:`run_judge` streams to a JSONL
  file with a SQLite state beside it, so a killed run restarted with the same command judges only
  what is missing (see ``docs/judging.md`` for the design).

The runners take a loaded :class:`~judgelm.judging.backend.Backend` (an engine, or Ray actors) and never
load or close one: whoever resolved the spec owns it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from judgelm.engines.base import EngineOutput, JudgeRequest
from judgelm.judging.backend import Backend, ParallelBackend, check_backend
from judgelm.judging.prepared import PreparedBatch, as_prepared
from judgelm.judging.requests import (
    call_settings,
    engine_settings,
    safe_judge_batch,
    split_key,
    to_judgement,
)
from judgelm.judging.settings import JudgeSettings
from judgelm.judging.state import (
    ResponseCache,
    RunLock,
    RunState,
    fingerprint,
    state_path_for,
)
from judgelm.schema import Judgement, ParseStatus, Sample
from judgelm.storage import write_jsonl_atomic

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- running


@dataclass
class RunSummary:
    """What a run did; printed by ``judgelm judge`` and returned to callers."""

    samples: int = 0
    requests: int = 0
    judged: int = 0  # engine calls made in this run
    from_cache: int = 0
    resumed: int = 0  # already in the state from an earlier (killed) run
    ok: int = 0
    unparsed: int = 0
    errors: int = 0
    cost_usd: float = 0.0  # spent in this run (cache hits and resumed rows are free)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    output: str | None = None
    state: str | None = None
    judge: str = ""
    error_messages: dict[str, int] = field(default_factory=dict)
    #: rubric runs: per criterion, {"ok", "unparsed", "errors", "mean" (of the parsed grades), "preferred"
    #: (relative grading: wins per answer, original order)}
    criteria: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the run's judgements in request order (what the output file holds), for callers that go on
    judgements: list[Judgement] = field(default_factory=list, repr=False)

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.wall_s if self.wall_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The counts (not the judgements themselves), JSON-ready."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "judgements"}
        return {**d, "samples_per_s": round(self.samples_per_s, 3)}


def _judged(backend: Backend, batches: list[list[JudgeRequest]]
            ) -> Iterator[tuple[list[JudgeRequest], list[EngineOutput]]]:
    """(batch, outputs) as they finish: a parallel backend streams them, any other judges one at a time."""
    if isinstance(backend, ParallelBackend):
        yield from backend.judge_batches(batches)
        return
    for batch in batches:
        yield batch, safe_judge_batch(backend, batch)


def _batch_size(backend: Backend, n_pending: int) -> int:
    if isinstance(backend, ParallelBackend):
        return backend.batch_size_for(n_pending)
    return backend.preferred_batch_size


def _fingerprints(backend: Backend, requests: list[JudgeRequest]) -> dict[str, str]:
    """Each request's cache/resume key: judge name, the prompt as prepared, and the call's settings."""
    generation = engine_settings(backend)  # type: ignore[arg-type]
    return {r.key: fingerprint(backend.name, r.prompt, call_settings(r, generation)) for r in requests}


def _open_cache(cache: ResponseCache | str | Path | bool | None) -> ResponseCache | None:
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResponseCache):
        return cache
    return ResponseCache(None if cache is True else cache)


def _process(
    pending: list[JudgeRequest],
    backend: Backend,
    fps: dict[str, str],
    cache: ResponseCache | None,
    batch_size: int | None,
    on_done: Callable[[list[tuple[JudgeRequest, Judgement]]], None],
    summary: RunSummary,
) -> None:
    """Serve ``pending`` from the cache, then from the engine, handing finished batches to ``on_done``."""
    if cache is not None and pending:
        hits = cache.get_many(fps[r.key] for r in pending)
        done = []
        for r in pending:
            out = hits.get(fps[r.key])
            if out is not None:
                j = to_judgement(r, out, backend.name)
                j.metadata["cached"] = True
                done.append((r, j))
        if done:
            summary.from_cache += len(done)
            on_done(done)
        hit_keys = {r.key for r, _ in done}
        pending = [r for r in pending if r.key not in hit_keys]
    batch_size = batch_size or _batch_size(backend, len(pending))
    batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
    for batch, outputs in _judged(backend, batches):
        if cache is not None:
            cache.put_many((fps[r.key], o) for r, o in zip(batch, outputs))
        summary.judged += len(batch)
        for o in outputs:
            summary.cost_usd += o.cost_usd
            summary.prompt_tokens += o.prompt_tokens
            summary.completion_tokens += o.completion_tokens
        on_done([(r, to_judgement(r, o, backend.name)) for r, o in zip(batch, outputs)])


def _tally(summary: RunSummary, judgements: Iterable[Judgement]) -> None:
    errors: Counter[str] = Counter()
    for j in judgements:
        if j.status == ParseStatus.OK:
            summary.ok += 1
        elif j.status == ParseStatus.UNPARSED:
            summary.unparsed += 1
        else:
            summary.errors += 1
            errors[(j.error or "")[:120]] += 1
    summary.error_messages = dict(errors.most_common(5))
    summary.criteria = criterion_tally(judgements)


def criterion_tally(judgements: Iterable[Judgement]) -> dict[str, dict[str, Any]]:
    """Per rubric criterion: how many grades parsed, were unparsed or failed, their mean (absolute grading)
    and how often each answer was preferred (relative grading)."""
    out: dict[str, dict[str, Any]] = {}
    grades: dict[str, list[float]] = {}
    for j in judgements:
        name = j.metadata.get("criterion")
        if name is None:
            continue
        row = out.setdefault(name, {"ok": 0, "unparsed": 0, "errors": 0, "mean": None, "preferred": {}})
        row[{ParseStatus.OK: "ok", ParseStatus.UNPARSED: "unparsed"}.get(j.status, "errors")] += 1
        if j.status == ParseStatus.OK and j.scores and j.verdict is None:
            grades.setdefault(name, []).extend(j.scores)
        elif j.status == ParseStatus.OK and j.verdict is not None:  # relative grading: which answer won
            key = "tie" if j.verdict == 0 else f"answer {j.verdict}"
            row["preferred"][key] = row["preferred"].get(key, 0) + 1
    for name, values in grades.items():
        out[name]["mean"] = round(sum(values) / len(values), 4)
    return out


def judge_samples(
    samples: PreparedBatch | Iterable[Sample],
    backend: Backend,
    settings: JudgeSettings | None = None,
    *,
    batch_size: int | None = None,
    cache: ResponseCache | str | Path | bool | None = None,
) -> list[Judgement]:
    """Judge in memory (no state file); one judgement per request, in sample then order sequence
    (then criterion, with a rubric). ``samples`` prepared already, or prepared here with ``settings``."""
    backend = check_backend(backend)
    requests = as_prepared(samples, settings).requests
    response_cache = _open_cache(cache)
    results: dict[str, Judgement] = {}
    try:
        _process(
            requests, backend, _fingerprints(backend, requests), response_cache, batch_size,
            lambda done: results.update((r.key, j) for r, j in done), RunSummary(),
        )
    finally:
        if response_cache is not None and not isinstance(cache, ResponseCache):
            response_cache.close()
    return [results[r.key] for r in requests]


def run_judge(
    samples: PreparedBatch | Iterable[Sample],
    backend: Backend,
    out_path: str | Path,
    settings: JudgeSettings | None = None,
    *,
    batch_size: int | None = None,
    resume: bool = True,
    cache: ResponseCache | str | Path | bool | None = True,
    limit: int | None = None,
    progress: bool = False,
) -> RunSummary:
    """Judge ``samples`` (prepared, or prepared here with ``settings``; the first ``limit``) into
    ``out_path`` (one Judgement JSON per line), resumably.

    State lives in ``out_path + ".state.sqlite"``: each finished batch is committed there in one
    transaction, then appended to the output; at the end the output is rewritten from the state in
    request order. Requests already in the state (same judge, prompt and settings, status not
    ``error``) are not judged again; ``resume=False`` starts from scratch.
    """
    t0 = time.perf_counter()
    backend = check_backend(backend)
    out_path = Path(out_path)
    state_file = state_path_for(out_path)
    batch = as_prepared(samples, settings, limit=limit)
    requests = batch.requests
    summary = RunSummary(samples=len(batch), requests=len(requests), output=str(out_path),
                         state=str(state_file))
    with RunLock(state_file, what=out_path.name):
        _run_locked(requests, backend, out_path, state_file, summary, cache, batch_size, progress, resume)
    summary.wall_s = time.perf_counter() - t0
    logger.info("judged %s", json.dumps(summary.to_dict()))
    return summary


def _run_locked(
    requests: list[JudgeRequest],
    backend: Backend,
    out_path: Path,
    state_file: Path,
    summary: RunSummary,
    cache: ResponseCache | str | Path | bool | None,
    batch_size: int | None,
    progress: bool,
    resume: bool,
) -> None:
    """The body of :func:`run_judge`, run while holding the output's lock."""
    summary.judge = backend.name
    state = RunState(state_file)
    if not resume:
        state.clear()
        out_path.unlink(missing_ok=True)
    response_cache = _open_cache(cache)
    keys = [r.key for r in requests]
    bar = None
    try:
        fps = _fingerprints(backend, requests)
        done = state.done(fps)
        summary.resumed = len(done)
        # the output always derives from the state: drop whatever a killed run left half-written
        write_jsonl_atomic(out_path, (j.to_json() for j in state.judgements([k for k in keys if k in done])))
        pending = [r for r in requests if r.key not in done]
        remaining = Counter(split_key(r.key)[0] for r in pending)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=summary.samples, initial=summary.samples - len(remaining), unit="sample",
                       desc=f"judging with {backend.name}", dynamic_ncols=True)
        if done:
            logger.info("resuming %s: %d of %d requests already judged", out_path, len(done), len(requests))

        with open(out_path, "a", encoding="utf-8") as out:

            def on_done(batch: list[tuple[JudgeRequest, Judgement]]) -> None:
                state.commit((r.key, fps[r.key], j) for r, j in batch)  # durable first, then visible
                out.write("".join(j.to_json() + "\n" for _, j in batch))
                out.flush()
                finished = 0
                for r, _ in batch:
                    sid = split_key(r.key)[0]
                    remaining[sid] -= 1
                    finished += remaining[sid] == 0
                if bar is not None and finished:
                    bar.update(finished)

            _process(pending, backend, fps, response_cache, batch_size, on_done, summary)
        final = state.judgements(keys)
        write_jsonl_atomic(out_path, (j.to_json() for j in final))
        _tally(summary, final)
        summary.judgements = final
    finally:
        if bar is not None:
            bar.close()
        state.close()
        if response_cache is not None and not isinstance(cache, ResponseCache):
            response_cache.close()
