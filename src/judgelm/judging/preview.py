"""Prompt previews (``judgelm render``): rendered prompts as records: what a judge reads, one record per sample and
presented order, so a user can check a prompt byte for byte before paying for a run.

It lives in ``judging/`` (not ``prompts/``) because rubric prompts are the judging run's own requests
(``judging.requests.build_rubric_requests``): the preview shows exactly what a run would send."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from judgelm.data.errors import DataError
from judgelm.judging.requests import build_rubric_requests, split_key
from judgelm.judging.settings import JudgeSettings
from judgelm.prompts.prometheus import is_rubric_template
from judgelm.prompts.render import (
    PromptError,
    presentation_orders,
    render,
    resolve_mode,
)


def render_records(samples: Iterable[Any], source: str, template: str, mode: str | None, reference: bool,
                   swap: bool, rubric: Any = None) -> Iterator[dict[str, Any]]:
    """One record per sample and presented order (and criterion, for rubric templates); a sample that
    does not fit raises DataError naming it."""
    if is_rubric_template(template):
        yield from _rubric_records(samples, source, template, reference, swap, rubric)
        return
    for i, sample in enumerate(samples, start=1):
        where = f"sample #{i} (id {sample.id!r})"
        sample_mode = resolve_mode(sample, template, mode)
        if (reference or sample_mode == "vqa") and sample.reference is None:
            why = "--reference was given" if reference else "mode 'vqa' grades against the gold answer"
            raise DataError(source, None, "reference", f"{where} has no reference answer, but {why}")
        for order in presentation_orders(len(sample.answers), sample_mode, swap):
            try:
                prompt = render(sample, template=template, mode=sample_mode, reference=reference, order=order)
            except PromptError as exc:
                raise DataError(source, None, None, f"record {i}: {exc}") from None  # exc names the id
            yield {"id": sample.id, "template": template, "mode": sample_mode, "order": order,
                   "reference": reference or sample_mode == "vqa", "prompt": prompt}


def _rubric_records(samples: Iterable[Any], source: str, template: str, reference: bool, swap: bool,
                    rubric: Any) -> Iterator[dict[str, Any]]:
    """Rubric prompts: one record per sample, order and criterion (``criterion`` names it)."""
    settings = JudgeSettings(template=template, rubric=rubric, reference=reference, both_orders=swap)
    for i, sample in enumerate(samples, start=1):
        try:
            requests = build_rubric_requests(sample, settings)
        except ValueError as exc:
            raise DataError(source, None, None, f"record {i}: {exc}") from None
        for r in requests:
            yield {"id": sample.id, "template": template, "mode": r.mode, "order": split_key(r.key)[1],
                   "reference": r.reference_used, "criterion": r.criterion.name if r.criterion else None,
                   "prompt": r.prompt}
