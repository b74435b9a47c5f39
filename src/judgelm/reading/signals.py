"""Per-answer evidence the reading judge decides on: LM likelihoods (with and without the question),
length, and the built-in ``mini`` judge's score of the same answer in the same problem.

One :class:`AnswerEvidence` per answer; :func:`gather` computes them for many problems at once
(one likelihood pass per distinct (question, answer) and per distinct answer, one mini pass).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from judgelm.engines.likelihood import LikelihoodScorer, Messages, question_messages


@dataclass(frozen=True)
class Problem:
    """What the reading judge reads: the chat before the answers, and 1..N answers."""

    context: Messages
    answers: tuple[str, ...]
    reference: str | None = None


@dataclass(frozen=True)
class AnswerEvidence:
    """Raw signals of one answer; the head derives its features from these."""

    cond: float  # log P(answer | question), nats, summed over the scored tokens
    uncond: float  # log P(answer | empty user turn)
    tokens: int  # scored tokens (answer + end of turn, or the truncated prefix)
    truncated: bool
    chars: int
    mini: float  # mini's latent quality of this answer in this problem (higher is better)
    expert: float | None = None  # log P(answer | question, after the "expert" system prompt); None: not scored

    @property
    def pmi(self) -> float:
        return self.cond - self.uncond

    @property
    def pmi_mean(self) -> float:
        return self.pmi / max(1, self.tokens)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def user_text(question: str, input_text: str | None = None) -> str:
    """The user turn a question becomes: the question, then its input (PandaLM's "Input") if any."""
    return f"{question}\n\n{input_text}" if input_text else question


def problem_from_sample(sample: Any, reference: bool = False) -> Problem:
    """A :class:`judgelm.schema.Sample` (in presented order) → :class:`Problem`."""
    history = [(t.role, t.content) for t in sample.history if t.role in ("user", "assistant")]
    ctx = question_messages(user_text(sample.question, sample.input), history)
    return Problem(ctx, tuple(a.text for a in sample.answers), sample.reference if reference else None)


def mini_scores(problems: Sequence[Problem], mini: Any) -> list[list[float]]:
    """mini's latent quality of every answer of every problem (the continuous value its verdict and
    1-10 grades are read from; higher is better), from one embedding pass."""
    import numpy as np
    import torch

    from judgelm.mini.features import question_text
    from judgelm.mini.scorer import Problem as MiniProblem
    from judgelm.mini.scorer import featurize, score_rows_fixed

    def flat(ctx: Messages) -> str:
        *hist, (_, q) = ctx
        return question_text(q, None, hist)

    feats = featurize([MiniProblem(flat(p.context), list(p.answers), p.reference) for p in problems], mini.embed, mini.head.cfg)
    if not feats:
        return []
    with torch.no_grad():
        g = score_rows_fixed(mini.head, torch.from_numpy(np.concatenate([f.x for f in feats]))).tolist()
    out, k = [], 0
    for p in problems:
        out.append([float(v) for v in g[k:k + len(p.answers)]])
        k += len(p.answers)
    return out


#: the system prompt of the "expert" reading: how much more likely is the answer when the model is
#: asked to be correct, helpful and complete than under its default system prompt?
EXPERT_SYSTEM = ("You are a meticulous expert. Answer the user's request exactly as asked: correct, complete, "
                 "helpful and to the point.")


def expert_context(ctx: Messages) -> Messages:
    """The same chat after the expert system prompt."""
    return (("system", EXPERT_SYSTEM),) + tuple(m for m in ctx if m[0] != "system")


def gather(problems: Sequence[Problem], scorer: LikelihoodScorer, mini: Any, progress: bool = False,
           expert: bool = False) -> list[list[AnswerEvidence]]:
    """Evidence for every answer of every problem (``expert``: also the expert-prompt likelihood)."""
    ctxs = [p.context for p in problems for _ in p.answers]
    answers = [a for p in problems for a in p.answers]
    sig = scorer.signals(ctxs, answers, progress=progress)
    exp = [x.logprob for x in scorer.score([(expert_context(c), a) for c, a in zip(ctxs, answers)], progress=progress)] \
        if expert else [None] * len(answers)
    mscores = mini_scores(problems, mini) if mini is not None else [[0.0] * len(p.answers) for p in problems]
    out, k = [], 0
    for p, ms in zip(problems, mscores):
        row = []
        for a, m in zip(p.answers, ms):
            s = sig[k]
            row.append(AnswerEvidence(s.cond.logprob, s.uncond.logprob, s.cond.n_tokens, s.cond.truncated, len(a), float(m),
                                      exp[k]))
            k += 1
        out.append(row)
    return out
