"""The library face of judging: ``Judge(spec).judge(sample)`` without the CLI.

Why a class: an engine is expensive to load (weights, tokenizer, HTTP client) and cheap to reuse, so
one ``Judge`` holds it and judges any number of samples, in memory (:meth:`Judge.judge`,
:meth:`Judge.judge_many`) or into a resumable output file (:meth:`Judge.run`), with the same
request building, parsing and order mapping as ``judgelm judge``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from judgelm.engines.base import Engine
from judgelm.judging.prepared import prepare
from judgelm.judging.runner import RunSummary, judge_samples, run_judge
from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Judgement, Sample


def as_sample(item: Sample | dict[str, Any], index: int = 0) -> Sample:
    """A :class:`Sample`, or a plain dict of the same shape (docs/formats.md): ``question`` and
    ``answers`` (strings or answer objects); ``id`` optional (default: the position, ``"0"``, ``"1"`` …)."""
    if isinstance(item, Sample):
        return item
    data = dict(item)
    if data.get("id") in (None, ""):
        data["id"] = str(index)
    return Sample.model_validate(data)


def _with(settings: JudgeSettings, swap: bool | None, changes: dict[str, Any]) -> JudgeSettings:
    """``settings`` with a call's own choices (``swap`` is ``both_orders``, as ``judgelm judge --swap``)."""
    if swap is not None:
        changes = {**changes, "both_orders": swap}
    return settings.replace(**changes) if changes else settings


class Judge:
    """A loaded judge: ``Judge("mini")``, ``Judge("hf:BAAI/JudgeLM-7B-v1.0", dtype="bfloat16")``,
    ``Judge("openai:gpt-4o", template="pandalm")``, ``Judge("openai:gpt-4o", rubric="helpfulness.yaml")``.

    ``template``/``mode``/``reference``/``fast``/``max_new_tokens``/``rubric`` make the :class:`JudgeSettings`
    of every call (``self.settings``; the defaults are JudgeSettings' own, the same as ``judgelm judge``'s;
    ``rubric``: a file path, a mapping or a :class:`~judgelm.prompts.rubric.Rubric`; it grades with
    ``prometheus-absolute`` unless ``template="prometheus-relative"``); a call may change any of them
    by keyword (``swap`` = ``both_orders``). ``engine_options``
    go to the engine's constructor (see docs/engines.md). ``cache``: the response cache (a path, or
    True for the default one); by default in-memory calls skip it and :meth:`run` uses it, as the CLI
    does. Use it as a context manager, or call
    :meth:`close`, to release the engine.
    """

    def __init__(self, spec: str | Engine | None = None, *, template: str | None = None, mode: str | None = None,
                 reference: bool = JudgeSettings.reference, fast: bool = JudgeSettings.fast,
                 max_new_tokens: int | None = None, cache: bool | str | Path | None = None, rubric: Any = None,
                 **engine_options: Any) -> None:
        from judgelm.engines import DEFAULT_JUDGE, load_engine
        from judgelm.engines.specs import check_spec

        if not isinstance(spec, Engine):  # a spec that cannot work fails at once (SpecError), not after a download try
            check_spec(spec or DEFAULT_JUDGE)
        self.settings = JudgeSettings(template=template or JudgeSettings.template, mode=mode, reference=reference,
                                      fast=fast, max_new_tokens=max_new_tokens, rubric=rubric)
        self.engine: Engine = spec if isinstance(spec, Engine) else load_engine(spec or DEFAULT_JUDGE, **engine_options)
        self._owned = not isinstance(spec, Engine)
        self.cache = cache

    @property
    def name(self) -> str:
        return self.engine.name

    def judge(self, sample: Sample | dict[str, Any], *, swap: bool = False,
              **settings: Any) -> Judgement | tuple[Judgement, Judgement] | list[Judgement]:
        """One sample → one :class:`Judgement` (in the sample's ORIGINAL answer order); with ``swap``
        the pair ``(as given, swapped)``, both mapped back to the original order; against a rubric a
        list, one judgement per criterion (and order)."""
        resolved = _with(self.settings, swap, settings)
        out = self.judge_many([sample], swap=swap, **settings)
        if resolved.rubric is not None or resolved.is_rubric:
            return out
        return (out[0], out[1]) if swap else out[0]

    def judge_many(self, samples: Iterable[Sample | dict[str, Any]], *, swap: bool = False,
                   batch_size: int | None = None, **settings: Any) -> list[Judgement]:
        """Many samples in one batched pass; judgements in sample order, then presentation order."""
        items = [as_sample(s, i) for i, s in enumerate(samples)]
        batch = prepare(items, _with(self.settings, swap, settings))
        return judge_samples(batch, self.engine, batch_size=batch_size, cache=self.cache or False)

    def run(self, source: str | Path | Iterable[Sample], output: str | Path, *, swap: bool = False,
            fmt: str | None = None, mapping: str | dict[str, Any] | None = None, **settings: Any) -> RunSummary:
        """Judge a file (any format :func:`judgelm.data.read_samples` reads; ``mapping`` = a column
        mapping as ``--map``) or samples into ``output``, resumably (SQLite state beside it);
        ``summary.judgements`` holds the results."""
        from judgelm.data import read_samples

        samples = (read_samples(source, fmt=fmt, mapping=mapping) if isinstance(source, (str, Path))
                   else (as_sample(s, i) for i, s in enumerate(source)))
        return run_judge(samples, self.engine, output, _with(self.settings, swap, settings),
                         cache=True if self.cache is None else self.cache)

    def close(self) -> None:
        if self._owned:
            self.engine.close()

    def __enter__(self) -> "Judge":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
