"""Answer files → candidate answers per question → sampled answer pairs (``judgelm build``).

Strategies (all seeded, deterministic for a seed):

* ``all`` — every pair of models per question;
* ``random`` — ``k`` pairs per question drawn uniformly;
* ``balanced`` — ``k`` pairs per question, each time the model pair used least so far (ties drawn at
  random), so every model pair gets about the same number of comparisons over the data set.

Empty answers and pairs of two identical answers carry no signal for a judge: they are dropped
and counted. The answer shown first is drawn at random per pair (``shuffle_positions``), so
no model sits in the first position systematically (JudgeLM's position bias).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from judgelm.data import read_answers
from judgelm.data.answers import is_fastchat_answer
from judgelm.data.errors import DataError
from judgelm.data.records import iter_records

if TYPE_CHECKING:
    from judgelm.data.rejected import Rejects

STRATEGIES = ("all", "random", "balanced")
#: answer-file fields kept as the answer's metadata (the sampling settings recorded by ``generate``)
ANSWER_META = ("decoding_method", "temperature", "top_p", "max_new_tokens", "seed", "generator", "prompt_format",
               "finish_reason", "answer_id")

T = TypeVar("T")


@dataclass
class Candidate:
    """One model's answer to one question (the turn chosen for pairing)."""

    question_id: str
    model: str
    text: str
    question: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class PairingReport:
    answers: Counter = field(default_factory=Counter)  # per model, read
    empty: Counter = field(default_factory=Counter)  # per model, dropped
    duplicate_rows: int = 0  # same model answering the same question twice: the first is kept
    missing_turn: int = 0
    identical_pairs: int = 0  # both answers the same text: dropped
    questions: int = 0
    questions_with_one_answer: int = 0
    pairs: int = 0
    model_pairs: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answers_per_model": dict(self.answers), "empty_answers_dropped": dict(self.empty),
            "empty_answers_dropped_total": sum(self.empty.values()), "duplicate_answer_rows": self.duplicate_rows,
            "answers_missing_turn": self.missing_turn, "identical_pairs_dropped": self.identical_pairs,
            "questions": self.questions, "questions_with_fewer_than_two_answers": self.questions_with_one_answer,
            "pairs": self.pairs, "pairs_per_model_pair": {" vs ".join(k): v for k, v in self.model_pairs.items()},
        }


def read_candidates(path: str | Path, *, turn: int = 1, rejects: Rejects | None = None) -> list[Candidate]:
    """Answers of a JudgeLM answer file (as written by ``judgelm generate``) or a FastChat answer file.

    ``turn`` (1-based) picks the turn of multi-turn answers; rows without that turn are skipped
    (their number is in the ``missing_turn`` of :func:`collect`)."""
    path = Path(path)
    first = next(iter(iter_records(path)), None) if path.is_file() else None
    if first is None:
        raise DataError(path, None, None, "no such file, or empty")
    if first.row is not None and is_fastchat_answer(first.row.data):
        return [Candidate(a.question_id, a.model, a.turns[turn - 1] if turn <= len(a.turns) else "\0missing",
                          None, {k: v for k, v in a.metadata.items() if k in ANSWER_META})
                for a in read_answers(path, rejects=rejects)]
    before = len(rejects) if rejects is not None else 0
    list(read_answers(path, rejects=rejects))  # validates every row (file, line, field) the way the data layer does
    bad = {e.line for e in rejects.errors[before:]} if rejects is not None else set()
    out = []
    for rec in iter_records(path):
        row = rec.row
        if row is None or row.loc.line in bad:  # rejected above (only with rejects given)
            continue
        try:
            out.append(_candidate(row, turn))
        except DataError as err:
            if rejects is None:
                raise
            err.raw = row.data
            rejects.add([err])
    return out


