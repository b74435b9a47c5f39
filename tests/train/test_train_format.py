"""The format-learning proof: `judgelm train --config configs/tiny-cpu.yaml` trains a tiny Llama from
scratch on real GPT-4 preferences (AlpacaEval, pairs whose answers are naturally short), and on
held-out prompts (a) its greedy outputs are score lines (≥ 95%), and (b) its verdicts agree with
GPT-4 clearly more often than always answering the held-out set's majority class. The model then
judges through `judgelm judge --judge hf:PATH` with no extra step.

Honesty of (b): the teacher labels are GPT-4's own, the held-out prompts are exactly the trainer's
split by prompt (checked disjoint), every held-out pair is judged (no filtering after training),
and the majority rate is measured on that same held-out set. Because the held-out pairs cluster by
prompt (one instruction, many candidate models), the margin is also checked with a bootstrap that
resamples held-out *prompts*, not pairs.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from support import run_cli

from judgelm.engines import JudgeRequest, load_engine
from judgelm.prompts.parsing import parse_judgelm
from judgelm.schema import verdict_from_scores
from judgelm.train.config import load_config
from judgelm.train.data import BuildReport, build_examples, split_by_prompt
from judgelm.train.trainer import SUMMARY_FILE, load_samples

REPO = Path(__file__).resolve().parents[2]
MARGIN = 0.05  # agreement must beat the majority-class rate by at least 5 points ...
BOOTSTRAP_ROUNDS = 2000  # ... and the prompt-level bootstrap's 5th percentile of (agreement - majority) must be > 0


def prompt_bootstrap(groups: list[str], hits: list[bool], gold: list[int], rounds: int, seed: int = 0) -> list[float]:
    """(agreement - majority rate) over ``rounds`` resamples of the held-out prompts with replacement.

    The majority class is re-measured on every resample, so the statistic compares the model with the
    best constant answer *for that resample* (conservative)."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    keys = sorted(by_group)
    rng = random.Random(seed)
    diffs = []
    for _ in range(rounds):
        idx = [i for k in rng.choices(keys, k=len(keys)) for i in by_group[k]]
        agree = sum(hits[i] for i in idx) / len(idx)
        majority = max(Counter(gold[i] for i in idx).values()) / len(idx)
        diffs.append(agree - majority)
    return sorted(diffs)


def longer_wins(sample) -> int:
    """Verdict of the 'the longer answer wins' baseline (for context in the printout)."""
    a, b = (len(x.text) for x in sample.answers)
    return 0 if a == b else 1 if a > b else 2


