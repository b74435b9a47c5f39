"""Reading a job upload into Samples: exactly what ``judgelm judge`` reads.

The bytes go to a private temporary file (never a caller-chosen path) whose suffix says what
the bytes are — a JSON document (an array such as the PandaLM test set or AlpacaEval
annotations, or a keyed object such as MM-Vet), JSON lines, or CSV/TSV — and that file goes
through one call to :func:`judgelm.data.read_samples`, so every reader format, format
detection, an explicit ``fmt`` and a column ``mapping`` behave as on the command line. The file
is deleted right after; errors name the upload (not the temporary path), the line and the field.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from judgelm.data import read_samples
from judgelm.data.errors import DataError
from judgelm.schema import Sample

#: upload names whose suffix is trusted as the file kind; other names are sniffed by content
_KNOWN_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv")


def _suffix(text: str, name: str) -> str:
    """The temporary file's suffix: the upload's own when known, else by content."""
    own = Path(name).suffix.lower()
    if own in _KNOWN_SUFFIXES:
        return own
    head = text.lstrip()
    if head.startswith("["):
        return ".json"
    if head.startswith("{") and "\n" in head.strip():
        try:  # one (pretty-printed or keyed) JSON document, not one object per line
            json.loads(text)
            return ".json"
        except json.JSONDecodeError:
            pass
    return ".jsonl"


def parse_upload(data: bytes, name: str = "upload.jsonl", fmt: str | None = None,
                 mapping: str | None = None) -> list[Sample]:
    """Samples from uploaded bytes; raises DataError (naming ``name``, line, field) on bad input."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(name, None, None, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise DataError(name, None, None, "empty: expected a JSON array, JSON lines or CSV")
    with tempfile.TemporaryDirectory(prefix="judgelm-upload-") as tmp:
        path = Path(tmp) / f"upload{_suffix(text, name)}"
        path.write_bytes(data)
        try:
            return list(read_samples(path, fmt=fmt, mapping=mapping))
        except DataError as exc:
            raise DataError(name, exc.line, exc.field, exc.message.replace(str(path), name), unit=exc.unit) from None


#: the former name (JSONL was the only upload format once)
parse_jsonl = parse_upload
