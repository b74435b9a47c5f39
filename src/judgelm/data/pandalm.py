"""PandaLM human test set (``testset-v1.json``): 999 pairs, three annotators each.

Gold verdict = the majority of ``annotator1..3`` (0 = tie, 1, 2 — the same convention as
:mod:`judgelm.schema`); with no majority (three different labels) the gold verdict is None.
``input`` is PandaLM's task input; ids are ``str(idx)``.

Labels are optional: PandaLM's own inference input (``instruction``, ``input``, ``response1``,
``response2``, maybe ``idx``; no annotators) is the file a user judges to pick a model. Such rows
get ``gold = None`` (and, without ``idx``, the row's position as id: the element index of a
JSON array, the line of a JSONL file). A row with some but not all annotators is an error.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register
from judgelm.schema import Answer, Gold, Sample

ANNOTATORS = ("annotator1", "annotator2", "annotator3")


def majority(labels: list[int]) -> int | None:
    """The label given by more than half of the annotators, else None."""
    label, count = Counter(labels).most_common(1)[0]
    return label if count * 2 > len(labels) else None


def _labels(row: Row) -> list[int] | None:
    """The three annotator labels, or None for an unlabelled row (no annotator field at all)."""
    if not any(row.has(field) for field in ANNOTATORS):
        return None
    labels = []
    for field in ANNOTATORS:
        value = row.req(field)
        if isinstance(value, bool) or value not in (0, 1, 2):
            raise row.error(field, f"expected 0 (tie), 1 or 2, got {value!r}")
        labels.append(int(value))
    return labels


def to_sample(row: Row) -> Sample:
    labels = _labels(row)
    idx = row.get("idx", row.loc.line)
    if isinstance(idx, bool) or not isinstance(idx, int):
        raise row.error("idx", f"expected an integer, got {type(idx).__name__}")
    # cmp_key names the two compared models, but the files do not say which response is
    # which model's, so Answer.model stays unset rather than guessed
    cmp_key = row.opt_text("cmp_key")
    return Sample(
        id=str(idx),
        question=row.text("instruction"),
        input=row.opt_text("input") or None,
        answers=[
            # six responses of the released file are JSON booleans (a model answered "True"),
            # read as the text "True" like PandaLM's own Python code sees them
            Answer(text=row.text("response1", scalars=True)),
            Answer(text=row.text("response2", scalars=True)),
        ],
        gold=None if labels is None else Gold(verdict=majority(labels), source="human-majority"),
        metadata={
            "motivation_app": row.get("motivation_app"),
            "cmp_key": cmp_key,
            "annotators": labels,
        },
    )


@register
class PandaLMFormat(Format):
    name = "pandalm"
    description = "PandaLM test set (instruction, input, response1/2, annotator1..3 optional)"
    labels = "annotator1..3"

    def matches(self, first: dict[str, Any]) -> bool:
        return {"instruction", "response1", "response2"} <= first.keys()

    def converter(self, path: Path, **opts: Any) -> Converter:
        return to_sample
