"""The judging runner: requests per order, mapping back to original order, every mode on a real
tiny Llama through the hf engine, swap, the response cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgelm.data import read_samples
from judgelm.engines.base import EngineOutput
from judgelm.judging.requests import build_requests, to_judgement
from judgelm.judging.runner import judge_samples, run_judge
from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Answer, ParseStatus, Sample, Turn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.jsonl"


@pytest.fixture(scope="module")
def pairs() -> list[Sample]:
    return list(read_samples(EXAMPLES))


@pytest.fixture(scope="module")
def hf_engine(tiny_llama):
    from judgelm.engines import load_engine

    engine = load_engine(f"hf:{tiny_llama}", dtype="float32", device="cpu")
    yield engine
    engine.close()


def _mode_samples(pairs: list[Sample]) -> dict[str, Sample]:
    """One real sample per mode, derived from the bundled example pairs."""
    p0, p1, p2 = pairs[0], pairs[1], pairs[2]
    return {
        "pair": p0,
        "single": p0.model_copy(update={"id": "single-1", "answers": p0.answers[1:]}),
        "multi": p1.model_copy(update={"id": "multi-1", "answers": p1.answers + p2.answers[:1]}),
        "multi-turn": p2.model_copy(update={"id": "turns-1", "history": [
            Turn(role="user", content="I sleep badly."), Turn(role="assistant", content="Sorry to hear that.")]}),
        "vqa": p0.model_copy(update={"id": "vqa-1", "answers": [Answer(text="Canberra")], "reference": "Canberra"}),
    }


# -------------------------------------------------------------------------------- requests


def test_build_requests_orders_keys_and_modes(pairs: list[Sample]) -> None:
    s = _mode_samples(pairs)
    reqs = build_requests(s["pair"], JudgeSettings(both_orders=True))
    assert [r.key for r in reqs] == ["1|0-1", "1|1-0"]
    assert reqs[1].sample.answers == list(reversed(s["pair"].answers))  # presented order
    assert reqs[0].prompt != reqs[1].prompt and reqs[0].n_answers == 2 and reqs[0].mode == "pair"

    single = build_requests(s["single"], JudgeSettings(both_orders=True))  # nothing to swap against an anchor
    assert [(r.key, r.mode, r.n_answers) for r in single] == [("single-1|0", "single", 2)]
    assert single[0].prompt.endswith("### Response:10")

    multi = build_requests(s["multi"], JudgeSettings(both_orders=True))
    assert [(r.key, r.mode, r.n_answers) for r in multi] == [("multi-1|0-1-2", "multi", 3), ("multi-1|2-1-0", "multi", 3)]

    vqa = build_requests(s["vqa"], JudgeSettings(mode="vqa"))
    assert vqa[0].reference_used and vqa[0].prompt.endswith("### Response:10")

    turns = build_requests(s["multi-turn"], JudgeSettings(reference=True))
    assert "I sleep badly." in turns[0].prompt and "[Reference Answer]" in turns[0].prompt

    panda = build_requests(s["pair"], JudgeSettings(template="pandalm"))
    assert panda[0].prompt.endswith("### Evaluation:\n") and panda[0].template == "pandalm"


def test_build_requests_rejects_missing_reference(pairs: list[Sample]) -> None:
    no_ref = pairs[0].model_copy(update={"reference": None})
    with pytest.raises(ValueError, match="reference"):
        build_requests(no_ref, JudgeSettings(reference=True))


# -------------------------------------------------------------------------------- mapping


def test_scores_and_verdict_map_back_to_original_order(pairs: list[Sample]) -> None:
    forward, swapped = build_requests(pairs[0], JudgeSettings(both_orders=True))
    j = to_judgement(swapped, EngineOutput(text="8 3\nAssistant 1 is right.", confidence=0.9, cost_usd=0.01), "t")
    # presented: original answer 2 got 8, original answer 1 got 3
    assert j.order == [1, 0] and j.scores == [3.0, 8.0] and j.verdict == 2 and j.swapped
    # the explanation speaks of the answers by their original numbers (docs/formats.md); raw as the judge wrote
    assert j.status == ParseStatus.OK and j.explanation == "Assistant 2 is right." and j.raw.endswith("Assistant 1 is right.")
    assert j.metadata["explanation_order"] == "original"
    assert j.confidence == 0.9 and j.cost.usd == 0.01 and j.sample_id == "1"
    j = to_judgement(forward, EngineOutput(text="8 3\n"), "t")
    assert j.scores == [8.0, 3.0] and j.verdict == 1 and not j.swapped


def test_pandalm_verdict_maps_back(pairs: list[Sample]) -> None:
    _, swapped = build_requests(pairs[0], JudgeSettings(template="pandalm", both_orders=True))
    j = to_judgement(swapped, EngineOutput(text="1\n\n### Reason: good.\n\n### Reference: Canberra."), "t")
    assert j.verdict == 2 and j.scores is None and j.explanation == "good."
    assert j.metadata["generated_reference"] == "Canberra."
    j = to_judgement(swapped, EngineOutput(text="Tie\n\n### Reason: same."), "t")
    assert j.verdict == 0


def test_single_grade_is_the_second_score(pairs: list[Sample]) -> None:
    (req,) = build_requests(_mode_samples(pairs)["single"])
    j = to_judgement(req, EngineOutput(text=" 7\nDecent."), "t")
    assert j.scores == [7.0] and j.verdict is None and j.status == ParseStatus.OK


def test_multi_and_direct_scores(pairs: list[Sample]) -> None:
    _, rev = build_requests(_mode_samples(pairs)["multi"], JudgeSettings(both_orders=True))
    j = to_judgement(rev, EngineOutput(text="9 5 2\n"), "t")
    assert j.order == [2, 1, 0] and j.scores == [2.0, 5.0, 9.0] and j.verdict == 3
    j = to_judgement(rev, EngineOutput(text="", scores=[1.0, 1.0, 4.0], confidence=0.7), "t")
    assert j.scores == [4.0, 1.0, 1.0] and j.verdict == 1


def test_unparsed_and_error_are_recorded_never_a_tie(pairs: list[Sample]) -> None:
    (req,) = build_requests(pairs[0])
    j = to_judgement(req, EngineOutput(text="I think both are fine"), "t")
    assert j.status == ParseStatus.UNPARSED and j.verdict is None and j.scores is None
    assert j.raw == "I think both are fine" and j.metadata["parse_error"]
    j = to_judgement(req, EngineOutput(text="", error="HTTP 500"), "t")
    assert j.status == ParseStatus.ERROR and j.error == "HTTP 500" and j.verdict is None


# -------------------------------------------------------------------------------- real engine


def test_every_mode_on_the_tiny_llama(pairs: list[Sample], hf_engine) -> None:
    samples = _mode_samples(pairs)
    for name, sample in samples.items():
        mode = "vqa" if name == "vqa" else None
        js = judge_samples([sample], hf_engine,
                           JudgeSettings(mode=mode, both_orders=True, reference=name == "multi-turn"))
        expected_orders = {"pair": 2, "multi": 2, "multi-turn": 2, "single": 1, "vqa": 1}[name]
        assert len(js) == expected_orders, name
        for j in js:
            assert j.sample_id == sample.id and j.judge == hf_engine.name
            assert j.status in (ParseStatus.OK, ParseStatus.UNPARSED)  # a random model: recorded either way
            assert j.raw and j.latency_s > 0 and j.cost.completion_tokens > 0
            assert j.mode == {"multi-turn": "pair"}.get(name, name)
            if j.status == ParseStatus.UNPARSED:
                assert j.verdict is None
        assert sorted(js[0].order) == list(range(len(sample.answers)))
        if expected_orders == 2:
            assert js[1].order == list(reversed(js[0].order))


def test_swap_run_writes_both_orders_and_cache_serves_a_rerun(pairs, hf_engine, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    first = run_judge(pairs, hf_engine, tmp_path / "a.jsonl", JudgeSettings(both_orders=True, max_new_tokens=6))
    assert (first.judged, first.from_cache, first.requests) == (12, 0, 12)
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [(r["sample_id"], r["order"]) for r in rows] == [(s.id, o) for s in pairs for o in ([0, 1], [1, 0])]

    # another output path: every answer comes from the cache, nothing is judged twice
    second = run_judge(pairs, hf_engine, tmp_path / "b.jsonl", JudgeSettings(both_orders=True, max_new_tokens=6))
    assert (second.judged, second.from_cache, second.cost_usd) == (0, 12, 0.0)
    rows_b = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert [r["raw"] for r in rows_b] == [r["raw"] for r in rows]
    assert all(r["metadata"]["cached"] for r in rows_b)

    # different generation settings are a different cache key
    third = run_judge(pairs[:1], hf_engine, tmp_path / "c.jsonl", JudgeSettings(max_new_tokens=5))
    assert (third.judged, third.from_cache) == (1, 0)
    # --no-cache: judged again
    fourth = run_judge(pairs[:1], hf_engine, tmp_path / "d.jsonl", JudgeSettings(max_new_tokens=6), cache=False)
    assert (fourth.judged, fourth.from_cache) == (1, 0)


def test_duplicate_sample_ids_are_refused(pairs, hf_engine, tmp_path) -> None:
    with pytest.raises(ValueError, match="duplicate sample id '1'"):
        run_judge([pairs[0], pairs[0]], hf_engine, tmp_path / "x.jsonl", cache=False)
