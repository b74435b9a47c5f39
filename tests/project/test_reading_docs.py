"""The reading judge's figures in the README and its model card are the benchmark files' (never typed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_lm", REPO / "benchmarks" / "bench_lm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_figure_blocks_match_the_result_files() -> None:
    bench = _bench()
    block = bench.tables(REPO / "benchmarks/results/lm-eval.json", REPO / "benchmarks/results/lm-speed.json")
    card = (REPO / "src/judgelm/assets/lm/MODEL_CARD.md").read_text(encoding="utf-8")
    assert block in card and block in (REPO / "README.md").read_text(encoding="utf-8")
    assert bench.selection_table(REPO / "src/judgelm/assets/lm") in card
    assert bench.bases_table(REPO / "benchmarks/results/lm-bases.json") in card
