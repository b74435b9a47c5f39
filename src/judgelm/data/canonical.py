"""The canonical JSONL: one :class:`~judgelm.schema.Sample` per line (``Sample.to_json``),
as written by ``judgelm convert`` and read back losslessly."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register
from judgelm.schema import Sample


def validation_error(row: Row, exc: ValidationError) -> Exception:
    """The first pydantic error of ``exc`` as a DataError naming the field path."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    return row.error(field, first.get("msg", "invalid"))


def to_sample(row: Row) -> Sample:
    """A canonical row; ``id`` is optional (``<file stem>:<line>`` when absent) and answers may be
    plain strings -- the one sample shape every entry point accepts (docs/formats.md)."""
    data = row.data
    if data.get("id") in (None, ""):
        data = {**data, "id": row.derived_id()}
    try:
        return Sample.model_validate(data)
    except ValidationError as exc:
        raise validation_error(row, exc) from None


def write_samples(samples: Iterable[Sample], path: str | Path) -> int:
    """Write canonical JSONL (``-`` = stdout); returns the number of samples written."""
    import sys

    n = 0
    out = sys.stdout if str(path) == "-" else Path(path).open("w", encoding="utf-8")
    try:
        for sample in samples:
            out.write(sample.to_json() + "\n")
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    return n


@register
class CanonicalFormat(Format):
    name = "canonical"
    description = "judgelm canonical JSONL (Sample: question, answers as strings or {text, model}, optional id, gold, ...)"
    labels = "gold.verdict"

    def matches(self, first: dict[str, Any]) -> bool:
        return {"question", "answers"} <= first.keys() and isinstance(first.get("answers"), list)

    def converter(self, path: Path, **opts: Any) -> Converter:
        return to_sample
