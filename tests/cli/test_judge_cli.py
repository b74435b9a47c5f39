"""``judgelm judge`` end to end in-process: options reach the runner, summary, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from support import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.jsonl"


def test_cli_judges_with_swap_reference_and_limit(tiny_llama, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "j.jsonl"
    args = ["judge", str(EXAMPLES), "-o", str(out), "--judge", f"hf:{tiny_llama}", "--dtype", "float32",
            "--swap", "--reference", "--limit", "4", "--no-progress", "--max-new-tokens", "4"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert "judged 4 samples (8 requests)" in result.output and "engine calls 8, from cache 0" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 8 and all(r["reference_used"] for r in rows)
    assert [r["order"] for r in rows[:2]] == [[0, 1], [1, 0]]

    first_text = out.read_text()
    again = run_cli(*args)  # same command: everything is already in the state
    assert again.exit_code == 0 and "engine calls 0, from cache 0, resumed 8" in again.output
    assert out.read_text() == first_text  # rewritten from the state, byte for byte


def test_cli_errors_are_one_clear_line(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question_id": 1, "question_body": "q"}\n')
    result = run_cli("judge", str(bad), "-o", str(tmp_path / "o.jsonl"), "--judge", "openai:x",
                                 "--api-base", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2 and "Error:" in result.output and str(bad) in result.output  # bad input: 2
    result = run_cli("judge", str(EXAMPLES), "-o", str(tmp_path / "o.jsonl"), "--judge", "openai:x",
                                 "--api-base", "http://127.0.0.1:9/v1", "--template", "pandalm", "--reference")
    assert result.exit_code == 1 and "sample '1'" in result.output and "reference" in result.output
    result = run_cli("judge", str(EXAMPLES), "-o", str(tmp_path / "o.jsonl"), "--judge", "gpt4")
    assert result.exit_code == 2 and "unknown judge spec" in result.output
