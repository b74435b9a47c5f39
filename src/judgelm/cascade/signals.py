"""Confidence from agreement: several cheap judgements of a sample as "simulated annotators".

Why: one judge's own probability says how sure *it* is, not whether it is right; the samples a
cheap judge gets wrong are often those on which other cheap judges disagree with it (Trust or
Escalate, Jung et al. 2024). Any extra judgement — a recorded file, another engine (e.g. a local
LM judge), the answer-length heuristic, an earlier stage of the cascade — is a :class:`Signal`.

How: each signal gives the probability it puts on the stage's verdict: its confidence ``c`` when
it gives the same verdict, ``(1 − c) / 2`` when not (the rest spread over the two other
outcomes), and 1 / 0 when it gives a verdict without a confidence (a plain vote). The stage's
own folded confidence (both orders: the lower one; inconsistent orders: 0) is one more voice.
The **agreement confidence** is the plain mean over the voices present for the sample —
equal weights, nothing fitted, so nothing is tuned on the data it is then tested on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from judgelm.cascade.decisions import Decision, decide
from judgelm.schema import Judgement, Sample

logger = logging.getLogger(__name__)

LENGTH_RATIO = 1.2  # the length heuristic calls a tie below this word-count ratio


@dataclass
class Signal:
    """One extra judge's verdict (and confidence, when it has one) per sample."""

    name: str
    verdicts: dict[str, int | None]
    confidence: dict[str, float | None]

    def prob(self, sample_id: str, verdict: int | None) -> float | None:
        """The probability this signal puts on ``verdict``; None when it has no verdict for the sample."""
        if verdict is None or sample_id not in self.verdicts:
            return None
        v = self.verdicts[sample_id]
        if v is None:
            return None
        c = self.confidence.get(sample_id)
        if c is None:
            return 1.0 if v == verdict else 0.0
        return c if v == verdict else (1.0 - c) / 2.0


def signal_from_judgements(name: str, judgements: Iterable[Judgement]) -> Signal:
    """A signal from judgements in one or both orders (folded like a stage; no confidence → a vote)."""
    js = list(judgements)
    has_conf = {j.sample_id for j in js if j.confidence is not None}
    decisions = decide(js, confidence_fallback="margin")
    return signal_from_decisions(name, decisions, with_confidence=has_conf)


def signal_from_decisions(name: str, decisions: dict[str, Decision], *, with_confidence: set[str] | None = None) -> Signal:
    """A signal from folded decisions; ``with_confidence``: the samples whose confidence is real
    (the others vote). Inconsistent orders count as a verdict with confidence 1/3 (no information)."""
    conf: dict[str, float | None] = {}
    for sid, d in decisions.items():
        if d.consistent is False:
            conf[sid] = 1.0 / 3.0
        elif with_confidence is None or sid in with_confidence:
            conf[sid] = d.confidence
        else:
            conf[sid] = None
    return Signal(name, {sid: d.verdict for sid, d in decisions.items()}, conf)


def length_signal(samples: Sequence[Sample]) -> Signal:
    """The longer answer (by words, ratio ≥ 1.2) wins, otherwise a tie: a vote that costs nothing."""
    verdicts: dict[str, int | None] = {}
    for s in samples:
        if len(s.answers) != 2:
            continue
        a, b = (max(1, len(x.text.split())) for x in s.answers)
        verdicts[s.id] = 1 if a >= LENGTH_RATIO * b else 2 if b >= LENGTH_RATIO * a else 0
    return Signal("length", verdicts, {})


def agreement_confidence(decisions: dict[str, Decision], signals: Sequence[Signal], *,
                         own: bool = True) -> dict[str, float]:
    """Per sample: the mean probability the voices put on the stage's verdict (see module docstring).

    ``own``: the stage's own confidence is a voice (leave it out for a judge without one). A
    sample without a verdict, or with no voice at all, gets 0.
    """
    out: dict[str, float] = {}
    for sid, d in decisions.items():
        if d.verdict is None:
            out[sid] = 0.0
            continue
        voices = [d.confidence] if own else []
        voices += [p for s in signals if (p := s.prob(sid, d.verdict)) is not None]
        out[sid] = float(sum(voices) / len(voices)) if voices else 0.0
    return out
