"""Judging with the built-in model: problems → features → scores, verdict, confidence.

A :class:`Problem` is what the judge sees: the question text (history and input already
folded in by :func:`judgelm.mini.features.question_text`), an optional reference and 1..N
answers. The judge is order-invariant by construction: every answer is scored on its own
features plus features relative to the mean of the others, and ties come from a symmetric
band around a zero score difference.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from judgelm.mini.features import SCALAR_NAMES, answer_features, pair_features, relative
from judgelm.mini.model import HeadConfig, OrderedLogit, load_head

log = logging.getLogger(__name__)

EmbedFn = Callable[[Sequence[str]], np.ndarray]
_COS_Q, _COS_R = SCALAR_NAMES.index("cos_question"), SCALAR_NAMES.index("cos_reference")


@dataclass
class Problem:
    question: str
    answers: list[str]
    reference: str | None = None


@dataclass
class Features:
    """Model inputs of one problem."""

    x: np.ndarray  # [n, in_dim]
    emb: np.ndarray  # [n, emb_dim] answer embeddings (for pair features)
    scalar: np.ndarray  # [n, n_scalar] raw structural features (for explanations)


@dataclass
class Result:
    scores: list[float]  # 1..10, one per answer (order as given)
    verdict: int  # 0 tie, k = answer k (1-based); 1 for a single answer
    confidence: float | None  # calibrated probability that the verdict is right (None: single answer)
    probs: list[float] = field(default_factory=list)  # [P(tie), P(best), P(runner-up)] for the top two
    explanation: str = ""


def featurize(problems: Sequence[Problem], embed: EmbedFn, cfg: HeadConfig) -> list[Features]:
    """Structural + embedding features for each problem (one embedding call for all texts)."""
    texts: list[str] = []
    for p in problems:
        texts.append(p.question)
        texts.extend(p.answers)
        if p.reference:
            texts.append(p.reference)
    uniq = list(dict.fromkeys(texts))
    vecs = embed(uniq) if uniq else np.zeros((0, cfg.emb_dim), np.float32)
    index = {t: i for i, t in enumerate(uniq)}
    out = []
    for p in problems:
        q = vecs[index[p.question]]
        a = np.stack([vecs[index[t]] for t in p.answers])
        r = vecs[index[p.reference]] if p.reference else np.zeros_like(q)
        s = np.array([answer_features(t, p.question, p.reference) for t in p.answers], dtype=np.float32)
        s[:, _COS_Q] = a @ q
        s[:, _COS_R] = a @ r
        has_ref = np.full((len(p.answers), 1), 1.0 if p.reference else 0.0, np.float32)
        blocks = [s, relative(s), has_ref]
        if cfg.use_embeddings:
            blocks += [a, a * q, a * r]
        out.append(Features(np.concatenate(blocks, 1).astype(np.float32), a, s))
    return out


def _explain(feats: Features, best: int, other: int, verdict: int, p: float) -> str:
    """A short account of the structural signals that side with the verdict (not a rationale)."""
    s = feats.scalar
    name = SCALAR_NAMES.index
    if verdict == 0:
        cos = float(feats.emb[best] @ feats.emb[other])
        return f"Both answers are judged equally good (tie probability {p:.2f}; answer similarity {cos:.2f})."
    factors = []
    words_b, words_o = np.expm1(s[best, name("log_words")]), np.expm1(s[other, name("log_words")])
    if words_b > 1.3 * words_o:
        factors.append(f"more detailed ({words_b:.0f} vs {words_o:.0f} words)")
    elif words_o > 1.3 * words_b:
        factors.append(f"more concise ({words_b:.0f} vs {words_o:.0f} words)")
    dq = s[best, _COS_Q] - s[other, _COS_Q]
    if dq > 0.05:
        factors.append(f"closer to the question (similarity {s[best, _COS_Q]:.2f} vs {s[other, _COS_Q]:.2f})")
    if s[other, name("refusal")] > s[best, name("refusal")]:
        factors.append(f"Assistant {other + 1} refuses or hedges")
    if s[other, name("repeated_trigram_share")] > s[best, name("repeated_trigram_share")] + 0.1:
        factors.append(f"Assistant {other + 1} repeats itself")
    if s[best, name("list_share")] > s[other, name("list_share")] + 0.3:
        factors.append("better structured")
    if s[other, name("too_short")] > s[best, name("too_short")]:
        factors.append(f"Assistant {other + 1} is nearly empty")
    if s[best, _COS_R] - s[other, _COS_R] > 0.05:
        factors.append("closer to the reference")
    why = "; ".join(factors) if factors else "overall quality estimate from content features"
    return f"Assistant {best + 1} is preferred (probability {p:.2f}): {why}."


class MiniJudge:
    """The built-in judge: a frozen sentence encoder and a small trained head."""

    def __init__(self, head: OrderedLogit, embed: EmbedFn, meta: dict | None = None) -> None:
        self.head = head.eval()
        self.embed = embed
        self.meta = meta or {}

    @classmethod
    def load(cls, directory: str | Path, encoder: str | None = None, threads: int | None = None) -> "MiniJudge":
        """Load shipped/trained weights; ``encoder`` overrides the encoder recorded with them."""
        from judgelm.mini.encoder import Encoder

        head, meta = load_head(directory)
        cfg = head.cfg
        enc = Encoder(encoder or cfg.encoder, max_tokens=cfg.max_tokens, head_tokens=cfg.head_tokens, threads=threads)
        if enc.dim != cfg.emb_dim:
            raise ValueError(f"encoder {enc.name!r} gives {enc.dim}-d embeddings; the judge in {directory} was trained on {cfg.emb_dim}-d")
        judge = cls(head, enc.encode, meta)
        judge.encoder = enc  # type: ignore[attr-defined]
        return judge

    def _pair_probs(self, p: Problem, f: Features, g: torch.Tensor, best: int, others: list[int]) -> list[list[float]]:
        """Calibrated [P(tie), P(best wins), P(other wins)] of the best answer against each other one."""
        pf = torch.tensor([pair_features(p.answers[best], p.answers[j], f.emb[best], f.emb[j]) for j in others], dtype=torch.float32)
        gb = g[best].expand(len(others))
        return self.head.pair_log_probs(gb, g[others], pf).exp().tolist()

    @torch.no_grad()
    def judge(self, problems: Sequence[Problem], ties: bool = True) -> list[Result]:
        """Scores (1..10), verdict and calibrated confidence for each problem.

        ``ties=False`` is forced choice, for label sets without ties (LLMBar): the better answer
        wins unless the answers are indistinguishable (equal quality), and the confidence is
        ``P(best) / (P(best) + P(other))``.
        """
        feats = featurize(problems, self.embed, self.head.cfg)
        rows = np.concatenate([f.x for f in feats]) if feats else np.zeros((0, self.head.cfg.in_dim), np.float32)
        g_all = score_rows_fixed(self.head, torch.from_numpy(rows))
        grades_all = self.head.grade(g_all)
        results, start = [], 0
        for p, f in zip(problems, feats):
            n = len(p.answers)
            g = g_all[start : start + n]
            grades = [float(v) for v in grades_all[start : start + n]]
            start += n
            if n == 1:
                results.append(Result([round(grades[0], 1)], 1, None, [], "Single answer graded on its own (no comparison)."))
                continue
            order = sorted(range(n), key=lambda i: (-float(g[i]), i))
            best, other = order[0], order[1]
            probs_all = self._pair_probs(p, f, g, best, order[1:])
            probs = probs_all[0]  # best vs runner-up
            k = int(np.argmax(probs))  # 0 tie, 1 best wins, 2 runner-up wins (impossible: g_best >= g_other)
            verdict = 0 if k == 0 else best + 1
            conf = float(probs[k])
            if not ties and verdict == 0 and float(g[best]) > float(g[other]):
                verdict, conf = best + 1, float(probs[1] / max(1e-9, probs[1] + probs[2]))
            # with N answers, a tie also covers every other answer whose most likely outcome vs the best is a tie
            tied = {best} | {j for j, pr in zip(order[1:], probs_all) if int(np.argmax(pr)) == 0} if verdict == 0 else set()
            scores = _display_scores(grades, verdict, best, tied)
            results.append(Result(scores, verdict, conf, probs, _explain(f, best, other, verdict, conf)))
        return results


#: rows per head pass: every answer is scored in a pass of exactly this shape (zero rows pad the last)
HEAD_ROWS = 64


def score_rows_fixed(head: OrderedLogit, rows: torch.Tensor) -> torch.Tensor:
    """``head.score_rows`` in passes of a fixed shape, so an answer's quality does not depend on the
    batch it came in (a matmul kernel may pick another blocking for another row count)."""
    n = rows.shape[0]
    if n == 0:
        return head.score_rows(rows)
    padded = torch.zeros((-(-n // HEAD_ROWS) * HEAD_ROWS, rows.shape[1]), dtype=rows.dtype)
    padded[:n] = rows
    return torch.cat([head.score_rows(c) for c in padded.split(HEAD_ROWS)])[:n]


def _display_scores(grades: list[float], verdict: int, best: int, tied: set[int]) -> list[float]:
    """1-decimal scores whose JudgeLM reading (highest wins, shared maximum = tie) is the verdict."""
    scores = [round(min(10.0, max(1.0, s)), 1) for s in grades]
    if verdict == 0:
        top = round(sum(scores[i] for i in tied) / len(tied), 1)
        for i in range(len(scores)):
            scores[i] = top if i in tied else min(scores[i], round(top - 0.1, 1))
        return scores
    if any(scores[i] >= scores[best] for i in range(len(scores)) if i != best) and scores[best] < 10.0:
        scores[best] = round(scores[best] + 0.1, 1)
    for i in range(len(scores)):
        if i != best and scores[i] >= scores[best]:
            scores[i] = round(scores[best] - 0.1, 1)
    return scores


__all__ = ["MiniJudge", "Problem", "Result", "featurize", "score_rows_fixed"]
