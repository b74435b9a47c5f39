"""JudgeLM's own data format (JudgeLM-100K train, judgelm_val_5k; docs/formats.md §2).

One JSON object per line: ``question_id, question_body, answer1_body, answer2_body,
answer{k}_model_id, answer{k}_metadata`` (answers 3..N follow the same pattern), and optional
teacher labels ``score`` (list), ``text`` (``"s1 s2\\nexplanation"``), ``reference.text``,
``text_w_reference`` / ``score_w_reference``. Rows whose ``text`` is ``error`` are dropped
(counted under ``dropped`` in the read report), as the original training code does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgelm.data.errors import Dropped
from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register
from judgelm.schema import Answer, Gold, Sample, verdict_from_scores


def _answers(row: Row) -> list[Answer]:
    answers = []
    k = 1
    while row.has(f"answer{k}_body") or k <= 2:
        meta = row.get(f"answer{k}_metadata") or {}
        if not isinstance(meta, dict):
            raise row.error(f"answer{k}_metadata", f"expected an object, got {type(meta).__name__}")
        model = row.get(f"answer{k}_model_id")
        answers.append(
            Answer(text=row.text(f"answer{k}_body"), model=None if model is None else str(model), metadata=meta)
        )
        k += 1
    return answers


def _teacher(row: Row, text_field: str, score_field: str, n: int) -> tuple[list[float] | None, str | None]:
    """(scores, explanation) of one teacher judgement; the explanation is ``text`` minus its score line."""
    text = row.opt_text(text_field)
    scores = row.num_list(score_field, length=n, optional=True)
    if text is None:
        return scores, None
    first, _, rest = text.partition("\n")
    if scores is None:  # no score list: read the first line of the judgement
        parts = first.replace(",", " ").split()
        try:
            parsed = [float(p) for p in parts]
        except ValueError:
            raise row.error(text_field, f"first line {first!r} is not {n} scores") from None
        if len(parsed) != n:
            raise row.error(text_field, f"first line {first!r} is not {n} scores")
        scores = parsed
    return scores, rest.strip()


def _reference(row: Row) -> str | None:
    ref = row.get("reference")
    if ref is None or isinstance(ref, str):
        return ref
    if isinstance(ref, dict):
        return row.opt_text("reference.text")
    raise row.error("reference", f"expected an object with 'text', got {type(ref).__name__}")


def to_sample(row: Row) -> Sample:
    if row.get("text") == "error":
        raise Dropped("teacher output 'error'")
    answers = _answers(row)
    n = len(answers)
    scores, explanation = _teacher(row, "text", "score", n)
    gold = None
    if scores is not None or explanation is not None:
        gold = Gold(verdict=verdict_from_scores(scores), scores=scores, explanation=explanation, source="teacher")
        if row.get("text_w_reference") not in (None, "error"):
            ref_scores, ref_expl = _teacher(row, "text_w_reference", "score_w_reference", n)
            gold.scores_w_reference = ref_scores
            gold.verdict_w_reference = verdict_from_scores(ref_scores)
            gold.explanation_w_reference = ref_expl
    qid = row.req("question_id")
    if not isinstance(qid, (str, int)) or isinstance(qid, bool):
        raise row.error("question_id", f"expected a string or integer, got {type(qid).__name__}")
    known = {"question_id", "question_body", "reference", "score", "text", "text_w_reference", "score_w_reference"}
    extra: dict[str, Any] = {
        k: v for k, v in row.data.items() if k not in known and not k.startswith("answer")
    }
    return Sample(
        id=str(qid),
        question=row.text("question_body"),
        answers=answers,
        reference=_reference(row),
        gold=gold,
        metadata=extra,
    )


@register
class JudgeLMFormat(Format):
    name = "judgelm"
    description = "JudgeLM train/val JSONL (question_body, answer1_body, answer2_body, score, text, reference)"
    labels = "score / text (the teacher's judgement)"

    def matches(self, first: dict[str, Any]) -> bool:
        return {"question_body", "answer1_body", "answer2_body"} <= first.keys()

    def converter(self, path: Path, **opts: Any) -> Converter:
        return to_sample
