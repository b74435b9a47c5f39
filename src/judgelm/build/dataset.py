"""``judgelm build``: answers → pairs → teacher judgements → JudgeLM-format train/val files.

JudgeLM's data recipe: several models answer the same seed questions, answers are paired, and a
strong teacher judges each pair twice — without and with a reference answer — in explained mode
(``"s1 s2\\nexplanation"``). Two sources of teacher judgements:

* **live** (:func:`build_live`): any judge spec (``openai:gpt-4o``, ``hf:...``) through
  :func:`judgelm.judging.runner.run_judge`, so every call is resumable (SQLite state beside each teacher
  file), cached, and capped by the engine's ``budget_usd``: pairs the budget did not reach are
  left out and counted, and the same command with a larger budget finishes them.
* **recorded** (:func:`build_recorded`): a teacher's judgements already on disk —
  AlpacaEval annotations (pairwise preference) or arena-bench single-answer grades — turned into
  the same format without any call (mappings documented on each function and in docs/build-data.md).

Output (``OUT_DIR``): ``train.jsonl``, ``val.jsonl`` (split by question, seeded), ``summary.json``
(counts, drops, score histograms, unparsed teacher outputs, cost) and ``teacher/`` (raw judgements).
Rows whose teacher output could not be parsed are kept out and counted, never turned into ties.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgelm.build.pairing import (
    Candidate,
    PairingReport,
    candidate_pairs,
    collect,
    read_candidates,
    select_pairs,
    shuffle_positions,
)
from judgelm.data.errors import DataError
from judgelm.engines.openai import BUDGET_EXHAUSTED  # one wording for every budget stop
from judgelm.schema import Answer, Gold, Judgement, ParseStatus, Sample

if TYPE_CHECKING:
    from judgelm.data.rejected import Rejects

logger = logging.getLogger(__name__)


@dataclass
class BuildOptions:
    """How pairs are drawn and split; the same options give the same files."""

    strategy: str = "all"  # all | random | balanced (see judgelm.build.pairing)
    k: int = 1  # pairs per question for random / balanced
    seed: int = 0
    val_fraction: float = 0.1
    shuffle_positions: bool = True
    turn: int = 1  # which turn of multi-turn answers is paired


def fmt_score(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def judgement_text(scores: list[float], explanation: str | None) -> str:
    """JudgeLM's teacher text: the score line, then the explanation."""
    line = " ".join(fmt_score(s) for s in scores)
    return f"{line}\n{explanation.strip()}" if explanation and explanation.strip() else line


def _pair_id(question_id: str, m1: str, m2: str) -> str:
    return f"{question_id}::{m1}::{m2}"


# --------------------------------------------------------------------------- live teacher


def read_references(path: str | Path, *, turn: int = 1) -> dict[str, str]:
    """question_id → reference text, from an answer file (e.g. ``judgelm generate`` with a strong model)."""
    refs: dict[str, str] = {}
    for c in read_candidates(path, turn=turn):
        if c.text.strip() and c.text != "\0missing":
            refs.setdefault(c.question_id, c.text)
    return refs


def read_questions(prompts_file: str | Path, *, turn: int = 1) -> tuple[dict[str, str], dict[str, str]]:
    """(question_id → question text, question_id → reference) of turn ``turn`` of a question file;
    MT-bench-style files bring their reference turns (``reference_answer/gpt-4.jsonl`` beside them,
    else the question's own ``reference``)."""
    from judgelm.build.generate import load_prompts

    questions: dict[str, str] = {}
    references: dict[str, str] = {}
    for p in load_prompts(prompts_file, references="auto"):
        if turn <= len(p.turns):
            questions[p.id] = p.turns[turn - 1]
        if p.reference and turn <= len(p.reference):
            references[p.id] = p.reference[turn - 1]
    return questions, references


def make_pairs(
    answer_files: Iterable[str | Path],
    options: BuildOptions,
    *,
    references: dict[str, str] | None = None,
    questions: dict[str, str] | None = None,
    rejects: Rejects | None = None,
) -> tuple[list[Sample], PairingReport]:
    """Sampled answer pairs as judge samples (id ``qid::model_a::model_b``, answers in shown order)."""
    report = PairingReport()
    if options.turn > 1:
        logger.warning("pairing turn %d: each model's own earlier turns differ and are not shown to the teacher "
                       "(JudgeLM rows are single-turn); use this for turns that stand on their own", options.turn)
    by_q = collect(answer_files, turn=options.turn, report=report, rejects=rejects)
    chosen = select_pairs(candidate_pairs(by_q, report), strategy=options.strategy, k=options.k,
                          seed=options.seed, report=report)
    placed = shuffle_positions(chosen, options.seed) if options.shuffle_positions else [
        (q, pair, False) for q, pair in chosen]
    samples = []
    for q, (a, b), swapped in placed:
        question = (questions or {}).get(q) or a.question or b.question
        if not question:
            raise DataError(None, None, "question_body",
                            f"question {q!r}: no question text in the answer files; pass --prompts")
        samples.append(Sample(
            id=_pair_id(q, *sorted((a.model, b.model))),  # the same id whichever answer is shown first
            question=question,
            answers=[_answer(a), _answer(b)],
            reference=(references or {}).get(q),
            metadata={"prompt_id": q, "positions_swapped": swapped},
        ))
    return samples, report


