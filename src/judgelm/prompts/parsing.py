"""Turning judge text into scores/verdicts. Unparsable text is a recorded state, never a tie.

Contract (implemented here):

    parse_judgelm(text, n_answers=2, pinned_first=None) -> Parsed
        first line = N scores ("8 7", "8, 7", "8.5 7"), rest = explanation.
        ``pinned_first``: for single-answer grading the prompt ends with "### Response:10",
        so the model's text starts with " X": the first score is the pinned value.
    parse_pandalm(text) -> Parsed
        "1" / "2" / "Tie" on the first line, then "### Reason: ..." and "### Reference: ...".
    parse_rating(text) -> Parsed
        a single grade written as "[[k]]" (MT-bench / arena-hard / Auto-J: "Rating: [[7]]").
    parse_prometheus_absolute(text, low=1, high=5) -> Parsed
        Prometheus' "Feedback: … [RESULT] k": an integer grade in low..high (else unparsed, never clipped).
    parse_prometheus_relative(text) -> Parsed
        Prometheus' "Feedback: … [RESULT] A" (or B): verdict 1 (A) / 2 (B).

``Parsed.scores`` / ``Parsed.verdict`` are in *presented* order; ``judgelm.judging.runner`` maps them back.
When ``ok`` is False, ``scores``/``verdict`` are None and ``error`` says what was wrong — callers
record the judgement as unparsed (``ParseStatus.UNPARSED``); it is never turned into a tie here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from judgelm.schema import TIE, verdict_from_scores

#: JudgeLM asks for scores on a 1..10 scale; 0 is tolerated (models do write it), beyond is garbage.
SCORE_MIN, SCORE_MAX = 0.0, 10.0

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SEPARATORS = re.compile(r"[,\s]+")
_PANDALM_VERDICTS = {"1": 1, "2": 2, "tie": TIE}
_REASON = "### Reason:"
_REFERENCE = "### Reference:"
_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


@dataclass
class Parsed:
    ok: bool
    scores: list[float] | None = None
    verdict: int | None = None  # 0 tie, k = answer k (presented order)
    explanation: str | None = None
    reference: str | None = None  # PandaLM's generated reference answer
    error: str | None = None  # why the text could not be parsed (ok=False)


def _fail(why: str, explanation: str | None = None) -> Parsed:
    return Parsed(ok=False, explanation=explanation, error=why)


def _rest(text: str) -> str | None:
    rest = text.strip()
    return rest or None


def _numbers(line: str) -> list[float] | None:
    """The line as a list of numbers separated by spaces/commas, or None if anything else is in it."""
    tokens = [t for t in _SEPARATORS.split(line.strip()) if t]
    if not tokens or not all(_NUMBER.fullmatch(t) for t in tokens):
        return None
    return [float(t) for t in tokens]


def parse_judgelm(text: str, n_answers: int = 2, pinned_first: float | None = None) -> Parsed:
    """JudgeLM output: the first line holds ``n_answers`` scores, the rest is the explanation.

    With ``pinned_first`` (single/VQA grading, prompt ending ``### Response:10``) the text is the
    model's continuation and holds the other ``n_answers - 1`` scores (`` 7\\n…`` → ``[10, 7]``);
    a first line that repeats the pinned score in full (``10 7``, as an engine that cannot
    pre-fill writes it) is accepted too. Any score outside 0..10 makes the output unparsed.
    """
    if n_answers < 1:
        raise ValueError(f"n_answers must be >= 1, got {n_answers}")
    first, _, rest = text.lstrip().partition("\n")
    explanation = _rest(rest)
    numbers = _numbers(first)
    if numbers is None:
        return _fail(f"first line is not a list of scores: {first[:80]!r}", explanation)
    if pinned_first is not None:
        if len(numbers) == n_answers - 1:
            numbers = [float(pinned_first)] + numbers
        elif not (len(numbers) == n_answers and numbers[0] == pinned_first):
            return _fail(f"expected {n_answers - 1} score(s) after the pinned {pinned_first:g}, got {len(numbers)}",
                         explanation)
    if len(numbers) != n_answers:
        return _fail(f"expected {n_answers} scores, got {len(numbers)}", explanation)
    if any(not SCORE_MIN <= s <= SCORE_MAX for s in numbers):
        return _fail(f"score out of range {SCORE_MIN:g}..{SCORE_MAX:g}: {numbers}", explanation)
    return Parsed(ok=True, scores=numbers, verdict=verdict_from_scores(numbers), explanation=explanation)


def _section(text: str, start: str, stop: str | None) -> str | None:
    i = text.find(start)
    if i < 0:
        return None
    body = text[i + len(start):]
    if stop is not None and (j := body.find(stop)) >= 0:
        body = body[:j]
    return body.strip() or None


def parse_pandalm(text: str) -> Parsed:
    """PandaLM output: ``1`` / ``2`` / ``Tie`` on the first line (whitespace and case tolerated),
    then optional ``### Reason:`` (→ explanation) and ``### Reference:`` (→ reference) sections."""
    first, _, rest = text.strip().partition("\n")
    reason = _section(rest, _REASON, _REFERENCE)
    reference = _section(rest, _REFERENCE, None)
    verdict = _PANDALM_VERDICTS.get(first.strip().lower())
    if verdict is None:
        return Parsed(ok=False, explanation=reason, reference=reference,
                      error=f"first line is not 1, 2 or Tie: {first[:80]!r}")
    return Parsed(ok=True, verdict=verdict, explanation=reason, reference=reference)


def parse_rating(text: str, low: float = 1.0, high: float = 10.0) -> Parsed:
    """A single grade written as ``[[k]]`` (``Rating: [[7]]``); the last such mark counts.

    ``scores`` = ``[k]``, ``verdict`` None (one answer, nothing to compare), ``explanation`` = the
    whole text. Non-numeric ``[[…]]`` (code such as ``[[1, 2], [3, 4]]``) is ignored; no mark or a
    grade outside ``low..high`` → unparsed.
    """
    marks = _RATING.findall(text)
    if not marks:
        return _fail("no [[rating]] mark", _rest(text))
    grade = float(marks[-1])
    if not low <= grade <= high:
        return _fail(f"rating {grade:g} outside {low:g}..{high:g}", _rest(text))
    return Parsed(ok=True, scores=[grade], explanation=_rest(text))


_RESULT_SCORE = re.compile(r"\[RESULT\]\s*:?\s*\(?\s*(-?\d+(?:\.\d+)?)(?!\.?\d)", re.IGNORECASE)
_RESULT_CHOICE = re.compile(r"\[RESULT\]\s*:?\s*\(?\s*[\"']?(?:Response\s+)?([AB])\b", re.IGNORECASE)
_RESULT = re.compile(r"\[RESULT\]", re.IGNORECASE)
_FEEDBACK_LABEL = re.compile(r"^\s*Feedback:\s*", re.IGNORECASE)


def _feedback(text: str, end: int) -> str | None:
    """The feedback before the last ``[RESULT]``, without its ``Feedback:`` label."""
    return _rest(_FEEDBACK_LABEL.sub("", text[:end], count=1))


def _last_result(text: str, pattern: "re.Pattern[str]", what: str) -> tuple["re.Match[str] | None", Parsed | None, str | None]:
    """What follows the last ``[RESULT]`` mark, matched with ``pattern``: (match, failure, feedback);
    ``failure`` is the unparsed result when there is no mark or ``what`` does not follow it."""
    marks = list(_RESULT.finditer(text))
    if not marks:
        return None, _fail("no [RESULT] mark", _rest(_FEEDBACK_LABEL.sub("", text, count=1))), None
    start = marks[-1].start()
    explanation = _feedback(text, start)
    m = pattern.match(text, start)
    if m is None:
        return None, _fail(f"no {what} after [RESULT]: {text[start:start + 40]!r}", explanation), explanation
    return m, None, explanation


def parse_prometheus_absolute(text: str, low: int = 1, high: int = 5) -> Parsed:
    """``Feedback: … [RESULT] k`` → ``scores=[k]``; the last ``[RESULT]`` counts.

    ``k`` must be an integer in ``low..high`` (the rubric's scale): a missing mark, a non-integer or
    a grade outside the scale makes the output unparsed, with ``error`` saying which; nothing is clipped.
    """
    m, failed, explanation = _last_result(text, _RESULT_SCORE, "grade")
    if failed is not None:
        return failed
    grade = float(m.group(1))
    if not grade.is_integer():
        return _fail(f"grade {grade:g} is not an integer", explanation)
    if not low <= grade <= high:
        return _fail(f"grade {grade:g} outside the rubric's scale {low}..{high} (rejected, not clipped)", explanation)
    return Parsed(ok=True, scores=[grade], explanation=explanation)


def parse_prometheus_relative(text: str) -> Parsed:
    """``Feedback: … [RESULT] A`` / ``B`` → verdict 1 / 2 (presented order); the last ``[RESULT]`` counts."""
    m, failed, explanation = _last_result(text, _RESULT_CHOICE, "A or B")
    if failed is not None:
        return failed
    return Parsed(ok=True, verdict=1 if m.group(1).upper() == "A" else 2, explanation=explanation)
