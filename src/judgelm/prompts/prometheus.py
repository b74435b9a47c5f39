"""Rubric prompts: Prometheus' absolute (one answer → a score) and relative (two answers → A or B) grading.

``render_rubric(sample, criterion, template, reference, order)`` writes the prompt a Prometheus model
was trained on, byte for byte, for the 1-5 scale (``tests/prompts/test_rubric_prompts.py`` re-renders all
640 shared Prometheus items). A criterion with another scale keeps the text and writes its own
numbers where the trained prompt says 1, 5 and "Score 5".

The instruction is the sample's question; earlier turns are folded in as Prometheus' MT-bench items
do (``Here is a previous dialogue …\\nUser: …\\n\\nAssistant:…\\n\\nUser: <question>\\n\\nAssistant: ``),
and an input follows the question after a blank line. All sample text passes the injection guard.
"""

from __future__ import annotations

from judgelm.prompts.guard import neutralize
from judgelm.prompts.rubric import SAMPLE_RUBRIC, Criterion, Rubric, RubricError, format_rubric, parse_rubric_text
from judgelm.prompts.templates import (
    JUDGELM_INPUT_SEPARATOR,
    PROMETHEUS_ABSOLUTE_BODY,
    PROMETHEUS_ABSOLUTE_GIVEN_REF,
    PROMETHEUS_ABSOLUTE_HEAD,
    PROMETHEUS_ABSOLUTE_REFERENCE,
    PROMETHEUS_ABSOLUTE_RUBRIC,
    PROMETHEUS_DIALOGUE,
    PROMETHEUS_DIALOGUE_OPEN,
    PROMETHEUS_DIALOGUE_TURN,
    PROMETHEUS_FEEDBACK,
    PROMETHEUS_RELATIVE_BODY,
    PROMETHEUS_RELATIVE_GIVEN_REF,
    PROMETHEUS_RELATIVE_HEAD,
    PROMETHEUS_RELATIVE_REFERENCE,
    PROMETHEUS_RELATIVE_RUBRIC,
)
from judgelm.schema import Sample

ABSOLUTE = "prometheus-absolute"
RELATIVE = "prometheus-relative"
RUBRIC_TEMPLATES = (ABSOLUTE, RELATIVE)
#: the injection guard's marker set for both rubric templates
GUARD = "prometheus"
#: the scale the Prometheus models were trained on
TRAINED_SCALE = (1, 5)


def is_rubric_template(template: str | None) -> bool:
    return template in RUBRIC_TEMPLATES


def instruction_text(sample: Sample) -> str:
    """The guarded instruction: history folded in Prometheus' dialogue form, input after a blank line."""
    question = neutralize(sample.question, GUARD)
    if sample.input:
        question += JUDGELM_INPUT_SEPARATOR + neutralize(sample.input, GUARD)
    if not sample.history:
        return question
    turns = [(t.role if t.role != "system" else "user", neutralize(t.content, GUARD)) for t in sample.history]
    turns.append(("user", question))
    body = "".join(PROMETHEUS_DIALOGUE_TURN[role].format(content=content) for role, content in turns)
    return PROMETHEUS_DIALOGUE + body + PROMETHEUS_DIALOGUE_OPEN


def sample_criterion(sample: Sample) -> Criterion:
    """The sample's own rubric (``metadata.rubric``: Prometheus text, or a criterion mapping)."""
    raw = sample.metadata.get("rubric")
    where = f"sample {sample.id!r}: metadata.rubric"
    if isinstance(raw, str):
        return parse_rubric_text(raw, SAMPLE_RUBRIC, where)
    if isinstance(raw, dict):
        from judgelm.prompts.rubric import rubric_from_dict

        return rubric_from_dict({"name": SAMPLE_RUBRIC, **raw}, where).criteria[0]
    raise RubricError(f"sample {sample.id!r}: no rubric: pass one with --rubric FILE (or give the sample "
                      f"metadata.rubric)")


