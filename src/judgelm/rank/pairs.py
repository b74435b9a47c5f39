"""Answers of several models to the same prompts → pair samples to judge (every pair, or k per prompt)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from judgelm.schema import Answer, Sample

if TYPE_CHECKING:
    from judgelm.data.rejected import Rejects

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- answers → pairs


@dataclass
class PromptEntry:
    id: str
    question: str
    input: str | None = None
    reference: str | None = None


@dataclass
class AnswerTable:
    """Every model's answer per prompt (prompt id → model → text), prompts in first-seen order."""

    prompts: dict[str, PromptEntry] = field(default_factory=dict)
    answers: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    duplicates: int = 0  # same model, same prompt, seen again (first kept)
    samples: int = 0  # pair samples read (answer files count none)
    labelled: int = 0  # of those, with a recorded verdict (e.g. AlpacaEval's GPT-4 preference)
    label_sources: set[str] = field(default_factory=set)
    in_every_sample: set[str] | None = None  # models answering in every pair sample read (None: no samples)

    @property
    def models(self) -> list[str]:
        return sorted({m for per in self.answers.values() for m in per})

    def add(self, prompt: PromptEntry, model: str, text: str) -> None:
        self.prompts.setdefault(prompt.id, prompt)
        if model in self.answers[prompt.id]:
            self.duplicates += 1
            return
        self.answers[prompt.id][model] = text

    def coverage(self) -> dict[str, int]:
        """Prompts answered, per model."""
        out: dict[str, int] = defaultdict(int)
        for per in self.answers.values():
            for m in per:
                out[m] += 1
        return dict(sorted(out.items()))


def prompt_entry(sample: Sample) -> PromptEntry:
    from judgelm.data.registry import stable_id
    from judgelm.data.split import prompt_key

    return PromptEntry(stable_id(prompt_key(sample)), sample.question, sample.input, sample.reference)


def _is_answer_file(path: Path) -> bool:
    from judgelm.data.answers import is_fastchat_answer, is_judgelm_answer
    from judgelm.data.records import first_row

    files = [path] if path.is_file() else sorted(path.glob("*.json*"))
    first = first_row(files[0]) if files else None
    return bool(first) and (is_judgelm_answer(first) or is_fastchat_answer(first))  # type: ignore[arg-type]


def load_answer_table(sources: Iterable[str | Path], *, questions: str | Path | None = None,
                      rejects: Rejects | None = None) -> AnswerTable:
    """Answers from model answer files (JudgeLM ``{question_id, question_body, text, model}``, one file
    per model or one file with a model column; FastChat files with ``questions``) and from any
    sample file whose answers name their model (AlpacaEval ``annotations.json``: ``output_1`` of
    text_davinci_003, ``output_2`` of the file's model — several files give several models).
    ``rejects`` (a :class:`judgelm.data.rejected.Rejects`): skip bad rows and collect them there.
    """
    from judgelm.data import read_answers, read_prompts, read_samples
    from judgelm.data.errors import DataError

    table = AnswerTable()
    qtext: dict[str, Any] = {}
    if questions is not None:
        qtext = {p.id: p for p in read_prompts(questions)}
    for src in sources:
        path = Path(src)
        if path.exists() and _is_answer_file(path):
            table.in_every_sample = set()  # answer files: no model is anyone's opponent by construction
            for rec in read_answers(path, rejects=rejects):
                if len(rec.turns) > 1:
                    raise DataError(path, None, "turns", f"question {rec.question_id}: multi-turn answers are not "
                                    "ranked (judge the final turns as pair samples instead)")
                question = rec.question
                if question is None and rec.question_id in qtext:
                    prompt = qtext[rec.question_id]
                    question = prompt.turns[-1]
                if question is None:
                    raise DataError(path, None, "question_body", f"question {rec.question_id} has no question text: "
                                    "pass the questions file (--questions)")
                table.add(PromptEntry(str(rec.question_id), question), rec.model, rec.text)
            continue
        n = 0
        stream = read_samples(src, skip_bad=rejects is not None)
        for s in stream:
            names = {str(a.model) for a in s.answers if a.model is not None}
            table.in_every_sample = names if table.in_every_sample is None else table.in_every_sample & names
            table.samples += 1
            if s.gold is not None and s.gold.verdict is not None:
                table.labelled += 1
                table.label_sources.add(s.gold.source or "recorded")
            for a in s.answers:
                if a.model is None:
                    raise DataError(path, None, "answers.model", f"sample {s.id}: an answer without a model name "
                                    "cannot be ranked")
                table.add(prompt_entry(s), a.model, a.text)
            n += 1
        if rejects is not None:
            rejects.add(stream.report.skipped)
        logger.info("%s: %d samples read as answers", src, n)
    if table.duplicates:
        logger.info("%d repeated (model, prompt) answers ignored (first kept)", table.duplicates)
    if table.in_every_sample is not None and table.samples == 0:
        table.in_every_sample = None
    if len(table.models) < 2:
        raise ValueError(f"need answers of at least two models, found {table.models}")
    return table


