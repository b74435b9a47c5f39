"""PandaLM prompt assembly (docs/formats.md §3), with and without an ``### Input:`` block."""

from __future__ import annotations

from judgelm.prompts.templates import (
    PANDALM_SPECIAL_TOKENS,
    PANDALM_WITH_INPUT,
    PANDALM_WITHOUT_INPUT,
)


def clean_response(text: str) -> str:
    """PandaLM's response cleaning: strip, drop special-token strings, strip again."""
    text = text.strip()
    for token in PANDALM_SPECIAL_TOKENS:
        text = text.replace(token, "")
    return text.strip()


def assemble(instruction: str, response1: str, response2: str, input: str | None = None) -> str:
    """The full prompt from already-cleaned and guarded texts; an empty ``input`` means none."""
    if input:
        return PANDALM_WITH_INPUT.format(instruction=instruction, input=input,
                                         response1=response1, response2=response2)
    return PANDALM_WITHOUT_INPUT.format(instruction=instruction, response1=response1, response2=response2)
