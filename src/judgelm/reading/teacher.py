"""Teacher pairs for the reading judge's head: chosen against the teacher's length preference.

Sources (GPT-4 judgements in ``../shared/data``, read by :mod:`judgelm.mini.teacher`):

* AlpacaEval GPT-4 preferences of all 52 models, without ``selfinstruct`` (the PandaLM test prompts)
  and ``vicuna`` (FairEval's), and without any prompt of an evaluation set;
* arena-bench grades turned into pairs (equal grades = tie);
* constructed hard negatives: a good answer against an answer written for another prompt, against
  the good answer to the most similar other prompt, and against its own first third (truncated).

Only the prompts that the built-in ``mini`` judge held out of its own training are used (the
recipe's validation split): mini's score is one of the head's inputs, and on prompts it was
trained on it would look far better than it is. GPT-4 prefers the longer answer in 86% of
AlpacaEval's non-tie pairs, so pairs are **length-balanced**: as many where the shorter answer
wins as where the longer one does.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

from judgelm.mini.teacher import TeacherItem, _preferred_answers, arena_items, load_alpaca_eval, load_arena_grades

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadDataConfig:
    """How many pairs of each kind (the whole set is scored once and cached)."""

    data_dir: str = "../shared/data"
    alpaca_pairs: int = 500
    arena_pairs: int = 250
    constructed_pairs: int = 150  # split between other-prompt, neighbour and truncated answers
    seed: int = 0


def mini_heldout_groups(data_dir: Path) -> set[str]:
    """Prompt identities held out of the built-in judge's training (its recipe's validation split)."""
    from judgelm.data.split import split_by_prompt
    from judgelm.mini.train import MiniTrainConfig, collect_items

    recipe = Path(__file__).resolve().parents[1] / "mini" / "recipe.yaml"
    cfg = MiniTrainConfig.from_yaml(recipe)
    cfg.data_dir = str(data_dir)
    items = collect_items(cfg)
    _, held = split_by_prompt(items, cfg.valid_share, seed=cfg.seed, key=lambda it: it.group)
    return {it.group for it in held}


def _longer_wins(it: TeacherItem) -> bool:
    a, b = (len(x) for x in it.answers)
    return (a > b) == (it.verdict == 1)


def length_balanced(items: list[TeacherItem], n: int, rng: random.Random) -> list[TeacherItem]:
    """Up to ``n`` pairs, half where the longer answer wins and half where the shorter wins
    (ties and equal lengths kept at their natural share)."""
    ties = [it for it in items if it.verdict == 0 or len(it.answers[0]) == len(it.answers[1])]
    ids = {id(x) for x in ties}
    longer = [it for it in items if id(it) not in ids and _longer_wins(it)]
    shorter = [it for it in items if id(it) not in ids and not _longer_wins(it)]
    share_ties = len(ties) / max(1, len(items))
    k_ties = min(len(ties), int(round(n * share_ties)))
    k = min(len(longer), len(shorter), (n - k_ties) // 2)
    out = rng.sample(ties, k_ties) + rng.sample(longer, k) + rng.sample(shorter, k)
    rng.shuffle(out)
    return out


def constructed_pairs(items: list[TeacherItem], n: int, rng: random.Random, embed=None) -> list[TeacherItem]:  # noqa: ANN001
    """Hard negatives where the teacher answer must win: another prompt's answer (random and, with
    ``embed``, the most similar prompt's), and the answer's own first third."""
    good = _preferred_answers(items)
    groups = sorted(good)
    if len(groups) < 2:
        return []
    near: dict[str, str] = {}
    if embed is not None:
        import numpy as np

        emb = np.asarray(embed([good[g][0] for g in groups]), dtype=np.float32)
        sims = emb @ emb.T
        np.fill_diagonal(sims, -1.0)
        sims[sims > 0.92] = -1.0  # the same request worded differently
        near = {g: groups[int(np.argmax(sims[i]))] for i, g in enumerate(groups)}
    out: list[TeacherItem] = []
    kinds = ["other_prompt", "neighbor", "truncated"] if near else ["other_prompt", "truncated"]
    picks = [g for g in groups for _ in range(3)]
    rng.shuffle(picks)
    for i, group in enumerate(picks[:n]):
        q, ans, ref = good[group]
        kind = kinds[i % len(kinds)]
        if kind == "truncated":
            words = ans.split(" ")
            if len(words) < 12:
                continue
            bad = " ".join(words[: len(words) // 3])
        else:
            other = near[group] if kind == "neighbor" else rng.choice([g for g in groups if g != group])
            bad = good[other][1]
        if " ".join(bad.split()) == " ".join(ans.split()):
            continue
        pair, verdict = ([ans, bad], 1) if rng.random() < 0.5 else ([bad, ans], 2)
        out.append(TeacherItem(group, kind, q, pair, reference=ref, verdict=verdict))
    return out


def head_items(cfg: HeadDataConfig, embed=None) -> list[TeacherItem]:  # noqa: ANN001
    """The head's teacher pairs (see the module docstring); deterministic for a seed."""
    from judgelm.mini.train import eval_prompt_groups

    root = Path(cfg.data_dir)
    rng = random.Random(cfg.seed)
    held = mini_heldout_groups(root) - eval_prompt_groups(root)
    alpaca = [it for it in load_alpaca_eval(root, None, ("selfinstruct", "vicuna")) if it.group in held]
    arena = [it for it in arena_items(load_arena_grades(root), 30, cfg.seed, reference_share=0.0)
             if it.group in held and len(it.answers) == 2 and it.verdict is not None]
    chosen = length_balanced(alpaca, cfg.alpaca_pairs, rng) + length_balanced(arena, cfg.arena_pairs, rng)
    built = constructed_pairs(alpaca + arena, cfg.constructed_pairs, rng, embed)
    log.info("head data: %d AlpacaEval + %d arena pairs (length-balanced, of %d + %d on %d held-out prompts), %d constructed",
             min(len(alpaca), cfg.alpaca_pairs), min(len(arena), cfg.arena_pairs), len(alpaca), len(arena), len(held), len(built))
    return chosen + built
