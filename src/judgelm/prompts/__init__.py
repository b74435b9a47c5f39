"""Judge prompt templates (byte-exact to the released weights) and rendering.

Contract used by the rest of the package (implemented in this subpackage):

    render(sample, template="judgelm", mode="pair", reference=False, order=None) -> str

* ``template``: "judgelm" | "pandalm"
* ``mode``: "pair" | "single" | "multi" | "vqa" (pandalm supports "pair" only)
* ``reference``: include the reference block (sample.reference must be set)
* ``order``: presented order of answers (0-based original indexes); None = original order

Helpers: :func:`default_mode` (mode from the answer count), :func:`scoring_shape`
(``n_answers``/``pinned_first`` for :func:`judgelm.prompts.parsing.parse_judgelm`), :func:`neutralize`
(the injection guard). Template text lives only in :mod:`judgelm.prompts.templates`.

Also here, loaded on first use: parsing judge text (:func:`parse_judgelm`, :func:`parse_pandalm`,
:func:`parse_rating`, :class:`Parsed`), rubrics (:func:`load_rubric`, :class:`Rubric`,
:class:`Criterion`) and their prompts (:func:`render_rubric`), :func:`to_original_order` (explanations
after a swap) and :func:`wrap_chat` (chat-template judges).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgelm.lazy import lazy_face
from judgelm.prompts.guard import neutralize
from judgelm.prompts.render import (
    MODES,
    PINNED_MODES,
    TEMPLATES,
    PromptError,
    default_mode,
    render,
    scoring_shape,
)
from judgelm.prompts.templates import PINNED_SCORE


if TYPE_CHECKING:
    from judgelm.prompts.chat import wrap_chat
    from judgelm.prompts.parsing import Parsed, parse_judgelm, parse_pandalm, parse_rating
    from judgelm.prompts.prometheus import render_rubric
    from judgelm.prompts.relabel import to_original_order
    from judgelm.prompts.rubric import Criterion, Rubric, RubricError, load_rubric

#: public name → the module that holds it, imported on first use (the rest of the face is imported above)
_EXPORTS: dict[str, str] = {
    "Parsed": "judgelm.prompts.parsing",
    "parse_judgelm": "judgelm.prompts.parsing",
    "parse_pandalm": "judgelm.prompts.parsing",
    "parse_rating": "judgelm.prompts.parsing",
    "Criterion": "judgelm.prompts.rubric",
    "Rubric": "judgelm.prompts.rubric",
    "RubricError": "judgelm.prompts.rubric",
    "load_rubric": "judgelm.prompts.rubric",
    "render_rubric": "judgelm.prompts.prometheus",
    "to_original_order": "judgelm.prompts.relabel",
    "wrap_chat": "judgelm.prompts.chat",
}

__all__ = ["MODES", "PINNED_MODES", "PINNED_SCORE", "TEMPLATES", "Criterion", "Parsed", "PromptError", "Rubric",
           "RubricError", "default_mode", "load_rubric", "neutralize", "parse_judgelm", "parse_pandalm", "parse_rating",
           "render", "render_rubric", "scoring_shape", "to_original_order", "wrap_chat"]


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, __all__)
