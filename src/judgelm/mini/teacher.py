"""Teacher labels for the built-in judge, read from the files in ``../shared/data``.

Three sources, all GPT-4 judgements:

* AlpacaEval (``alpaca_eval_gpt4/results/*/alpaca_eval_gpt4/annotations.json``): pairwise
  preferences against the text-davinci-003 baseline. The ``selfinstruct`` rows are left out:
  they share their prompts with the PandaLM test set.
* arena-bench (``arena_bench_v1/model_judgment/*.jsonl``): 1–10 grades of 15 models on 300
  prompts, made with a GPT-4 reference shown; pairs come from grade differences on the same
  prompt (equal grades = tie).
* Auto-J (``autoj/single_traindata.jsonl``): 1–10 grades of single answers.

Every row becomes a :class:`TeacherItem`; ``group`` is the prompt, the unit of every split. The
files are read by the data layer's readers (:mod:`judgelm.data.alpaca_eval`, :mod:`judgelm.data.arena`,
:mod:`judgelm.data.autoj`): one parser and one label mapping per format, and a bad row raises
:class:`~judgelm.data.errors.DataError` naming file, line and field.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from judgelm.data.errors import DataError
from judgelm.data.reader import read_samples
from judgelm.data.split import text_key

log = logging.getLogger(__name__)


@dataclass
class TeacherItem:
    """One labelled judging problem: a pair with a verdict, or one answer with a grade."""

    group: str  # prompt identity (split unit)
    source: str  # alpaca_eval | arena | autoj
    question: str
    answers: list[str]
    reference: str | None = None
    verdict: int | None = None  # pairs: 0 tie, 1, 2
    grade: float | None = None  # single answers: 1..10
    grades: tuple[float, float] | None = None  # pairs made from two grades (arena): the two grades


def load_alpaca_eval(root: Path, models: list[str] | None = None, exclude_datasets: tuple[str, ...] = ("selfinstruct",)) -> list[TeacherItem]:
    """AlpacaEval GPT-4 preferences, read by the ``alpaca_eval`` reader (its one preference mapping:
    1 → answer 1, 2 → answer 2, 0 / 1.5 → tie; rows without a verdict are left out).

    Only the GPT-4 annotator's files (``results/<model>/alpaca_eval_gpt4/annotations.json``), in
    model-folder order; ``models`` keeps only those answer models."""
    files = sorted((root / "alpaca_eval_gpt4" / "results").glob("*/alpaca_eval_gpt4/annotations.json"))
    if not files:
        raise DataError(root / "alpaca_eval_gpt4" / "results", None, None, "no */alpaca_eval_gpt4/annotations.json files")
    items: list[TeacherItem] = []
    for path in files:
        if models is not None and path.parent.parent.name not in models:
            continue
        for s in read_samples(path, "alpaca_eval", exclude_datasets=list(exclude_datasets)):
            if s.gold is None or s.gold.verdict is None:
                continue
            items.append(TeacherItem(text_key(s.question), "alpaca_eval", s.question, [a.text for a in s.answers],
                                     verdict=s.gold.verdict))
    return items


def load_arena_grades(root: Path) -> list[tuple[str, str, str | None, str, float]]:
    """(question_id, question, reference, answer, grade) for every graded arena-bench answer, read by
    the ``arena_bench`` reader (rows whose grade could not be parsed are left out)."""
    files = sorted((root / "arena_bench_v1" / "model_judgment").glob("*.jsonl"))
    if not files:
        raise DataError(root / "arena_bench_v1" / "model_judgment", None, None, "no judgment files (*.jsonl)")
    out = []
    for path in files:
        for s in read_samples(path, "arena_bench"):
            if s.gold is None or not s.gold.scores:
                continue
            out.append((s.metadata["question_id"], s.question, s.reference, s.answers[0].text, s.gold.scores[0]))
    return out


def arena_items(grades: list[tuple[str, str, str | None, str, float]], pairs_per_prompt: int, seed: int,
                reference_share: float = 0.5) -> list[TeacherItem]:
    """Single-answer grade items plus up to ``pairs_per_prompt`` derived pairs per prompt.

    The reference is shown on a deterministic half of the items (reference drop), so the
    judge learns to work with and without one.
    """
    rng = random.Random(seed)
    by_q: dict[str, list[tuple[str, str | None, str, float]]] = {}
    for qid, q, ref, ans, g in grades:
        by_q.setdefault(qid, []).append((q, ref, ans, g))
    items = []
    for qid in sorted(by_q):
        rows = by_q[qid]
        group = text_key(rows[0][0])
        for q, ref, ans, g in rows:
            items.append(TeacherItem(group, "arena", q, [ans], reference=ref if rng.random() < 0.5 else None, grade=g))
        pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))]
        rng.shuffle(pairs)
        for i, j in pairs[:pairs_per_prompt]:
            gi, gj = rows[i][3], rows[j][3]
            verdict = 0 if gi == gj else (1 if gi > gj else 2)
            ref = rows[i][1] if rng.random() < reference_share else None
            items.append(TeacherItem(group, "arena", rows[i][0], [rows[i][2], rows[j][2]], reference=ref, verdict=verdict,
                                     grades=(gi, gj)))
    return items


def load_autoj(root: Path) -> list[TeacherItem]:
    """Auto-J single-answer GPT-4 grades (``pred_score`` 1–10), read by the ``autoj`` reader."""
    path = root / "autoj" / "single_traindata.jsonl"
    if not path.is_file():
        raise DataError(path, None, None, "file not found")
    items = []
    for s in read_samples(path, "autoj"):
        if s.gold is None or not s.gold.scores:
            continue
        items.append(TeacherItem(text_key(s.question), "autoj", s.question, [s.answers[0].text], grade=s.gold.scores[0]))
    return items


#: answers that answer nothing; the teacher data has too few of them for the judge to learn that
#: a refusal or an empty reply loses to a real answer (a sanity check it failed without them)
NON_ANSWERS = (
    "I'm sorry, but I cannot help with that.",
    "As an AI language model, I am unable to answer this question.",
    "I don't know.",
    "Sorry, I can't assist with that request.",
    "I am unable to provide an answer to this question.",
    "N/A",
    "",
)


def non_answer_items(items: list[TeacherItem], share: float, seed: int) -> list[TeacherItem]:
    """Negative pairs: for ``share`` of the prompts, a teacher-preferred answer vs a canned non-answer.

    The preferred answer is the AlpacaEval winner, or an arena / Auto-J answer graded ≥ 6.
    """
    rng = random.Random(seed)
    good = _preferred_answers(items)
    out = []
    for group in sorted(good):
        if rng.random() >= share:
            continue
        q, ans, ref = good[group]
        bad = rng.choice(NON_ANSWERS)
        pair, verdict = ([ans, bad], 1) if rng.random() < 0.5 else ([bad, ans], 2)
        out.append(TeacherItem(group, "non_answer", q, pair, reference=ref, verdict=verdict))
    return out


def _preferred_answers(items: list[TeacherItem]) -> dict[str, tuple[str, str, str | None]]:
    """One teacher-preferred answer per prompt: an AlpacaEval winner or an answer graded ≥ 6."""
    good: dict[str, tuple[str, str, str | None]] = {}
    for it in items:
        if it.group in good or it.source in ("non_answer", "neighbor"):
            continue
        if it.verdict in (1, 2):
            good[it.group] = (it.question, it.answers[it.verdict - 1], it.reference)
        elif it.grade is not None and it.grade >= 6:
            good[it.group] = (it.question, it.answers[0], it.reference)
    return good


def neighbor_items(items: list[TeacherItem], share: float, seed: int, embed_questions: Callable[[list[str]], Any],
                   max_cos: float = 0.92) -> list[TeacherItem]:
    """Negative pairs: a good answer to THIS prompt beats a good answer to the most similar OTHER prompt.

    The construction of LLMBar's "Neighbor" set, built here from teacher data alone: the wrong
    answer is fluent, polished and on a nearby topic, so only whether it addresses the question
    tells them apart. Prompts more similar than ``max_cos`` are treated as the same request.
    ``embed_questions`` maps a list of question texts to normalised embeddings.
    """
    import numpy as np

    good = _preferred_answers(items)
    groups = sorted(good)
    if len(groups) < 2:
        return []
    from judgelm.mini.features import question_text

    emb = np.asarray(embed_questions([question_text(good[g][0]) for g in groups]), dtype=np.float32)
    sims = emb @ emb.T
    np.fill_diagonal(sims, -1.0)
    sims[sims > max_cos] = -1.0
    rng = random.Random(seed + 1)
    out = []
    for i, group in enumerate(groups):
        if rng.random() >= share:
            continue
        j = int(np.argmax(sims[i]))
        if sims[i, j] <= 0:
            continue
        q, ans, ref = good[group]
        other = good[groups[j]][1]
        if " ".join(other.split()) == " ".join(ans.split()):
            continue
        pair, verdict = ([ans, other], 1) if rng.random() < 0.5 else ([other, ans], 2)
        out.append(TeacherItem(group, "neighbor", q, pair, reference=ref, verdict=verdict))
    return out
