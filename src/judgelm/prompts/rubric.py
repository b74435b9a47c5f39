"""Score rubrics: what to grade (a criterion), on which integer scale, and what each level means.

A rubric file (YAML or JSON) holds one criterion or several::

    criteria:
      - name: helpfulness                 # letters, digits, _ . - (it names the score in the output)
        description: Does the response address the user's actual need?
        scale: [1, 5]                     # optional, default [1, 5]
        levels:                           # one description per integer score of the scale
          1: Ignores the request.
          2: ...
    reference: auto                       # optional: auto (show the sample's reference when it has one),
                                          # true (required), false (never)

A file that is one criterion (``name``/``description``/``levels`` at the top) is read the same way.
Every error is one line naming the file and the field (``rubric.yaml: field 'criteria[0].levels': missing score 3 …``).

Prometheus items carry their rubric as text (``[criteria]\\nScore 1: …``); :func:`parse_rubric_text`
reads it back into a :class:`Criterion`, and :func:`format_rubric` writes it out byte for byte.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgelm.prompts.templates import PROMETHEUS_CRITERIA_LINE, PROMETHEUS_LEVEL_LINE

#: criterion names end up in request keys and output rows: keep them plain
NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
#: the name given to a sample's own rubric (Prometheus items: ``metadata.rubric``)
SAMPLE_RUBRIC = "rubric"
DEFAULT_SCALE = (1, 5)
_REFERENCE_MODES = ("auto", True, False)
_LEVEL_LINE = re.compile(r"^Score (-?\d+): ", re.MULTILINE)


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the file (or sample) and the field."""


@dataclass(frozen=True)
class Criterion:
    """One thing to grade: ``description`` shown as ``[description]``, levels ``low..high`` described."""

    name: str
    description: str
    low: int = DEFAULT_SCALE[0]
    high: int = DEFAULT_SCALE[1]
    levels: dict[int, str] = field(default_factory=dict)

    def in_range(self, score: float) -> bool:
        return self.low <= score <= self.high

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "scale": [self.low, self.high],
                "levels": {str(k): v for k, v in sorted(self.levels.items())}}


@dataclass(frozen=True)
class Rubric:
    """The criteria of one grading run and whether the judge sees the samples' reference answers."""

    criteria: tuple[Criterion, ...]
    reference: bool | str = "auto"
    source: str = "<rubric>"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.criteria]

    def to_dict(self) -> dict[str, Any]:
        return {"criteria": [c.to_dict() for c in self.criteria], "reference": self.reference}


def format_rubric(criterion: Criterion, levels: bool = True) -> str:
    """The rubric text a Prometheus prompt shows: ``[description]`` then ``Score k: …`` per level
    (absolute grading); the ``[description]`` line alone with ``levels=False`` (relative grading)."""
    text = PROMETHEUS_CRITERIA_LINE.format(criteria=criterion.description)
    if levels:
        text += "".join(PROMETHEUS_LEVEL_LINE.format(score=k, description=criterion.levels[k])
                        for k in range(criterion.low, criterion.high + 1))
    return text


def parse_rubric_text(text: str, name: str = SAMPLE_RUBRIC, where: str = "rubric") -> Criterion:
    """A Prometheus rubric text (``[criteria]\\nScore 1: …\\nScore 5: …``) as a :class:`Criterion`.

    The criteria is what lies between the first ``[`` and the ``]`` that ends the first block of
    lines before ``Score``; each level runs to the next ``Score k:`` line start. Raises
    :class:`RubricError` naming ``where`` when the text has another shape.
    """
    marks = list(_LEVEL_LINE.finditer(text))
    if not marks:
        raise RubricError(f"{where}: no 'Score k: ' level lines")
    head = text[: marks[0].start()]
    if not (head.startswith("[") and head.endswith("]\n")):
        raise RubricError(f"{where}: expected '[criteria]' on the line(s) before 'Score {marks[0].group(1)}:'")
    levels: dict[int, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() - 1 if i + 1 < len(marks) else len(text)
        body = text[m.end() : end]
        if i + 1 < len(marks) and text[end] != "\n":
            raise RubricError(f"{where}: level {m.group(1)} does not end with a newline")
        levels[int(m.group(1))] = body
    scores = sorted(levels)
    if scores != list(range(scores[0], scores[-1] + 1)) or [int(m.group(1)) for m in marks] != scores:
        raise RubricError(f"{where}: level scores {[int(m.group(1)) for m in marks]} are not consecutive ascending")
    return Criterion(name=name, description=head[1:-2], low=scores[0], high=scores[-1], levels=levels)


def _criterion(raw: Any, source: str, prefix: str) -> Criterion:
    """One criterion mapping; errors read ``<source>: field '<prefix>levels': …``."""

    def err(name: str, message: str) -> RubricError:
        return RubricError(f"{source}: field '{prefix}{name}': {message}")

    if not isinstance(raw, dict):
        raise RubricError(f"{source}: field '{prefix.rstrip('.') or 'criteria'}': expected a mapping with "
                          f"name, description, levels")
    unknown = sorted(set(raw) - {"name", "description", "scale", "levels"})
    if unknown:
        raise err(str(unknown[0]), "unknown field (expected name, description, scale, levels)")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise err("name", f"expected a name of letters, digits, '_', '.', '-', got {name!r}")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise err("description", "expected a non-empty string")
    scale = raw.get("scale", list(DEFAULT_SCALE))
    if (not isinstance(scale, (list, tuple)) or len(scale) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale) or scale[0] >= scale[1]):
        raise err("scale", f"expected [low, high], two integers with low < high, got {scale!r}")
    low, high = int(scale[0]), int(scale[1])
    if high - low > 100:
        raise err("scale", f"{high - low + 1} levels is more than a rubric can describe (max 101)")
    raw_levels = raw.get("levels")
    if not isinstance(raw_levels, dict):
        raise err("levels", f"expected a mapping score -> description for {low}..{high}")
    levels: dict[int, str] = {}
    for key, text in raw_levels.items():
        try:
            score = int(key)
        except (TypeError, ValueError):
            raise err(f"levels.{key}", "level keys are integer scores") from None
        if isinstance(key, bool) or str(key).strip() != str(score):
            raise err(f"levels.{key}", "level keys are integer scores")
        if not low <= score <= high:
            raise err(f"levels.{score}", f"outside the scale {low}..{high}")
        if not isinstance(text, str) or not text.strip():
            raise err(f"levels.{score}", "expected a non-empty description")
        levels[score] = text
    missing = [k for k in range(low, high + 1) if k not in levels]
    if missing:
        raise err("levels", f"missing score {missing[0]} (every score {low}..{high} needs a description)")
    return Criterion(name=name, description=description, low=low, high=high, levels=levels)