def _answer(c: Candidate) -> Answer:
    return Answer(text=c.text, model=c.model, metadata=dict(c.metadata))


def build_live(
    answer_files: list[str | Path],
    out_dir: str | Path,
    teacher: Any,
    *,
    options: BuildOptions | None = None,
    reference_file: str | Path | None = None,
    prompts_file: str | Path | None = None,
    with_reference: bool = True,
    max_new_tokens: int = 512,
    batch_size: int | None = None,
    resume: bool = True,
    cache: Any = True,
    progress: bool = False,
    rejects: Rejects | None = None,
) -> dict[str, Any]:
    """Pair the answers, have ``teacher`` (an Engine or a judge spec) judge every pair in explained
    mode without (and, where a reference exists, with) the reference, and write the data set.
    ``rejects`` (a :class:`judgelm.data.rejected.Rejects`): skip bad answer rows, collect them there."""
    from judgelm.engines import load_engine
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings

    options = options or BuildOptions()
    out = Path(out_dir)
    questions, references = read_questions(prompts_file, turn=options.turn) if prompts_file else ({}, {})
    if reference_file is not None:
        references.update(read_references(reference_file, turn=options.turn))
    samples, pairing = make_pairs(answer_files, options, references=references if with_reference else None,
                                  questions=questions, rejects=rejects)
    if not samples:
        raise ValueError("no answer pairs: give at least two answer files covering the same questions")
    engine = load_engine(teacher) if isinstance(teacher, str) else teacher
    owned = isinstance(teacher, str)
    teacher_dir = out / "teacher"
    runs: dict[str, Any] = {}
    try:
        explained = JudgeSettings(template="judgelm", mode="pair", fast=False, max_new_tokens=max_new_tokens)
        common = dict(batch_size=batch_size, resume=resume, cache=cache, progress=progress)
        runs["no_reference"] = run_judge(samples, engine, teacher_dir / "no_reference.jsonl",
                                         explained.replace(reference=False), **common)
        with_ref = [s for s in samples if s.reference]
        if with_reference and with_ref:
            runs["with_reference"] = run_judge(with_ref, engine, teacher_dir / "with_reference.jsonl",
                                               explained.replace(reference=True), **common)
    finally:
        if owned:
            engine.close()
    plain = {j.sample_id: j for j in runs["no_reference"].judgements}
    refd = {j.sample_id: j for j in runs["with_reference"].judgements} if "with_reference" in runs else {}
    teacher_report = Counter()
    rows = []
    for s in samples:
        row = _row_from_judgements(s, plain.get(s.id), refd.get(s.id) if s.reference else None, teacher_report)
        if row is not None:
            rows.append(row)
    cost = {
        "usd_this_run": round(sum(r.cost_usd for r in runs.values()), 6),
        "usd_total": round(sum(j.cost.usd for j in [*plain.values(), *refd.values()]), 6),
        "prompt_tokens_this_run": sum(r.prompt_tokens for r in runs.values()),
        "completion_tokens_this_run": sum(r.completion_tokens for r in runs.values()),
        "engine_calls_this_run": sum(r.judged for r in runs.values()),
        "from_cache": sum(r.from_cache for r in runs.values()),
        "resumed": sum(r.resumed for r in runs.values()),
    }
    extra = {"teacher": engine.name, "source": "live", "pairing": pairing.to_dict(), "teacher_outputs":
             dict(teacher_report), "cost": cost,
             "complete": teacher_report["not_judged_no_reference"] == 0
             and teacher_report["not_judged_with_reference"] == 0}
    if not extra["complete"]:
        logger.warning("some pairs were not judged (%s): run the same command again (with a larger --budget-usd "
                       "if the budget ran out) to finish them", dict(teacher_report))
    return write_dataset(rows, out, options, extra)


