"""One judge call as the server sees it: a sample and :class:`JudgeSettings` in, judgements and a summary out.

Shared by the HTTP handler, the batch-job worker and the web UI so all three judge alike.
Prompt building and parsing are ``judgelm.judging``'s (prepare / to_judgement); this
module only routes the prompts through the dynamic batcher and summarises both orders.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from typing import Any

from judgelm.engines.base import EngineOutput, JudgeRequest
from judgelm.judging.prepared import prepare
from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Judgement, ParseStatus, Sample, verdict_from_scores
from judgelm.serve.batcher import DynamicBatcher


def build(sample: Sample, settings: JudgeSettings) -> list[JudgeRequest]:
    """The prompts for ``sample``: its original order, plus the reversed one when asked (pair/multi)."""
    return prepare([sample], settings).requests


def to_judgements(requests: list[JudgeRequest], outputs: list[EngineOutput], judge_name: str) -> list[Judgement]:
    """Parse engine outputs (judgelm.judging.runner.to_judgement), one judgement per presented order."""
    from judgelm.judging.requests import to_judgement

    return [to_judgement(r, o, judge_name) for r, o in zip(requests, outputs)]


def error_judgements(sample: Sample, settings: JudgeSettings, judge_name: str, error: str) -> list[Judgement]:
    """A recorded failure (never a silent tie) when a sample could not be judged at all."""
    return [
        Judgement(
            sample_id=sample.id,
            judge=judge_name,
            template=settings.template,
            mode=settings.mode or ("pair" if len(sample.answers) == 2 else "multi"),
            reference_used=settings.reference,
            order=list(range(len(sample.answers))),
            status=ParseStatus.ERROR,
            error=error,
        )
    ]


def summarize(judgements: list[Judgement]) -> dict[str, Any]:
    """The headline answer: verdict/scores/explanation/confidence, and order consistency.

    With both orders, the scores are averaged (original answer order) and the verdict follows
    them; ``consistent`` says whether the two orders agreed. Unparsed or failed orders are
    reported as such, never folded into a tie.
    """
    first = judgements[0]
    if first.metadata.get("criterion") is not None:
        return _summarize_rubric(judgements)
    ok = [j for j in judgements if j.status == ParseStatus.OK]
    summary: dict[str, Any] = {
        "sample_id": first.sample_id,
        "judge": first.judge,
        "status": first.status.value if not ok or len(ok) == len(judgements) else "partial",
        "verdict": first.verdict,
        "scores": first.scores,
        "explanation": first.explanation,
        "confidence": first.confidence,
        "consistent": None,
        "latency_s": round(max(j.latency_s for j in judgements), 6),
    }
    if len(judgements) > 1:
        verdicts = [j.verdict for j in judgements]
        summary["consistent"] = None if None in verdicts else len(set(verdicts)) == 1
        scored = [j.scores for j in ok if j.scores]
        if len(scored) == len(judgements):
            mean = [sum(col) / len(col) for col in zip(*scored)]
            summary["scores"] = mean
            summary["verdict"] = verdict_from_scores(mean)
        elif ok:
            summary["verdict"] = ok[0].verdict
            summary["scores"] = ok[0].scores
        confs = [j.confidence for j in judgements if j.confidence is not None]
        summary["confidence"] = sum(confs) / len(confs) if confs else None
        if summary["explanation"] is None and ok:
            summary["explanation"] = ok[0].explanation
    return summary


def _summarize_rubric(judgements: list[Judgement]) -> dict[str, Any]:
    """Rubric grading: one entry per criterion (its grade, or its A/B verdict per order), under ``criteria``."""
    criteria: dict[str, dict[str, Any]] = {}
    for j in judgements:
        c = criteria.setdefault(str(j.metadata["criterion"]), {"status": j.status.value, "scores": j.scores,
                                                               "verdict": j.verdict, "explanation": j.explanation,
                                                               "scale": j.metadata.get("scale"), "orders": []})
        c["orders"].append({"order": j.order, "status": j.status.value, "scores": j.scores, "verdict": j.verdict,
                            **({"error": j.metadata["parse_error"]} if "parse_error" in j.metadata else {})})
        if j.status != ParseStatus.OK and c["status"] == ParseStatus.OK.value:
            c["status"] = "partial"
    statuses = {c["status"] for c in criteria.values()}
    first = judgements[0]
    return {
        "sample_id": first.sample_id,
        "judge": first.judge,
        "status": statuses.pop() if len(statuses) == 1 else "partial",
        "criteria": criteria,
        "latency_s": round(max(j.latency_s for j in judgements), 6),
    }


class JudgeService:
    """Judges samples through the batcher; async for handlers, blocking for worker threads."""

    def __init__(self, batcher: DynamicBatcher, judge_name: str) -> None:
        self.batcher = batcher
        self.judge_name = judge_name

    def _finish(self, requests: list[JudgeRequest], outputs: list[EngineOutput], started: float) -> list[Judgement]:
        judgements = to_judgements(requests, outputs, self.judge_name)
        elapsed = time.perf_counter() - started
        for j, o in zip(judgements, outputs):
            if not j.latency_s:
                j.latency_s = o.latency_s or elapsed
        return judgements

    async def judge_async(self, sample: Sample, settings: JudgeSettings) -> list[Judgement]:
        """Judge one sample for an HTTP caller (raises QueueFull when the queue is full)."""
        started = time.perf_counter()
        requests = build(sample, settings)
        futures: list[Future[EngineOutput]] = self.batcher.submit(requests)
        outputs = list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))
        return self._finish(requests, outputs, started)

    def judge_sync(self, sample: Sample, settings: JudgeSettings) -> list[Judgement]:
        """Judge one sample from a worker thread as an interactive caller (may raise QueueFull)."""
        started = time.perf_counter()
        requests = build(sample, settings)
        return self._finish(requests, self.batcher.judge(requests, background=False), started)

    def judge_many(self, samples: list[Sample], settings: JudgeSettings, *, background: bool = True
                   ) -> list[list[Judgement]]:
        """Judge samples from a worker thread; a sample that cannot be prompted gets an error record."""
        started = time.perf_counter()
        plans: list[list[JudgeRequest] | str] = []
        for s in samples:
            try:
                plans.append(build(s, settings))
            except Exception as exc:  # bad sample for this template/mode: recorded, not fatal
                plans.append(f"{type(exc).__name__}: {exc}")
        flat = [r for p in plans if isinstance(p, list) for r in p]
        try:
            outputs = self.batcher.judge(flat, background=background) if flat else []
        except Exception as exc:
            outputs = [EngineOutput(text="", error=f"{type(exc).__name__}: {exc}") for _ in flat]
        results: list[list[Judgement]] = []
        pos = 0
        for s, plan in zip(samples, plans):
            if isinstance(plan, str):
                results.append(error_judgements(s, settings, self.judge_name, plan))
                continue
            results.append(self._finish(plan, outputs[pos:pos + len(plan)], started))
            pos += len(plan)
        return results