def rubric_from_dict(data: Any, source: str = "<rubric>") -> Rubric:
    """A :class:`Rubric` from parsed YAML/JSON (a list of criteria, or one criterion at the top)."""
    if not isinstance(data, dict):
        raise RubricError(f"{source}: expected a mapping with 'criteria' (or one criterion), got {type(data).__name__}")
    reference = data.get("reference", "auto")
    if reference not in _REFERENCE_MODES or isinstance(reference, int) and not isinstance(reference, bool):
        raise RubricError(f"{source}: field 'reference': expected auto, true or false, got {reference!r}")
    if "criteria" in data:
        unknown = sorted(set(data) - {"criteria", "reference"})
        if unknown:
            raise RubricError(f"{source}: field '{unknown[0]}': unknown (expected criteria, reference)")
        items = data["criteria"]
        if not isinstance(items, list) or not items:
            raise RubricError(f"{source}: field 'criteria': expected a non-empty list of criteria")
        criteria = [_criterion(c, source, f"criteria[{i}].") for i, c in enumerate(items)]
    else:
        one = {k: v for k, v in data.items() if k != "reference"}
        criteria = [_criterion(one, source, "")]
    names = [c.name for c in criteria]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise RubricError(f"{source}: field 'criteria': the name {dup!r} is used twice")
    return Rubric(criteria=tuple(criteria), reference=reference, source=source)


def load_rubric(path: str | Path) -> Rubric:
    """Read a rubric file (``.yaml``/``.yml`` or ``.json``); one-line :class:`RubricError` on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"{path}: cannot read the rubric file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise RubricError(f"{path}: the rubric file is not UTF-8 text") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise RubricError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except Exception as exc:  # yaml.YAMLError and friends
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RubricError(f"{path}{line}: not valid YAML ({problem})") from None
    if data is None:
        raise RubricError(f"{path}: the rubric file is empty")
    return rubric_from_dict(data, source=str(path))


def merge_rubrics(rubrics: list[Rubric]) -> Rubric:
    """Several rubrics as one run's rubric: their criteria in order (names unique across files); the
    files must agree on ``reference``."""
    if not rubrics:
        raise RubricError("no rubric given")
    names: dict[str, str] = {}
    for r in rubrics:
        for c in r.criteria:
            if c.name in names:
                raise RubricError(f"{r.source}: field 'criteria': the name {c.name!r} is also used in {names[c.name]}")
            names[c.name] = r.source
    settings = {r.reference for r in rubrics}
    if len(settings) > 1:
        raise RubricError(f"{rubrics[-1].source}: field 'reference': the rubric files disagree "
                          f"({', '.join(f'{r.source}: {r.reference}' for r in rubrics)})")
    return Rubric(criteria=tuple(c for r in rubrics for c in r.criteria), reference=rubrics[0].reference,
                  source=" + ".join(r.source for r in rubrics))


def load_rubrics(paths: list[str | Path]) -> Rubric:
    """One or more rubric files as one run's rubric (:func:`merge_rubrics`)."""
    return merge_rubrics([load_rubric(p) for p in paths])


def as_rubric(value: Rubric | str | Path | dict[str, Any] | list[Any] | None) -> Rubric | None:
    """A :class:`Rubric` from a rubric, a file path, a mapping (as in a rubric file) or a list of those
    (merged); None stays None."""
    if value is None or isinstance(value, Rubric):
        return value
    if isinstance(value, (list, tuple)):
        return merge_rubrics([r for r in (as_rubric(v) for v in value) if r is not None])
    if isinstance(value, dict):
        return rubric_from_dict(value)
    if isinstance(value, (str, Path)):
        return load_rubric(value)
    raise RubricError(f"rubric: expected a file path, a mapping or a Rubric, got {type(value).__name__}")
