"""``--workers 2``: a run sharded over two local Ray CPU workers (one tiny-Llama replica each)
resumes a single-process run into the same output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgelm.data import read_samples
from judgelm.engines import load_engine
from judgelm.judging.runner import run_judge
from judgelm.judging.scaleout import RayBackend
from judgelm.judging.settings import JudgeSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.jsonl"


@pytest.mark.slow
def test_two_ray_workers_finish_a_partial_run(tiny_llama, tmp_path, monkeypatch) -> None:
    pytest.importorskip("ray")
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    samples = list(read_samples(EXAMPLES))
    spec, options = f"hf:{tiny_llama}", {"dtype": "float32", "device": "cpu"}
    out = tmp_path / "judged.jsonl"

    with load_engine(spec, **options) as engine:  # half the run in-process ...
        local = run_judge(samples, engine, out, JudgeSettings(both_orders=True), limit=3, cache=False)
    assert local.judged == 6

    # ... the rest on two Ray workers, into the same output and state
    backend = RayBackend(spec, options, workers=2)  # the spec resolved here, at the edge, as judgelm judge does
    try:
        sharded = run_judge(samples, backend, out, JudgeSettings(both_orders=True), cache=False)
    finally:
        backend.close()
    assert (sharded.resumed, sharded.judged, sharded.requests, sharded.errors) == (6, 6, 12, 0)
    assert sharded.judge == spec

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["sample_id"], r["order"]) for r in rows] == [(s.id, o) for s in samples for o in ([0, 1], [1, 0])]
    assert all(r["status"] in ("ok", "unparsed") and r["raw"] for r in rows)

    import ray

    assert not ray.is_initialized()  # the run shut down the Ray it started