def _row_from_judgements(s: Sample, plain: Judgement | None, refd: Judgement | None,
                         counts: Counter) -> dict[str, Any] | None:
    """The JudgeLM row of a judged pair; None (counted) when the no-reference judgement is unusable."""
    if plain is None or plain.status == ParseStatus.ERROR:
        counts["not_judged_no_reference"] += 1
        if plain is not None and plain.error == BUDGET_EXHAUSTED:
            counts["budget_exhausted_no_reference"] += 1
        return None
    if plain.status == ParseStatus.UNPARSED or not plain.scores or len(plain.scores) != 2:
        counts["unparsed_no_reference"] += 1
        return None
    counts["ok_no_reference"] += 1
    row = judgelm_row(s, plain.scores, plain.explanation)
    row["teacher"] = plain.judge
    if s.reference:
        if refd is None or refd.status == ParseStatus.ERROR:
            counts["not_judged_with_reference"] += 1
            if refd is not None and refd.error == BUDGET_EXHAUSTED:
                counts["budget_exhausted_with_reference"] += 1
        elif refd.status == ParseStatus.UNPARSED or not refd.scores or len(refd.scores) != 2:
            counts["unparsed_with_reference"] += 1  # the row keeps its no-reference judgement only
        else:
            counts["ok_with_reference"] += 1
            row["score_w_reference"] = refd.scores
            row["text_w_reference"] = judgement_text(refd.scores, refd.explanation)
    return row


def judgelm_row(s: Sample, scores: list[float], explanation: str | None) -> dict[str, Any]:
    """A JudgeLM train/val row (docs/formats.md §2) for a two-answer sample."""
    a1, a2 = s.answers
    row: dict[str, Any] = {
        "question_id": s.id,
        "question_body": s.question,
        "answer1_body": a1.text,
        "answer2_body": a2.text,
        "answer1_model_id": a1.model,
        "answer2_model_id": a2.model,
        "answer1_metadata": a1.metadata,
        "answer2_metadata": a2.metadata,
        "score": [float(x) for x in scores],
        "text": judgement_text(scores, explanation),
    }
    if s.reference:
        row["reference"] = {"text": s.reference}
    row.update({k: v for k, v in s.metadata.items() if k not in row})
    return row


# --------------------------------------------------------------------------- recorded teachers


#: AlpacaEval preference → synthesised (winner, loser, tie) scores; see build_recorded
DEFAULT_PREFERENCE_SCORES = (8.0, 4.0, 6.0)


def _alpaca_candidates(source: str | Path, preference_scores: tuple[float, float, float],
                       counts: Counter, rejects: Rejects | None = None,
                       **read_opts: Any) -> dict[str, list[tuple[str, str, Sample]]]:
    from judgelm.data import read_samples
    from judgelm.data.registry import stable_id

    win, lose, tie = preference_scores
    by_q: dict[str, list[tuple[str, str, Sample]]] = {}
    seen: set[str] = set()
    stream = read_samples(source, fmt="alpaca_eval", skip_bad=rejects is not None, **read_opts)
    for s in stream:
        counts["recorded_judgements"] += 1
        if s.gold is None:
            counts["no_preference_field"] += 1  # an unlabelled row: no teacher judgement to learn from
            continue
        verdict = s.gold.verdict
        if verdict is None:
            counts["unparsed_teacher"] += 1  # AlpacaEval's null preference: GPT-4's output was not parsable
            continue
        if any(not a.text.strip() for a in s.answers):
            counts["empty_answer"] += 1
            continue
        if s.answers[0].text.strip() == s.answers[1].text.strip():
            counts["identical_pair"] += 1
            continue
        if s.id in seen:
            counts["duplicate_rows"] += 1
            continue
        seen.add(s.id)
        scores = [win, lose] if verdict == 1 else [lose, win] if verdict == 2 else [tie, tie]
        q = stable_id(s.question)
        meta = {**s.metadata, "prompt_id": q, "synthetic_scores": True,
                "score_source": f"alpaca_eval preference {s.metadata.get('preference')!r} mapped to "
                                f"winner {fmt_score(win)} / loser {fmt_score(lose)} / tie {fmt_score(tie)}"}
        labelled = s.model_copy(update={"metadata": meta, "gold": s.gold.model_copy(update={"scores": scores})})
        by_q.setdefault(q, []).append((s.answers[0].model or "?", s.answers[1].model or "?", labelled))
    for why, n in stream.report.dropped.items():
        counts[f"read_dropped: {why}"] += n
    if rejects is not None:
        rejects.add(stream.report.skipped)
    return by_q