def _candidate(row: Any, turn: int) -> Candidate:
    """One answer row → the candidate of turn ``turn`` (DataError naming the field when it cannot)."""
    turns = row.get("turns")
    if turn > 1 or isinstance(turns, list):
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            if turn == 1:
                turns = [row.text("text")]
            else:
                raise row.error("turns", f"turn {turn} asked but the row has no list of turn answers")
        qturns = row.get("question_turns")
        text = turns[turn - 1] if turn <= len(turns) else "\0missing"
        question = qturns[turn - 1] if isinstance(qturns, list) and turn <= len(qturns) else (
            row.opt_text("question_body") if turn == len(turns) else None)
    else:
        text, question = row.text("text"), row.opt_text("question_body")
    meta = {k: row.data[k] for k in ANSWER_META if k in row.data}
    return Candidate(str(row.req("question_id")), str(row.req("model")), text, question, meta)


def collect(files: Iterable[str | Path], *, turn: int = 1, report: PairingReport | None = None,
            rejects: Rejects | None = None) -> dict[str, dict[str, Candidate]]:
    """question_id → model → candidate, over several answer files; empties and repeats dropped, counted.
    ``rejects`` (a :class:`judgelm.data.rejected.Rejects`): skip bad rows and collect them there."""
    report = report if report is not None else PairingReport()
    by_q: dict[str, dict[str, Candidate]] = {}
    for f in files:
        for c in read_candidates(f, turn=turn, rejects=rejects):
            if c.text == "\0missing":
                report.missing_turn += 1
                continue
            report.answers[c.model] += 1
            if not c.text.strip():
                report.empty[c.model] += 1
                continue
            slot = by_q.setdefault(c.question_id, {})
            if c.model in slot:
                report.duplicate_rows += 1
                continue
            slot[c.model] = c
    return by_q


def select_pairs(
    candidates: dict[str, Sequence[tuple[str, str, T]]],
    *,
    strategy: str = "all",
    k: int = 1,
    seed: int = 0,
    report: PairingReport | None = None,
) -> list[tuple[str, T]]:
    """Pick pairs per question. ``candidates``: question → [(model_a, model_b, item)], one entry per
    possible pair (any order); returns (question, item) in question order. See the module doc."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown pairing strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if k < 1:
        raise ValueError("k must be at least 1")
    rng = random.Random(seed)
    used: Counter = Counter()
    chosen: list[tuple[str, T]] = []
    for q in sorted(candidates):
        options = list(candidates[q])
        if strategy == "all":
            picks = options
        elif strategy == "random":
            picks = rng.sample(options, min(k, len(options)))
        else:
            picks = []
            pool = options[:]
            for _ in range(min(k, len(pool))):
                rng.shuffle(pool)
                best = min(pool, key=lambda o: used[_pair_key(o[0], o[1])])
                pool.remove(best)
                used[_pair_key(best[0], best[1])] += 1
                picks.append(best)
        for a, b, item in picks:
            if report is not None:
                report.model_pairs[_pair_key(a, b)] += 1
            chosen.append((q, item))
    if report is not None:
        report.pairs = len(chosen)
    return chosen


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def candidate_pairs(by_q: dict[str, dict[str, Candidate]],
                    report: PairingReport) -> dict[str, list[tuple[str, str, tuple[Candidate, Candidate]]]]:
    """Every pair of models per question (identical answers dropped and counted)."""
    out: dict[str, list[tuple[str, str, tuple[Candidate, Candidate]]]] = {}
    report.questions = len(by_q)
    for q, models in by_q.items():
        if len(models) < 2:
            report.questions_with_one_answer += 1
            continue
        opts = []
        for m1, m2 in itertools.combinations(sorted(models), 2):
            c1, c2 = models[m1], models[m2]
            if c1.text.strip() == c2.text.strip():
                report.identical_pairs += 1
                continue
            opts.append((m1, m2, (c1, c2)))
        if opts:
            out[q] = opts
    return out


def shuffle_positions(pairs: list[tuple[str, tuple[Any, Any]]], seed: int) -> list[tuple[str, tuple[Any, Any], bool]]:
    """(question, (first, second), swapped): each pair's order drawn with a coin seeded by ``seed``."""
    rng = random.Random(seed + 7919)
    out = []
    for q, (a, b) in pairs:
        swap = rng.random() < 0.5
        out.append((q, (b, a) if swap else (a, b), swap))
    return out
