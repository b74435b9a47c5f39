"""Errors for bad input data: always say which file, which row and which field.

A row's position is given in the unit that fits the file:

* ``line``    — JSONL and CSV: the 1-based physical line number (a CSV header is line 1);
* ``element`` — a JSON array: the **0-based** element index (``data[i]`` in Python);
* ``key``     — a JSON object keyed by id (MM-Vet): the key.

``str(err)`` reads ``path:12: field 'answer2_body': missing`` for lines,
``path:element 12: …`` for array elements and ``path:key 'v1_3': …`` for keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Unit = Literal["line", "element", "key"]


@dataclass(frozen=True)
class Location:
    """Where a row lives: file plus line / element index / key (see module docstring)."""

    file: str
    line: int | str | None = None
    unit: Unit = "line"

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.unit == "line":
            return f"{self.file}:{self.line}"
        if self.unit == "element":
            return f"{self.file}:element {self.line}"
        return f"{self.file}:key {self.line!r}"


class DataError(ValueError):
    """A row (or whole file) that cannot be read; names file, line and field.

    A ValueError, so callers that treat bad input generically (``except ValueError``) catch it."""

    def __init__(
        self,
        file: str | Path,
        line: int | str | None = None,
        field: str | None = None,
        message: str = "invalid",
        *,
        unit: Unit = "line",
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        self.unit: Unit = unit
        #: the offending row (its JSON object, or the raw text of a broken line), when known:
        #: kept in ``*.rejected.jsonl`` so a user can fix the row and judge it again
        self.raw: object = None
        super().__init__(str(self))

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.unit)

    def __str__(self) -> str:
        where = str(self.location)
        if self.field:
            return f"{where}: field {self.field!r}: {self.message}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly record of the error (for skip reports)."""
        out: dict[str, object] = {"file": self.file, self.unit: self.line, "field": self.field, "reason": self.message}
        if self.raw is not None:
            out["row"] = self.raw
        return out


class Dropped(Exception):
    """Raised by a row converter for a row that is *deliberately* left out (not an error),
    e.g. JudgeLM rows whose teacher output is ``error``. Counted by reason, never fatal."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
