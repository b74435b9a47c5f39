"""``render(sample, …)``: the exact text a judge reads for one sample, template, mode and order.

Modes (JudgeLM; PandaLM supports ``pair`` only):

* ``pair`` — exactly two answers.
* ``multi`` — 2..19 answers (two answers render exactly like ``pair``).
* ``single`` — grade one answer against an anchor: Assistant 1 = the anchor, pinned to 10 by the
  appendix ``### Response:10``; Assistant 2 = the graded answer. With one answer the anchor is the
  sample's reference (required); with two answers the first presented one is the anchor (as
  JudgeLM's own single-grading script does with its pair files).
* ``vqa`` — MM-Vet grading of one answer: the reference (gold) is required and always shown;
  Assistant 1 = the gold rewritten by :func:`~judgelm.prompts.judgelm.vqa_anchor`.

``order`` (0-based original indexes) presents the sample's answers in another order; it
permutes ``sample.answers`` only (an anchor taken from the reference always stays Assistant 1).
All sample text passes through the injection guard (:mod:`judgelm.prompts.guard`).
"""

from __future__ import annotations

from judgelm.prompts import judgelm as _judgelm
from judgelm.prompts import pandalm as _pandalm
from judgelm.prompts.context import question_text
from judgelm.prompts.guard import neutralize
from judgelm.prompts.templates import (
    JUDGELM_APPENDIX,
    JUDGELM_APPENDIX_PINNED,
    JUDGELM_VQA_INSTRUCTION,
    MAX_ANSWERS,
    PINNED_SCORE,
)
from judgelm.schema import Sample

TEMPLATES = ("judgelm", "pandalm")
MODES: dict[str, tuple[str, ...]] = {"judgelm": ("pair", "single", "multi", "vqa"), "pandalm": ("pair",)}
#: modes whose appendix pins Assistant 1 (the anchor) to PINNED_SCORE; swapping answers makes no sense there
PINNED_MODES: tuple[str, ...] = ("single", "vqa")


class PromptError(ValueError):
    """A sample cannot be rendered with the asked template/mode; the message names the sample."""


def default_mode(sample: Sample) -> str:
    """The natural mode for a sample: the reader's ``metadata["mode"]`` if it set one (MM-Vet → ``vqa``),
    else ``single`` for one answer, ``pair`` for two, ``multi`` beyond."""
    hinted = sample.metadata.get("mode")
    if hinted in MODES["judgelm"]:
        return str(hinted)
    n = len(sample.answers)
    return "single" if n == 1 else "pair" if n == 2 else "multi"


def resolve_mode(sample: Sample, template: str, mode: str | None = None) -> str:
    """The mode a sample is judged in: the one asked for, else PandaLM's pair, else by its answers."""
    return mode or ("pair" if template == "pandalm" else default_mode(sample))


def presentation_orders(n_answers: int, mode: str, swap: bool) -> list[list[int]]:
    """The orders the answers are shown in: the original one, plus the reversed one with ``swap``
    (meaningful only with ≥ 2 presented answers, not in single/vqa grading)."""
    identity = list(range(n_answers))
    if swap and n_answers > 1 and mode not in PINNED_MODES:
        return [identity, identity[::-1]]
    return [identity]


def scoring_shape(sample: Sample, mode: str) -> tuple[int, float | None]:
    """``(n_answers, pinned_first)`` to pass to :func:`judgelm.prompts.parsing.parse_judgelm` for this prompt.

    ``n_answers`` counts the presented assistants, anchor included; ``pinned_first`` is the score
    the prompt already wrote for Assistant 1 (single/vqa), else None.
    """
    if mode in PINNED_MODES:
        return 2, float(PINNED_SCORE)
    return len(sample.answers), None


def _fail(sample: Sample, message: str) -> PromptError:
    return PromptError(f"sample {sample.id!r}: {message}")


def _reference(sample: Sample, why: str) -> str:
    if sample.reference is None:
        raise _fail(sample, f"{why} needs a reference answer, but the sample has none")
    return sample.reference


def _render_judgelm(sample: Sample, mode: str, reference: bool) -> str:
    t = "judgelm"
    n = len(sample.answers)
    answers = [neutralize(a.text, t) for a in sample.answers]
    instruction = _judgelm.instruction_for(2)
    appendix = JUDGELM_APPENDIX
    if mode == "pair" and n != 2:
        raise _fail(sample, f"mode 'pair' needs exactly 2 answers, got {n} (use mode 'multi' or 'single')")
    if mode == "multi":
        if not 2 <= n <= MAX_ANSWERS:
            raise _fail(sample, f"mode 'multi' takes 2..{MAX_ANSWERS} answers, got {n}")
        instruction = _judgelm.instruction_for(n)
    if mode == "single":
        if n == 1:
            anchor = _reference(sample, "mode 'single' takes its anchor (Assistant 1) from the reference, so it")
            answers.insert(0, neutralize(anchor, t))
        elif n != 2:
            raise _fail(sample, f"mode 'single' grades 1 answer (anchor = reference) or 2 (anchor first), got {n}")
        appendix = JUDGELM_APPENDIX_PINNED
    if mode == "vqa":
        if n != 1:
            raise _fail(sample, f"mode 'vqa' grades exactly 1 answer, got {n}")
        gold = _reference(sample, "mode 'vqa' (gold answer)")
        answers.insert(0, neutralize(_judgelm.vqa_anchor(gold), t))
        instruction, appendix, reference = JUDGELM_VQA_INSTRUCTION, JUDGELM_APPENDIX_PINNED, True
    ref_text = None
    if reference:
        ref_text = neutralize(_reference(sample, "reference mode"), t)
    return _judgelm.assemble(question_text(sample, t, with_input=True), answers, instruction, appendix, ref_text)


def _render_pandalm(sample: Sample, reference: bool) -> str:
    t = "pandalm"
    if reference:
        raise _fail(sample, "the PandaLM template has no reference block (render without reference)")
    if len(sample.answers) != 2:
        raise _fail(sample, f"the PandaLM template compares exactly 2 answers, got {len(sample.answers)}")
    r1, r2 = (neutralize(_pandalm.clean_response(a.text), t) for a in sample.answers)
    context = neutralize(sample.input, t) if sample.input else None
    return _pandalm.assemble(question_text(sample, t, with_input=False), r1, r2, context)


def render(sample: Sample, template: str = "judgelm", mode: str = "pair", reference: bool = False,
           order: list[int] | None = None) -> str:
    """The prompt for ``sample`` with its answers presented in ``order`` (None = original order).

    Raises :class:`PromptError` (a ``ValueError``) naming the sample when it does not fit the
    template/mode (wrong number of answers, reference asked for but missing, …).
    """
    if template not in TEMPLATES:
        raise PromptError(f"unknown template {template!r}; expected one of {', '.join(TEMPLATES)}")
    if mode not in MODES[template]:
        raise PromptError(f"template {template!r} supports modes {', '.join(MODES[template])}, not {mode!r}")
    if order is not None:
        try:
            sample = sample.reordered(list(order))
        except ValueError as exc:
            raise _fail(sample, str(exc)) from None
    if template == "pandalm":
        return _render_pandalm(sample, reference)
    return _render_judgelm(sample, mode, reference)
