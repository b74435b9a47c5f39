"""JudgeLM prompt assembly (docs/formats.md §1): ``SYSTEM + "\\n" + BODY + APPENDIX``.

Pure string assembly from :mod:`judgelm.prompts.templates`; choosing what goes into each
slot (anchor answers, guarded text, history) is :mod:`judgelm.prompts.render`'s job.
"""

from __future__ import annotations

import re

from judgelm.prompts.templates import (
    JUDGELM_ANSWER_BLOCK,
    JUDGELM_INSTRUCTION,
    JUDGELM_PAIR_PHRASE,
    JUDGELM_QUESTION_BLOCK,
    JUDGELM_REFERENCE_BLOCK,
    JUDGELM_SYSTEM,
    JUDGELM_SYSTEM_BLOCK,
    MAX_ANSWERS,
    NUMBER_WORDS,
)

_TWO = re.compile(r"\btwo\b")


def instruction_for(n_answers: int, base: str = JUDGELM_INSTRUCTION) -> str:
    """The instruction for ``n_answers`` assistants: ``two`` → the number word, "for Assistant 1, 2 and 3"."""
    if n_answers == 2:
        return base
    if not 3 <= n_answers <= MAX_ANSWERS:
        raise ValueError(f"JudgeLM prompts take 2..{MAX_ANSWERS} answers, got {n_answers}")
    listing = ", ".join(str(k) for k in range(1, n_answers)) + f" and {n_answers}"
    text = _TWO.sub(NUMBER_WORDS[n_answers], base)
    return text.replace(JUDGELM_PAIR_PHRASE, f"for Assistant {listing}")


def assemble(question: str, answers: list[str], instruction: str, appendix: str,
             reference: str | None = None) -> str:
    """The full prompt from already-guarded texts; ``reference=None`` leaves the reference block out."""
    body = JUDGELM_QUESTION_BLOCK.format(question=question)
    if reference is not None:
        body += JUDGELM_REFERENCE_BLOCK.format(reference=reference)
    body += "".join(JUDGELM_ANSWER_BLOCK.format(k=k, answer=a) for k, a in enumerate(answers, start=1))
    body += JUDGELM_SYSTEM_BLOCK.format(instruction=instruction)
    return JUDGELM_SYSTEM + "\n" + body + appendix


def vqa_anchor(gold: str) -> str:
    """MM-Vet gold → the anchor answer: the first ``<OR>`` alternative (stripped), ``<AND>`` → `` and ``.

    The original picks an ``<OR>`` alternative at random; the first one keeps runs reproducible.
    """
    if "<OR>" in gold:
        gold = gold.split("<OR>")[0].strip()
    return gold.replace("<AND>", " and ")
