"""The built-in CPU judge as an engine (spec ``"mini"``, the offline default).

It reads :attr:`JudgeRequest.sample` (already in presented order), not the rendered prompt,
so it works with every template and mode: pairs, N answers, single-answer grading (against
the reference or the pinned anchor), multi-turn (history folded into the question), with or
without a reference. It writes the JudgeLM score line (or PandaLM's verdict line) so the
standard parsers read it, and returns the scores and a calibrated confidence directly.

``target`` is a directory with weights trained by ``judgelm train --recipe mini``; empty
means the weights shipped in ``judgelm/assets/mini``. Option ``encoder`` swaps the sentence
encoder (a path or hub id with the same embedding size), ``threads`` sets torch threads,
``ties=False`` forces a choice (for label sets without ties, such as LLMBar).

Rubric templates (``prometheus-*``): mini cannot read a rubric. It grades the answer's general
quality (against the reference when the prompt shows one) on its own 1..10 scale and maps that
linearly onto the criterion's scale; the criterion's text and level descriptions change nothing.
It says so once per run (a warning), and docs/judging.md shows what that is worth on the
640 Prometheus items, next to the length baseline and the GPT-4 ceiling.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest

log = logging.getLogger(__name__)

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "mini"
from judgelm.prompts import PINNED_MODES  # noqa: E402  (single source: the templates)

#: what mini says when it is asked to grade against a rubric
RUBRIC_NOTE = ("mini cannot grade against a rubric: it ignores the criteria and level descriptions and grades general "
               "answer quality (against the reference when shown), mapped linearly onto the rubric's scale; docs/judging.md "
               "(rubric grading) shows its figures next to the length baseline")


#: mini's single-answer figures, from benchmarks/results/single_answer_mini.json (benchmarks/single_answer.py;
#: tests/mini/test_single_answer_honesty.py checks they match): Spearman with Prometheus' GPT-4 grades (both
#: sets pooled), and the answer-length rule's on each set
SINGLE_SPEARMAN = 0.46
LENGTH_SINGLE_SPEARMAN = (0.35, 0.38)
SINGLE_ANSWER_WARNING = (
    f"the built-in judge (mini) grades single answers weakly: Spearman {SINGLE_SPEARMAN:.2f} with Prometheus' "
    f"GPT-4 grades, barely above answer length alone ({LENGTH_SINGLE_SPEARMAN[0]:.2f}-{LENGTH_SINGLE_SPEARMAN[1]:.2f}), "
    "on a scale of its own; for single-answer grades use a judge model (--judge hf:... or openai:...)"
)
_warned: list[bool] = []


def warn_single_answer() -> None:
    """Say once per process that mini's single-answer grades are weak (the CLI before a run, the engine
    on its first single-answer request: the Python face, the server, cascades)."""
    if not _warned:
        _warned.append(True)
        log.warning(SINGLE_ANSWER_WARNING)


class MiniEngine(Engine):
    """Frozen MiniLM features + a small trained head; order-invariant, CPU-only."""

    preferred_batch_size = 256
    #: no shared CLI flag concerns mini (``--no-ties`` sets ``ties`` itself; -O reaches ``encoder``, ``threads``)
    cli_options = ()

    def __init__(self, target: str = "", encoder: str | None = None, threads: int | None = None, ties: bool = True, **opts: Any) -> None:
        from judgelm.mini.scorer import MiniJudge

        if opts:
            log.debug("mini engine ignores options %s", sorted(opts))
        path = Path(target) if target else ASSET_DIR
        self.judge = MiniJudge.load(path, encoder=encoder, threads=threads)
        self.name = f"mini:{target}" if target else "mini"
        self.ties = ties
        self._warned_rubric = False

    def generation_settings(self) -> dict[str, Any]:
        """Settings that change the output (part of the response-cache key); ``padding`` names the
        batch-invariant padding rule, so outputs cached before it are not served for it."""
        return {"ties": self.ties, "padding": "own-width-16"}

    def _problem(self, req: JudgeRequest) -> tuple[Any, bool]:
        from judgelm.mini.features import question_text
        from judgelm.mini.scorer import Problem

        s = req.sample
        q = question_text(s.question, s.input, [(t.role, t.content) for t in s.history])
        answers = [a.text for a in s.answers]
        ref = s.reference if (req.reference_used or req.mode == "vqa") else None
        if req.mode in PINNED_MODES:
            # grade the last answer alone; with two answers the first is the anchor (usually the reference)
            anchor = answers[0] if len(answers) > 1 else None
            return Problem(q, [answers[-1]], ref or anchor), True
        return Problem(q, answers, ref), False

    def _rubric_problem(self, req: JudgeRequest) -> tuple[Any, bool]:
        from judgelm.mini.features import question_text
        from judgelm.mini.scorer import Problem

        if not self._warned_rubric:
            log.warning(RUBRIC_NOTE)
            self._warned_rubric = True
        s = req.sample
        q = question_text(s.question, s.input, [(t.role, t.content) for t in s.history])
        return Problem(q, [a.text for a in s.answers], s.reference if req.reference_used else None), False

    def _rubric_output(self, req: JudgeRequest, res: Any, per: float) -> EngineOutput:
        """Mini's 1..10 grades mapped linearly onto the criterion's scale (absolute), or its choice (relative)."""
        c = req.criterion
        if req.mode == "single":
            grade = round(c.low + (res.scores[0] - 1.0) * (c.high - c.low) / 9.0)
            return EngineOutput(text=f"{grade}\nFeedback: {res.explanation} [RESULT] {grade}", scores=[float(grade)],
                                latency_s=per, extra={"mini_grade": res.scores[0]})
        if res.verdict == 0:  # Prometheus has no tie: a tie is recorded as unparsed, not turned into a choice
            return EngineOutput(text=f"Feedback: {res.explanation} (the answers are equally good; no choice)",
                                latency_s=per)
        choice = "A" if res.verdict == 1 else "B"
        return EngineOutput(text=f"Feedback: {res.explanation} [RESULT] {choice}", confidence=res.confidence,
                            latency_s=per)

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        """Judge all requests in one embedding pass."""
        t0 = time.perf_counter()
        built = [self._rubric_problem(r) if r.criterion is not None else self._problem(r) for r in requests]
        if any(pinned for r, (_, pinned) in zip(requests, built) if r.criterion is None):
            warn_single_answer()  # rubric grading has its own note (RUBRIC_NOTE)
        results = self.judge.judge([p for p, _ in built], ties=self.ties)
        per = (time.perf_counter() - t0) / max(1, len(requests))
        outputs = []
        for req, (_, pinned), res in zip(requests, built, results):
            if req.criterion is not None:
                outputs.append(self._rubric_output(req, res, per))
                continue
            if pinned:
                scores = [10.0, res.scores[0]] if len(req.sample.answers) > 1 else [res.scores[0]]
                text = f"10 {res.scores[0]:g}\n{res.explanation}"
                outputs.append(EngineOutput(text=text, scores=scores, confidence=None, latency_s=per))
                continue
            line = " ".join(f"{s:g}" for s in res.scores)
            if req.template == "pandalm":
                head = {0: "Tie"}.get(res.verdict, str(res.verdict))
                text = f"{head}\n\n### Reason: {res.explanation}"
            else:
                text = f"{line}\n{res.explanation}"
            outputs.append(
                EngineOutput(
                    text=text,
                    scores=res.scores,
                    confidence=res.confidence,
                    latency_s=per,
                    extra={"p_tie": round(res.probs[0], 4), "p_best": round(res.probs[1], 4)},
                )
            )
        return outputs
