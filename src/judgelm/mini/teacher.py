"""Teacher labels for the built-in judge, read from the files in ``../shared/data``.

Three sources, all GPT-4 judgements:

* AlpacaEval (``alpaca_eval_gpt4/results/*/alpaca_eval_gpt4/annotations.json``): pairwise
  preferences against the text-davinci-003 baseline. The ``selfinstruct`` rows are left out:
  they share their prompts with the PandaLM test set.
* arena-bench (``arena_bench_v1/model_judgment/*.jsonl``): 1–10 grades of 15 models on 300
  prompts, made with a GPT-4 reference shown; pairs come from grade differences on the same
  prompt (equal grades = tie).
* Auto-J (``autoj/single_traindata.jsonl``): 1–10 grades of single answers.

Every row becomes a :class:`TeacherItem`; ``group`` is the prompt, the unit of every split.
"""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from judgelm.data.split import text_key

log = logging.getLogger(__name__)


class TeacherDataError(ValueError):
    """A teacher file is missing or malformed (message names file, line and field)."""


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


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise TeacherDataError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from e


def _jsonl(path: Path) -> list[tuple[int, dict]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise TeacherDataError(f"{path}:{n}: invalid JSON ({e.msg})") from e
    return rows


def load_alpaca_eval(root: Path, models: list[str] | None = None, exclude_datasets: tuple[str, ...] = ("selfinstruct",)) -> list[TeacherItem]:
    """AlpacaEval GPT-4 preferences (1 → output_1, 2 → output_2, 0 / 1.5 → tie, null dropped)."""
    files = sorted((root / "alpaca_eval_gpt4" / "results").glob("*/alpaca_eval_gpt4/annotations.json"))
    if not files:
        raise TeacherDataError(f"{root / 'alpaca_eval_gpt4/results'}: no annotations.json files")
    items: list[TeacherItem] = []
    for path in files:
        model = path.parent.parent.name
        if models is not None and model not in models:
            continue
        rows = _load_json(path)
        if not isinstance(rows, list):
            raise TeacherDataError(f"{path}:1: expected a JSON list of annotations")
        for n, row in enumerate(rows):
            for field in ("instruction", "output_1", "output_2", "dataset"):
                if not isinstance(row.get(field), str):
                    raise TeacherDataError(f"{path}: item {n}: field {field!r} missing or not a string")
            if row["dataset"] in exclude_datasets:
                continue
            pref = row.get("preference")
            if pref is None:
                continue
            verdict = {1: 1, 2: 2, 0: 0, 1.5: 0}.get(float(pref))
            if verdict is None:
                raise TeacherDataError(f"{path}: item {n}: field 'preference' has unknown value {pref!r}")
            items.append(TeacherItem(text_key(row["instruction"]), "alpaca_eval", row["instruction"], [row["output_1"], row["output_2"]], verdict=verdict))
    return items


_ARENA_Q = re.compile(r"^\[Question\]\n(.*?)\n\n\[The Start of Reference Answer\]\n(.*?)\n\[The End of Reference Answer\]\n\n\[The Start of Assistant's Answer\]\n(.*)\n\[The End of Assistant's Answer\]\s*$", re.S)


def load_arena_grades(root: Path) -> list[tuple[str, str, str, str, float]]:
    """(question_id, question, reference, answer, grade) for every graded arena-bench answer."""
    out = []
    files = sorted((root / "arena_bench_v1" / "model_judgment").glob("*.jsonl"))
    if not files:
        raise TeacherDataError(f"{root / 'arena_bench_v1/model_judgment'}: no judgment files")
    for path in files:
        for n, row in _jsonl(path):
            if row.get("score") is None:
                continue
            m = _ARENA_Q.match(row.get("user_prompt", ""))
            if not m:
                raise TeacherDataError(f"{path}:{n}: field 'user_prompt' does not hold question/reference/answer blocks")
            out.append((str(row["question_id"]), m.group(1), m.group(2), m.group(3), float(row["score"])))
    return out


def arena_items(grades: list[tuple[str, str, str, str, float]], pairs_per_prompt: int, seed: int,
                reference_share: float = 0.5) -> list[TeacherItem]:
    """Single-answer grade items plus up to ``pairs_per_prompt`` derived pairs per prompt.

    The reference is shown on a deterministic half of the items (reference drop), so the
    judge learns to work with and without one.
    """
    rng = random.Random(seed)
    by_q: dict[str, list[tuple[str, str, str, float]]] = {}
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


_AUTOJ = re.compile(r"\[Query\]: (.*?)\n\*\*\*\n\[Response\]: (.*?)\n\*\*\*\n\[END DATA\]", re.S)


def load_autoj(root: Path) -> list[TeacherItem]:
    """Auto-J single-answer GPT-4 grades (``pred_score`` 1–10)."""
    path = root / "autoj" / "single_traindata.jsonl"
    if not path.is_file():
        raise TeacherDataError(f"{path}: file not found")
    items = []
    for n, row in _jsonl(path):
        m = _AUTOJ.search(row.get("usrmsg", ""))
        if not m:
            raise TeacherDataError(f"{path}:{n}: field 'usrmsg' has no [Query]/[Response] blocks")
        try:
            grade = float(row["pred_score"])
        except (KeyError, TypeError, ValueError) as e:
            raise TeacherDataError(f"{path}:{n}: field 'pred_score' missing or not a number") from e
        items.append(TeacherItem(text_key(m.group(1)), "autoj", m.group(1), [m.group(2)], grade=grade))
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