@pytest.mark.slow(seconds=150)
def test_tiny_judge_learns_the_format_and_beats_the_majority_class(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from judgelm.train.augment import swap_pair

    monkeypatch.chdir(REPO)  # the config names its data relative to the repository
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the CI box is small and shared: one thread is the fastest
    try:
        out = tmp_path / "tiny-judge"
        res = run_cli("train", "--config", "configs/tiny-cpu.yaml", "-o", str(out))
        assert res.exit_code == 0, res.output
        summary = json.loads((out / SUMMARY_FILE).read_text())
        assert summary["completed"] and summary["data"]["prompts"]["eval"] > 0
        card = (out / "README.md").read_text()
        assert "alpaca_eval_gpt4" in card and "final training loss" in card and "wall time" in card

        # the held-out prompts, exactly as the trainer split them
        cfg = load_config("configs/tiny-cpu.yaml", {"output_dir": str(out)})
        samples, _ = load_samples(cfg)
        train_s, held = split_by_prompt(samples, cfg.eval_fraction, seed=cfg.seed)
        assert {s.question for s in train_s}.isdisjoint({s.question for s in held})
        report = BuildReport()
        examples = build_examples(held, cfg, report)
        # every held-out pair is judged, except those whose GPT-4 annotation is null (no teacher verdict)
        assert set(report.dropped) <= {"no_teacher_scores"}, report.as_dict()
        by_id = {s.id: s for s in held}

        engine = load_engine(f"hf:{out}")
        requests = [JudgeRequest(key=f"{e.sample_id}|{i}", sample=by_id[e.sample_id], prompt=e.prompt) for i, e in enumerate(examples)]
        outputs = engine.judge_batch(requests)
        engine.close()

        parsed = [parse_judgelm(o.text, 2) for o in outputs]
        gold = [verdict_from_scores([float(x) for x in e.target.split("\n")[0].split()]) for e in examples]
        hits = [p.ok and p.verdict == g for p, g in zip(parsed, gold)]
        n = len(examples)
        parse_rate = sum(p.ok for p in parsed) / n
        agreement = sum(hits) / n
        majority = max(Counter(gold).values()) / n
        shown = [swap_pair(by_id[e.sample_id]) if e.swapped else by_id[e.sample_id] for e in examples]
        longer = [longer_wins(s) for s in shown]
        length_baseline = sum(v == g for v, g in zip(longer, gold)) / n
        follows_length = sum(p.ok and p.verdict == v for p, v in zip(parsed, longer)) / n
        diffs = prompt_bootstrap([e.group for e in examples], hits, gold, BOOTSTRAP_ROUNDS)
        low = diffs[int(0.05 * len(diffs))]
        print(
            f"\nformat proof: {summary['global_step']} steps, {summary['seconds']:.0f}s, final loss {summary['train_loss']:.3f}, "
            f"held-out loss {summary['eval_loss']:.3f}; "
            f"held-out {n} pairs from {summary['data']['prompts']['eval']} prompts: parse rate {parse_rate:.1%}, "
            f"agreement with GPT-4 {agreement:.1%} vs majority class {majority:.1%} "
            f"(+{agreement - majority:.1%}; prompt bootstrap 5th percentile {low:+.1%}; "
            f"'longer answer wins' baseline {length_baseline:.1%}, model picks the longer answer {follows_length:.1%}); "
            f"teacher verdicts {dict(Counter(gold))}, predicted {dict(Counter(p.verdict for p in parsed))}"
        )
        assert parse_rate >= 0.95
        assert agreement >= majority + MARGIN
        assert low > 0, f"the margin is within resampling noise (5th percentile {low:+.3f})"
        # it learned the teacher's score distribution on unseen prompts, far below the untrained loss
        state = json.loads((out / f"checkpoint-{summary['global_step']}" / "trainer_state.json").read_text())
        first_loss = next(h["loss"] for h in state["log_history"] if "loss" in h)
        assert summary["eval_loss"] is not None and summary["eval_loss"] < 0.3 * first_loss

        # a user judges with it through the ordinary CLI, no extra step
        judged = tmp_path / "judged.jsonl"
        res = run_cli("judge", "examples/pairs.jsonl", "-o", str(judged), "--judge", f"hf:{out}",
                                       "--no-cache", "--no-progress")
        assert res.exit_code == 0, res.output
        rows = [json.loads(line) for line in judged.read_text().splitlines()]
        assert rows and all(r["judge"] == f"hf:{out}" for r in rows)
        assert len(rows) == len((REPO / "examples" / "pairs.jsonl").read_text().splitlines())
        assert {r["status"] for r in rows} <= {"ok", "unparsed"}  # it ran; long unseen prompts may not parse
        print(f"judge CLI on examples/pairs.jsonl: {sum(r['status'] == 'ok' for r in rows)}/{len(rows)} parsed")
    finally:
        torch.set_num_threads(threads)


def test_length_selection_keeps_texts_whole_and_counts_the_rest() -> None:
    from judgelm.schema import Answer, Sample
    from judgelm.train.data import select_short

    def pair(q: str, a: str, b: str) -> Sample:
        return Sample(id=f"{q}{a}{b}", question=q, answers=[Answer(text=a), Answer(text=b)])

    rows = [pair("q", "short", "tiny"), pair("q", "short", "x" * 11), pair("q" * 6, "a", "b")]
    kept, counts = select_short(rows, answer_chars=10, question_chars=5)
    assert kept == rows[:1] and kept[0].answers[1].text == "tiny"
    assert counts == {"answer_longer_than_select_max_answer_chars": 1, "question_longer_than_select_max_question_chars": 1}
    assert select_short(rows, None, None)[0] == rows
