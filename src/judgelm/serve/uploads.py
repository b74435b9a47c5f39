"""Reading a job upload into Samples: exactly what ``judgelm judge`` reads.

The bytes go to a private temporary file (never a caller-chosen path) whose suffix says what
the bytes are — a JSON document (an array such as the PandaLM test set or AlpacaEval
annotations, or a keyed object such as MM-Vet), JSON lines, or CSV/TSV — and that file goes
through one call to :func:`judgelm.data.read_samples`, so every reader format, format
detection, an explicit ``fmt``, a column ``mapping`` and ``skip_bad`` behave as on the command
line. The file is deleted right after; errors name the upload (not the temporary path), the line
and the field, and speak of the query parameters (``format=``, ``map=``), not of CLI flags.

The temporary file carries the upload's own stem, so rows without an id get the ids the same
file gets on the command line (``<stem>:<line>``), stable across uploads.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from judgelm.data import read_samples
from judgelm.data.errors import DataError
from judgelm.schema import Sample

#: upload names whose suffix is trusted as the file kind; other names are sniffed by content
_KNOWN_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet")

#: CLI flags in reader messages → what an HTTP caller sets instead
_FLAGS = (("--format NAME", "format=NAME"), ("--format", "format="), ("a column mapping --map", "a column mapping map="),
          ("--map", "map="), ("--skip-bad", "skip_bad=true"))


def _suffix(text: str, name: str, content_type: str = "") -> str:
    """The temporary file's suffix: the upload's own when known, else by content type or content."""
    own = Path(name).suffix.lower()
    if own in _KNOWN_SUFFIXES:
        return own
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/csv"):
        return ".csv"
    if ctype == "text/tab-separated-values":
        return ".tsv"
    head = text.lstrip()
    if head and head[0] not in "[{":  # not JSON: a delimited table (header line first)
        first = head.splitlines()[0]
        return ".tsv" if "\t" in first else ".csv"
    if head.startswith("["):
        return ".json"
    if head.startswith("{") and "\n" in head.strip():
        try:  # one (pretty-printed or keyed) JSON document, not one object per line
            json.loads(text)
            return ".json"
        except json.JSONDecodeError:
            pass
    return ".jsonl"


def upload_stem(name: str | None) -> str:
    """The stem derived ids start with: the upload's file name without suffix (``pairs.csv`` →
    ``pairs``), reduced to safe characters; ``request`` for a bare request body."""
    stem = Path(name).name.split(".")[0] if name else ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")
    return stem or "request"


def _renamed(err: DataError, path: Path, name: str) -> DataError:
    message = err.message.replace(str(path), name)
    for flag, param in _FLAGS:
        message = message.replace(flag, param)
    out = DataError(name, err.line, err.field, message, unit=err.unit)
    out.raw = getattr(err, "raw", None)
    return out


def parse_upload(data: bytes, name: str = "upload.jsonl", fmt: str | None = None, skip_bad: bool = False,
                 rejected: list[DataError] | None = None, *, mapping: str | None = None, stem: str | None = None,
                 content_type: str = "") -> list[Sample]:
    """Samples from uploaded bytes; raises DataError (naming ``name``, line, field) on bad input.

    ``skip_bad``: bad rows are left out and appended to ``rejected`` instead (file-level problems
    still raise). ``mapping``: a column mapping (``judgelm convert --map`` syntax). ``stem``: the
    stem of derived ids (default: from ``name``, see :func:`upload_stem`)."""
    if data.startswith(b"PAR1"):
        suffix = ".parquet"
    else:
        try:
            text = data.decode("utf-8", errors="replace" if skip_bad else "strict")  # skip_bad: bad lines skipped below
        except UnicodeDecodeError as exc:
            raise DataError(name, None, None, f"not UTF-8 text (byte {exc.start})") from None
        if not text.strip():
            raise DataError(name, None, None, "empty: expected a JSON array, JSON lines, CSV/TSV or Parquet")
        suffix = _suffix(text, name, content_type)
    with tempfile.TemporaryDirectory(prefix="judgelm-upload-") as tmp:
        path = Path(tmp) / f"{stem or upload_stem(name)}{suffix}"
        path.write_bytes(data)
        try:
            stream = read_samples(path, fmt=fmt, mapping=mapping, skip_bad=skip_bad)
            samples = list(stream)
        except DataError as exc:
            raise _renamed(exc, path, name) from None
        for err in stream.report.skipped:
            (rejected if rejected is not None else []).append(_renamed(err, path, name))
        return samples


#: the former name (JSONL was the only upload format once)
parse_jsonl = parse_upload
