"""Trivial judges a real judge must beat: the majority class and "the longer answer wins".

A judge's agreement means little on its own: on many sets simply picking the longer answer
scores about 60% (61.1 on the PandaLM test set, 56 on LLMBar Natural). Reports therefore show
these baselines computed on exactly the rows the judge was scored on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from judgelm.schema import TIE, Sample


def majority_verdict(gold: Sequence[int]) -> int:
    """The most frequent gold verdict (the smallest label on a tie of counts, for determinism)."""
    if not gold:
        raise ValueError("majority of an empty gold set")
    counts = Counter(gold)
    best = max(counts.values())
    return min(v for v, c in counts.items() if c == best)


def majority(gold: Sequence[int]) -> list[int]:
    """Predict the majority gold class everywhere (an upper bound for any constant judge)."""
    v = majority_verdict(gold)
    return [v] * len(gold)


def longer_verdict(sample: Sample) -> int:
    """The answer with the most characters wins; a shared maximum is a tie."""
    lengths = [len(a.text) for a in sample.answers]
    best = max(lengths)
    winners = [i for i, n in enumerate(lengths) if n == best]
    return winners[0] + 1 if len(winners) == 1 else TIE


def longer(samples: Sequence[Sample]) -> list[int]:
    """"The longer answer wins" on every sample (strong on most sets: judges like length too)."""
    return [longer_verdict(s) for s in samples]
