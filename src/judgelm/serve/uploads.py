"""Reading a JSONL job body into Samples, with errors that name the upload, line and field.

Any format ``judgelm.data.read_samples`` knows (canonical samples, JudgeLM rows, PandaLM, ...)
is accepted: the bytes go to a private temporary file (never a caller-chosen path) that the
reader detects and converts, and is deleted right after.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from pydantic import ValidationError

from judgelm.data.errors import DataError
from judgelm.schema import Sample


def _canonical(text: str, name: str) -> list[Sample]:
    samples = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            samples.append(Sample.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise DataError(name, lineno, None, f"not JSON: {exc.msg}") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            raise DataError(name, lineno, field, err["msg"]) from None
    return samples


def parse_jsonl(data: bytes, name: str = "upload.jsonl", fmt: str | None = None, skip_bad: bool = False,
                rejected: list[DataError] | None = None) -> list[Sample]:
    """Samples from JSONL bytes; raises DataError (naming ``name``, line, field) on bad input.

    ``skip_bad``: bad rows are left out and appended to ``rejected`` instead (file-level problems
    still raise)."""
    try:
        text = data.decode("utf-8", errors="replace" if skip_bad else "strict")  # skip_bad: bad lines skipped below
    except UnicodeDecodeError as exc:
        raise DataError(name, None, None, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise DataError(name, None, None, "empty: expected one JSON object per line")
    for lineno, line in enumerate(text.splitlines(), 1):  # syntax first, so the error names the line
        if line.strip() and not skip_bad:
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(name, lineno, None, f"not JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(row, dict):
                raise DataError(name, lineno, None, f"expected a JSON object, got {type(row).__name__}")
    try:
        from judgelm.data import read_samples
    except ImportError:  # the data readers are optional here; canonical samples always work
        return _canonical(text, name)
    with tempfile.TemporaryDirectory(prefix="judgelm-upload-") as tmp:
        path = Path(tmp) / "upload.jsonl"
        path.write_bytes(data)
        try:
            stream = read_samples(path, fmt=fmt, skip_bad=skip_bad)
            samples = list(stream)
        except DataError as exc:
            raise DataError(name, exc.line, exc.field, exc.message.replace(str(path), name), unit=exc.unit) from None
        for err in stream.report.skipped:
            renamed = DataError(name, err.line, err.field, err.message.replace(str(path), name), unit=err.unit)
            renamed.raw = err.raw
            (rejected if rejected is not None else []).append(renamed)
        return samples
