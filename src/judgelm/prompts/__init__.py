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
"""

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

__all__ = ["MODES", "PINNED_MODES", "PINNED_SCORE", "TEMPLATES", "PromptError", "default_mode", "neutralize", "render",
           "scoring_shape"]
