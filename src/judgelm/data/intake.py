"""A command's input, read whole and checked before any work (and before any model is loaded).

``read_input`` turns one source into a list of Samples: without ``skip_bad`` the first bad row
raises its DataError (file:line: field: cause) — nothing has been judged, trained or loaded yet;
with it the bad rows are collected in :class:`~judgelm.data.rejected.Rejects`, the good ones
returned. :func:`require_gold` is the check of commands that need labels (``eval``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgelm.data.errors import DataError
from judgelm.data.files import DEFAULT_ENCODING
from judgelm.data.reader import ReadReport, read_samples
from judgelm.data.registry import FORMATS
from judgelm.data.rejected import Rejects
from judgelm.schema import Sample


@dataclass
class Intake:
    """The samples of a command's input(s), and what was rejected on the way."""

    samples: list[Sample] = field(default_factory=list)
    rejects: Rejects = field(default_factory=Rejects)
    reports: list[ReadReport] = field(default_factory=list)

    @property
    def formats(self) -> list[str]:
        """The formats read (in first-seen order)."""
        seen: dict[str, None] = {}
        for r in self.reports:
            seen.update(dict.fromkeys(r.formats))
        return list(seen)


def read_input(
    source: str | Path,
    fmt: str | None = None,
    *,
    skip_bad: bool = False,
    limit: int | None = None,
    encoding: str = DEFAULT_ENCODING,
    into: Intake | None = None,
    **opts: Any,
) -> Intake:
    """Every sample of ``source`` in a list (``into`` collects several sources in one Intake)."""
    intake = into if into is not None else Intake()
    stream = read_samples(source, fmt, skip_bad=skip_bad, limit=limit, encoding=encoding, **opts)
    intake.samples.extend(stream)
    intake.rejects.add(stream.report.skipped)
    intake.reports.append(stream.report)
    if skip_bad and not stream.report.samples and stream.report.skipped:
        first = stream.report.skipped[0]
        raise DataError(first.file, first.line, first.field,
                        f"{first.message} (and every other row is bad too: no sample to process)", unit=first.unit)
    return intake


def read_inputs(sources: Iterable[str | Path], fmt: str | None = None, **kwargs: Any) -> Intake:
    """:func:`read_input` over several sources, in order."""
    intake = Intake()
    for source in sources:
        read_input(source, fmt, into=intake, **kwargs)
    return intake


def require_gold(samples: list[Sample], source: str | Path, formats: Iterable[str] = ()) -> None:
    """Raise a DataError saying so when no sample carries a gold verdict (an unlabelled file)."""
    if any(s.gold is not None and s.gold.verdict is not None for s in samples):
        return
    fields = [f"{name}: {FORMATS[name].labels}" for name in formats if name in FORMATS and FORMATS[name].labels]
    where = f" (gold comes from {'; '.join(fields)})" if fields else ""
    has_scores = any(s.gold is not None and s.gold.scores for s in samples)
    why = ("its samples hold single-answer grades (scores), not pairwise verdicts" if has_scores
           else f"none of its {len(samples)} samples has a gold label{where}")
    raise DataError(source, None, None, f"no gold verdict to score against: {why}; "
                                        "judge an unlabelled file with `judgelm judge` instead")
