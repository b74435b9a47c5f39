"""The built-in judge: shipped weights, offline, on real PandaLM / LLMBar rows."""

from __future__ import annotations

import pytest

from judgelm.engines import load_engine
from judgelm.engines.base import JudgeRequest
from judgelm.prompts.parsing import parse_judgelm
from judgelm.schema import Answer, Sample, Turn, verdict_from_scores


@pytest.fixture(scope="module")
def engine(mini_engine):
    return mini_engine  # loaded once per session (tests/conftest.py)


@pytest.fixture(scope="module")
def pandalm_rows(shared_data):
    from judgelm.mini.evalsets import load_eval_set

    return load_eval_set("pandalm_test", shared_data)[:24]


@pytest.fixture(scope="module")
def llmbar_rows(shared_data):
    from judgelm.mini.evalsets import load_eval_set

    return load_eval_set("llmbar_natural", shared_data)[:16]


def _req(sample: Sample, mode: str = "pair", reference: bool = False, template: str = "judgelm") -> JudgeRequest:
    return JudgeRequest(key=f"{sample.id}|x", sample=sample, prompt="", template=template, mode=mode,
                        n_answers=max(2, len(sample.answers)), reference_used=reference)


def test_shipped_weights_judge_real_rows(engine, pandalm_rows, llmbar_rows):
    rows = pandalm_rows + llmbar_rows
    outs = engine.judge_batch([_req(s) for s in rows])
    assert len(outs) == len(rows)
    for s, o in zip(rows, outs):
        assert o.error is None
        assert len(o.scores) == 2 and all(1.0 <= x <= 10.0 for x in o.scores)
        assert 0.0 <= o.confidence <= 1.0
        parsed = parse_judgelm(o.text, n_answers=2)
        assert parsed.ok and parsed.scores == o.scores
        assert parsed.verdict == verdict_from_scores(o.scores)
    # not a constant judge: both answer positions win somewhere on real rows
    verdicts = {verdict_from_scores(o.scores) for o in outs}
    assert {1, 2} <= verdicts


def test_swap_invariance(engine, pandalm_rows, llmbar_rows):
    rows = pandalm_rows + llmbar_rows
    fwd = engine.judge_batch([_req(s) for s in rows])
    rev = engine.judge_batch([_req(s.reordered([1, 0])) for s in rows])
    for a, b in zip(fwd, rev):
        assert a.scores == list(reversed(b.scores))
        assert a.confidence == pytest.approx(b.confidence, abs=1e-5)


def test_identical_answers_are_a_tie(engine, pandalm_rows):
    s = pandalm_rows[0]
    same = s.model_copy(update={"answers": [s.answers[0], s.answers[0]]})
    out = engine.judge_batch([_req(same)])[0]
    assert verdict_from_scores(out.scores) == 0 and out.scores[0] == out.scores[1]


def test_n_answers_multiturn_reference_single(engine, llmbar_rows):
    s = llmbar_rows[0]
    three = s.model_copy(update={"answers": s.answers + [Answer(text="I don't know.")]})
    multi = s.model_copy(update={"history": [Turn(role="user", content="Hi, I need help with a task."),
                                             Turn(role="assistant", content="Sure, what is it?")]})
    with_ref = s.model_copy(update={"reference": s.answers[0].text})
    single = s.model_copy(update={"answers": [s.answers[1]], "reference": s.answers[0].text})
    outs = engine.judge_batch([_req(three), _req(multi), _req(with_ref, reference=True), _req(single, mode="single", reference=True)])
    assert len(outs[0].scores) == 3 and parse_judgelm(outs[0].text, n_answers=3).ok
    # a one-line non-answer should not beat the real answers
    assert outs[0].scores[2] < max(outs[0].scores[:2])
    assert len(outs[1].scores) == 2 and 0 <= outs[1].confidence <= 1
    assert len(outs[2].scores) == 2 and 0 <= outs[2].confidence <= 1
    assert len(outs[3].scores) == 1 and 1 <= outs[3].scores[0] <= 10
    assert parse_judgelm(outs[3].text, n_answers=2, pinned_first=10).ok


def test_pandalm_template_text(engine, pandalm_rows):
    from judgelm.prompts.parsing import parse_pandalm

    out = engine.judge_batch([_req(pandalm_rows[1], template="pandalm")])[0]
    parsed = parse_pandalm(out.text)
    assert parsed.ok and parsed.verdict == verdict_from_scores(out.scores)


def test_identical_answers_tie_among_n(engine, llmbar_rows):
    s = llmbar_rows[1]
    same3 = s.model_copy(update={"answers": [s.answers[0]] * 3})
    out = engine.judge_batch([_req(same3)])[0]
    assert len(set(out.scores)) == 1 and verdict_from_scores(out.scores) == 0


def test_forced_choice_leaves_no_ties_on_distinct_answers(engine, pandalm_rows, llmbar_rows):
    rows = pandalm_rows + llmbar_rows
    forced = load_engine("mini", ties=False)
    try:
        with_ties = engine.judge_batch([_req(s) for s in rows])
        outs = forced.judge_batch([_req(s) for s in rows])
        for a, b in zip(with_ties, outs):
            va, vb = verdict_from_scores(a.scores), verdict_from_scores(b.scores)
            assert vb in (1, 2)
            if va != 0:  # forced choice only changes the tie verdicts
                assert vb == va and b.confidence == pytest.approx(a.confidence)
        # identical answers stay a tie: there is nothing to choose between
        s = pandalm_rows[0]
        same = s.model_copy(update={"answers": [s.answers[0], s.answers[0]]})
        assert verdict_from_scores(forced.judge_batch([_req(same)])[0].scores) == 0
        assert forced.generation_settings() != engine.generation_settings()  # separate cache entries
    finally:
        forced.close()


def test_no_ties_flag_needs_the_builtin_judge(tmp_path, shared_data):

    from support import run_cli

    res = run_cli("judge", str(shared_data / "llmbar/LLMBar/Natural/dataset.json"), "-o",
                                   str(tmp_path / "o.jsonl"), "--judge", "openai:gpt-4o", "--no-ties", "--limit", "1")
    assert res.exit_code == 1 and "--no-ties needs a built-in judge (mini, lm)" in res.output
