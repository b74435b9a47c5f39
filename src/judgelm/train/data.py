"""From teacher-labelled samples to (prompt, target) training examples.

* The prompt is the chosen template's judge prompt (``judgelm.prompts.render``), byte for byte
  what the judge sees at inference; the target is the teacher judgement ``"s1 s2\\nexplanation"``
  (scores only when the teacher wrote no explanation, or with ``targets: scores_only``).
* Augmentation (swap, reference show/drop) is drawn per sample from a generator seeded with
  ``(seed, sample id)``, so a fixed seed gives the same examples whatever the file order.
* The split is by prompt: every row of a question lands on the same side.
* Rows that cannot be used are counted by reason, never dropped silently.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from judgelm.data.split import prompt_key, split_by_prompt  # noqa: F401  (re-exported for the trainer)
from judgelm.schema import Answer, Gold, Sample
from judgelm.train.augment import swap_pair
from judgelm.train.config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class Example:
    """One training example before tokenisation."""

    sample_id: str
    group: str  # prompt key used by the split
    prompt: str
    target: str
    mode: str
    swapped: bool = False
    reference_used: bool = False


@dataclass
class BuildReport:
    """What happened to every input row: used, or dropped/changed and why."""

    rows: int = 0
    used: int = 0
    dropped: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)  # e.g. swapped, reference_shown, answers_cut

    def as_dict(self) -> dict:
        return {"rows": self.rows, "used": self.used, "dropped": dict(self.dropped), "notes": dict(self.notes)}


def pair_single_grades(samples: Iterable[Sample]) -> tuple[list[Sample], Counter]:
    """Pairs from single-answer grades of the same prompt: the two grades become the pair's scores.

    The teacher's critiques judge one answer each, so the pair's target is scores only.
    Samples that already hold 2+ answers pass through unchanged.
    """
    groups: dict[tuple[str, str], list[tuple[Answer, float, Sample]]] = defaultdict(list)
    out: list[Sample] = []
    counts: Counter = Counter()
    for s in samples:
        if len(s.answers) != 1:
            out.append(s)
            continue
        score = _single_score(s)
        if score is None:
            counts["single_grade_without_score"] += 1
            continue
        groups[(prompt_key(s), s.reference or "")].append((s.answers[0], score, s))
    for (key, _), graded in sorted(groups.items()):
        graded.sort(key=lambda g: (g[0].model or "", g[2].id))
        for (a1, s1, x1), (a2, s2, _) in itertools.combinations(graded, 2):
            out.append(
                Sample(
                    id=f"{x1.id}~{a2.model or 'b'}",
                    question=x1.question,
                    input=x1.input,
                    history=x1.history,
                    reference=x1.reference,
                    answers=[a1, a2],
                    gold=Gold(scores=[s1, s2], source=(x1.gold.source if x1.gold else None)),
                    metadata={"paired_from": "single_grades"},
                )
            )
            counts["pairs_made"] += 1
    return out, counts


def select_short(
    samples: Iterable[Sample], answer_chars: int | None, question_chars: int | None
) -> tuple[list[Sample], Counter]:
    """Keep samples whose answers (and question) fit a character budget, counting the rest.

    Unlike cutting (``max_answer_chars``), selection keeps every kept text whole, so what the
    teacher saw (including how long each answer is) is what the student sees.
    """
    kept: list[Sample] = []
    counts: Counter = Counter()
    for s in samples:
        if answer_chars is not None and any(len(a.text) > answer_chars for a in s.answers):
            counts["answer_longer_than_select_max_answer_chars"] += 1
        elif question_chars is not None and len(s.question) > question_chars:
            counts["question_longer_than_select_max_question_chars"] += 1
        else:
            kept.append(s)
    return kept, counts


def _single_score(s: Sample) -> float | None:
    g = s.gold
    if g is None:
        return None
    for scores in (g.scores, g.scores_w_reference):
        if scores:
            return float(scores[-1])
    return None


def format_score(x: float) -> str:
    """7.0 → "7", 7.5 → "7.5" (how teachers write them)."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _strip_score_line(explanation: str, scores: list[float]) -> str:
    """Readers may keep the teacher's full text; drop a leading line that repeats the scores."""
    first, _, rest = explanation.partition("\n")
    try:
        values = [float(t) for t in first.replace(",", " ").split()]
    except ValueError:
        return explanation
    return rest if values == [float(s) for s in scores] else explanation


