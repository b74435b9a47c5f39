"""Auto-J single-answer critiques (``single_traindata.jsonl``).

``usrmsg`` is Auto-J's grading prompt; the query and response sit between
``[BEGIN DATA]`` / ``[END DATA]`` as ``***\\n[Query]: …\\n***\\n[Response]: …\\n***``.
The query ends at the *first* ``\\n***\\n[Response]: `` and the response at the *last*
``\\n***\\n[END DATA]``, so ``***`` inside an answer does not cut it short.
Gold: ``scores = [pred_score]`` (1–10), explanation = the critique (``target_output``).
Id: a hash of query, response and critique (three pairs were critiqued more than once).
Labels are optional: a row with ``usrmsg`` only (Auto-J's grading input, no critique yet) is
unlabelled (``gold = None``); its detection needs the ``[Query]:`` block in ``usrmsg``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register, stable_id
from judgelm.schema import Answer, Gold, Sample

QUERY = "[Query]: "
RESPONSE = "\n***\n[Response]: "
END = "\n***\n[END DATA]"


def split_usrmsg(row: Row) -> tuple[str, str]:
    """(query, response) out of the ``usrmsg`` prompt."""
    msg = row.text("usrmsg")
    q0 = msg.find(QUERY)
    r0 = msg.find(RESPONSE, q0 + len(QUERY)) if q0 >= 0 else -1
    e0 = msg.rfind(END)
    if q0 < 0 or r0 < 0 or e0 < r0:
        raise row.error("usrmsg", "no '[Query]: … [Response]: … [END DATA]' block")
    return msg[q0 + len(QUERY) : r0], msg[r0 + len(RESPONSE) : e0]


def to_sample(row: Row) -> Sample:
    query, response = split_usrmsg(row)
    labelled = row.has("target_output") or row.has("pred_score")
    score = row.num("pred_score") if labelled else None
    critique = row.text("target_output") if labelled else None
    return Sample(
        # some (query, response) pairs were critiqued twice or thrice: the critique is part of the id
        id=stable_id(query, response, critique) if critique is not None else stable_id(query, response),
        question=query,
        answers=[Answer(text=response)],
        gold=Gold(scores=[score], explanation=critique, source="gpt-4") if labelled else None,
        metadata={
            "scenario": row.opt_text("scenario"),
            "source_dataset": row.opt_text("source_dataset"),
            "scale": [1, 10],
        },
    )


@register
class AutoJFormat(Format):
    name = "autoj"
    description = "Auto-J single-answer critiques (usrmsg, target_output, pred_score)"

    labels = "pred_score, target_output"

    def matches(self, first: dict[str, Any]) -> bool:
        if "target_output" in first:
            return "usrmsg" in first
        msg = first.get("usrmsg")
        return isinstance(msg, str) and QUERY in msg and "[END DATA]" in msg

    def converter(self, path: Path, **opts: Any) -> Converter:
        return to_sample
