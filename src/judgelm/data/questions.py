"""Benchmark prompts without answers: MT-bench, Vicuna-bench, arena-bench ``question.jsonl``.

They feed answer generation (``judgelm generate``), not judging, so they get their own type.
Reference turns come from a FastChat answer file — by default the ``reference_answer/gpt-4.jsonl``
next to ``question.jsonl`` — as FastChat's judges use them; for questions that file does not
cover, from the question's own ``reference`` field (MT-bench's short answer keys, e.g.
``["Area is 3", "5pi"]``), which is also always kept in ``metadata.inline_reference``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgelm.data.answers import read_answers
from judgelm.data.errors import DataError
from judgelm.data.records import Row, iter_records


class Prompt(BaseModel):
    """One benchmark question: its user turns (oldest first) and optional reference turns."""

    model_config = ConfigDict(extra="forbid")
    id: str
    turns: list[str]
    category: str | None = None
    reference: list[str] | None = None  # one reference answer per turn
    metadata: dict[str, Any] = Field(default_factory=dict)


def is_prompt_row(first: dict[str, Any]) -> bool:
    return {"question_id", "turns"} <= first.keys() and "choices" not in first


def default_reference_file(questions: Path) -> Path | None:
    ref_dir = questions.parent / "reference_answer"
    preferred = ref_dir / "gpt-4.jsonl"
    if preferred.is_file():
        return preferred
    found = sorted(ref_dir.glob("*.jsonl")) if ref_dir.is_dir() else []
    return found[0] if found else None


def _prompt(row: Row) -> Prompt:
    qid = row.req("question_id")
    if isinstance(qid, bool) or not isinstance(qid, (str, int)):
        raise row.error("question_id", f"expected a string or integer, got {type(qid).__name__}")
    turns = row.req("turns")
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        raise row.error("turns", "expected a non-empty list of strings")
    ref = row.get("reference")
    if ref is not None and (not isinstance(ref, list) or not all(isinstance(t, str) for t in ref)):
        raise row.error("reference", "expected a list of strings")
    meta = {k: v for k, v in row.data.items() if k not in ("question_id", "turns", "category", "reference")}
    if ref is not None:
        meta["inline_reference"] = ref
        meta["reference_source"] = "question"
    return Prompt(id=str(qid), turns=turns, category=row.opt_text("category"), reference=ref, metadata=meta)


def read_prompts(
    source: str | Path, references: str | Path | Literal["auto"] | None = "auto"
) -> Iterator[Prompt]:
    """Prompts of a ``question.jsonl``; ``references``: a FastChat answer file whose turns become
    the prompts' reference turns, ``"auto"`` (the sibling ``reference_answer/gpt-4.jsonl``
    if present) or None. A bad row raises :class:`DataError` naming file, line and field."""
    path = Path(source)
    if path.is_dir():
        path = path / "question.jsonl"
    if not path.is_file():
        raise DataError(path, None, None, "no such file")
    ref_path = default_reference_file(path) if references == "auto" else (Path(references) if references else None)
    refs: dict[str, tuple[list[str], str]] = {}
    if ref_path is not None:
        refs = {a.question_id: (a.turns, a.model) for a in read_answers(ref_path)}
    for rec in iter_records(path):
        if rec.error is not None:
            raise rec.error
        assert rec.row is not None
        prompt = _prompt(rec.row)
        if prompt.id in refs:
            prompt.reference, model = refs[prompt.id]
            prompt.metadata["reference_source"] = model
        yield prompt
