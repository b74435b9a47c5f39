"""The engine benchmark runs end to end on the tiny model and records every figure."""

from __future__ import annotations

import json
from pathlib import Path

from judgelm.engines.bench import format_table, run_benchmark


def test_tiny_benchmark_writes_all_fields(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_benchmark(size="tiny", data=str(shared_data / "pandalm" / "testset-v1.json"), limit=4, ref_limit=2,
                           explained_limit=2, explained_ref_limit=1, score_tokens=4, explained_tokens=3,
                           peak_seconds=0.3, out=str(out))
    saved = json.loads(out.read_text())
    assert saved["data"]["pairs"] == 4 and saved["score_tokens"] == 4
    for run in ("a_reference", "b_fast", "c_explained", "c_explained_per_sample"):
        assert saved[run]["samples_per_s"] > 0 and saved[run]["seconds"] > 0
    assert saved["a_reference"]["samples"] == 2 and saved["b_fast"]["samples"] == 4
    assert saved["matmul_peak_flops"] > 0 and 0 < saved["prefill_share_of_peak"]
    assert saved["speedup_b_over_a"] == result["speedup_b_over_a"] > 0
    assert saved["b_fast"]["prefill_tokens"] <= saved["b_fast"]["padded_prefill_tokens"]
    assert "(b)/(a)" in format_table(result)
