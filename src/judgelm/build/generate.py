"""``judgelm generate``: a model's answers to a prompt file, as a JudgeLM answer file, resumably.

The first step of JudgeLM's and PandaLM's data recipes: several models answer the same prompts,
the answers are then paired and judged (:mod:`judgelm.build.dataset`). Multi-turn prompts (MT-bench) are
answered turn by turn, each turn with the model's own earlier answers in the history.

Resumability: every finished batch of answers is committed to ``OUT.state.sqlite`` (one SQLite
transaction) before anything else; the output JSONL is always derived from that state and
rewritten atomically, so a run killed at any instant (``kill -9``) and started again with the same
command answers only what is missing. (:class:`judgelm.judging.state.RunState` stores judge
*Judgements*; answers are a different record, hence the small store here, same design.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from judgelm.build.generators import Generator, GenOutput, GenRequest, Sampling
from judgelm.data import Prompt, read_prompts
from judgelm.data.errors import DataError
from judgelm.data.records import iter_records
from judgelm.judging.state import state_path_for
from judgelm.storage import connect, transaction, write_jsonl_atomic

logger = logging.getLogger(__name__)

#: fields that may hold a single-turn prompt's text, in order of preference
PROMPT_FIELDS = ("question_body", "instruction", "prompt", "question", "text")


# --------------------------------------------------------------------------- prompts


def load_prompts(source: str | Path, *, references: str | None = None) -> list[Prompt]:
    """Prompts of a question file: MT-bench / arena-bench / Vicuna ``{question_id, turns}`` rows,
    or single-turn rows ``{question_id, question_body | instruction | prompt | question}`` (an
    ``input`` field is appended to the instruction, as Alpaca does). Ids must be unique.
    ``references="auto"`` attaches FastChat reference turns (``reference_answer/gpt-4.jsonl``)."""
    path = Path(source)
    if path.is_dir() or _first_has(path, "turns"):
        prompts = list(read_prompts(path, references=references))
    else:
        prompts = []
        for rec in iter_records(path):
            if rec.error is not None:
                raise rec.error
            row = rec.row
            assert row is not None
            name = next((f for f in PROMPT_FIELDS if f in row.data), None)
            if name is None:
                raise row.error(None, f"no prompt field (want 'turns' or one of {', '.join(PROMPT_FIELDS)})")
            text = row.text(name, allow_empty=False)
            extra = row.opt_text("input")
            if extra and extra.strip():
                text = f"{text}\n\n{extra}"
            qid = row.get("question_id", row.get("id", row.get("idx")))
            if qid is None:
                qid = len(prompts) + 1
            if isinstance(qid, bool) or not isinstance(qid, (str, int)):
                raise row.error("question_id", f"expected a string or integer, got {type(qid).__name__}")
            prompts.append(Prompt(id=str(qid), turns=[text], category=row.opt_text("category")))
    seen: set[str] = set()
    for p in prompts:
        if p.id in seen:
            raise DataError(path, None, "question_id", f"duplicate question_id {p.id!r}")
        seen.add(p.id)
    return prompts


def _first_has(path: Path, field: str) -> bool:
    if not path.is_file():
        raise DataError(path, None, None, "no such file")
    for rec in iter_records(path):
        return rec.row is not None and field in rec.row.data
    return False


# --------------------------------------------------------------------------- state


class AnswerState:
    """``OUT.state.sqlite``: one row per (question, turn) answer, keyed with the request fingerprint."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._con = connect(self.path)
        self._con.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
                          "output TEXT NOT NULL, updated REAL)")

    def get(self, key: str, fp: str) -> GenOutput | None:
        row = self._con.execute("SELECT fingerprint, output FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None or row[0] != fp:
            return None
        return GenOutput(**json.loads(row[1]))

    def commit(self, rows: Iterable[tuple[str, str, GenOutput]]) -> None:
        data = [(k, fp, json.dumps(asdict(o)), time.time()) for k, fp, o in rows if o.error is None]
        if not data:
            return
        with transaction(self._con):
            self._con.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)", data)

    def close(self) -> None:
        self._con.close()


