"""The reading judge (``--judge lm``): an LM's likelihood of each answer with and without the
question (PMI), combined with length and the built-in judge's score by a small antisymmetric head.

* :func:`gather` — per-answer evidence for a list of :class:`Problem` (:mod:`judgelm.reading.signals`);
* :class:`Head` / :func:`fit` — the head and its fit (:mod:`judgelm.reading.head`);
* :func:`head_items` — the teacher pairs the head is fitted on (:mod:`judgelm.reading.teacher`);
* ``python -m judgelm.reading.recipe`` — evidence → candidates → selection → ``head.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgelm.lazy import lazy_face

if TYPE_CHECKING:
    from judgelm.reading.head import Head, fit
    from judgelm.reading.signals import AnswerEvidence, Problem, gather
    from judgelm.reading.teacher import head_items

#: public name → the module that holds it, imported on first use (the likelihood scorer and the built-in
#: judge stay unloaded until used)
_EXPORTS: dict[str, str] = {
    "gather": "judgelm.reading.signals",
    "Problem": "judgelm.reading.signals",
    "AnswerEvidence": "judgelm.reading.signals",
    "Head": "judgelm.reading.head",
    "fit": "judgelm.reading.head",
    "head_items": "judgelm.reading.teacher",
}

__all__ = ["AnswerEvidence", "Head", "Problem", "fit", "gather", "head_items"]


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, __all__)
