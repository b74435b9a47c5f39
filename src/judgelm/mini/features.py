"""Cheap structural features of answers, computed on the FULL text (no truncation).

Per answer: length, formatting, repetition, refusal, overlap with the question and the
reference. The judge also sees each feature *relative* to the other answers of the same
sample (value minus the mean of the others), which is symmetric in the answers, so the
verdict cannot depend on the order they are shown in.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
_LIST = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.M)
_HEAD = re.compile(r"^\s*(?:#{1,6}\s|\*\*[^*\n]+\*\*\s*:?\s*$)", re.M)
_REFUSAL = re.compile(
    r"\b(?:i'?m sorry|i am sorry|i apologi[sz]e|as an ai|as a language model|i cannot|i can'?t (?:help|assist|provide)|"
    r"i am unable|i'?m unable|i do not have (?:access|the ability|personal)|not able to (?:help|provide))\b",
    re.I,
)
_SENT = re.compile(r"[.!?](?:\s|$)")

SCALAR_NAMES = [
    "log_chars", "log_words", "log_lines", "list_share", "has_code", "log_headings", "refusal",
    "too_short", "unique_word_ratio", "repeated_trigram_share", "ends_cleanly", "question_overlap",
    "copied_from_question", "reference_recall", "non_ascii_share", "digit_share", "log_sentences",
    "mean_sentence_words", "cos_question", "cos_reference",
]
PAIR_NAMES = ["cos_answers", "identical", "abs_log_len_ratio", "word_jaccard"]


def question_text(question: str, input_text: str | None = None, history: Sequence[tuple[str, str]] = ()) -> str:
    """The text the judge embeds for the question: earlier turns, the question, its input.

    Earlier turns come first (oldest first) so that the encoder's head+tail window keeps
    the current question at the end.
    """
    parts = [f"{role.capitalize()}: {content}" for role, content in history]
    parts.append(question)
    if input_text:
        parts.append(input_text)
    return "\n\n".join(p for p in parts if p)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def answer_features(answer: str, question: str, reference: str | None) -> list[float]:
    """Structural features of one answer (cosines are filled in later by the judge)."""
    words = _words(answer)
    nw = len(words)
    lines = [ln for ln in answer.splitlines() if ln.strip()]
    qwords = set(_words(question))
    wset = set(words)
    tri = Counter(zip(words, words[1:], words[2:]))
    repeated = sum(c - 1 for c in tri.values() if c > 1)
    sentences = max(1, len(_SENT.findall(answer)))
    stripped = answer.rstrip()
    ref_recall = 0.0
    if reference:
        rw = set(_words(reference))
        ref_recall = len(rw & wset) / max(1, len(rw))
    return [
        math.log1p(len(answer)),
        math.log1p(nw),
        math.log1p(len(lines)),
        len(_LIST.findall(answer)) / max(1, len(lines)),
        1.0 if "```" in answer else 0.0,
        math.log1p(len(_HEAD.findall(answer))),
        1.0 if _REFUSAL.search(answer[:400]) else 0.0,
        1.0 if nw < 3 else 0.0,
        len(wset) / max(1, nw),
        repeated / max(1, nw - 2),
        1.0 if stripped[-1:] in ".!?)]}\"'`*:" or stripped.endswith("```") else 0.0,
        len(qwords & wset) / max(1, len(qwords | wset)),
        len(qwords & wset) / max(1, len(wset)),
        ref_recall,
        sum(1 for c in answer if ord(c) > 127) / max(1, len(answer)),
        sum(1 for c in answer if c.isdigit()) / max(1, len(answer)),
        math.log1p(sentences),
        min(nw / sentences, 100.0) / 25.0,
        0.0,  # cos_question, set by the judge
        0.0,  # cos_reference, set by the judge
    ]


def relative(values: np.ndarray) -> np.ndarray:
    """Each row minus the mean of the OTHER rows (zeros for a single answer)."""
    n = values.shape[0]
    if n == 1:
        return np.zeros_like(values)
    return values - (values.sum(0, keepdims=True) - values) / (n - 1)


def pair_features(a: str, b: str, emb_a: np.ndarray, emb_b: np.ndarray) -> list[float]:
    """Symmetric features of two answers, used for the tie band."""
    wa, wb = set(_words(a)), set(_words(b))
    return [
        float(np.dot(emb_a, emb_b)),
        1.0 if " ".join(a.split()) == " ".join(b.split()) else 0.0,
        abs(math.log1p(len(a)) - math.log1p(len(b))),
        len(wa & wb) / max(1, len(wa | wb)),
    ]
