"""arena-bench (arena-hard-auto v1) single-answer grades (``model_judgment/*.jsonl``).

Each row is a GPT-4 grade of one model's answer; ``user_prompt`` is the judge prompt::

    [Question]\\n{question}\\n\\n[The Start of Reference Answer]\\n{reference}\\n[The End of Reference Answer]
    \\n\\n[The Start of Assistant's Answer]\\n{answer}\\n[The End of Assistant's Answer]

(the reference block is optional). Question, reference and the graded answer are cut out of
it: the reference shown to the judge is not always the one in ``reference_answer/gpt-4.jsonl``,
so the prompt is the faithful source. Gold: ``scores = [score]`` (1–10; null when the judge's
rating could not be parsed), explanation = ``judgment``. Id: ``<question_id>:<model>``.
A row without ``judgment`` and ``score`` (the judge prompt only) is unlabelled: ``gold = None``.
The prompts themselves (``question.jsonl``) are read with :func:`judgelm.data.read_prompts`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register
from judgelm.schema import Answer, Gold, Sample

Q = "[Question]\n"
REF_START = "\n\n[The Start of Reference Answer]\n"
REF_END = "\n[The End of Reference Answer]"
ANS_START = "\n\n[The Start of Assistant's Answer]\n"
ANS_END = "\n[The End of Assistant's Answer]"


def split_user_prompt(row: Row) -> tuple[str, str | None, str]:
    """(question, reference or None, answer) out of the judge prompt."""
    p = row.text("user_prompt")
    if not p.startswith(Q) or not p.rstrip().endswith(ANS_END):
        raise row.error("user_prompt", "not an arena-bench single-grade prompt ([Question] … [The End of Assistant's Answer])")
    p = p.rstrip()
    ref_at = p.find(REF_START)
    if ref_at >= 0:
        question = p[len(Q) : ref_at]
        ref_end = p.find(REF_END + ANS_START, ref_at)
        if ref_end < 0:
            raise row.error("user_prompt", "reference block is not closed")
        reference: str | None = p[ref_at + len(REF_START) : ref_end]
        ans_at = ref_end + len(REF_END)
    else:
        ans_at = p.find(ANS_START)
        if ans_at < 0:
            raise row.error("user_prompt", "no [The Start of Assistant's Answer] block")
        question, reference = p[len(Q) : ans_at], None
    answer = p[ans_at + len(ANS_START) : len(p) - len(ANS_END)]
    return question, reference, answer


def to_sample(row: Row) -> Sample:
    question, reference, answer = split_user_prompt(row)
    model = row.text("model")
    labelled = row.has("judgment") or row.has("score")
    score = row.num("score", optional=True)
    meta: dict[str, Any] = {"question_id": row.text("question_id"), "scale": [1, 10]}
    if "turn" in row.data:
        meta["turn"] = row.data["turn"]
    return Sample(
        id=f"{row.text('question_id')}:{model}",
        question=question,
        reference=reference,
        answers=[Answer(text=answer, model=model)],
        gold=Gold(scores=None if score is None else [score], explanation=row.opt_text("judgment"), source="arena-bench")
        if labelled else None,
        metadata=meta,
    )


@register
class ArenaBenchFormat(Format):
    name = "arena_bench"
    description = "arena-bench model_judgment/*.jsonl single grades (question_id, model, user_prompt, judgment, score)"
    folder_glob = "**/model_judgment/*.jsonl"
    labels = "score, judgment"

    def matches(self, first: dict[str, Any]) -> bool:
        return {"question_id", "model", "user_prompt"} <= first.keys()

    def converter(self, path: Path, **opts: Any) -> Converter:
        return to_sample
