"""Same input, same verdict: the built-in judges do not depend on how requests are batched.

The whole PandaLM test set (999 pairs) is judged by the built-in judge with the default batch size
and 16, and every third pair (333) with batch sizes 7 and 1 (the slow ones); every verdict and every
score must be identical. The hf engine in fast mode
(score logits read on the tiny real Llama) is held to the same rule on a few samples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from judgelm.data import read_samples
from judgelm.engines import load_engine
from judgelm.judging.runner import judge_samples
from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Judgement, Sample


@pytest.fixture(scope="module")
def pandalm(shared_data: Path) -> list[Sample]:
    return list(read_samples(shared_data / "pandalm" / "testset-v1.json"))


def _outcome(judgements: list[Judgement]) -> list[tuple]:
    return [(j.sample_id, tuple(j.order), j.verdict, tuple(j.scores or ()), j.status) for j in judgements]


def _assert_same(base: list[tuple], other: list[tuple], label: str) -> None:
    diff = [(a, b) for a, b in zip(base, other) if a != b]
    assert len(base) == len(other) and not diff, f"{label}: {len(diff)} judgements differ, e.g. {diff[:3]}"


@pytest.mark.slow(seconds=40)
@pytest.mark.timeout(3600)  # ~1 min on a quiet 2-core AVX-512 machine (bf16), ~3 min on AVX2 (fp32)
def test_builtin_judge_verdicts_do_not_depend_on_batch_size(pandalm: list[Sample], mini_engine) -> None:
    engine = mini_engine
    runs = {b: _outcome(judge_samples(pandalm, engine, batch_size=b, cache=False)) for b in (None, 16)}
    third = pandalm[::3]
    runs.update({b: _outcome(judge_samples(third, engine, batch_size=b, cache=False)) for b in (7, 1)})
    base = runs.pop(None)
    assert len(base) == 999 and {v for _, _, v, _, _ in base} >= {0, 1, 2}
    third_ids = {s.id for s in third}
    base_third = [o for o in base if o[0] in third_ids]
    assert len(base_third) == 333
    for b, run in runs.items():
        _assert_same(base if b == 16 else base_third, run, f"--batch-size {b} vs default")


def test_hf_fast_mode_verdicts_do_not_depend_on_batch_size(pandalm: list[Sample], tiny_llama: Path) -> None:
    engine = load_engine(f"hf:{tiny_llama}")
    rows = pandalm[:12]
    try:
        runs = {b: _outcome(judge_samples(rows, engine, JudgeSettings(both_orders=True), batch_size=b, cache=False))
                for b in (None, 7, 1)}
    finally:
        engine.close()
    base = runs.pop(None)
    assert len(base) == 24
    for b, run in runs.items():
        _assert_same(base, run, f"hf --batch-size {b} vs default")
