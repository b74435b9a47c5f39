"""Training pairs for an LLM judge from the teacher files the built-in judge is trained on.

``teacher_mix`` in a training config (see ``src/judgelm/train/recipes/smol.yaml``) builds
:class:`Sample` pairs with teacher scores from ``data_dir`` (``../shared/data``) with the
built-in judge's loaders (:mod:`judgelm.mini.teacher`), then the usual pipeline applies (split by
prompt, swap augmentation, reference drop, tokenisation):

* **AlpacaEval GPT-4** preferences (minus ``selfinstruct`` = PandaLM test and ``vicuna`` = FairEval
  prompts, minus every prompt of an evaluation set), **length-balanced**: in this data the longer
  answer wins 85% of the decided pairs, so a judge trained on all of it learns length. Every pair
  the *shorter* answer wins is kept and as many longer-wins pairs are drawn (``length_balance``), so
  length alone predicts nothing. A preference becomes the score line ``win lose`` (8 4) / ``6 6``.
* **arena-bench** GPT-4 grades of the same prompt turned into pairs (scores = the two grades,
  1–10), the GPT-4 reference shown on a share of them (reference drop).
* **Constructed negatives** (LLMBar-style, as the built-in judge's recipe): a teacher-preferred
  answer (AlpacaEval winner, arena or **Auto-J** answer graded ≥ 6) vs a canned non-answer, and vs
  the good answer to the most similar *other* prompt (TF-IDF neighbour): targets 9 2 / 8 3.
* ``max_chars`` keeps only pairs whose question + answers (+ reference) fit (CPU cost is quadratic-ish
  in length); nothing is cut.

Every choice is counted in the returned stats (printed and written to the model card).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgelm.schema import Answer, Gold, Sample

logger = logging.getLogger(__name__)


@dataclass
class TeacherMix:
    """Options of ``teacher_mix`` (all keys optional)."""

    data_dir: str = "../shared/data"
    alpaca_exclude_datasets: list[str] = field(default_factory=lambda: ["selfinstruct", "vicuna"])
    alpaca_models: list[str] | None = None  # None = all 52
    length_balance: bool = True
    max_alpaca_pairs: int | None = None
    arena_pairs_per_prompt: int = 30
    arena_reference_share: float = 1.0  # attach the GPT-4 reference; reference_show_prob then shows / drops it
    non_answer_share: float = 0.3
    neighbor_share: float = 0.5
    decontaminate: bool = True
    max_chars: int | None = 1600
    preference_scores: dict[str, float] = field(default_factory=lambda: {"win": 8, "lose": 4, "tie": 6})
    negative_scores: dict[str, list[float]] = field(default_factory=lambda: {"non_answer": [9, 2], "neighbor": [8, 3]})
    seed: int = 0

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> "TeacherMix":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"teacher_mix: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**raw)


def _chars(it) -> int:
    return len(it.question) + sum(len(a) for a in it.answers) + len(it.reference or "")


def _tfidf_embed(texts: list[str]):
    """Normalised TF-IDF vectors (word 1-2 grams): the neighbour search needs no model download."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    m = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit_transform(texts)
    return np.asarray(m.todense(), dtype=np.float32)


def collect_teacher_items(mix: TeacherMix) -> tuple[list, Counter, list]:
    """Teacher pairs of the mix, counts of every selection step, and the graded singles (arena, Auto-J)."""
    from judgelm.mini.teacher import arena_items, load_alpaca_eval, load_arena_grades, load_autoj

    root = Path(mix.data_dir)
    stats: Counter = Counter()
    rng = random.Random(mix.seed)
    banned: set[str] = set()
    if mix.decontaminate:
        from judgelm.mini.train import eval_prompt_groups

        banned = eval_prompt_groups(root)

    def clean(items: list, name: str) -> list:
        kept = [it for it in items if it.group not in banned]
        stats[f"{name}:dropped_eval_prompt"] += len(items) - len(kept)
        if mix.max_chars:
            short = [it for it in kept if _chars(it) <= mix.max_chars]
            stats[f"{name}:dropped_longer_than_max_chars"] += len(kept) - len(short)
            kept = short
        return kept

    alpaca = load_alpaca_eval(root, mix.alpaca_models, tuple(mix.alpaca_exclude_datasets))
    stats["alpaca:read"] = len(alpaca)
    alpaca = clean(alpaca, "alpaca")
    if mix.length_balance:
        alpaca = length_balanced(alpaca, rng, stats)
    if mix.max_alpaca_pairs and len(alpaca) > mix.max_alpaca_pairs:
        alpaca = rng.sample(alpaca, mix.max_alpaca_pairs)
    stats["alpaca:kept"] = len(alpaca)

    arena_all = arena_items(load_arena_grades(root), mix.arena_pairs_per_prompt, mix.seed, mix.arena_reference_share)
    arena_pairs = [it for it in arena_all if len(it.answers) == 2]
    stats["arena:pairs_made"] = len(arena_pairs)
    arena_pairs = clean(arena_pairs, "arena")
    stats["arena:kept"] = len(arena_pairs)
    singles = [it for it in arena_all if len(it.answers) == 1] + load_autoj(root)
    singles = [it for it in singles if it.group not in banned]
    return alpaca + arena_pairs, stats, singles


