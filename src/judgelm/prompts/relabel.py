"""Explanations in the user's answer order.

A judge writes about the answers in the order it was shown them ("Assistant 1 is accurate …"),
while a :class:`~judgelm.schema.Judgement`'s scores and verdict are in the sample's ORIGINAL order.
After a swap the two disagree unless the explanation is rewritten: :func:`to_original_order` maps
every "Assistant k" (JudgeLM) / "Response k" (PandaLM) to the answer's original number, all at
once, so the explanation, the scores and the verdict speak of the same answers. The judge's own
text stays untouched in ``Judgement.raw``.
"""

from __future__ import annotations

import re

#: the words a template's judge uses to name the answers it was shown
_NAMES = {"judgelm": ("Assistant", "assistant"),
          "pandalm": ("Response", "response")}
_PATTERN = {t: re.compile(r"\b(" + "|".join(words) + r")(\s+)(\d+)\b") for t, words in _NAMES.items()}


def to_original_order(text: str | None, order: list[int], template: str = "judgelm") -> str | None:
    """``text`` with each answer number k (presented position) replaced by ``order[k-1] + 1``
    (its original number); unchanged when the order is the original one or a number is out of range."""
    if not text or order == sorted(order):
        return text
    pattern = _PATTERN.get(template, _PATTERN["judgelm"])

    def swap(m: re.Match[str]) -> str:
        k = int(m.group(3))
        if not 1 <= k <= len(order):
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{order[k - 1] + 1}"

    return pattern.sub(swap, text)