def criteria_for(sample: Sample, rubric: Rubric | None) -> list[Criterion]:
    """The criteria a sample is graded on: the run's rubric, else the sample's own."""
    return list(rubric.criteria) if rubric is not None else [sample_criterion(sample)]


def wants_reference(sample: Sample, rubric: Rubric | None, reference: bool) -> bool:
    """Whether the prompt shows the reference answer: asked for (``--reference``, or the rubric's
    ``reference: true``), or the rubric's ``auto`` (the default) and the sample has one."""
    setting = rubric.reference if rubric is not None else "auto"
    if setting is False:
        return False
    if reference or setting is True:
        if sample.reference is None:
            raise RubricError(f"sample {sample.id!r}: the rubric grading asks for a reference answer, "
                              f"but the sample has none")
        return True
    return sample.reference is not None


def _numbers(criterion: Criterion) -> dict[str, int]:
    return {"low": criterion.low, "high": criterion.high}


def render_absolute(sample: Sample, criterion: Criterion, reference: bool) -> str:
    """Grade ``sample.answers[0]`` against ``criterion`` (Prometheus ``ABSOLUTE_PROMPT`` / ``_WO_REF``)."""
    if len(sample.answers) != 1:
        raise RubricError(f"sample {sample.id!r}: {ABSOLUTE} grades exactly 1 answer, got {len(sample.answers)} "
                          f"(use {RELATIVE} for two)")
    n = _numbers(criterion)
    given = PROMETHEUS_ABSOLUTE_GIVEN_REF.format(**n) if reference else ""
    head = PROMETHEUS_ABSOLUTE_HEAD.format(given=given, **n)
    text = head + PROMETHEUS_ABSOLUTE_BODY.format(instruction=instruction_text(sample),
                                                  response=neutralize(sample.answers[0].text, GUARD))
    if reference:
        text += PROMETHEUS_ABSOLUTE_REFERENCE.format(reference=neutralize(sample.reference or "", GUARD), **n)
    return text + PROMETHEUS_ABSOLUTE_RUBRIC.format(rubric=format_rubric(criterion)) + PROMETHEUS_FEEDBACK


def render_relative(sample: Sample, criterion: Criterion, reference: bool) -> str:
    """Choose between ``sample.answers[0]`` (A) and ``[1]`` (B) on ``criterion`` (``RELATIVE_PROMPT``)."""
    if len(sample.answers) != 2:
        raise RubricError(f"sample {sample.id!r}: {RELATIVE} compares exactly 2 answers, got {len(sample.answers)}")
    given = PROMETHEUS_RELATIVE_GIVEN_REF if reference else ""
    head = PROMETHEUS_RELATIVE_HEAD.format(given=given)
    a, b = (neutralize(x.text, GUARD) for x in sample.answers)
    text = head + PROMETHEUS_RELATIVE_BODY.format(instruction=instruction_text(sample), response_a=a, response_b=b)
    if reference:
        text += PROMETHEUS_RELATIVE_REFERENCE.format(reference=neutralize(sample.reference or "", GUARD))
    return text + PROMETHEUS_RELATIVE_RUBRIC.format(rubric=format_rubric(criterion, levels=False)) + PROMETHEUS_FEEDBACK


def render_rubric(sample: Sample, criterion: Criterion, template: str = ABSOLUTE, reference: bool = True,
                  order: list[int] | None = None) -> str:
    """The Prometheus prompt for ``sample`` graded on ``criterion``; answers presented in ``order``."""
    if order is not None:
        sample = sample.reordered(list(order))
    if template == ABSOLUTE:
        return render_absolute(sample, criterion, reference)
    if template == RELATIVE:
        return render_relative(sample, criterion, reference)
    raise RubricError(f"unknown rubric template {template!r}; expected one of {', '.join(RUBRIC_TEMPLATES)}")


def resolve_template(template: str | None, rubric: Rubric | None) -> str:
    """The template of a run: the one asked for; with a rubric and no rubric template asked, absolute grading."""
    if rubric is not None and (template is None or template == "judgelm"):
        return ABSOLUTE
    return template or "judgelm"
