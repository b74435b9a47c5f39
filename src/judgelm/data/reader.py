"""``read_samples``: any supported source → Samples, with format detection, ``skip_bad``,
``limit`` and a read report.

Source resolution
-----------------
* ``http(s)://…`` — a data file downloaded once into the cache (:mod:`judgelm.data.remote`);
* ``hf:ID`` — a Hugging Face dataset (hub id, or a local folder/file ``datasets`` can load);
  a bare ``owner/name`` that is not an existing path is treated the same way.
* an existing file — read with ``fmt`` if given, else the column ``mapping`` if given, else
  the detected format;
* an existing folder — every file of the format (AlpacaEval ``**/annotations.json``, LLMBar
  ``**/dataset.json``, arena-bench ``**/model_judgment/*.jsonl``, otherwise ``**/*.json*``).

Detection (by content, never by file name): the first row's fields decide, rules tried in
this order — see :func:`judgelm.data.registry.detect_format` and each format's ``matches``:

===============  =========================================================================
judgelm          ``question_body``, ``answer1_body``, ``answer2_body``
pandalm          ``response1``, ``response2``, ``annotator1..3``
alpaca_eval      ``output_1``, ``output_2``, ``generator_1``, ``generator_2``, ``preference``
llmbar           ``input``, ``output_1``, ``output_2``, ``label`` (no ``generator_1``)
autoj            ``usrmsg``, ``target_output``
arena_bench      ``question_id``, ``model``, ``user_prompt``, ``judgment``
prometheus       ``gpt4_score`` and an ``instruction`` containing ``###Response to evaluate:``
mmvet            ``imagename``, ``question``, ``answer`` (JSON object keyed by id)
canonical        ``id``, ``question``, ``answers`` (a list)
===============  =========================================================================

Prompt files (``question_id`` + ``turns``) and model-answer files (``question_id`` + ``text`` +
``model``, or FastChat ``choices``) are not judge samples: reading them here raises a
DataError that points to :func:`read_prompts` / :func:`read_answers`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from judgelm.data.answers import is_fastchat_answer, is_judgelm_answer
from judgelm.data.canonical import validation_error
from judgelm.data.errors import DataError, Dropped
from judgelm.data.files import (
    DEFAULT_ENCODING,
    check_encoding,
    data_suffix,
    open_binary,
)
from judgelm.data.hub import HF_OPTIONS, hf_rows, looks_like_hub_id
from judgelm.data.mapping import suggest_mapping
from judgelm.data.questions import is_prompt_row
from judgelm.data.records import RawRecord, first_row
from judgelm.data.registry import FORMATS, Format, detect_format, get_format
from judgelm.data.remote import fetch, is_url
from judgelm.schema import Sample

logger = logging.getLogger(__name__)


@dataclass
class ReadReport:
    """What happened while reading: rows seen, samples produced, rows skipped or dropped."""

    rows: int = 0
    samples: int = 0
    skipped: list[DataError] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)  # files (or datasets) per format

    def summary(self) -> str:
        parts = [f"read {self.rows} rows", f"{self.samples} samples", f"skipped {len(self.skipped)}"]
        if self.dropped:
            parts.append("dropped " + ", ".join(f"{n} ({why})" for why, n in self.dropped.items()))
        return ", ".join(parts)


class SampleStream(Iterator[Sample]):
    """The iterator ``read_samples`` returns; ``.report`` fills in as it is consumed."""

    def __init__(self, gen: Iterator[Sample], report: ReadReport) -> None:
        self._gen = gen
        self.report = report

    def __iter__(self) -> "SampleStream":
        return self

    def __next__(self) -> Sample:
        return next(self._gen)


def read_samples(
    source: str | Path,
    fmt: str | None = None,
    *,
    mapping: str | Mapping[str, Any] | None = None,
    skip_bad: bool = False,
    limit: int | None = None,
    encoding: str = DEFAULT_ENCODING,
    **opts: Any,
) -> SampleStream:
    """Samples of ``source`` (file, folder, ``hf:ID``), in file order.

    Without ``skip_bad`` the first bad row raises :class:`DataError` (file, line, field);
    with it, bad rows are logged and collected in ``stream.report.skipped`` (each error's
    ``raw`` holds the offending row). File-level problems (empty, broken JSON document,
    folder without data) raise even then. ``encoding`` decodes every file (default UTF-8;
    a UTF-8 byte-order mark is ignored; gzip files are unpacked). Reader options
    (e.g. ``predictions=`` for MM-Vet, ``exclude_datasets=`` for AlpacaEval, ``split=`` for
    Hugging Face datasets) go in ``opts``.
    """
    report = ReadReport()
    if mapping is not None:
        if fmt not in (None, "mapped"):
            raise ValueError("a column mapping only applies to format 'mapped'")
        fmt = "mapped"
        opts["mapping"] = mapping
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    encoding = check_encoding(encoding)
    resolved = _resolve(source, fmt, encoding)  # eager: a missing file or unknown format fails here, not at first next()
    if resolved[0] is not None:
        _check_options(resolved[0], opts, hf=resolved[2] is not None)
    gen = _read(resolved, skip_bad=skip_bad, limit=limit, report=report, opts=opts, encoding=encoding)
    return SampleStream(gen, report)


def load_samples(source: str | Path, fmt: str | None = None, **kwargs: Any) -> list[Sample]:
    """:func:`read_samples` into a list."""
    return list(read_samples(source, fmt, **kwargs))


# -- internals ------------------------------------------------------------------------------


def _check_options(fmt: Format, opts: dict[str, Any], hf: bool) -> None:
    allowed = set(fmt.options) | (set(HF_OPTIONS) if hf else set())
    unknown = set(opts) - allowed
    if unknown:
        hint = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"format {fmt.name!r} does not take option(s) {', '.join(sorted(unknown))} (takes: {hint})")


@lru_cache(maxsize=256)
def _first(path: Path, mtime: float, encoding: str) -> dict[str, Any] | None:
    try:
        return first_row(path, encoding)
    except DataError:
        return None


def _first_row(path: Path, encoding: str = DEFAULT_ENCODING) -> dict[str, Any] | None:
    """First row of a folder's file, or None when it has none (such files are passed over)."""
    return _first(path, path.stat().st_mtime, encoding)


