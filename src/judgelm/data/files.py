"""Bytes → text for the readers, with file-level errors that say what is wrong and where.

Every reader opens files through here, so an empty file, a folder, a compressed archive, bytes
that are not valid in the file's encoding, or a JSON array in a ``.jsonl`` file all give the
same kind of :class:`DataError`, naming the file, the line and (for bad bytes) the byte offset.
gzip files (``x.jsonl.gz``) are read transparently; other archives are refused with the cause.
"""

from __future__ import annotations

import codecs
import gzip
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from judgelm.data.errors import DataError

logger = logging.getLogger(__name__)

DEFAULT_ENCODING = "utf-8"
ENCODING_HINT = "pass --encoding NAME if the file uses another encoding (e.g. latin-1, cp1252, utf-16)"

# magic bytes of containers we do not unpack ourselves (gzip is unpacked transparently)
_ARCHIVES = (
    (b"PK\x03\x04", "a zip archive (or an .xlsx workbook): unpack it, or export the sheet as CSV"),
    (b"BZh", "a bzip2-compressed file: decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file: decompress it first (unxz)"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file: decompress it first (unzstd)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive: unpack it first"),
    (b"\x89HDF", "an HDF5 file, not a JSON/JSONL/CSV data file"),
)
_GZIP = b"\x1f\x8b"


def check_encoding(encoding: str) -> str:
    """The canonical name of ``encoding``; an unknown name is a ValueError (a flag error)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} (try utf-8, latin-1, cp1252, utf-16)") from None


def data_suffix(path: Path) -> str:
    """The suffix that tells the layout: ``.jsonl`` for ``x.jsonl`` and for ``x.jsonl.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _magic(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(8)


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes (gunzipped when it is gzip); a folder or an archive is a DataError."""
    if path.is_dir():
        raise DataError(path, None, None, "is a folder, not a file")
    if not path.exists():
        raise DataError(path, None, None, "no such file")
    magic = _magic(path)
    if magic.startswith(b"PAR1") and data_suffix(path) != ".parquet":
        raise DataError(path, None, None, "is a Parquet file: give it a .parquet name to read it")
    if magic.startswith(_GZIP):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    for prefix, what in _ARCHIVES:
        if magic.startswith(prefix):
            raise DataError(path, None, None, f"is {what}")
    return path.open("rb")


def _line_at(data: bytes, offset: int) -> tuple[int, int]:
    """(1-based line, 1-based column in bytes) of byte ``offset``."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _decode_error(path: Path, exc: UnicodeDecodeError, line: int, file_offset: int, column: int,
                  encoding: str) -> DataError:
    bad = exc.object[exc.start : exc.start + 1]
    if file_offset == 0:
        for bom, name in _BOMS:
            if bytes(exc.object[:len(bom)]) == bom:
                return DataError(path, line, None, f"not valid {encoding} text: the file starts with a {name} "
                                                   f"byte-order mark; pass --encoding {name}")
    return DataError(
        path, line, None,
        f"not valid {encoding} text: byte 0x{bad.hex()} at byte offset {file_offset} (column {column}); "
        + ENCODING_HINT,
    )


def _line_safe(encoding: str) -> bool:
    """Can the file be split into lines before decoding (newline is the byte 0x0a)?"""
    try:
        return "\n{[".encode(encoding) == b"\n{["
    except (LookupError, UnicodeEncodeError):
        return False


def _strip_bom(text: str, first: bool) -> str:
    return text[1:] if first and text.startswith("\ufeff") else text


def read_text(path: Path, encoding: str = DEFAULT_ENCODING) -> str:
    """The whole file as text; undecodable bytes are a DataError naming line and byte offset."""
    with open_binary(path) as fh:
        data = fh.read()
    if not data:
        raise DataError(path, None, None, "empty file (0 bytes)")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, col = _line_at(data, exc.start) if _line_safe(encoding) else (None, exc.start)
        raise _decode_error(path, exc, line, exc.start, col, encoding) from None  # type: ignore[arg-type]
    text = _strip_bom(text, True)
    if not text.strip():
        raise DataError(path, None, None, "holds only blank lines: no rows")
    return text


def iter_lines(path: Path, encoding: str = DEFAULT_ENCODING) -> Iterator[tuple[int, str | DataError]]:
    """(1-based line number, text or the DataError of an undecodable line), streaming.

    A bad line does not stop the file: a reader can skip it (``--skip-bad``) and go on. An
    empty or blank-only file is a DataError."""
    if not _line_safe(encoding):  # utf-16/32: decode the whole file, then split
        for lineno, line in enumerate(read_text(path, encoding).splitlines(keepends=True), start=1):
            yield lineno, line
        return
    seen_text = False
    offset = 0
    with open_binary(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = _strip_bom(raw.decode(encoding), lineno == 1)
            except UnicodeDecodeError as exc:
                err = _decode_error(path, exc, lineno, offset + exc.start, exc.start + 1, encoding)
                err.raw = raw.decode(encoding, errors="backslashreplace").rstrip("\r\n")
                yield lineno, err
                seen_text = True
            else:
                seen_text = seen_text or bool(line.strip())
                yield lineno, line
            offset += len(raw)
    if not seen_text:
        raise DataError(path, None, None, "empty file (0 bytes)" if offset == 0 else "holds only blank lines: no rows")


def head(path: Path, encoding: str = DEFAULT_ENCODING, n_lines: int = 2) -> list[str]:
    """The first ``n_lines`` non-blank lines, stripped (bad bytes replaced): enough to tell the layout."""
    out: list[str] = []
    if not _line_safe(encoding):
        return [ln.strip() for ln in read_text(path, encoding).splitlines() if ln.strip()][:n_lines]
    with open_binary(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            text = _strip_bom(raw.decode(encoding, errors="replace"), lineno == 1).strip()
            if text:
                out.append(text)
                if len(out) == n_lines:
                    break
    return out
