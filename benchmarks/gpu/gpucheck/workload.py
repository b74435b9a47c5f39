"""The check's data, made on the spot (nothing from a hub; the working tree is all that travels).

* agreement pairs: short question + two answers, with teacher scores (also the LoRA data);
* JudgeLM-val-shaped prompts: the JudgeLM pair template (one system prompt shared by every prompt)
  around answers sized so that the rendered prompts average ``target_tokens`` of the model's tokenizer.
Deterministic for a seed, so the CPU reference and the GPU engines judge the very same prompts.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from judgelm.schema import Answer, Gold, Sample

_WORDS = (
    "the a of to and in is for that with as on it be by this are from or at an which can use data model "
    "answer question water energy light system time people city river history science number language "
    "because however first second example result value method process change small large simple clear "
    "explain describe compare list write give reason step point fact idea common important different "
    "better correct wrong helpful detailed short long accurate relevant user assistant response code "
    "function return loop string file list table price market health food travel school music book "
    "computer network memory speed power sun moon earth ocean forest animal plant cell body heart blood"
).split()
_QUESTIONS = ("Explain", "Describe", "Compare", "List the main points of", "Write a short note on", "Summarise")


def _sentence(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(max(1, n_words))]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def _text(rng: random.Random, n_words: int) -> str:
    out, left = [], n_words
    while left > 0:
        k = min(left, rng.randint(6, 18))
        out.append(_sentence(rng, k))
        left -= k
    return " ".join(out)


def pair_samples(n: int, seed: int = 0, answer_words: tuple[int, int] = (20, 80), prefix: str = "pair") -> list[Sample]:
    """``n`` two-answer samples with teacher scores and a one-line explanation."""
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        question = f"{rng.choice(_QUESTIONS)} {' '.join(rng.choice(_WORDS) for _ in range(rng.randint(3, 9)))}."
        a1, a2 = (_text(rng, rng.randint(*answer_words)) for _ in range(2))
        s1, s2 = rng.randint(1, 10), rng.randint(1, 10)
        better = "Assistant 1" if s1 > s2 else "Assistant 2" if s2 > s1 else "Neither assistant"
        samples.append(Sample(
            id=f"{prefix}-{i}", question=question, answers=[Answer(text=a1), Answer(text=a2)],
            gold=Gold(scores=[float(s1), float(s2)], explanation=f"{better} gives the more helpful answer.",
                      source="synthetic"),
        ))
    return samples


def val_shaped_samples(n: int, target_tokens: int, count_tokens: Callable[[str], int], seed: int = 1) -> list[Sample]:
    """``n`` pairs whose JudgeLM prompts average about ``target_tokens`` tokens.

    Prompt length is the template's fixed part plus a share per answer word: two probes of 32
    samples give both, and the answer length is solved for (a tiny tokenizer's template part alone
    can be most of the target, which a plain rescaling would overshoot)."""
    from judgelm.prompts import render

    def mean_tokens(words: int) -> float:
        probe = pair_samples(32, seed=seed, answer_words=_spread(words))
        return sum(count_tokens(render(s, template="judgelm", mode="pair")) for s in probe) / len(probe)

    w1, w2 = max(20, target_tokens // 4), max(40, target_tokens)
    m1, m2 = mean_tokens(w1), mean_tokens(w2)
    per_word = max(1e-3, (m2 - m1) / (w2 - w1))
    words = max(12, round(w1 + (target_tokens - m1) / per_word))
    return pair_samples(n, seed=seed, answer_words=_spread(words), prefix="val")


def _spread(words: int) -> tuple[int, int]:
    """Per-answer word range for about ``words`` words in both answers together."""
    return max(5, int(words * 0.3)), max(6, int(words * 0.7))


def render_pair(sample: Sample) -> str:
    """The JudgeLM pair prompt of a sample, original order (what the throughput runs judge)."""
    from judgelm.prompts import render

    return render(sample, template="judgelm", mode="pair")