def _collecting(stream: Any, rejects: Rejects) -> Any:
    """Yield ``stream``'s samples; once it is exhausted, its skipped rows go to ``rejects``."""
    yield from stream
    rejects.add(stream.report.skipped)


def _arena_candidates(source: str | Path, counts: Counter,
                      rejects: Rejects | None = None) -> dict[str, list[tuple[str, str, Sample]]]:
    """arena-bench grades grouped by question; every pair of graded models becomes one candidate pair."""
    from judgelm.data import read_samples

    graded: dict[str, dict[str, Sample]] = {}
    stream = read_samples(source, fmt="arena_bench", skip_bad=rejects is not None)
    if rejects is not None:
        stream = _collecting(stream, rejects)
    for s in stream:
        counts["recorded_judgements"] += 1
        q = str(s.metadata["question_id"])
        model = s.answers[0].model or "?"
        if not s.gold or not s.gold.scores:
            counts["unparsed_teacher"] += 1  # the grader's "Rating: [[k]]" was not found: score null
            continue
        if not s.answers[0].text.strip():
            counts["empty_answer"] += 1
            continue
        slot = graded.setdefault(q, {})
        if model in slot:
            counts["duplicate_rows"] += 1
            continue
        slot[model] = s
    by_q: dict[str, list[tuple[str, str, Sample]]] = {}
    for q, models in graded.items():
        for m1, m2 in itertools.combinations(sorted(models), 2):
            g1, g2 = models[m1], models[m2]
            if g1.answers[0].text.strip() == g2.answers[0].text.strip():
                counts["identical_pair"] += 1
                continue
            if (g1.reference or "").strip() != (g2.reference or "").strip():
                # arena-bench v1 shows different reference answers to the grader for some models of the
                # same question: two grades made against different references are not one judgement
                counts["pairs_skipped_grades_with_different_references"] += 1
                continue
            s1, s2 = g1.gold.scores[0], g2.gold.scores[0]  # type: ignore[union-attr,index]
            grades = [(g.gold.explanation or "").strip() for g in (g1, g2)]  # type: ignore[union-attr]
            pair = Sample(
                id=_pair_id(q, m1, m2), question=g1.question, reference=g1.reference,
                answers=[g1.answers[0], g2.answers[0]],
                gold=Gold(scores=[s1, s2], source="arena-bench"),
                metadata={"prompt_id": q, "teacher_reference_shown": True, "_grades": grades,
                          "score_source": "two arena-bench GPT-4 single grades (1-10, reference shown) of the "
                                          "same question, one per answer"},
            )
            by_q.setdefault(q, []).append((m1, m2, pair))
    return by_q


def build_recorded(
    source: str | Path,
    kind: str,
    out_dir: str | Path,
    *,
    options: BuildOptions | None = None,
    preference_scores: tuple[float, float, float] = DEFAULT_PREFERENCE_SCORES,
    rejects: Rejects | None = None,
    **read_opts: Any,
) -> dict[str, Any]:
    """Build the data set from a teacher's recorded judgements, without calls.

    * ``alpaca_eval`` — each annotation is one judged pair (``text_davinci_003`` vs a model). GPT-4's
      preference carries no scores and no explanation, so the score line is *synthesised* from it:
      winner/loser/tie → ``preference_scores`` (default 8 / 4 / 6 6); rows carry
      ``synthetic_scores: true`` and the mapping in ``score_source``; ``text`` is the score line only
      (train with ``--targets scores_only``). A null preference is an unparsed teacher output:
      kept out, counted. No reference exists, so no ``*_w_reference`` fields.
    * ``arena_bench`` — GPT-4 graded each model's answer alone (1–10, reference shown). Two models'
      grades of the same question become one pair: ``score = [s1, s2]``,
      ``text = "s1 s2\\nAssistant 1: <grade 1 explanation>\\n\\nAssistant 2: <grade 2 explanation>"``.
      The grader always saw the reference, so ``text_w_reference``/``score_w_reference`` are those
      grades exactly, and ``text``/``score`` repeat them (flag ``teacher_reference_shown: true``: a
      no-reference target approximated by a with-reference judgement). Null scores: kept out, counted.
      Only grades made against the same reference text are paired (arena-bench v1 shows some models
      a different reference for the same question); the other combinations are counted, not built.
    """
    options = options or BuildOptions()
    counts: Counter = Counter()
    if kind == "alpaca_eval":
        cands = _alpaca_candidates(source, preference_scores, counts, rejects, **read_opts)
        teacher = "gpt-4 (recorded: alpaca_eval_gpt4 annotations)"
    elif kind == "arena_bench":
        cands = _arena_candidates(source, counts, rejects)
        teacher = "gpt-4 (recorded: arena-bench single grades)"
    else:
        raise ValueError(f"unknown recorded source {kind!r}: expected alpaca_eval or arena_bench")
    report = PairingReport(questions=len(cands))
    chosen = select_pairs(cands, strategy=options.strategy, k=options.k, seed=options.seed, report=report)
    rows = []
    coin = random.Random(options.seed + 7919)
    for _, s in chosen:
        assert s.gold is not None and s.gold.scores is not None
        scores, expl = list(s.gold.scores), s.gold.explanation
        swapped = options.shuffle_positions and coin.random() < 0.5
        meta = dict(s.metadata)
        grades = meta.pop("_grades", None)
        if swapped:
            s = s.reordered([1, 0])
            scores = scores[::-1]
            grades = grades[::-1] if grades else None
        if grades:  # arena-bench: each answer's own grade, under the position it is shown in
            expl = f"Assistant 1: {grades[0]}\n\nAssistant 2: {grades[1]}"
        s = s.model_copy(update={"metadata": {**meta, "positions_swapped": swapped}})
        row = judgelm_row(s, scores, expl)
        row["teacher"] = teacher
        if kind == "arena_bench":
            row["score_w_reference"] = row["score"]
            row["text_w_reference"] = row["text"]
        rows.append(row)
    extra = {"teacher": teacher, "source": f"recorded:{kind}", "input": str(source),
             "pairing": report.to_dict(), "teacher_outputs": dict(counts),
             "cost": {"usd_this_run": 0.0, "note": "recorded judgements: no calls made"}, "complete": True}
    if kind == "alpaca_eval":
        extra["preference_scores"] = {"winner": preference_scores[0], "loser": preference_scores[1],
                                      "tie": preference_scores[2]}
    return write_dataset(rows, Path(out_dir), options, extra)


