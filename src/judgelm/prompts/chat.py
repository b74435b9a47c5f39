"""Judge prompts inside an instruct model's chat template.

A judge fine-tuned from an *instruct* base (SmolLM2-135M-Instruct) sees the byte-exact JudgeLM
prompt as the user turn of its own chat template, and answers in the assistant turn; training
(``chat_template: true``) and judging (hf engine option ``chat_template``) both call
:func:`wrap_chat`, so the two cannot differ. The score line then starts right after
``<|im_start|>assistant\\n``: every digit is its own token (no leading-space token).
"""

from __future__ import annotations


def wrap_chat(tokenizer, prompt: str) -> str:
    """``prompt`` as the single user message, followed by the assistant generation prompt."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("chat_template requested but the tokenizer has no chat template")
    return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
