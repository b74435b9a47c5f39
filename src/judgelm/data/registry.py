"""The format registry: every reader registers a :class:`Format` under a name.

A format knows three things: which files of a folder it reads, whether a row *looks like*
its own (content-based detection, see :func:`detect_format`), and how to turn one row into
a :class:`~judgelm.schema.Sample`. File opening, error locations, ``--skip-bad`` and
``--limit`` are handled once, in :mod:`judgelm.data.reader`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from judgelm.data.errors import DataError
from judgelm.data.files import DEFAULT_ENCODING
from judgelm.data.records import RawRecord, Row, iter_records
from judgelm.schema import Sample

Converter = Callable[[Row], Sample]


class Format:
    """Base class of a reader. Subclasses set ``name``/``description`` and override hooks."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: reader-specific options accepted by :meth:`converter` (name → help text)
    options: ClassVar[dict[str, str]] = {}
    #: the fields gold labels come from (optional in every format: rows without them are unlabelled)
    labels: ClassVar[str] = ""
    #: glob used to find this format's files inside a folder (``**/`` allowed)
    folder_glob: ClassVar[str] = "**/*.json*"

    def matches(self, first: dict[str, Any]) -> bool:
        """Does a file whose first row is ``first`` belong to this format?"""
        return False

    def files(self, source: Path) -> list[Path]:
        if source.is_file():
            return [source]
        return sorted(p for p in source.glob(self.folder_glob) if p.is_file())

    def records(self, path: Path, encoding: str = DEFAULT_ENCODING) -> Iterator[RawRecord]:
        return iter_records(path, encoding)

    def converter(self, path: Path, **opts: Any) -> Converter:
        """A function turning one row of ``path`` into a Sample (may raise DataError/Dropped)."""
        raise NotImplementedError


FORMATS: dict[str, Format] = {}


def register(cls: type[Format]) -> type[Format]:
    """Class decorator: add a format to :data:`FORMATS` under ``cls.name``."""
    FORMATS[cls.name] = cls()
    return cls


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(sorted(FORMATS))}") from None


def stable_id(*parts: str, n: int = 12) -> str:
    """A short id that depends only on the content (same row → same id on every run)."""
    h = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()
    return h[:n]


def detect_format(first: dict[str, Any], path: Path | str = "<rows>") -> Format:
    """The registered format whose detection rule accepts ``first`` (tried in registry order)."""
    for fmt in FORMATS.values():
        if fmt.matches(first):
            return fmt
    keys = ", ".join(sorted(first)[:20])
    raise DataError(
        path, None, None,
        f"cannot tell the format from its fields ({keys}); pass --format NAME or a column mapping --map",
    )
