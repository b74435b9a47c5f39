"""Prometheus absolute-grading items (``mt_bench_eval.json``, ``vicuna_eval.json``).

Each item's ``instruction`` is Prometheus' full grading prompt, split here on its section
headers: ``###The instruction to evaluate:``, ``###Response to evaluate:``,
``###Reference Answer (Score 5):``, ``###Score Rubrics:``, ``###Feedback:``. The rubric
(criterion + the five score descriptions) goes to ``metadata.rubric`` verbatim.

MT-bench items embed a dialogue (``Here is a previous dialogue …\\nUser: …\\n\\nAssistant:…
\\n\\nUser: …\\n\\nAssistant: ``): it becomes ``Sample.history`` (earlier turns, oldest first)
and the last user message the question.

Gold: ``gpt4_score`` holds three GPT-4 samples of a 1–5 score. ``gold.scores = [mean]`` of
the three (the mean keeps the judges' disagreement visible, e.g. [3, 2, 3] → 2.667);
the three raw scores and feedbacks are kept in ``metadata.gpt4_scores`` / ``gpt4_feedback``
and ``gold.explanation`` is the first feedback. Id: ``<idx>:<response_source>``.
Without ``gpt4_score`` an item is unlabelled (``gold = None``): the grading prompt alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register
from judgelm.schema import Answer, Gold, Sample, Turn

INSTRUCTION = "###The instruction to evaluate:\n"
RESPONSE = "\n\n###Response to evaluate:\n"
REFERENCE = "\n\n###Reference Answer (Score 5):\n"
RUBRIC = "\n\n###Score Rubrics:\n"
FEEDBACK = "\n\n###Feedback:"
DIALOGUE = "Here is a previous dialogue between an assistant and an user. Generate a human preferable response by the assistant.\n"
_TURN = re.compile(r"(?:^|\n\n)(User|Assistant): ?")


def split_prompt(row: Row) -> dict[str, str]:
    """The four parts of a Prometheus grading prompt (instruction, response, reference, rubric).

    The instruction ends at the first response header and the response at the *last*
    reference header, so answers that contain '###' headers of their own stay whole."""
    text = row.text("instruction")
    i = text.find(INSTRUCTION)
    r = text.find(RESPONSE, i + 1) if i >= 0 else -1
    ref = text.rfind(REFERENCE)
    rub = text.find(RUBRIC, ref + 1) if ref >= 0 else -1
    fb = text.rfind(FEEDBACK)
    if not 0 <= i < r < ref < rub:
        raise row.error("instruction", "expected the sections 'The instruction to evaluate', 'Response to evaluate', "
                                       "'Reference Answer (Score 5)', 'Score Rubrics' in this order")
    return {
        "instruction": text[i + len(INSTRUCTION) : r],
        "response": text[r + len(RESPONSE) : ref],
        "reference": text[ref + len(REFERENCE) : rub],
        "rubric": text[rub + len(RUBRIC) : fb if fb > rub else len(text)],
    }


def split_dialogue(row: Row, instruction: str) -> tuple[list[Turn], str]:
    """MT-bench style dialogue → (history, last user message)."""
    body = instruction[len(DIALOGUE) :]
    if body.endswith("\n\nAssistant: "):
        body = body[: -len("\n\nAssistant: ")]
    marks = list(_TURN.finditer(body))
    if not marks or marks[0].start() != 0 or marks[0].group(1) != "User":
        raise row.error("instruction", "dialogue does not start with 'User: '")
    turns: list[Turn] = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        role = "user" if m.group(1) == "User" else "assistant"
        turns.append(Turn(role=role, content=body[m.end() : end]))
    # roles must alternate user/assistant; otherwise a 'User:' inside an answer fooled the split
    if any(t.role != ("user" if i % 2 == 0 else "assistant") for i, t in enumerate(turns)) or len(turns) % 2 == 0:
        raise row.error("instruction", "dialogue turns do not alternate User/Assistant")
    return turns[:-1], turns[-1].content


def to_sample(row: Row) -> Sample:
    parts = split_prompt(row)
    raw_scores = row.num_list("gpt4_score", optional=True) if row.has("gpt4_score") else None
    if raw_scores is not None and not raw_scores:
        raise row.error("gpt4_score", "empty")
    feedback = row.get("gpt4_feedback")
    if feedback is not None and (not isinstance(feedback, list) or not all(isinstance(f, str) for f in feedback)):
        raise row.error("gpt4_feedback", "expected a list of strings")
    history: list[Turn] = []
    question = parts["instruction"]
    if question.startswith(DIALOGUE):
        history, question = split_dialogue(row, question)
    source = row.opt_text("response_source")
    idx = row.req("idx")
    return Sample(
        id=f"{idx}:{source}",
        question=question,
        history=history,
        reference=parts["reference"],
        answers=[Answer(text=parts["response"], model=source)],
        gold=None if raw_scores is None else Gold(
            scores=[round(sum(raw_scores) / len(raw_scores), 4)],
            explanation=feedback[0] if feedback else None,
            source="gpt-4",
        ),
        metadata={
            "rubric": parts["rubric"],
            "category": row.opt_text("category"),
            "gpt4_scores": raw_scores,
            "gpt4_feedback": feedback,
            "scale": [1, 5],
            "prometheus_idx": idx,
        },
    )


@register
class PrometheusFormat(Format):
    name = "prometheus"
    description = "Prometheus absolute-grading items (instruction = full rubric prompt, gpt4_score x3)"

    labels = "gpt4_score"

    def matches(self, first: dict[str, Any]) -> bool:
        instr = first.get("instruction")
        return isinstance(instr, str) and "###Response to evaluate:" in instr and "###Score Rubrics:" in instr

    def converter(self, path: Path, **opts: Any) -> Converter:
        return to_sample
