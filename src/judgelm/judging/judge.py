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
from judgelm.judging.runner import RunSummary, judge_samples, run_judge
from judgelm.schema import Answer, Judgement, Sample


def as_sample(item: Sample | dict[str, Any], index: int = 0) -> Sample:
    """A :class:`Sample`, or a plain dict with ``question`` and ``answers`` (strings or answer dicts)."""
    if isinstance(item, Sample):
        return item
    data = dict(item)
    data.setdefault("id", str(index))
    data["answers"] = [Answer(text=a) if isinstance(a, str) else a for a in data.get("answers", [])]
    return Sample.model_validate(data)


def _rubric_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``rubric`` as a :class:`~judgelm.prompts.rubric.Rubric` (from a path or mapping) and the template it implies
    (a rubric without a rubric template means Prometheus absolute grading)."""
    from judgelm.prompts.prometheus import resolve_template
    from judgelm.prompts.rubric import as_rubric

    rubric = as_rubric(settings.get("rubric"))
    return {**settings, "rubric": rubric, "template": resolve_template(settings.get("template"), rubric)}


class Judge:
    """A loaded judge: ``Judge("mini")``, ``Judge("hf:BAAI/JudgeLM-7B-v1.0", dtype="bfloat16")``,
    ``Judge("openai:gpt-4o", template="pandalm")``, ``Judge("openai:gpt-4o", rubric="helpfulness.yaml")``.

    ``template``/``mode``/``reference``/``fast``/``max_new_tokens``/``rubric`` are the defaults of every call
    (``rubric``: a file path, a mapping or a :class:`~judgelm.prompts.rubric.Rubric`; it grades with
    ``prometheus-absolute`` unless ``template="prometheus-relative"``); ``engine_options``
    go to the engine's constructor (see docs/engines.md). ``cache``: the response cache (a path, or
    True for the default one); by default in-memory calls skip it and :meth:`run` uses it, as the CLI
    does. Use it as a context manager, or call
    :meth:`close`, to release the engine.
    """

    def __init__(self, spec: str | Engine | None = None, *, template: str | None = None, mode: str | None = None,
                 reference: bool = False, fast: bool = True, max_new_tokens: int | None = None,
                 cache: bool | str | Path | None = None, rubric: Any = None, **engine_options: Any) -> None:
        from judgelm.engines import DEFAULT_JUDGE, load_engine

        self.settings: dict[str, Any] = _rubric_settings(dict(template=template, mode=mode, reference=reference,
                                                              fast=fast, max_new_tokens=max_new_tokens, rubric=rubric))
        self.engine: Engine = spec if isinstance(spec, Engine) else load_engine(spec or DEFAULT_JUDGE, **engine_options)
        self._owned = not isinstance(spec, Engine)
        self.cache = cache

    @property
    def name(self) -> str:
        return self.engine.name

    def judge(self, sample: Sample | dict[str, Any], *, swap: bool = False, **settings: Any) -> list[Judgement]:
        """One sample: one :class:`Judgement` per presentation order (two with ``swap``), each in the
        sample's ORIGINAL answer order."""
        return self.judge_many([sample], swap=swap, **settings)

    def judge_many(self, samples: Iterable[Sample | dict[str, Any]], *, swap: bool = False,
                   batch_size: int | None = None, **settings: Any) -> list[Judgement]:
        """Many samples in one batched pass; judgements in sample order, then presentation order."""
        items = [as_sample(s, i) for i, s in enumerate(samples)]
        return judge_samples(items, self.engine, swap=swap, batch_size=batch_size, cache=self.cache or False,
                             **_rubric_settings({**self.settings, **settings}))

    def run(self, source: str | Path | Iterable[Sample], output: str | Path, *, swap: bool = False,
            fmt: str | None = None, **settings: Any) -> RunSummary:
        """Judge a file (any format :func:`judgelm.data.read_samples` reads) or samples into ``output``,
        resumably (SQLite state beside it); ``summary.judgements`` holds the results."""
        from judgelm.data import read_samples

        samples = read_samples(source, fmt=fmt) if isinstance(source, (str, Path)) else source
        return run_judge(samples, self.engine, output, swap=swap, cache=True if self.cache is None else self.cache,
                         **_rubric_settings({**self.settings, **settings}))

    def close(self) -> None:
        if self._owned:
            self.engine.close()

    def __enter__(self) -> "Judge":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
