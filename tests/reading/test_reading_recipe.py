"""The head recipe's selection step on evidence built by hand (no LM): candidates, split by prompt,
and --no-expert leaving the expert-prompt candidates out instead of failing."""

from __future__ import annotations

import random
from dataclasses import dataclass

from judgelm.reading.head import needs_expert
from judgelm.reading.recipe import CANDIDATES, RecipeConfig, select
from judgelm.reading.signals import AnswerEvidence


@dataclass
class _Item:
    group: str
    source: str


def _pairs(n: int, expert: bool):
    """Pairs where the on-topic answer (higher PMI) wins, with noise in the other signals."""
    rng = random.Random(0)
    items, pairs = [], []
    for i in range(n):
        def answer(good: bool) -> AnswerEvidence:
            cond = -100 + rng.gauss(0, 5) + (25 if good else 0)
            return AnswerEvidence(cond=cond, uncond=-100 + rng.gauss(0, 5), tokens=rng.randint(20, 200), truncated=False,
                                  chars=rng.randint(100, 900), mini=rng.gauss(0, 1), expert=cond - 1 if expert else None)
        a, b = answer(i % 2 == 0), answer(i % 2 == 1)
        items.append(_Item(group=f"prompt-{i // 2}", source="alpaca_eval" if i % 3 else "arena"))
        pairs.append((a, b, 1 if i % 2 == 0 else 2))
    return items, pairs


def test_selection_without_the_expert_prompt_skips_its_candidates() -> None:
    items, pairs = _pairs(120, expert=False)
    head, table = select(items, pairs, RecipeConfig(expert=False, c_grid=(1.0,)))
    assert table and not any(needs_expert(r["features"]) for r in table)
    assert len(table) == sum(not needs_expert(c) for c in CANDIDATES)
    assert "pmi" in head.features or "pmi_mean" in head.features  # PMI is what separates these pairs
    assert head.meta["valid_2way"] >= 0.9


def test_selection_with_the_expert_prompt_compares_every_candidate() -> None:
    items, pairs = _pairs(120, expert=True)
    _, table = select(items, pairs, RecipeConfig(expert=True, c_grid=(1.0,)))
    assert len(table) == len(CANDIDATES)
