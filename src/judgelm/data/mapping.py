"""Any JSON / JSONL / CSV (or Hugging Face dataset) read through a column mapping.

Syntax (CLI ``--map``, or a dict in Python): comma-separated ``target=column`` pairs; list
targets take several columns joined by ``|``; ``a.b`` reads a nested field::

    question=prompt,answers=resp_a|resp_b,gold=winner
    id=uid,question=instruction,input=context,answers=chosen|rejected,gold_index=label

Targets: ``question`` and ``answers`` (required); ``id``, ``input``, ``reference``,
``explanation`` (gold explanation), ``models`` (one column per answer), ``gold`` (verdict),
``gold_index`` (0-based index of the winning answer, no ties), ``gold_scores`` (one column per
answer, or one column holding a list), ``metadata`` (columns copied into ``metadata``).

``gold`` values: a number ``0``..``N`` (0 = tie, k = answer k); ``tie``/``draw``/``equal``/
``both``/``neither``/``tie (bothbad)`` → 0; a single letter ``A``, ``B``, … → 1, 2, …;
``model_a``, ``response_2``, ``output_1``, ``answer 2``, ``assistant_b`` … → that answer;
empty or null → no verdict. Anything else is a row error naming the field.
Without ``id`` the id is ``<file stem>:<line>`` (``hf:<dataset>[<split>]:<row index>`` for
Hugging Face datasets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from judgelm.data.records import Row, to_number
from judgelm.data.registry import Converter, Format, register
from judgelm.schema import Answer, Gold, Sample, verdict_from_scores

LIST_TARGETS = {"answers", "models", "gold_scores", "metadata"}
SINGLE_TARGETS = {"id", "question", "input", "reference", "explanation", "gold", "gold_index"}
TIE_WORDS = {"tie", "draw", "equal", "same", "both", "neither", "tie (bothbad)", "both good", "both bad"}
_NAMED = re.compile(r"^(?:model|response|output|answer|assistant|resp)[ _-]?([a-z]|\d+)$")

ColumnMapping = dict[str, "str | list[str]"]


def parse_mapping(spec: str | Mapping[str, Any]) -> ColumnMapping:
    """``"question=prompt,answers=a|b"`` (or a dict) → a validated mapping."""
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            target, sep, column = part.partition("=")
            if not sep or not column.strip():
                raise ValueError(f"bad mapping entry {part!r}: want target=column")
            items.append((target.strip(), column.strip()))
    mapping: ColumnMapping = {}
    for target, column in items:
        if target in LIST_TARGETS:
            cols = column.split("|") if isinstance(column, str) else list(column)
            mapping[target] = [c.strip() for c in cols if c.strip()]
        elif target in SINGLE_TARGETS:
            if not isinstance(column, str):
                raise ValueError(f"mapping target {target!r} takes one column")
            mapping[target] = column
        else:
            raise ValueError(f"unknown mapping target {target!r}; known: {', '.join(sorted(LIST_TARGETS | SINGLE_TARGETS))}")
    for required in ("question", "answers"):
        if required not in mapping:
            raise ValueError(f"column mapping needs {required}=COLUMN")
    if "models" in mapping and len(mapping["models"]) != len(mapping["answers"]):
        raise ValueError("models= needs one column per answer")
    return mapping


_QUESTION_COLS = ("question", "prompt", "instruction", "query", "input", "user_prompt")
_GOLD_COLS = ("label", "gold", "winner", "preference", "verdict", "choice")


def suggest_mapping(fields: list[str]) -> str | None:
    """A ``--map`` value guessed from column names (``question``, ``answer_a``/``answer_b``,
    ``label`` …), for the error message of a file of no known format; None when no guess."""
    lower = {f.lower(): f for f in fields}
    question = next((lower[c] for c in _QUESTION_COLS if c in lower), None)
    answers = [f for f in fields if _NAMED.match(f.strip().lower())]
    if question is None or len(answers) < 2:
        return None
    parts = [f"question={question}", "answers=" + "|".join(answers)]
    gold = next((lower[c] for c in _GOLD_COLS if c in lower), None)
    if gold is not None:
        parts.append(f"gold={gold}")
    return ",".join(parts)


def parse_verdict(value: Any, n: int) -> int | None:
    """A gold label in any of the documented spellings → 0 (tie), k (answer k) or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"cannot read a verdict from {value!r}")
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TIE_WORDS:
            return 0
        if len(word) == 1 and word.isalpha():
            k = ord(word) - ord("a") + 1
        elif m := _NAMED.match(word):
            tag = m.group(1)
            k = int(tag) if tag.isdigit() else ord(tag) - ord("a") + 1
        else:
            k_float = to_number(value, ValueError)
            k = int(k_float) if k_float == int(k_float) else -1
    else:
        k_float = to_number(value, ValueError)
        k = int(k_float) if k_float == int(k_float) else -1
    if not 0 <= k <= n:
        raise ValueError(f"verdict {value!r} out of range for {n} answers")
    return k


