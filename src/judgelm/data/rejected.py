"""The rows ``--skip-bad`` left out: where they are written, how they are summarised.

A run with ``--skip-bad`` processes the good rows and loses nothing else: every rejected row
goes to ``*.rejected.jsonl`` beside the output (one JSON object per row: file, line / element /
key, field, reason, and the row itself where it could be read), and the command's summary names
the first few as ``file:line: field: cause``. A user fixes those rows and runs them again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from judgelm.data.errors import DataError

logger = logging.getLogger(__name__)

SUFFIX = ".rejected.jsonl"
SHOWN = 10  # rows named in a summary; the file has all of them


def rejected_path(output: str | Path, *, folder: bool = False) -> Path | None:
    """Where the rejected rows of a run writing ``output`` go: ``out.jsonl`` → ``out.rejected.jsonl``,
    an output folder (``folder=True``) ``D`` → ``D/input.rejected.jsonl``; None for stdout (``-``)."""
    if str(output) == "-":
        return None
    path = Path(output)
    if folder:
        return path / f"input{SUFFIX}"
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + SUFFIX)


@dataclass
class Rejects:
    """Rejected rows collected over one run (several sources may add to it)."""

    errors: list[DataError] = field(default_factory=list)

    def add(self, errors: Iterable[DataError]) -> None:
        self.errors.extend(errors)

    def __len__(self) -> int:
        return len(self.errors)

    def write(self, path: Path | None) -> Path | None:
        """Write every rejected row to ``path`` (removing a stale file when none were rejected)."""
        if path is None:
            return None
        if not self.errors:
            path.unlink(missing_ok=True)
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for err in self.errors:
                fh.write(json.dumps(err.to_dict(), ensure_ascii=False, default=str) + "\n")
        logger.info("wrote %d rejected row(s) to %s", len(self.errors), path)
        return path

    def summary(self, path: Path | None, shown: int = SHOWN) -> list[str]:
        """Lines for a command's summary: the count, where they went, and the first ``shown`` rows."""
        if not self.errors:
            return []
        where = f" -> {path}" if path is not None else ""
        lines = [f"rejected {len(self.errors)} bad row(s){where}"]
        lines += [f"  {err}" for err in self.errors[:shown]]
        if len(self.errors) > shown:
            lines.append(f"  … {len(self.errors) - shown} more" + (f" in {path}" if path is not None else ""))
        return lines


def count_rejected(path: Path | None) -> int:
    """Rows in a ``*.rejected.jsonl`` written by an earlier step (0 when there is none)."""
    if path is None or not path.is_file():
        return 0
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())
