"""The canonical data model: one judge sample, one judgement.

Every reader converts its native format into :class:`Sample`; every engine's output
ends up as a :class:`Judgement`. Both serialise to one JSON object per line
(the canonical JSONL written by ``judgelm convert`` and ``judgelm judge``).

Conventions shared by the whole package
---------------------------------------
* A **verdict** is an ``int``: ``0`` = tie, ``k`` (1-based) = answer ``k`` wins.
  ``None`` means "no verdict" (unparsed output, or a gold label that is missing).
* A judgement's ``scores`` and ``verdict`` are always expressed in the sample's
  **original** answer order, whatever order the judge was shown; ``order`` records
  the presented order (``order[i]`` = original index, 0-based, of the answer shown
  in position ``i``). ``raw`` is the judge's text exactly as produced (presented order).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TIE = 0

Mode = Literal["pair", "single", "multi", "vqa"]


class Turn(BaseModel):
    """One earlier message of a multi-turn conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant", "system"]
    content: str


class Answer(BaseModel):
    """One candidate answer to the sample's question."""

    model_config = ConfigDict(extra="forbid")
    text: str
    model: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Gold(BaseModel):
    """Human or teacher labels attached to a sample (what a judge is evaluated against)."""

    model_config = ConfigDict(extra="forbid")
    verdict: int | None = None
    scores: list[float] | None = None
    explanation: str | None = None
    source: str | None = None
    # teacher judgement made with the reference shown (JudgeLM's *_w_reference fields)
    verdict_w_reference: int | None = None
    scores_w_reference: list[float] | None = None
    explanation_w_reference: str | None = None


class Sample(BaseModel):
    """A question, its optional context/history/reference, and 1..N answers to judge."""

    model_config = ConfigDict(extra="forbid")
    id: str
    question: str
    answers: list[Answer]
    input: str | None = None  # extra context for the question (PandaLM's "Input")
    history: list[Turn] = Field(default_factory=list)  # earlier turns, oldest first
    reference: str | None = None
    gold: Gold | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("answers", mode="before")
    @classmethod
    def _answers_from_text(cls, v: Any) -> Any:
        """Answers may be given as plain strings (``["4", "5"]``): each becomes ``Answer(text=...)``."""
        if isinstance(v, list):
            return [{"text": a} if isinstance(a, str) else a for a in v]
        return v

    @field_validator("answers")
    @classmethod
    def _at_least_one(cls, v: list[Answer]) -> list[Answer]:
        if not v:
            raise ValueError("a sample needs at least one answer")
        return v

    @model_validator(mode="after")
    def _gold_in_range(self) -> "Sample":
        if self.gold and self.gold.verdict is not None and not 0 <= self.gold.verdict <= len(self.answers):
            raise ValueError(f"gold verdict {self.gold.verdict} out of range for {len(self.answers)} answers")
        return self

    def reordered(self, order: list[int]) -> "Sample":
        """The same sample with its answers presented in ``order`` (0-based original indexes)."""
        if sorted(order) != list(range(len(self.answers))):
            raise ValueError(f"order {order} is not a permutation of {len(self.answers)} answers")
        return self.model_copy(update={"answers": [self.answers[i] for i in order]})

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


class ParseStatus(str, Enum):
    OK = "ok"
    UNPARSED = "unparsed"  # the judge answered, but not in the expected format
    ERROR = "error"  # the engine failed (network, budget, ...): no output at all


class Cost(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    calls: int = 0


class Judgement(BaseModel):
    """What a judge said about one sample, in one presentation order."""

    model_config = ConfigDict(extra="forbid")
    sample_id: str
    judge: str
    template: str = "judgelm"
    mode: Mode = "pair"
    reference_used: bool = False
    order: list[int]  # presented order, see module docstring
    scores: list[float] | None = None  # original answer order
    verdict: int | None = None  # original answer order; None when unparsed/error
    explanation: str | None = None
    raw: str = ""
    status: ParseStatus = ParseStatus.OK
    confidence: float | None = None  # probability that ``verdict`` is right, in 0..1
    cost: Cost = Field(default_factory=Cost)
    latency_s: float = 0.0
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def swapped(self) -> bool:
        return self.order != sorted(self.order)

    def to_json(self) -> str:
        return self.model_dump_json()


def verdict_from_scores(scores: list[float] | None) -> int | None:
    """JudgeLM's rule: the highest score wins; a shared maximum is a tie (0)."""
    if not scores:
        return None
    best = max(scores)
    winners = [i for i, s in enumerate(scores) if s == best]
    return winners[0] + 1 if len(winners) == 1 else TIE