def teacher_judgement(
    gold: Gold | None, n_answers: int, with_reference: bool, cfg: TrainConfig
) -> tuple[list[float], str | None, str] | None:
    """(scores, explanation, where-from) of the teacher for one condition, or None if there is none.

    Prefers the judgement made under the same condition (with / without reference) and falls back
    to the other one; a preference-only label becomes a score line only if ``preference_scores`` is set.
    """
    if gold is None:
        return None
    plain = (gold.scores, gold.explanation, "plain")
    ref = (gold.scores_w_reference, gold.explanation_w_reference, "with_reference")
    for scores, explanation, origin in ((ref, plain) if with_reference else (plain, ref)):
        if scores:
            return [float(x) for x in scores], explanation, origin
    if cfg.preference_scores and n_answers == 2 and gold.verdict is not None:
        p = cfg.preference_scores
        table = {0: [p["tie"], p["tie"]], 1: [p["win"], p["lose"]], 2: [p["lose"], p["win"]]}
        return [float(x) for x in table[gold.verdict]], None, "preference"
    return None


def render_target(scores: list[float], explanation: str | None, mode: str, cfg: TrainConfig) -> str:
    """The text the judge must produce after the prompt."""
    if mode == "single":
        # the prompt ends with "### Response:10" (pinned anchor): the model writes " X\n…"
        line = " " + format_score(scores[-1])
    else:
        line = " ".join(format_score(s) for s in scores)
    if explanation and cfg.targets == "full":
        explanation = _strip_score_line(explanation.strip("\n"), scores)
        if explanation.strip():
            return f"{line}\n{explanation}"
    return line


def _cut_texts(sample: Sample, answer_chars: int | None, question_chars: int | None) -> tuple[Sample, bool]:
    """Shorten answers / question to a character budget (quick runs on small contexts)."""
    update: dict = {}
    if answer_chars and any(len(a.text) > answer_chars for a in sample.answers):
        update["answers"] = [a.model_copy(update={"text": a.text[:answer_chars]}) for a in sample.answers]
    if question_chars and len(sample.question) > question_chars:
        update["question"] = sample.question[:question_chars]
    return (sample.model_copy(update=update), True) if update else (sample, False)


def build_examples(samples: Sequence[Sample], cfg: TrainConfig, report: BuildReport | None = None) -> list[Example]:
    """Render every usable sample into an example; count the others in ``report``."""
    from judgelm.prompts import render

    report = report if report is not None else BuildReport()
    examples: list[Example] = []
    for sample in samples:
        report.rows += 1
        n = len(sample.answers)
        mode = "single" if n == 1 else "pair" if n == 2 else "multi"
        if mode == "single" and not sample.reference:
            report.dropped["single_without_anchor_reference"] += 1
            continue
        rng = random.Random(f"{cfg.seed}:{sample.id}")
        has_ref = bool(sample.reference)
        show_ref = has_ref and rng.random() < cfg.reference_show_prob
        do_swap = mode == "pair" and rng.random() < cfg.swap_prob
        teacher = teacher_judgement(sample.gold, n, show_ref, cfg)
        if teacher is None:
            report.dropped["no_teacher_scores"] += 1
            continue
        scores, explanation, origin = teacher
        if len(scores) != n and not (mode == "single" and len(scores) in (1, 2)):
            report.dropped["scores_do_not_match_answers"] += 1
            continue
        if origin != "plain" and not show_ref and origin != "preference":
            report.notes["target_from_reference_judgement_without_reference"] += 1
        if origin == "plain" and show_ref and sample.gold and sample.gold.scores_w_reference is None:
            report.notes["target_from_plain_judgement_with_reference"] += 1
        # labels follow the answers: fold the chosen teacher judgement into a working sample
        work = sample.model_copy(update={"gold": Gold(scores=scores, explanation=explanation)})
        if do_swap:
            work = swap_pair(work)
            report.notes["swapped"] += 1
        work, cut = _cut_texts(work, cfg.max_answer_chars, cfg.max_question_chars)
        if cut:
            report.notes["texts_cut_to_max_chars"] += 1
        try:
            prompt = render(work, template=cfg.template, mode=mode, reference=show_ref)
        except (ValueError, KeyError) as exc:
            report.dropped[f"render_error: {type(exc).__name__}"] += 1
            logger.debug("sample %s not rendered: %s", sample.id, exc)
            continue
        assert work.gold is not None and work.gold.scores is not None
        target = render_target(work.gold.scores, work.gold.explanation, mode, cfg)
        if show_ref:
            report.notes["reference_shown"] += 1
        examples.append(Example(sample.id, prompt_key(sample), prompt, target, mode, do_swap, show_ref))
    report.used += len(examples)
    return examples


