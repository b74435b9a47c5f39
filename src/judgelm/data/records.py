"""Raw rows out of JSONL / JSON / CSV files, each tagged with its location, plus typed
field access that raises :class:`DataError` naming file, row and field.

Readers never open files themselves: they receive :class:`Row` objects, so every format
gets the same precise error messages and the same ``--skip-bad`` behaviour.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgelm.data.errors import DataError, Location, Unit
from judgelm.data.files import (
    DEFAULT_ENCODING,
    data_suffix,
    head,
    iter_lines,
    read_text,
)

logger = logging.getLogger(__name__)

_MISSING = object()


@dataclass
class Row:
    """One record of a file: its data (a dict) and where it came from."""

    data: dict[str, Any]
    loc: Location

    # -- errors -------------------------------------------------------------------------
    def error(self, field: str | None, message: str) -> DataError:
        return DataError(self.loc.file, self.loc.line, field, message, unit=self.loc.unit)

    def derived_id(self) -> str:
        """The id of a row that has none: ``<file stem>:<line>`` (element index for JSON arrays,
        row index for Parquet) -- the same on every run over the same file."""
        return f"{Path(self.loc.file).stem}:{self.loc.line}"

    # -- typed access -------------------------------------------------------------------
    def get(self, field: str, default: Any = None) -> Any:
        """Field value; ``a.b`` walks into nested objects. Missing → ``default``."""
        value: Any = self.data
        for part in field.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    def has(self, field: str) -> bool:
        return self.get(field, _MISSING) is not _MISSING

    def req(self, field: str) -> Any:
        value = self.get(field, _MISSING)
        if value is _MISSING:
            raise self.error(field, "missing")
        return value

    def text(self, field: str, *, allow_empty: bool = True, scalars: bool = False) -> str:
        """A required string field. Numbers/booleans are an error unless ``scalars`` (for files
        known to hold answers like ``true`` that a JSON writer turned into a boolean): then
        they become Python's text for them (``True``, ``3``)."""
        value = self.req(field)
        if scalars and isinstance(value, (bool, int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise self.error(field, f"expected a string, got {_type(value)}")
        if not allow_empty and not value.strip():
            raise self.error(field, "empty")
        return value

    def opt_text(self, field: str) -> str | None:
        value = self.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(field, f"expected a string, got {_type(value)}")
        return value

    def num(self, field: str, *, optional: bool = False) -> float | None:
        """A number; numeric strings (CSV cells) are accepted, booleans are not."""
        value = self.get(field) if optional else self.req(field)
        if value is None:
            if optional:
                return None
            raise self.error(field, "null where a number is required")
        return to_number(value, lambda msg: self.error(field, msg))

    def num_list(self, field: str, *, length: int | None = None, optional: bool = False) -> list[float] | None:
        value = self.get(field) if optional else self.req(field)
        if value is None and optional:
            return None
        if isinstance(value, str):  # CSV cell like "8 7" or "[8, 7]"
            value = value.strip().strip("[]").replace(",", " ").split()
        if not isinstance(value, list):
            raise self.error(field, f"expected a list of numbers, got {_type(value)}")
        out = [to_number(v, lambda msg: self.error(field, msg)) for v in value]
        if length is not None and len(out) != length:
            raise self.error(field, f"expected {length} numbers, got {len(out)}")
        return out


def to_number(value: Any, err: Any) -> float:
    """Int/float or a numeric string → float; anything else → ``err(message)`` raised."""
    if isinstance(value, bool) or value is None:
        raise err(f"expected a number, got {_type(value)}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise err(f"expected a number, got {value!r}") from None
    raise err(f"expected a number, got {_type(value)}")


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# -- files → rows ---------------------------------------------------------------------------


@dataclass
class RawRecord:
    """A row, or the error that prevented reading it (a broken JSON line)."""

    row: Row | None
    error: DataError | None = None


def file_kind(path: Path, encoding: str = DEFAULT_ENCODING) -> str:
    """'jsonl', 'json' or 'csv': CSV by extension, JSON vs. JSON lines by content.

    A file that starts with ``[`` is one JSON array whatever its name (a ``.jsonl`` file holding
    an array is read as the array, with a log line). A ``.json`` file whose first line is a whole
    object followed by another object line is JSON lines; ``.jsonl`` / ``.ndjson`` otherwise are
    JSON lines, so a broken line is reported (and skippable) by its line number."""
    suffix = data_suffix(path)
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    lines = head(path, encoding)
    if not lines:
        raise DataError(path, None, None, "empty file (0 bytes)" if path.stat().st_size == 0
                        else "holds only blank lines: no rows")
    if lines[0].startswith("["):
        if suffix in (".jsonl", ".ndjson"):
            logger.info("%s holds a JSON array, not JSON lines: reading it as one JSON array", path)
        return "json"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    first = lines[0]
    if first.startswith("{") and first.endswith("}") and len(lines) > 1 and lines[1].startswith("{"):
        try:
            json.loads(first)
            return "jsonl"
        except json.JSONDecodeError:
            pass
    return "json"


def iter_records(path: Path, encoding: str = DEFAULT_ENCODING) -> Iterator[RawRecord]:
    """Every row of a JSONL / JSON (array, or object keyed by id) / CSV file (gzip ok).

    File-level problems (empty, not decodable as a whole, broken JSON document) raise
    DataError; a bad JSONL / CSV line is yielded as a RawRecord error, so it can be skipped."""
    kind = file_kind(path, encoding)
    if kind == "jsonl":
        yield from _iter_jsonl(path, encoding)
    elif kind == "csv":
        yield from _iter_csv(path, encoding)
    elif kind == "parquet":
        yield from _iter_parquet(path)
    else:
        yield from _iter_json(path, encoding)


def _broken_line(path: Path, lineno: int, line: str, exc: json.JSONDecodeError) -> DataError:
    text = line.strip()
    hint = ""
    if text in ("{", "["):
        hint = f"; the line holds only {text!r}: a pretty-printed JSON document, but JSON lines need one whole object per line"
    near = line.rstrip("\r\n")[max(exc.pos - 10, 0) : exc.pos + 20]
    return DataError(path, lineno, None, f"broken JSON: {exc.msg} (column {exc.colno}, near {near!r}){hint}")


def _iter_jsonl(path: Path, encoding: str) -> Iterator[RawRecord]:
    for lineno, line in iter_lines(path, encoding):
        if isinstance(line, DataError):
            yield RawRecord(None, line)
            continue
        if not line.strip():
            continue
        loc = Location(str(path), lineno, "line")
        try:
            data = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            err = _broken_line(path, lineno, line, exc)
            err.raw = line.rstrip("\r\n")
            yield RawRecord(None, err)
            continue
        if not isinstance(data, dict):
            yield RawRecord(None, DataError(path, lineno, None, f"expected a JSON object, got {_type(data)}"))
            continue
        yield RawRecord(Row(data, loc))


def load_json(path: Path, encoding: str = DEFAULT_ENCODING) -> Any:
    """A whole JSON document; a syntax error names the line and column it is on."""
    text = read_text(path, encoding)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise DataError(path, exc.lineno, None, f"a second JSON value starts here (column {exc.colno}): a JSON "
                                                    "file holds one array or object, and JSON lines (.jsonl) need "
                                                    "each object on one line") from None
        raise DataError(path, exc.lineno, None, f"broken JSON: {exc.msg} (column {exc.colno})") from None


def _iter_json(path: Path, encoding: str) -> Iterator[RawRecord]:
    data = load_json(path, encoding)
    if isinstance(data, dict) and not _is_keyed_collection(data):
        if not data:
            raise DataError(path, None, None, "empty JSON object: no rows")
        data = [data]  # a single object
    if isinstance(data, list):
        if not data:
            raise DataError(path, None, None, "empty JSON array: no rows")
        items: Iterator[tuple[int | str, Any]] = iter(enumerate(data))
        unit: Unit = "element"
    elif isinstance(data, dict):
        items, unit = iter(data.items()), "key"
    else:
        raise DataError(path, None, None, f"expected a JSON array or object, got {_type(data)}")
    for pos, item in items:
        if not isinstance(item, dict):
            yield RawRecord(None, DataError(path, pos, None, f"expected a JSON object, got {_type(item)}", unit=unit))
            continue
        yield RawRecord(Row(item, Location(str(path), pos, unit)))


def _is_keyed_collection(data: dict[str, Any]) -> bool:
    """An object whose values are all objects (``{id: {...}, ...}``, e.g. MM-Vet)."""
    return bool(data) and all(isinstance(v, dict) for v in data.values())


def _iter_csv(path: Path, encoding: str) -> Iterator[RawRecord]:
    delimiter = "\t" if data_suffix(path) == ".tsv" else ","
    reader = csv.reader(io.StringIO(read_text(path, encoding), newline=""), delimiter=delimiter)
    header = next(reader)
    start = reader.line_num + 1
    n = 0
    for cells in reader:
        lineno, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        n += 1
        if len(cells) != len(header):
            yield RawRecord(
                None, DataError(path, lineno, None, f"expected {len(header)} columns, got {len(cells)}")
            )
            continue
        yield RawRecord(Row(dict(zip(header, cells)), Location(str(path), lineno, "line")))
    if n == 0:
        raise DataError(path, 1, None, "only a header line: no rows")


def _iter_parquet(path: Path) -> Iterator[RawRecord]:
    """Rows of a Parquet file (pyarrow, a dependency of ``datasets``); row ``i`` is located as
    element ``i`` (0-based), like a JSON array element."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow comes with datasets
        raise DataError(path, None, None, "reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for a broken file
        raise DataError(path, None, None, f"not a readable Parquet file: {exc}") from None
    if table.num_rows == 0:
        raise DataError(path, None, None, "empty Parquet file: no rows")
    for i, item in enumerate(table.to_pylist()):
        yield RawRecord(Row(item, Location(str(path), i, "element")))


def first_row(path: Path, encoding: str = DEFAULT_ENCODING) -> dict[str, Any]:
    """The first readable row of a file (for format detection).

    For JSON documents only the first element is decoded, so detecting the format of a
    folder of large JSON files stays cheap. A file without any readable row raises the
    DataError that says why (empty, broken, undecodable — with its line)."""
    if file_kind(path, encoding) == "json":
        item = _first_json_item(read_text(path, encoding))
        if item is not None:
            return item
        for rec in _iter_json(path, encoding):  # raises the precise error (broken JSON, empty, ...)
            if rec.row is not None:
                return rec.row.data
            assert rec.error is not None
            raise rec.error
        raise DataError(path, None, None, "no rows")
    first_error: DataError | None = None
    for rec in iter_records(path, encoding):
        if rec.row is not None:
            return rec.row.data
        first_error = first_error or rec.error
    assert first_error is not None  # the iterators raise on files without any line
    raise first_error


def _first_json_item(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")
    i = ws.match(text, 0).end()  # type: ignore[union-attr]
    try:
        if text.startswith("[", i):
            item, _ = decoder.raw_decode(text, ws.match(text, i + 1).end())  # type: ignore[union-attr]
            return item if isinstance(item, dict) else None
        if text.startswith("{", i):
            obj = json.loads(text)
            if isinstance(obj, dict) and _is_keyed_collection(obj):
                return next(iter(obj.values()))
            return obj if isinstance(obj, dict) else None
    except json.JSONDecodeError:
        return None
    return None
