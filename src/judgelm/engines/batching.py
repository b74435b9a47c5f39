"""Token-budget batching over length-sorted prompts, and shared-prefix detection.

Why: padding is wasted compute. Sorting prompts by length and cutting batches so that
``rows × longest_row`` stays under a token budget keeps padding small and memory bounded,
whatever the mix of short and long prompts.
"""

from __future__ import annotations

from collections.abc import Sequence


#: batch-invariant padding: a sequence is padded to a width set by its own length, a multiple of this
WIDTH_STEP = 16


def padded_width(n: int) -> int:
    """The width a sequence of ``n`` tokens is padded to in batch-invariant batching (its own length
    rounded up to a multiple of :data:`WIDTH_STEP`), so its result does not depend on its batch."""
    return -(-n // WIDTH_STEP) * WIDTH_STEP


def token_budget_batches(lengths: Sequence[int], token_budget: int, max_batch_size: int = 256) -> list[list[int]]:
    """Group indexes into batches, longest prompts first, with ``len(batch) * max_len <= token_budget``.

    A prompt longer than the budget gets a batch of its own (it still has to run).
    """
    if token_budget < 1 or max_batch_size < 1:
        raise ValueError(f"token_budget ({token_budget}) and max_batch_size ({max_batch_size}) must be >= 1")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        n = lengths[i]
        width = max(longest, n)
        if current and ((len(current) + 1) * width > token_budget or len(current) >= max_batch_size):
            batches.append(current)
            current, width = [], n
        current.append(i)
        longest = width
    if current:
        batches.append(current)
    return batches


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every row."""
    if not rows:
        return 0
    first = rows[0]
    n = min(len(r) for r in rows)
    for k in range(n):
        tok = first[k]
        if any(r[k] != tok for r in rows):
            return k
    return n
