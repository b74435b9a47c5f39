"""docs/rubrics.md quotes the measured figures: its block equals the table written from the results file."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_docs_figure_block_is_written_from_the_results_file() -> None:
    spec = importlib.util.spec_from_file_location("bench_rubric", REPO / "benchmarks" / "bench_rubric.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    result = json.loads((REPO / "benchmarks" / "results" / "rubric-prometheus-mini.json").read_text(encoding="utf-8"))
    page = (REPO / "docs" / "rubrics.md").read_text(encoding="utf-8")
    block = re.search(re.escape(bench.START) + r"\n(.*)\n" + re.escape(bench.END), page, re.DOTALL)
    assert block is not None and block.group(1) == bench.figures_table(result)
    assert result["both_files"]["criteria"]["rubric"]["judge"]["n"] == 640