def _not_samples(first: dict[str, Any], where: str) -> None:
    """Prompt and answer files are valid data, just not judge samples: say what to use."""
    if is_prompt_row(first):
        raise DataError(where, None, None, "a prompt file (question_id, turns) has no answers to judge; "
                                           "read it with judgelm.data.read_prompts")
    if is_fastchat_answer(first) or is_judgelm_answer(first):
        raise DataError(where, None, None, "a model-answer file (one model's answers) is not a judge sample; "
                                           "read it with judgelm.data.read_answers and pair the answers")


def _detect(first: dict[str, Any] | None, where: str) -> Format:
    if first is None:
        raise DataError(where, None, None, "no readable row to detect the format from")
    if not first:
        raise DataError(where, None, None, "the first row is an empty object {}: cannot tell the format")
    try:
        return detect_format(first, where)
    except DataError as exc:
        _not_samples(first, where)  # a more helpful message for prompt / answer files
        guess = suggest_mapping(list(first))
        if guess is not None:  # say what to type
            exc.message += f", e.g. --map '{guess}'"
        raise


DATA_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet")


def _data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and data_suffix(p) in DATA_SUFFIXES)


def _no_data_files(folder: Path) -> DataError:
    held = sorted(p.name for p in folder.iterdir())
    what = f"it holds {', '.join(held[:5])}{', …' if len(held) > 5 else ''}" if held else "it is empty"
    return DataError(folder, None, None, f"folder holds no .json/.jsonl/.csv/.tsv files ({what})")


def _folder_files(fmt: Format, folder: Path, encoding: str = DEFAULT_ENCODING) -> list[Path]:
    """The files of ``folder`` in format ``fmt``: its usual layout (``fmt.folder_glob``) when
    that finds any, else any data file below; either way only files whose first row is of
    the format (a mapping applies to every data file)."""
    if fmt.name == "mapped":
        return _data_files(folder)
    for candidates in (fmt.files(folder), _data_files(folder)):
        files = [p for p in candidates if (first := _first_row(p, encoding)) is not None and fmt.matches(first)]
        if files:
            return files
    return []


