"""Model answer files: one model's outputs per question, to be paired up into judge samples.

Two layouts are read:

* JudgeLM answer files: ``{question_id, question_body, text, model, decoding_method, scores}``;
* FastChat / MT-bench / arena-bench answer files (``reference_answer/gpt-4.jsonl``,
  ``model_answer/*.jsonl``): ``{question_id, answer_id, model_id, choices: [{index, turns}], tstamp}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgelm.data.errors import DataError
from judgelm.data.records import Row, iter_records
from judgelm.data.rejected import Rejects


class AnswerRecord(BaseModel):
    """One model's answer to one question (all turns for multi-turn prompts)."""

    model_config = ConfigDict(extra="forbid")
    question_id: str
    model: str
    turns: list[str]  # the answer of every turn; single-turn answers have one
    question: str | None = None
    decoding_method: str | None = None
    scores: list[float] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """The final turn's answer."""
        return self.turns[-1]


def is_judgelm_answer(first: dict[str, Any]) -> bool:
    return {"question_id", "text", "model"} <= first.keys() and "answer1_body" not in first


def is_fastchat_answer(first: dict[str, Any]) -> bool:
    return {"question_id", "model_id", "choices"} <= first.keys()


def _qid(row: Row) -> str:
    qid = row.req("question_id")
    if isinstance(qid, bool) or not isinstance(qid, (str, int)):
        raise row.error("question_id", f"expected a string or integer, got {type(qid).__name__}")
    return str(qid)


def _judgelm_answer(row: Row) -> AnswerRecord:
    scores = row.get("scores")
    return AnswerRecord(
        question_id=_qid(row),
        model=str(row.req("model")),
        turns=[row.text("text")],
        question=row.opt_text("question_body"),
        decoding_method=row.opt_text("decoding_method"),
        scores=row.num_list("scores", optional=True) if scores is not None else None,
    )


def _fastchat_answer(row: Row, choice: int) -> AnswerRecord:
    choices = row.req("choices")
    if not isinstance(choices, list) or not choices:
        raise row.error("choices", "expected a non-empty list")
    if choice >= len(choices):
        raise row.error("choices", f"has {len(choices)} entries, choice {choice} asked")
    turns = choices[choice].get("turns") if isinstance(choices[choice], dict) else None
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        raise row.error(f"choices.{choice}.turns", "expected a non-empty list of strings")
    meta = {k: row.data[k] for k in ("answer_id", "tstamp") if k in row.data}
    return AnswerRecord(question_id=_qid(row), model=str(row.req("model_id")), turns=turns, metadata=meta)


def read_answers(source: str | Path, *, choice: int = 0, rejects: Rejects | None = None) -> Iterator[AnswerRecord]:
    """Answer records of a JudgeLM or FastChat answer file (or a folder of them).

    ``choice`` picks the sample index of FastChat files that store several generations.
    A bad row raises :class:`DataError` naming file, line and field — unless ``rejects``
    (a :class:`~judgelm.data.rejected.Rejects`) is given: then it is collected there and skipped
    (``--skip-bad``). Which layout a file has is decided by its first good row.
    """
    source = Path(source)
    files = [source] if source.is_file() else sorted(source.glob("*.json*"))
    if not files:
        raise DataError(source, None, None, "no such file or folder (or no .json/.jsonl inside)")
    for path in files:
        convert = None
        for rec in iter_records(path):
            try:
                if rec.error is not None:
                    raise rec.error
                assert rec.row is not None
                if convert is None:
                    if is_fastchat_answer(rec.row.data):
                        convert = lambda r: _fastchat_answer(r, choice)  # noqa: E731
                    elif is_judgelm_answer(rec.row.data):
                        convert = _judgelm_answer
                    else:
                        raise rec.row.error(None, "not an answer file (want question_id+text+model or "
                                                  "question_id+model_id+choices)")
                answer = convert(rec.row)
            except DataError as err:
                if rejects is None:
                    raise
                if err.raw is None and rec.row is not None:
                    err.raw = rec.row.data
                rejects.add([err])
                continue
            yield answer
