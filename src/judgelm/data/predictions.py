"""Readers of judge predictions → :class:`judgelm.schema.Judgement`, whatever wrote them.

Formats (auto-detected from the records' fields):

* ``judgement`` — JSONL of :class:`~judgelm.schema.Judgement` as written by ``judgelm judge``
  (a file may hold both presentation orders: two records per ``sample_id``, told apart by ``order``);
* ``pandalm`` — PandaLM's recorded ``pandalm-7b-testset-v1.json`` (``pandalm_result`` 0 = tie, 1, 2);
* ``gpt`` — PandaLM's recorded ``gpt-3.5-turbo-testset-v1.json`` (``gpt_result`` "1" / "2" / "Tie",
  anything else such as "garbage" = unparsed);
* ``verdicts`` — generic ``{"id": ..., "verdict": 0|1|2|null}`` objects, optionally with
  ``scores``, ``confidence``, ``order`` and ``judge``.

Each may be a JSON array or JSON Lines. An unparsed output keeps ``verdict=None`` and
``status=unparsed``: it is a recorded state, resolved only by the evaluation's policy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from judgelm.data.errors import DataError, Unit
from judgelm.data.files import DEFAULT_ENCODING, read_text
from judgelm.schema import TIE, Judgement, ParseStatus

logger = logging.getLogger(__name__)

PredFormat = Literal["judgement", "pandalm", "gpt", "verdicts"]
PRED_FORMATS: tuple[str, ...] = ("judgement", "pandalm", "gpt", "verdicts")


#: where a record sits: (unit, position) — a JSONL line (1-based) or a JSON array element (0-based)
Where = tuple[Unit, int | None]


def _error(path: Path, where: Where, field: str | None, message: str) -> DataError:
    return DataError(path, where[1], field, message, unit=where[0])


def _records(path: Path, encoding: str = DEFAULT_ENCODING) -> Iterator[tuple[Where, dict[str, Any]]]:
    """(position, object) for a JSON array or a JSON Lines file."""
    text = read_text(path, encoding)  # a folder, an archive, undecodable bytes: DataError with the cause (and line)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _error(path, ("line", exc.lineno), None, f"invalid JSON: {exc.msg}") from exc
        for i, obj in enumerate(items):
            if not isinstance(obj, dict):
                raise _error(path, ("element", i), None, "expected a JSON object")
            yield ("element", i), obj
        return
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _error(path, ("line", lineno), None, f"invalid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise _error(path, ("line", lineno), None, "expected a JSON object")
        yield ("line", lineno), obj


def detect_format(record: dict[str, Any]) -> PredFormat:
    """Which predictions format a record belongs to, from its fields."""
    if "pandalm_result" in record:
        return "pandalm"
    if "gpt_result" in record:
        return "gpt"
    if "sample_id" in record and "judge" in record:
        return "judgement"
    if "id" in record and "verdict" in record:
        return "verdicts"
    raise ValueError(f"unknown predictions record with fields {sorted(record)}")


def _pandalm(path: Path, line: Where, rec: dict[str, Any]) -> Judgement:
    value = rec["pandalm_result"]
    try:
        verdict = int(value)
    except (TypeError, ValueError):
        verdict = None
    if verdict not in (None, 0, 1, 2):
        raise _error(path, line, "pandalm_result", f"expected 0, 1 or 2, got {value!r}")
    return Judgement(
        sample_id=str(rec["idx"]),
        judge="PandaLM-7B (recorded)",
        template="pandalm",
        order=[0, 1],
        verdict=verdict,
        explanation=rec.get("pandalm_reason"),
        raw=str(value),
        status=ParseStatus.OK if verdict is not None else ParseStatus.UNPARSED,
        metadata={"reference": rec["pandalm_reference"]} if rec.get("pandalm_reference") else {},
    )


_GPT = {"1": 1, "2": 2, "tie": TIE}


def _gpt(path: Path, line: Where, rec: dict[str, Any]) -> Judgement:
    value = rec["gpt_result"]
    verdict = _GPT.get(str(value).strip().lower())
    return Judgement(
        sample_id=str(rec["idx"]),
        judge="gpt-3.5-turbo (recorded)",
        template="pandalm",
        order=[0, 1],
        verdict=verdict,
        explanation=rec.get("gpt_reason"),
        raw=str(value),
        status=ParseStatus.OK if verdict is not None else ParseStatus.UNPARSED,
    )


def _verdicts(path: Path, line: Where, rec: dict[str, Any]) -> Judgement:
    verdict = rec["verdict"]
    if verdict is not None and (isinstance(verdict, bool) or not isinstance(verdict, int) or verdict < 0):
        raise _error(path, line, "verdict", f"expected a non-negative int or null, got {verdict!r}")
    scores = rec.get("scores")
    n = len(scores) if scores else max(2, verdict or 0)
    return Judgement(
        sample_id=str(rec["id"]),
        judge=str(rec.get("judge", path.stem)),
        order=list(rec.get("order") or range(n)),
        scores=scores,
        verdict=verdict,
        confidence=rec.get("confidence"),
        status=ParseStatus.OK if verdict is not None else ParseStatus.UNPARSED,
    )


def read_predictions(path: str | Path, fmt: PredFormat | None = None,
                     encoding: str = DEFAULT_ENCODING) -> list[Judgement]:
    """Every prediction in ``path`` as a Judgement (verdicts in original answer order).

    Raises DataError naming file, line and field on malformed records, and on a second
    prediction for the same sample in the same presentation order.
    """
    path = Path(path)
    if path.is_dir():
        raise _error(path, ("line", None), None, "is a folder: give the predictions file")
    if not path.is_file():
        raise _error(path, ("line", None), None, "predictions file not found")
    if fmt is not None and fmt not in PRED_FORMATS:
        raise ValueError(f"unknown predictions format {fmt!r}; choose one of {PRED_FORMATS}")
    out: list[Judgement] = []
    seen: dict[tuple[str, tuple[int, ...], Any], Where] = {}
    for line, rec in _records(path, encoding):
        try:
            kind = fmt or detect_format(rec)
        except ValueError as exc:
            raise _error(path, line, None, str(exc)) from exc
        try:
            if kind == "judgement":
                j = Judgement.model_validate(rec)
            else:
                j = {"pandalm": _pandalm, "gpt": _gpt, "verdicts": _verdicts}[kind](path, line, rec)
        except KeyError as exc:
            raise _error(path, line, str(exc.args[0]), "missing field") from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"]) or None
            raise _error(path, line, field, err["msg"]) from exc
        if j.status != ParseStatus.OK and j.verdict is not None:
            raise _error(path, line, "verdict", f"status {j.status.value} but a verdict is set")
        criterion = j.metadata.get("criterion")  # rubric grading: one prediction per criterion and order
        key = (j.sample_id, tuple(j.order), criterion)
        if key in seen:
            on = f" on criterion {criterion!r}" if criterion is not None else ""
            raise _error(
                path, line, "sample_id",
                f"second prediction for sample {j.sample_id!r} in order {list(j.order)}{on} (first at {seen[key][0]} {seen[key][1]})",
            )
        seen[key] = line
        out.append(j)
    if not out:
        raise _error(path, ("line", None), None, "no predictions in file")
    logger.info("read %d predictions from %s", len(out), path)
    return out


def split_orders(judgements: list[Judgement]) -> tuple[dict[str, Judgement], dict[str, Judgement]]:
    """(original-order run, swapped run), each keyed by sample id.

    A record is "swapped" when its answers were not presented in their original order.
    """
    first: dict[str, Judgement] = {}
    second: dict[str, Judgement] = {}
    for j in judgements:
        target = second if j.swapped else first
        if j.sample_id in target:
            raise ValueError(
                f"sample {j.sample_id!r} has several {'swapped' if j.swapped else 'original-order'} predictions"
            )
        target[j.sample_id] = j
    return first, second
