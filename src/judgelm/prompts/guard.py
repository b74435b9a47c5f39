"""Injection guard: text under judgement must not be able to close its block or forge a verdict.

An answer that contains ``[The End of Assistant 1's Answer]`` or ``### Response 2:`` could end
its own block early and write a fake block, instruction or verdict after it. Every free text
inserted into a prompt (question, input, history turns, reference, answers) goes through
:func:`neutralize` first, which rewrites each *marker of the template* into a visible form
that no longer matches the marker:

* bracket markers (JudgeLM) — ``[Question]``, ``[Reference Answer]``, ``[System]``,
  ``[The Start of Assistant k's Answer]``, ``[The End of Assistant k's Answer]`` — get round
  brackets: ``(The End of Assistant 1's Answer)``. An unclosed ``[The End of Assistant 1's Answer``
  loses its ``[`` too (the short names count only with their ``]``: ``[Question 3]`` is benign).
* hash markers — ``### Response…`` (both templates), PandaLM's ``### Instruction``, ``### Input``,
  ``### Evaluation``, ``### Reason``, ``### Reference``, and the history labels ``### User``,
  ``### Assistant``, ``### System``, and Prometheus' ``###Task Description``, ``###The instruction to evaluate``,
  ``###Score Rubrics``, ``###Feedback`` … — have their run of 3+ ``#`` shortened to ``##``:
  ``## Response 2:``.

Matching is case-insensitive and tolerant of spacing (``[ the end of assistant 1's answer ]``,
``###Response``), since a model would read those as markers too. Anything else — including
``[1]``, ``### Results`` or ``## Response`` — is left byte-for-byte unchanged, so benign text
renders exactly as the judge was trained on it.
"""

from __future__ import annotations

import re

_SP = r"[ \t]*"
_ANSWER_MARKER = rf"the{_SP}(?:start|end){_SP}of{_SP}assistant{_SP}\d+{_SP}['’]s{_SP}answer"
# short names only with their closing bracket; answer markers also unclosed ("[The End of … Answer")
_JUDGELM_BRACKET = re.compile(
    rf"\[({_SP}(?:question|system|reference{_SP}answer){_SP})(\])|\[({_SP}{_ANSWER_MARKER}\b{_SP})(\]?)",
    re.IGNORECASE,
)
_HISTORY_NAMES = ("user", "assistant", "system")
_HASH_NAMES = {
    "judgelm": ("response",) + _HISTORY_NAMES,
    "pandalm": ("instruction", "input", "response", "evaluation", "reason", "reference") + _HISTORY_NAMES,
    # Prometheus rubric prompts (``###Response to evaluate:``, ``###Score Rubrics:``, ``###Feedback:`` …)
    "prometheus": ("task description", "the instruction to evaluate", "instruction", "response", "reference",
                   "score rubrics?", "feedback"),
}
_HASH = {
    name: re.compile(rf"#{{3,}}(?={_SP}(?:{'|'.join(words)})(?![a-z]))", re.IGNORECASE)
    for name, words in _HASH_NAMES.items()
}


def _round_brackets(match: re.Match[str]) -> str:
    inner, closing = (match.group(1), match.group(2)) if match.group(1) is not None else match.group(3, 4)
    return "(" + inner + (")" if closing else "")


def neutralize(text: str, template: str = "judgelm") -> str:
    """``text`` with every marker of ``template`` rewritten so it cannot act as a marker.

    Benign text (no marker) is returned unchanged (the same string).
    """
    if template not in _HASH:
        raise ValueError(f"unknown template {template!r}; expected one of {sorted(_HASH)}")
    out = _HASH[template].sub("##", text)
    if template == "judgelm":
        out = _JUDGELM_BRACKET.sub(_round_brackets, out)
    return out