def _text(row: Row, column: str, *, required: bool) -> str | None:
    value = row.req(column) if required else row.get(column)
    if value is None:
        if required:
            raise row.error(column, "null")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise row.error(column, f"expected text, got {type(value).__name__}")
    return value


def map_row(row: Row, mapping: ColumnMapping) -> Sample:
    answers_cols = mapping["answers"]
    models = mapping.get("models") or [None] * len(answers_cols)
    answers = [
        Answer(text=_text(row, col, required=True) or "", model=_text(row, m, required=False) if m else None)
        for col, m in zip(answers_cols, models)
    ]
    n = len(answers)
    gold = None
    verdict = scores = None
    if "gold_scores" in mapping:
        cols = mapping["gold_scores"]
        if len(cols) == 1 and n > 1:
            scores = row.num_list(cols[0], length=n, optional=True)
        else:
            scores = [row.num(c) for c in cols]  # type: ignore[misc]
        verdict = verdict_from_scores(scores)
    if "gold" in mapping:
        try:
            verdict = parse_verdict(row.get(mapping["gold"]), n)
        except ValueError as exc:
            raise row.error(mapping["gold"], str(exc)) from None
    elif "gold_index" in mapping:
        idx = row.num(mapping["gold_index"], optional=True)
        if idx is not None:
            if idx != int(idx) or not 0 <= idx < n:
                raise row.error(mapping["gold_index"], f"expected a 0-based answer index below {n}, got {idx:g}")
            verdict = int(idx) + 1
    explanation = _text(row, mapping["explanation"], required=False) if "explanation" in mapping else None
    if verdict is not None or scores is not None or explanation is not None:
        gold = Gold(verdict=verdict, scores=scores, explanation=explanation, source="mapped")
    sid = _text(row, mapping["id"], required=True) if "id" in mapping else row.derived_id()
    return Sample(
        id=sid or "",
        question=_text(row, mapping["question"], required=True) or "",
        input=_text(row, mapping["input"], required=False) if "input" in mapping else None,
        reference=_text(row, mapping["reference"], required=False) if "reference" in mapping else None,
        answers=answers,
        gold=gold,
        metadata={c: row.get(c) for c in mapping.get("metadata", [])},
    )


@register
class MappedFormat(Format):
    name = "mapped"
    description = "any JSON/JSONL/CSV with a column mapping (--map question=COL,answers=COL1|COL2,gold=COL)"
    options = {"mapping": "column mapping, see judgelm.data.mapping"}
    folder_glob = "**/*.*"

    def converter(self, path: Path, **opts: Any) -> Converter:
        if not opts.get("mapping"):
            raise ValueError("format 'mapped' needs a column mapping (--map)")
        mapping = parse_mapping(opts["mapping"])
        return lambda row: map_row(row, mapping)
