"""What the judge reads as "the question": earlier turns, the final question, and its input.

Neither released judge was trained on multi-turn conversations, and JudgeLM has no input field,
so both are folded into the question text (the policy is documented in docs/prompts.md):

* history — each earlier turn becomes ``### User:\\n…\\n\\n`` / ``### Assistant:\\n…\\n\\n``
  (``### System:`` for system turns), oldest first, and the final question is labelled
  ``### User:\\n{question}``. Without history the question is used unchanged.
* input (JudgeLM only) — appended after a blank line: ``{question}\\n\\n{input}``. PandaLM has
  its own ``### Input:`` block. An empty input counts as no input (as PandaLM's code does).

Every piece of sample text is passed through the injection guard here; the labels we add are not.
"""

from __future__ import annotations

from judgelm.prompts.guard import neutralize
from judgelm.prompts.templates import (
    HISTORY_FINAL,
    HISTORY_ROLES,
    HISTORY_TURN,
    JUDGELM_INPUT_SEPARATOR,
)
from judgelm.schema import Sample


def question_text(sample: Sample, template: str, with_input: bool) -> str:
    """The guarded question, preceded by the rendered history and (if ``with_input``) followed by the input."""
    question = neutralize(sample.question, template)
    if sample.history:
        turns = "".join(
            HISTORY_TURN.format(role=HISTORY_ROLES[t.role], content=neutralize(t.content, template))
            for t in sample.history
        )
        question = turns + HISTORY_FINAL.format(content=question)
    if with_input and sample.input:
        question += JUDGELM_INPUT_SEPARATOR + neutralize(sample.input, template)
    return question