def length_balanced(items: list, rng: random.Random, stats: Counter) -> list:
    """All shorter-wins pairs, as many longer-wins pairs (drawn), all ties: length predicts nothing."""
    shorter, longer, ties = [], [], []
    for it in items:
        if it.verdict == 0:
            ties.append(it)
            continue
        l1, l2 = len(it.answers[0]), len(it.answers[1])
        longer_idx = 1 if l1 >= l2 else 2
        (longer if it.verdict == longer_idx else shorter).append(it)
    stats["alpaca:longer_wins"] = len(longer)
    stats["alpaca:shorter_wins"] = len(shorter)
    stats["alpaca:ties"] = len(ties)
    drawn = rng.sample(longer, min(len(longer), len(shorter)))
    return shorter + drawn + ties


def _to_sample(it, n: int, scores: list[float], source: str) -> Sample:
    return Sample(
        id=f"{source}-{it.group}-{n}",
        question=it.question,
        answers=[Answer(text=a) for a in it.answers],
        reference=it.reference,
        gold=Gold(scores=[float(s) for s in scores], verdict=(0 if scores[0] == scores[1] else 1 if scores[0] > scores[1] else 2),
                  source=source),
        metadata={"teacher_source": source},
    )


def build_teacher_samples(raw: dict[str, Any]) -> tuple[list[Sample], dict[str, int]]:
    """``teacher_mix`` options → (samples with teacher scores, counts)."""
    from judgelm.mini.teacher import neighbor_items, non_answer_items

    mix = TeacherMix.from_mapping(raw or {})
    pairs, stats, singles = collect_teacher_items(mix)
    p = mix.preference_scores
    samples: list[Sample] = []
    for n, it in enumerate(pairs):
        if it.source == "alpaca_eval":
            table = {0: [p["tie"], p["tie"]], 1: [p["win"], p["lose"]], 2: [p["lose"], p["win"]]}
            scores = table[it.verdict]
        else:  # arena: the two GPT-4 grades
            scores = _arena_scores(it)
        samples.append(_to_sample(it, n, scores, it.source))
    negatives = []
    base = pairs + singles
    if mix.non_answer_share > 0:
        negatives += non_answer_items(base, mix.non_answer_share, mix.seed)
    if mix.neighbor_share > 0:
        negatives += neighbor_items(base, mix.neighbor_share, mix.seed, _tfidf_embed)
    for n, it in enumerate(negatives):
        if mix.max_chars and _chars(it) > mix.max_chars:
            stats[f"{it.source}:dropped_longer_than_max_chars"] += 1
            continue
        hi, lo = mix.negative_scores[it.source]
        samples.append(_to_sample(it, n, [hi, lo] if it.verdict == 1 else [lo, hi], it.source))
        stats[f"{it.source}:kept"] += 1
    stats["samples"] = len(samples)
    stats["prompts"] = len({s.question for s in samples})
    logger.info("teacher mix: %s", dict(stats))
    return samples, dict(stats)


def _arena_scores(it) -> list[float]:
    """Arena pair scores: :func:`arena_items` keeps the two grades on the item."""
    if it.grades is None:
        raise ValueError(f"arena pair of prompt {it.group} without grades")
    return list(it.grades)
