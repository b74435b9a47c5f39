"""`judgelm convert` through the real CLI: canonical JSONL out, summary line, skip reports."""

from __future__ import annotations

import json
from pathlib import Path

from support import run_cli

from judgelm.data import load_samples


def test_convert_round_trip(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "pandalm" / "testset-v1.json"
    out = tmp_path / "pandalm.jsonl"
    result = run_cli("convert", str(src), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "read 999 rows, wrote 999 samples, skipped 0" in result.output
    converted = load_samples(out)
    assert converted == load_samples(src)
    # converting the canonical file again is the identity
    again = tmp_path / "again.jsonl"
    result = run_cli("convert", str(out), "-o", str(again), "--format", "canonical")
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == out.read_bytes()


def test_convert_limit_and_options(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "alpaca_eval_gpt4" / "results" / "gpt4" / "alpaca_eval_gpt4" / "annotations.json"
    out = tmp_path / "a.jsonl"
    result = run_cli("convert", str(src), "-o", str(out), "-O", "exclude_datasets=selfinstruct")
    assert result.exit_code == 0, result.output
    assert "wrote 553 samples" in result.output and "dropped 252" in result.output
    result = run_cli("convert", str(src), "-o", str(out), "--limit", "5")
    assert result.exit_code == 0 and len(out.read_text(encoding="utf-8").splitlines()) == 5


def test_convert_skip_bad_and_errors(examples_dir: Path, tmp_path: Path) -> None:
    lines = (examples_dir / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    lines[1] = "{not json"
    src = tmp_path / "pairs.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("convert", str(src), "-o", str(out))
    assert result.exit_code == 2 and f"{src}:2: broken JSON" in result.output
    report = tmp_path / "skipped.jsonl"
    result = run_cli("convert", str(src), "-o", str(out), "--skip-bad", "--skipped-report", str(report))
    assert result.exit_code == 0, result.output
    assert f"skipped {src}:2: broken JSON" in result.output
    assert "read 6 rows, wrote 5 samples, skipped 1" in result.output
    (entry,) = [json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()]
    assert entry["line"] == 2 and entry["file"] == str(src)


def test_convert_with_map(tmp_path: Path) -> None:
    src = tmp_path / "mine.csv"
    src.write_text("prompt,resp_a,resp_b,winner\nWhat is 2+2?,4,5,model_a\nSay hi,hi,hello,tie\n", encoding="utf-8")
    out = tmp_path / "mine.jsonl"
    result = run_cli("convert", str(src), "-o", str(out), "--map",
                                 "question=prompt,answers=resp_a|resp_b,gold=winner")
    assert result.exit_code == 0, result.output
    samples = load_samples(out)
    assert [s.gold.verdict for s in samples] == [1, 0] and samples[0].answers[1].text == "5"