def pair_id(prompt_id: str, a: str, b: str) -> str:
    return f"{prompt_id}|{a}|{b}"


def build_pairs(
    table: AnswerTable,
    *,
    models: Sequence[str] | None = None,
    max_prompts: int | None = None,
    sample_prompts: int | None = None,
    pairs_per_prompt: int | None = None,
    baseline: str | None = None,
    seed: int = 0,
) -> list[Sample]:
    """One pair sample per model pair per prompt (answer 1 = the alphabetically first model).

    ``pairs_per_prompt=k``: a sampled design for many models, ``k`` distinct pairs drawn per
    prompt (seeded), so every pair is still compared on many prompts. ``baseline``: AlpacaEval's
    design, every model against ``baseline`` only. ``max_prompts``: the first N prompts answered
    by every chosen model (falling back to any two when none is complete); ``sample_prompts``:
    N of those drawn at random (seeded, kept in file order), a subset spread over the whole set.
    """
    chosen = sorted(models) if models else table.models
    unknown = set(chosen) - set(table.models)
    if unknown:
        raise ValueError(f"no answers for model(s) {sorted(unknown)}; known: {table.models}")
    if baseline is not None and baseline not in table.models:
        raise ValueError(f"baseline {baseline!r} has no answers; known models: {table.models}")
    if baseline is not None and baseline not in chosen:
        chosen = sorted([*chosen, baseline])
    rng = np.random.default_rng(seed)
    pids = [p for p in table.prompts if len(set(table.answers[p]) & set(chosen)) >= 2]
    complete = [p for p in pids if set(chosen) <= set(table.answers[p])]
    if sample_prompts is not None and sample_prompts < len(complete or pids):
        pool = complete or pids
        pids = [pool[k] for k in sorted(rng.choice(len(pool), size=sample_prompts, replace=False))]
    if max_prompts is not None:
        pids = (complete or pids)[:max_prompts] if sample_prompts is None else pids[:max_prompts]
    out = []
    for pid in pids:
        prompt = table.prompts[pid]
        here = [m for m in chosen if m in table.answers[pid]]
        pairs = [(a, b) for i, a in enumerate(here) for b in here[i + 1:]]
        if baseline is not None:
            pairs = [(a, b) for a, b in pairs if baseline in (a, b)]
        if pairs_per_prompt is not None and pairs_per_prompt < len(pairs):
            pick = rng.choice(len(pairs), size=pairs_per_prompt, replace=False)
            pairs = [pairs[k] for k in sorted(pick)]
        for a, b in pairs:
            out.append(Sample(
                id=pair_id(pid, a, b), question=prompt.question, input=prompt.input, reference=prompt.reference,
                answers=[Answer(text=table.answers[pid][a], model=a), Answer(text=table.answers[pid][b], model=b)],
                metadata={"prompt_id": pid},
            ))
    if not out:
        raise ValueError("no prompt has answers of two chosen models")
    return out