def _detect_folder(folder: Path, encoding: str = DEFAULT_ENCODING) -> tuple[Format, list[Path]]:
    for fmt in FORMATS.values():  # formats with a known folder layout first (registry order)
        if fmt.name == "mapped":
            continue
        files = fmt.files(folder)
        if files and (first := _first_row(files[0], encoding)) is not None and fmt.matches(first):
            return fmt, _folder_files(fmt, folder, encoding)
    data_files = _data_files(folder)
    if not data_files:
        raise _no_data_files(folder)
    errors: list[DataError] = []
    for path in data_files:  # the first file of a known format decides
        try:
            fmt = _detect(first_row(path, encoding), str(path))
        except DataError as exc:
            errors.append(exc)
            continue
        return fmt, _folder_files(fmt, folder, encoding)
    # nothing to judge here: prefer the error that says what the files are (prompts, answers)
    raise next((e for e in errors if "read_prompts" in e.message or "read_answers" in e.message), errors[0])


def _resolve(source: str | Path, fmt_name: str | None,
             encoding: str = DEFAULT_ENCODING) -> tuple[Format | None, list[Path] | None, str | None]:
    """(format or None = detect per dataset, files, or None and an HF dataset id)."""
    text = str(source)
    if text.startswith("hf:"):
        return (get_format(fmt_name) if fmt_name else None), None, text[3:]
    path = fetch(text) if is_url(text) else Path(source)
    if not path.exists():
        if isinstance(source, str) and looks_like_hub_id(source):
            return (get_format(fmt_name) if fmt_name else None), None, source
        raise DataError(path, None, None, "no such file or folder (a Hugging Face dataset needs the hf: prefix)")
    if path.is_dir() and not _data_files(path):
        raise _no_data_files(path)
    if fmt_name:
        fmt = get_format(fmt_name)
        files = _folder_files(fmt, path, encoding) if path.is_dir() else [path]
    elif path.is_dir():
        fmt, files = _detect_folder(path, encoding)
    else:
        open_binary(path).close()  # a special file or an archive fails here, with its cause
        fmt = _detect(first_row(path, encoding), str(path))
        files = [path]
    if not files:
        raise DataError(path, None, None, f"no {fmt.name} files in this folder")
    return fmt, files, None


def _rows_of_hf(dataset_id: str, opts: dict[str, Any]) -> Iterator[RawRecord]:
    hf_opts = {k: v for k, v in opts.items() if k in HF_OPTIONS}
    for row in hf_rows(dataset_id, **hf_opts):
        yield RawRecord(row)


def _read(
    resolved: tuple[Format | None, list[Path] | None, str | None],
    *,
    skip_bad: bool,
    limit: int | None,
    report: ReadReport,
    opts: dict[str, Any],
    encoding: str = DEFAULT_ENCODING,
) -> Iterator[Sample]:
    fmt, files, hf_id = resolved
    if hf_id is not None:
        records = _rows_of_hf(hf_id, opts)
        first = next(records, None)
        if first is None:
            return
        if fmt is None:
            assert first.row is not None
            fmt = _detect(first.row.data, f"hf:{hf_id}")
        _check_options(fmt, opts, hf=True)
        batches: Iterable[tuple[Path, Iterable[RawRecord]]] = [(Path(hf_id), _chain(first, records))]
    else:
        assert fmt is not None and files is not None
        batches = ((p, fmt.records(p, encoding)) for p in files)
    reader_opts = {k: v for k, v in opts.items() if k in fmt.options}
    if limit == 0:
        return
    for path, records in batches:
        report.formats[fmt.name] += 1
        convert = fmt.converter(path, **reader_opts)
        for rec in records:
            report.rows += 1
            try:
                if rec.error is not None:
                    raise rec.error
                assert rec.row is not None
                try:
                    sample = convert(rec.row)
                except ValidationError as exc:
                    raise validation_error(rec.row, exc) from None
            except DataError as err:
                if not skip_bad:
                    raise
                if err.raw is None and rec.row is not None:
                    err.raw = rec.row.data
                report.skipped.append(err)
                logger.warning("skipped %s", err)
                continue
            except Dropped as drop:
                report.dropped[drop.reason] += 1
                continue
            report.samples += 1
            yield sample
            if limit is not None and report.samples >= limit:
                _log_end(report)
                return
    _log_end(report)


def _chain(first: RawRecord, rest: Iterator[RawRecord]) -> Iterator[RawRecord]:
    yield first
    yield from rest


def _log_end(report: ReadReport) -> None:
    if report.dropped:
        for reason, n in report.dropped.items():
            logger.info("dropped %d rows: %s", n, reason)
    if report.skipped:
        logger.warning("skipped %d bad rows (see report.skipped)", len(report.skipped))