# --- tokenisation ------------------------------------------------------------------------------

IGNORE_INDEX = -100


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False


def encode_example(tokenizer, prompt: str, target: str, max_length: int, policy: str = "drop") -> Encoded | None:
    """BOS + prompt (labels masked with -100) + target + EOS (labels = ids). None if it cannot fit.

    Prompt and target are tokenised separately, exactly as the judge sees them at inference time
    (the prompt is encoded alone, the model continues it).
    """
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    bos = tokenizer.bos_token_id
    if bos is not None and (not prompt_ids or prompt_ids[0] != bos):
        prompt_ids = [bos] + prompt_ids
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        target_ids = target_ids + [tokenizer.eos_token_id]
    total = len(prompt_ids) + len(target_ids)
    truncated = False
    if total > max_length:
        room = max_length - len(target_ids)
        if policy != "truncate_prompt_middle" or room < 32:
            return None
        head = room // 2
        tail = room - head
        prompt_ids = prompt_ids[:head] + prompt_ids[len(prompt_ids) - tail :]
        truncated = True
    return Encoded(prompt_ids + target_ids, [IGNORE_INDEX] * len(prompt_ids) + list(target_ids), truncated)


def encode_examples(
    tokenizer, examples: Sequence[Example], max_length: int, policy: str, report: BuildReport, chat: bool = False
) -> list[dict[str, list[int]]]:
    """Tokenise examples; count those dropped or truncated for length in ``report``.

    ``chat``: the prompt is the user turn of the tokenizer's chat template (:func:`judgelm.prompts.chat.wrap_chat`).
    """
    from judgelm.prompts.chat import wrap_chat

    rows = []
    for ex in examples:
        prompt = wrap_chat(tokenizer, ex.prompt) if chat else ex.prompt
        enc = encode_example(tokenizer, prompt, ex.target, max_length, policy)
        if enc is None:
            report.dropped["too_long_for_max_length"] += 1
            report.used -= 1
            continue
        if enc.truncated:
            report.notes["prompt_middle_truncated"] += 1
        rows.append({"input_ids": enc.input_ids, "labels": enc.labels, "attention_mask": [1] * len(enc.input_ids)})
    return rows


class LeftPadCollator:
    """Left padding (the labelled score line ends every row) with explicit position ids.

    Position ids count real tokens only, so a padded row sees the same positions as unpadded,
    as the judge engine does at inference (it left-pads too).
    """

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, width - n:] = torch.tensor(r["input_ids"])
            labels[i, width - n:] = torch.tensor(r["labels"])
            mask[i, width - n:] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        return {"input_ids": ids, "attention_mask": mask, "position_ids": pos, "labels": labels}


def make_collator(tokenizer, left_pad: bool = False):
    """``left_pad`` → :class:`LeftPadCollator` (with ``logits_at_labels_only``); else right padding (below).

    Right padding (positions then match an unpadded sequence): ids with pad, labels with -100."""
    import copy

    from transformers import DataCollatorForSeq2Seq

    if left_pad:
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return LeftPadCollator(pad)
    tok = copy.copy(tokenizer)
    tok.padding_side = "right"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=IGNORE_INDEX, return_tensors="pt")