# --------------------------------------------------------------------------- output


def split_questions(question_ids: Iterable[str], val_fraction: float, seed: int) -> set[str]:
    """The validation questions: a seeded draw of ``val_fraction`` of them (at least one when > 0)."""
    qs = sorted(set(question_ids))
    if val_fraction <= 0 or len(qs) < 2:
        return set()
    random.Random(seed).shuffle(qs)
    n = min(len(qs) - 1, max(1, round(val_fraction * len(qs))))
    return set(qs[:n])


def _histogram(values: Iterable[float]) -> dict[str, int]:
    c = Counter(fmt_score(v) for v in values)
    return dict(sorted(c.items(), key=lambda kv: float(kv[0])))


def _verdicts(rows: list[dict[str, Any]], field: str) -> dict[str, int]:
    c: Counter = Counter()
    for r in rows:
        if field in r:
            s1, s2 = r[field]
            c["answer1" if s1 > s2 else "answer2" if s2 > s1 else "tie"] += 1
    return dict(c)


def write_dataset(rows: list[dict[str, Any]], out: Path, options: BuildOptions,
                  extra: dict[str, Any]) -> dict[str, Any]:
    """``train.jsonl`` / ``val.jsonl`` split by question, and ``summary.json``; returns the summary."""
    from judgelm.storage import write_jsonl_atomic

    out.mkdir(parents=True, exist_ok=True)
    val_q = split_questions((r["prompt_id"] for r in rows), options.val_fraction, options.seed)
    train = [r for r in rows if r["prompt_id"] not in val_q]
    val = [r for r in rows if r["prompt_id"] in val_q]
    write_jsonl_atomic(out / "train.jsonl", (json.dumps(r, ensure_ascii=False) for r in train))
    write_jsonl_atomic(out / "val.jsonl", (json.dumps(r, ensure_ascii=False) for r in val))
    summary = {
        **extra,
        "options": options.__dict__,
        "rows": len(rows),
        "train": {"rows": len(train), "questions": len({r["prompt_id"] for r in train}),
                  "path": str(out / "train.jsonl")},
        "val": {"rows": len(val), "questions": len(val_q), "path": str(out / "val.jsonl")},
        "score_histogram": _histogram(s for r in rows for s in r["score"]),
        "score_w_reference_histogram": _histogram(s for r in rows for s in r.get("score_w_reference", [])),
        "verdicts": _verdicts(rows, "score"),
        "verdicts_w_reference": _verdicts(rows, "score_w_reference"),
        "rows_with_reference_judgement": sum("text_w_reference" in r for r in rows),
    }
    write_jsonl_atomic(out / "summary.json", [json.dumps(summary, indent=1, ensure_ascii=False)])
    logger.info("built %d rows (%d train, %d val) into %s", len(rows), len(train), len(val), out)
    return summary
