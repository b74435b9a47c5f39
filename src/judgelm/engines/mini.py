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


#: mini's single-answer figures, from benchmarks/results/single_answer_mini.json (benchmarks/single_answer.py;
#: tests/test_single_answer_honesty.py checks they match): Spearman with Prometheus' GPT-4 grades (both
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

    def __init__(self, target: str = "", encoder: str | None = None, threads: int | None = None, ties: bool = True, **opts: Any) -> None:
        from judgelm.mini.scorer import MiniJudge

        if opts:
            log.debug("mini engine ignores options %s", sorted(opts))
        path = Path(target) if target else ASSET_DIR
        self.judge = MiniJudge.load(path, encoder=encoder, threads=threads)
        self.name = f"mini:{target}" if target else "mini"
        self.ties = ties

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

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        """Judge all requests in one embedding pass."""
        t0 = time.perf_counter()
        built = [self._problem(r) for r in requests]
        if any(pinned for _, pinned in built):
            warn_single_answer()
        results = self.judge.judge([p for p, _ in built], ties=self.ties)
        per = (time.perf_counter() - t0) / max(1, len(requests))
        outputs = []
        for req, (_, pinned), res in zip(requests, built, results):
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