def _fingerprint(model: str, messages: list[dict[str, str]], sampling: Sampling, fmt: str) -> str:
    blob = json.dumps({"model": model, "messages": messages, "sampling": sampling.as_dict(), "format": fmt},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- running


@dataclass
class GenerateSummary:
    prompts: int = 0
    answers: int = 0  # (question, turn) answers in the output
    generated: int = 0  # produced in this run
    resumed: int = 0  # already in the state
    errors: int = 0  # failed (kept pending: run again to retry)
    budget_exhausted: int = 0
    empty: int = 0
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    output: str = ""
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_generate(
    prompts: list[Prompt],
    generator: Generator,
    out_path: str | Path,
    *,
    sampling: Sampling = Sampling(),
    model_name: str | None = None,
    batch_size: int | None = None,
    resume: bool = True,
    progress: bool = False,
    system_prompt: str | None = None,
) -> GenerateSummary:
    """Answer every prompt (every turn) with ``generator`` into ``out_path``; see the module doc."""
    t0 = time.perf_counter()
    out_path = Path(out_path)
    state_file = state_path_for(out_path)
    if not resume:
        for p in (state_file, Path(f"{state_file}-wal"), Path(f"{state_file}-shm"), out_path):
            p.unlink(missing_ok=True)
    name = model_name or generator.name
    summary = GenerateSummary(prompts=len(prompts), output=str(out_path), model=name)
    state = AnswerState(state_file)
    bs = batch_size or generator.preferred_batch_size
    answers: dict[str, list[GenOutput]] = {p.id: [] for p in prompts}
    failed: set[str] = set()  # prompts whose earlier turn failed: later turns cannot be asked
    bar = None
    total = sum(len(p.turns) for p in prompts)
    try:
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, unit="answer", desc=f"generating with {name}", dynamic_ncols=True)
        for turn in range(max((len(p.turns) for p in prompts), default=0)):
            pending: list[tuple[GenRequest, str]] = []
            for p in prompts:
                if turn >= len(p.turns) or p.id in failed:
                    continue
                messages = _messages(p, answers[p.id], turn, system_prompt)
                key = f"{p.id}#{turn + 1}"
                fp = _fingerprint(name, messages, sampling, generator.prompt_format)
                stored = state.get(key, fp)
                if stored is not None:
                    answers[p.id].append(stored)
                    summary.resumed += 1
                    if bar is not None:
                        bar.update(1)
                    continue
                pending.append((GenRequest(key=key, messages=messages, sampling=sampling), fp))
            for i in range(0, len(pending), bs):
                chunk = pending[i : i + bs]
                outs = generator.generate_batch([r for r, _ in chunk])
                if len(outs) != len(chunk):
                    raise RuntimeError(f"generator returned {len(outs)} outputs for {len(chunk)} requests")
                state.commit((r.key, fp, o) for (r, fp), o in zip(chunk, outs))  # durable first
                for (r, _), o in zip(chunk, outs):
                    pid = r.key.rpartition("#")[0]
                    summary.cost_usd += o.cost_usd
                    summary.prompt_tokens += o.prompt_tokens
                    summary.completion_tokens += o.completion_tokens
                    if o.error is not None:
                        summary.errors += 1
                        summary.budget_exhausted += o.error == "budget exhausted"
                        failed.add(pid)
                        continue
                    summary.generated += 1
                    answers[pid].append(o)
                if bar is not None:
                    bar.update(len(chunk))
        rows = [_row(p, answers[p.id], name, sampling, generator) for p in prompts
                if p.id not in failed and len(answers[p.id]) == len(p.turns)]
        summary.answers = sum(len(p.turns) for p in prompts if p.id not in failed)
        summary.empty = sum(1 for r in rows if not r["text"].strip())
        write_jsonl_atomic(out_path, (json.dumps(r, ensure_ascii=False) for r in rows))
    finally:
        if bar is not None:
            bar.close()
        state.close()
    summary.wall_s = round(time.perf_counter() - t0, 3)
    if summary.errors:
        logger.warning("%d answer(s) failed (%s budget exhausted): run the same command again to retry them",
                       summary.errors, summary.budget_exhausted)
    logger.info("generated %s", json.dumps(summary.to_dict()))
    return summary


def _messages(p: Prompt, earlier: list[GenOutput], turn: int, system_prompt: str | None) -> list[dict[str, str]]:
    msgs: list[dict[str, str]] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for t in range(turn):
        msgs.append({"role": "user", "content": p.turns[t]})
        msgs.append({"role": "assistant", "content": earlier[t].text})
    msgs.append({"role": "user", "content": p.turns[turn]})
    return msgs


def _row(p: Prompt, outs: list[GenOutput], name: str, s: Sampling, gen: Generator) -> dict[str, Any]:
    """A JudgeLM answer-file row; ``question_body``/``text`` are the last turn's, all turns beside them."""
    row: dict[str, Any] = {
        "question_id": p.id,
        "question_body": p.turns[-1],
        "text": outs[-1].text,
        "model": name,
        "decoding_method": s.decoding_method,
        **s.as_dict(),
        "prompt_format": gen.prompt_format,
        "generator": gen.name,
        "finish_reason": outs[-1].finish_reason,
        "completion_tokens": sum(o.completion_tokens for o in outs),
    }
    if p.category:
        row["category"] = p.category
    if len(p.turns) > 1:
        row["question_turns"] = p.turns
        row["turns"] = [o.text for o in outs]
    return row
