"""Malformed input: every error names file, row and field; --skip-bad keeps going and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgelm.data import DataError, load_samples, read_samples
from judgelm.data.errors import Location


def _real_judgelm_rows(examples_dir: Path) -> list[str]:
    return (examples_dir / "pairs.jsonl").read_text(encoding="utf-8").splitlines()


def test_error_text() -> None:
    err = DataError("data/train.jsonl", 12, "answer2_body", "missing")
    assert str(err) == "data/train.jsonl:12: field 'answer2_body': missing"
    assert str(DataError("x.json", 3, None, "broken", unit="element")) == "x.json:element 3: broken"
    assert str(Location("m.json", "v1_0", "key")) == "m.json:key 'v1_0'"
    assert err.to_dict() == {"file": "data/train.jsonl", "line": 12, "field": "answer2_body", "reason": "missing"}


def test_broken_json_line(examples_dir: Path, tmp_path: Path) -> None:
    lines = _real_judgelm_rows(examples_dir)
    lines[2] = lines[2][:-10]  # cut the third row short
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(path)
    assert err.value.file == str(path) and err.value.line == 3
    assert str(err.value).startswith(f"{path}:3: broken JSON")


def test_missing_field(examples_dir: Path, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in _real_judgelm_rows(examples_dir)]
    del rows[4]["answer2_body"]
    path = tmp_path / "missing.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(path)
    assert str(err.value) == f"{path}:5: field 'answer2_body': missing"


def test_wrong_type_in_json_array(shared_data: Path, tmp_path: Path) -> None:
    rows = json.loads((shared_data / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))[:5]
    rows[3]["annotator2"] = "two"
    path = tmp_path / "pandalm.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(path)
    assert (err.value.line, err.value.unit, err.value.field) == (3, "element", "annotator2")
    assert "element 3" in str(err.value) and "'two'" in str(err.value)


def test_wrong_type_score(tmp_path: Path) -> None:
    row = {"question_id": 1, "question_body": "q", "answer1_body": "a", "answer2_body": "b",
           "score": ["eight", 3], "text": "8 3\nok"}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t.jsonl:1: field 'score': expected a number, got 'eight'"):
        load_samples(path)


def test_broken_json_document_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"input": "a", "output_1": "x",\n  "output_2": "y" "label": 1}\n]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(path, "llmbar")
    assert err.value.line == 3 and "broken JSON" in err.value.message


def test_gold_out_of_range_is_a_data_error(shared_data: Path, tmp_path: Path) -> None:
    rows = json.loads((shared_data / "llmbar" / "LLMBar" / "Natural" / "dataset.json").read_text(encoding="utf-8"))[:3]
    rows[1]["label"] = 3
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(DataError, match=r"element 1: field 'label': expected 1 or 2, got 3"):
        load_samples(path)


def test_canonical_validation_error_names_field(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = {"id": "a", "question": "q", "answers": [{"text": "x"}, {"text": "y"}]}
    bad = {"id": "b", "question": "q", "answers": [{"text": "x"}, {"txt": "y"}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(path)
    assert err.value.line == 2 and err.value.field.startswith("answers.1")


def test_skip_bad_reports_every_row(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / "autoj" / "single_traindata.jsonl").read_text(encoding="utf-8").splitlines()[:20]
    broken = {3: lines[3][:50], 7: json.dumps({**json.loads(lines[7]), "pred_score": "high"}),
              12: json.dumps({k: v for k, v in json.loads(lines[12]).items() if k != "usrmsg"})}
    for i, text in broken.items():
        lines[i] = text
    path = tmp_path / "autoj.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as first:
        load_samples(path)
    assert first.value.line == 4  # 0-based list index 3 is line 4
    stream = read_samples(path, skip_bad=True)
    samples = list(stream)
    assert len(samples) == 17
    report = stream.report
    assert (report.rows, report.samples) == (20, 17)
    assert [(e.line, e.field) for e in report.skipped] == [(4, None), (8, "pred_score"), (13, "usrmsg")]
    assert "read 20 rows, 17 samples, skipped 3" in report.summary()


def test_csv_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text('prompt,a,b,winner\n"multi\nline",x,y,A\nq2,x,y,Z\n', encoding="utf-8")
    stream = read_samples(path, mapping="question=prompt,answers=a|b,gold=winner", skip_bad=True)
    samples = list(stream)
    assert len(samples) == 1 and samples[0].question == "multi\nline" and samples[0].gold.verdict == 1
    (err,) = stream.report.skipped
    assert (err.line, err.field) == (4, "winner")  # the quoted newline makes row 2 span lines 2-3


def test_unknown_format_names_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"prompt": "q", "resp": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cannot tell the format.*prompt, resp.*--map"):
        load_samples(path)
    with pytest.raises(DataError, match="no such file"):
        load_samples(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="unknown format"):
        load_samples(path, "nonsense")
    with pytest.raises(ValueError, match="does not take option"):
        load_samples(path, "llmbar", predictions="x")


def test_source_problems_fail_at_call_time(tmp_path: Path) -> None:
    """A missing file or wrong option fails when read_samples is called, not at the first next()."""
    with pytest.raises(DataError, match="no such file"):
        read_samples(tmp_path / "missing.jsonl")
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "q", "answers": [{"text": "t"}]}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="does not take option"):
        read_samples(path, split="train")
