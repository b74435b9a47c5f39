"""Every input a user brings (issue 13): unlabelled files, --skip-bad, precise file-level errors.

All bad files are made in tmp_path from the real data in ../shared/data.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest
from support import run_cli

from judgelm.data import DataError, load_samples, read_samples

ANNOTATORS = ("annotator1", "annotator2", "annotator3")


def _pandalm_rows(shared_data: Path) -> list[dict]:
    return json.loads((shared_data / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))


def _unlabelled_pandalm(shared_data: Path, tmp_path: Path) -> Path:
    """PandaLM's test set as PandaLM's own inference input: no annotator fields."""
    rows = [{k: v for k, v in r.items() if k not in ANNOTATORS} for r in _pandalm_rows(shared_data)]
    path = tmp_path / "pandalm-unlabelled.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _pandalm_jsonl(shared_data: Path, tmp_path: Path, n: int, name: str = "pairs.jsonl") -> tuple[Path, list[bytes]]:
    lines = [json.dumps({k: v for k, v in r.items() if k not in ANNOTATORS}).encode() for r in _pandalm_rows(shared_data)[:n]]
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


# -- 1. labels are optional ---------------------------------------------------------------


def test_unlabelled_pandalm_reads_like_the_labelled_set(shared_data: Path, tmp_path: Path) -> None:
    labelled = load_samples(shared_data / "pandalm" / "testset-v1.json")
    unlabelled_path = _unlabelled_pandalm(shared_data, tmp_path)
    for fmt in (None, "pandalm"):  # detected without --format, and read with it
        unlabelled = load_samples(unlabelled_path, fmt)
        assert len(unlabelled) == len(labelled) == 999
        assert all(s.gold is None for s in unlabelled)
        for a, b in zip(labelled, unlabelled):
            assert (a.id, a.question, a.input, a.answers) == (b.id, b.question, b.input, b.answers)
    # without idx (a JSONL of instruction/input/response1/response2 only): ids are the line numbers
    path = tmp_path / "bare.jsonl"
    path.write_text("".join(json.dumps({k: r[k] for k in ("instruction", "input", "response1", "response2")}) + "\n"
                            for r in _pandalm_rows(shared_data)[:3]), encoding="utf-8")
    assert [s.id for s in load_samples(path)] == ["1", "2", "3"]
    # some annotators but not all is still an error, naming the field
    rows = _pandalm_rows(shared_data)[:2]
    del rows[1]["annotator3"]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(DataError, match=r"element 1: field 'annotator3': missing"):
        load_samples(path)


def _strip(rows: list[dict], fields: tuple[str, ...]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in fields} for r in rows]


@pytest.mark.parametrize("fmt, relpath, fields, n", [
    ("llmbar", "llmbar/LLMBar/Natural/dataset.json", ("label",), 20),
    ("alpaca_eval", "alpaca_eval_gpt4/results/Yi-34B-Chat/alpaca_eval_gpt4/annotations.json",
     ("preference", "annotator", "price_per_example", "time_per_example", "raw_completion"), 20),
    ("autoj", "autoj/single_traindata.jsonl", ("target_output", "pred_score"), 20),
    ("arena_bench", "arena_bench_v1/model_judgment/Llama-2-70b-chat.jsonl", ("judgment", "score"), 20),
    ("prometheus", "prometheus/vicuna_eval.json", ("gpt4_score", "gpt4_feedback"), 20),
])
def test_unlabelled_rows_of_every_reader(shared_data: Path, tmp_path: Path, fmt: str, relpath: str,
                                         fields: tuple[str, ...], n: int) -> None:
    src = shared_data / relpath
    labelled = load_samples(src, limit=n)
    assert all(s.gold is not None for s in labelled)
    if src.suffix == ".jsonl":
        rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()[:n]]
        out = tmp_path / "unlabelled.jsonl"
        out.write_text("".join(json.dumps(r) + "\n" for r in _strip(rows, fields)), encoding="utf-8")
    else:
        rows = json.loads(src.read_text(encoding="utf-8"))[:n]
        out = tmp_path / src.name
        if fmt == "llmbar":  # ids name the subset folder
            out = tmp_path / "LLMBar" / "Natural" / "dataset.json"
            out.parent.mkdir(parents=True)
        out.write_text(json.dumps(_strip(rows, fields)), encoding="utf-8")
    stream = read_samples(out)  # detected from the unlabelled layout
    unlabelled = list(stream)
    assert dict(stream.report.formats) == {fmt: 1}
    assert len(unlabelled) == n and all(s.gold is None for s in unlabelled)
    for a, b in zip(labelled, unlabelled):
        assert (a.question, a.reference, [x.text for x in a.answers]) == (b.question, b.reference, [x.text for x in b.answers])
        if fmt != "autoj":  # Auto-J ids hash the critique, which an unlabelled row does not have
            assert a.id == b.id


def test_eval_says_when_gold_is_missing(shared_data: Path, tmp_path: Path) -> None:
    unlabelled = _unlabelled_pandalm(shared_data, tmp_path)
    res = run_cli("eval", "--gold", unlabelled, "--pred", shared_data / "pandalm" / "pandalm-7b-testset-v1.json")
    assert res.exit_code == 2
    (line,) = _error_lines(res.output)
    assert str(unlabelled) in line and "no gold verdict" in line and "annotator1..3" in line


def test_unlabelled_pandalm_through_render_judge_and_cascade(shared_data: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole unlabelled test set (999 pairs): prompts identical to the labelled set's, judged, cascaded."""
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    labelled = shared_data / "pandalm" / "testset-v1.json"
    unlabelled = _unlabelled_pandalm(shared_data, tmp_path)
    for template in ("pandalm", "judgelm"):
        outs = []
        for src in (labelled, unlabelled):
            out = tmp_path / f"{template}-{src.stem}.jsonl"
            res = run_cli("render", src, "--template", template, "-o", out)
            assert res.exit_code == 0, res.output
            outs.append(out.read_bytes())
        assert outs[0] == outs[1] and outs[0].count(b"\n") == 999

    judged = tmp_path / "judged.jsonl"
    res = run_cli("judge", unlabelled, "-o", judged, "--judge", "mini", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "judged 999 samples" in res.output and "rejected" not in res.output
    rows = [json.loads(line) for line in judged.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 999 and all(r["status"] == "ok" and r["verdict"] in (0, 1, 2) for r in rows)
    # labelled and unlabelled rows give the same judgements (same batches: the built-in judge's
    # confidences move in the 4th decimal with the batch a request is embedded in)
    keys = ("sample_id", "order", "scores", "verdict", "explanation", "confidence")
    runs = []
    for src in (labelled, unlabelled):
        out = tmp_path / f"first50-{src.stem}.jsonl"
        res = run_cli("judge", src, "-o", out, "--judge", "mini", "--no-progress", "--no-cache", "--limit", "50")
        assert res.exit_code == 0, res.output
        runs.append([[json.loads(line)[k] for k in keys] for line in out.read_text(encoding="utf-8").splitlines()])
    assert len(runs[0]) == 50 and runs[0] == runs[1]

    out = tmp_path / "cascade"
    # stage 1 = the judgements just made (recorded: no second judging of the 999 pairs)
    res = run_cli("cascade", unlabelled, "-o", out, "--stage1-predictions", judged, "--no-swap",
                  "--stage2-predictions", shared_data / "pandalm" / "gpt-3.5-turbo-testset-v1.json", "--budget", "0.2")
    assert res.exit_code == 0, res.output
    merged = [json.loads(line) for line in (out / "merged.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({m["sample_id"] for m in merged}) == 999
    stages = [m["metadata"]["stage"] for m in merged]
    assert stages.count(2) == 200 and "agreement on" not in res.output  # no gold: no agreement claimed


# -- 3. file-level errors ------------------------------------------------------------------


def _bad_files(shared_data: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name → (file made from real rows, what its one error line must say)."""
    _, lines = _pandalm_jsonl(shared_data, tmp_path, 6, "base.jsonl")
    rows = [json.loads(x) for x in lines]
    cases: dict[str, tuple[Path, str]] = {}

    def make(name: str, data: bytes, expect: str) -> None:
        p = tmp_path / name
        if p.suffix == "" and not name.endswith("dir"):
            raise AssertionError(name)
        p.write_bytes(data)
        cases[name] = (p, expect)

    make("empty.jsonl", b"", r"empty.jsonl: empty file \(0 bytes\)")
    make("blank.jsonl", b"\n  \n\n", r"blank.jsonl: holds only blank lines")
    make("notjson.jsonl", b"instruction,input,response1\n" + lines[0] + b"\n",
         r"notjson.jsonl:1: broken JSON: .*column 1, near 'instruction,input")
    bad = lines[2].replace(b'"instruction": "', b'"instruction": "caf\xe9 ', 1)
    offset = len(lines[0]) + len(lines[1]) + 2 + bad.index(b"\xe9")
    make("latin1.jsonl", b"\n".join([lines[0], lines[1], bad, *lines[3:]]) + b"\n",
         rf"latin1.jsonl:3: not valid utf-8 text: byte 0xe9 at byte offset {offset} .*--encoding")
    make("utf16.jsonl", "\n".join(x.decode() for x in lines).encode("utf-16"),
         r"utf16.jsonl:1: .*utf-16 byte-order mark; pass --encoding utf-16")
    make("pretty.jsonl", json.dumps(rows[0], indent=2).encode(),
         r"pretty.jsonl:1: broken JSON: .*pretty-printed JSON document, but JSON lines need one whole object per line")
    text = json.dumps(rows, indent=1)
    cut = text.index('"response2"', len(text) // 2)
    broken_line = text[:cut].count("\n") + 1
    make("broken.json", (text[:cut] + text[cut + 1:]).encode(), rf"broken.json:{broken_line}: broken JSON")
    make("two-docs.json", (json.dumps(rows[:2], indent=1) + "\n" + json.dumps(rows[2:], indent=1)).encode(),
         r"two-docs.json:\d+: a second JSON value starts here")
    make("empty-array.json", b"[]", r"empty-array.json: empty JSON array: no rows")
    z = tmp_path / "rows.zip.json"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("rows.jsonl", b"\n".join(lines))
    cases["zip"] = (z, r"rows.zip.json: is a zip archive")
    d = tmp_path / "notes-dir"
    d.mkdir()
    (d / "README.md").write_text("no data here", encoding="utf-8")
    cases["folder"] = (d, r"notes-dir: folder holds no .json/.jsonl/.csv/.tsv files \(it holds README.md\)")
    return cases


def test_file_level_errors_name_cause_and_line_before_any_model_loads(shared_data: Path, tmp_path: Path) -> None:
    """Each broken file: exit 2 and one `Error: file[:line]: cause` line. The judge spec points to a
    checkpoint that does not exist, so an error about the input proves it was read first."""
    import re

    for name, (path, expect) in _bad_files(shared_data, tmp_path).items():
        out = tmp_path / f"{name}.out.jsonl"
        res = run_cli("judge", path, "-o", out, "--judge", f"hf:{tmp_path / 'no-such-checkpoint'}", "--no-progress")
        assert res.exit_code == 2, (name, res.output)
        errors = _error_lines(res.output)
        assert len(errors) == 1 and re.search(expect, errors[0]), (name, res.output)
        assert not out.exists()
        res = run_cli("render", path, "-o", tmp_path / "r.jsonl")  # the same message from every command
        assert res.exit_code == 2 and _error_lines(res.output) == errors, (name, res.output)


def test_layouts_that_are_read_anyway(shared_data: Path, tmp_path: Path) -> None:
    """A JSON array in .jsonl, JSON lines in .json, gzip, a UTF-8 BOM, other encodings (--encoding)."""
    path, lines = _pandalm_jsonl(shared_data, tmp_path, 6)
    rows = [json.loads(x) for x in lines]
    rows[2]["instruction"] = "café " + rows[2]["instruction"]
    expected = [(s.id, s.question, [a.text for a in s.answers]) for s in load_samples(path)]
    expected[2] = (expected[2][0], rows[2]["instruction"], expected[2][2])
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    variants = {
        "array.jsonl": (json.dumps(rows, indent=1).encode(), "utf-8"),
        "lines.json": (text.encode(), "utf-8"),
        "rows.jsonl.gz": (gzip.compress(text.encode()), "utf-8"),
        "bom.jsonl": (b"\xef\xbb\xbf" + text.encode(), "utf-8"),
        "latin1.jsonl": (text.encode("latin-1"), "latin-1"),
        "utf16.jsonl": (text.encode("utf-16"), "utf-16"),
    }
    for name, (data, encoding) in variants.items():
        p = tmp_path / name
        p.write_bytes(data)
        got = [(s.id, s.question, [a.text for a in s.answers]) for s in load_samples(p, encoding=encoding)]
        if name == "array.jsonl":  # ids of a JSON array without idx... the rows keep their idx
            assert [g[0] for g in got] == [e[0] for e in expected]
        assert got == expected, name
    res = run_cli("render", tmp_path / "latin1.jsonl", "--encoding", "latin-1", "-o", tmp_path / "r.jsonl")
    assert res.exit_code == 0 and "café" in (tmp_path / "r.jsonl").read_text(encoding="utf-8")
    res = run_cli("render", tmp_path / "latin1.jsonl", "--encoding", "klingon")
    assert res.exit_code == 2 and "unknown encoding 'klingon'" in res.output
    res = run_cli("convert", tmp_path / "latin1.jsonl", "--encoding", "latin-1", "-o", tmp_path / "c.jsonl")
    assert res.exit_code == 0 and "café" in (tmp_path / "c.jsonl").read_text(encoding="utf-8")
    res = run_cli("convert", tmp_path / "latin1.jsonl", "-o", tmp_path / "c2.jsonl")  # utf-8: named error
    assert res.exit_code == 2 and "latin1.jsonl:3" in res.output and "--encoding" in res.output


# -- 2. --skip-bad ---------------------------------------------------------------------------


def _three_bad_rows(shared_data: Path, tmp_path: Path, n: int = 40) -> Path:
    """PandaLM JSONL (n rows) with a cut-off line (4), bytes that are not UTF-8 (9), a wrong type (15)."""
    path, lines = _pandalm_jsonl(shared_data, tmp_path, n, "three-bad.jsonl")
    lines[3] = lines[3][:60]
    lines[8] = lines[8].replace(b'"input": "', b'"input": "\xff', 1)
    row = json.loads(lines[14])
    row["response2"] = {"text": row["response2"]}
    lines[14] = json.dumps(row).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


BAD = [(4, None, "broken JSON"), (9, None, "not valid utf-8 text"), (15, "response2", "expected a string, got dict")]


def _check_rejected(path: Path) -> None:
    rejected = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["field"]) for r in rejected] == [(line, field) for line, field, _ in BAD]
    assert all(cause in r["reason"] for r, (_, _, cause) in zip(rejected, BAD))
    assert all(r["row"] for r in rejected)  # the row itself (raw text of a broken line), to fix and rerun
    assert isinstance(rejected[2]["row"], dict) and rejected[2]["row"]["idx"] == 14


def test_judge_skip_bad(shared_data: Path, tmp_path: Path) -> None:
    src = _three_bad_rows(shared_data, tmp_path)
    out = tmp_path / "judged.jsonl"
    res = run_cli("judge", src, "-o", out, "--judge", "mini", "--no-progress", "--no-cache")
    assert res.exit_code == 2 and _error_lines(res.output) == [f"Error: {src}:4: {_message(src, 4)}"]
    assert not out.exists() and not Path(str(out) + ".state.sqlite").exists()  # nothing was judged
    res = run_cli("judge", src, "-o", out, "--judge", "mini", "--no-progress", "--no-cache", "--skip-bad")
    assert res.exit_code == 0, res.output
    assert "judged 37 samples" in res.output
    rejected = tmp_path / "judged.rejected.jsonl"
    assert f"rejected 3 bad row(s) -> {rejected}" in res.output
    for line, field, cause in BAD:
        where = f"{src}:{line}: " + (f"field {field!r}: " if field else "")
        assert any(x.strip().startswith(where) and cause in x for x in res.output.splitlines()), res.output
    _check_rejected(rejected)
    judged = {json.loads(x)["sample_id"] for x in out.read_text(encoding="utf-8").splitlines()}
    assert judged == {str(i) for i in range(40)} - {"3", "8", "14"}


def _message(src: Path, line: int) -> str:
    with pytest.raises(DataError) as err:
        load_samples(src)
    assert err.value.line == line
    return err.value.message


def test_render_eval_cascade_skip_bad(shared_data: Path, tmp_path: Path) -> None:
    src = _three_bad_rows(shared_data, tmp_path)
    res = run_cli("render", src, "-t", "pandalm", "--skip-bad", "-o", tmp_path / "prompts.jsonl")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "prompts.jsonl").read_text(encoding="utf-8").count("\n") == 37
    _check_rejected(tmp_path / "prompts.rejected.jsonl")
    res = run_cli("render", src, "--skip-bad")  # to stdout: every bad row named on stderr instead
    assert res.exit_code == 0 and "rejected 3 bad row(s)" in res.output

    # eval: labelled gold with three bad rows
    rows = _pandalm_rows(shared_data)[:40]
    lines = [json.dumps(r).encode() for r in rows]
    lines[3], lines[8] = lines[3][:60], lines[8].replace(b'"input": "', b'"input": "\xff', 1)
    rows[14]["annotator2"] = "two"
    lines[14] = json.dumps(rows[14]).encode()
    gold = tmp_path / "gold.jsonl"
    gold.write_bytes(b"\n".join(lines) + b"\n")
    pred = shared_data / "pandalm" / "pandalm-7b-testset-v1.json"
    res = run_cli("eval", "--gold", gold, "--pred", pred, "--json")
    assert res.exit_code == 2 and _error_lines(res.output)[0].startswith(f"Error: {gold}:4: broken JSON")
    res = run_cli("eval", "--gold", gold, "--pred", pred, "--json", "--skip-bad", "--report", tmp_path / "report")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{"):res.stdout.rindex("}") + 1])
    assert summary["n"] == 37 and summary["gold_rejected"] == 3
    assert (tmp_path / "report" / "input.rejected.jsonl").read_text(encoding="utf-8").count("\n") == 3

    out = tmp_path / "cascade"
    res = run_cli("cascade", src, "-o", out, "--stage1", "mini", "--no-swap", "--no-cache", "--skip-bad",
                  "--stage2-predictions", shared_data / "pandalm" / "gpt-3.5-turbo-testset-v1.json", "--budget", "0.25")
    assert res.exit_code == 0, res.output
    assert (out / "merged.jsonl").read_text(encoding="utf-8").count("\n") == 37
    _check_rejected(out / "input.rejected.jsonl")
    assert f"rejected 3 bad row(s) -> {out / 'input.rejected.jsonl'}" in res.output


def _alpaca_with_bad_rows(shared_data: Path, tmp_path: Path, n: int = 60) -> Path:
    src = shared_data / "alpaca_eval_gpt4" / "results" / "Yi-34B-Chat" / "alpaca_eval_gpt4" / "annotations.json"
    rows = json.loads(src.read_text(encoding="utf-8"))[:n]
    rows[5]["preference"] = "first"
    rows[7]["output_2"] = None
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_rank_and_build_skip_bad(shared_data: Path, tmp_path: Path) -> None:
    path = _alpaca_with_bad_rows(shared_data, tmp_path)
    res = run_cli("rank", path, "--from-labels", "-o", tmp_path / "rank", "--n-boot", "20")
    assert res.exit_code == 2 and "element 5: field 'preference'" in _error_lines(res.output)[0]
    res = run_cli("rank", path, "--from-labels", "-o", tmp_path / "rank", "--n-boot", "20", "--skip-bad")
    assert res.exit_code == 0, res.output
    assert "rejected 2 bad row(s)" in res.output and "element 7: field 'output_2'" in res.output
    rejected = [json.loads(x) for x in (tmp_path / "rank" / "input.rejected.jsonl").read_text().splitlines()]
    assert [(r["element"], r["field"]) for r in rejected] == [(5, "preference"), (7, "output_2")]

    res = run_cli("build", path, "--recorded", "alpaca_eval", "-o", tmp_path / "build")
    assert res.exit_code == 2 and "element 5: field 'preference'" in _error_lines(res.output)[0]
    res = run_cli("build", path, "--recorded", "alpaca_eval", "-o", tmp_path / "build", "--skip-bad")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{"):res.stdout.rindex("}") + 1])
    assert summary["rejected_rows"] == 2
    assert (tmp_path / "build" / "input.rejected.jsonl").read_text().count("\n") == 2


def test_train_skip_bad_reads_the_good_rows(shared_data: Path, tmp_path: Path) -> None:
    """The trainer's reading step (no model is loaded for this): bad rows skipped and written."""
    from judgelm.train.config import load_config
    from judgelm.train.trainer import load_samples as train_samples

    src = _three_bad_rows(shared_data, tmp_path)
    cfg = load_config(None, {"model": "tiny", "data": [str(src)], "output_dir": str(tmp_path / "judge")})
    with pytest.raises(DataError, match=r"three-bad.jsonl:4: broken JSON"):
        train_samples(cfg)
    cfg = load_config(None, {"model": "tiny", "data": [str(src)], "output_dir": str(tmp_path / "judge"),
                             "skip_bad_rows": True})
    samples, counts = train_samples(cfg)
    assert len(samples) == 37 and counts[f"{src}: bad rows skipped"] == 3
    _check_rejected(tmp_path / "judge" / "input.rejected.jsonl")


def test_job_upload_skip_bad(shared_data: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from judgelm.engines import load_engine
    from judgelm.serve.app import create_app
    from judgelm.serve.settings import ServeSettings

    data = _three_bad_rows(shared_data, tmp_path).read_bytes()
    engine = load_engine("mini")
    app = create_app(engine, ServeSettings(jobs_db=tmp_path / "jobs.sqlite", ui=False))
    try:
        with TestClient(app) as client:
            res = client.post("/v1/jobs", content=data)
            assert res.status_code == 422 and "request body" in res.json()["error"]["message"]
            res = client.post("/v1/jobs?skip_bad=true", content=data)
            assert res.status_code == 201, res.text
            job = res.json()
            assert job["total"] == 37
            assert [r.split(": ", 1)[0] for r in job["rejected"]] == ["request body:4", "request body:9",
                                                                    "request body:15"]
    finally:
        engine.close()


def test_prompts_are_checked_before_the_judge_loads(examples_dir: Path, tmp_path: Path) -> None:
    """A sample that does not fit the template (no reference to show) fails before the missing checkpoint."""
    res = run_cli("judge", examples_dir / "pairs.jsonl", "-o", tmp_path / "o.jsonl", "--template", "pandalm",
                  "--reference", "--judge", f"hf:{tmp_path / 'no-such-checkpoint'}")
    (line,) = _error_lines(res.output)
    assert res.exit_code == 1 and "reference" in line and "no-such-checkpoint" not in line


def test_eval_prediction_file_errors(shared_data: Path, tmp_path: Path) -> None:
    gold = shared_data / "pandalm" / "testset-v1.json"
    recorded = shared_data / "pandalm" / "pandalm-7b-testset-v1.json"
    folder = tmp_path / "preds"
    folder.mkdir()
    res = run_cli("eval", "--gold", gold, "--pred", folder)
    assert res.exit_code == 2 and _error_lines(res.output) == [f"Error: {folder}: is a folder: give the predictions file"]
    rows = json.loads(recorded.read_text(encoding="utf-8"))
    rows[1]["pandalm_reason"] = "MARKER vu " + rows[1]["pandalm_reason"]
    latin = tmp_path / "preds.json"  # ASCII JSON with one latin-1 word
    latin.write_bytes(json.dumps(rows, indent=1).encode().replace(b"MARKER", "déjà".encode("latin-1")))
    res = run_cli("eval", "--gold", gold, "--pred", latin, "--json")
    (line,) = _error_lines(res.output)
    assert res.exit_code == 2 and line.startswith(f"Error: {latin}:") and "byte 0xe9" in line
    res = run_cli("eval", "--gold", gold, "--pred", latin, "--json", "--encoding", "latin-1", "--bootstrap", "50")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout[res.stdout.index("{"):res.stdout.rindex("}") + 1])["n"] == 999


def test_train_cli_reads_data_before_building_a_model(examples_dir: Path, tmp_path: Path) -> None:
    lines = (examples_dir / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    lines.insert(2, lines[2][:70])
    src = tmp_path / "train.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "judge"
    res = run_cli("train", "--model", "tiny", "--data", src, "-o", out)
    assert res.exit_code == 2 and _error_lines(res.output)[0].startswith(f"Error: {src}:3: broken JSON")
    assert not out.exists()  # no tiny base model was built: the data failed first
    # --skip-bad reaches the config: the bad row is written, the good ones go on (these six
    # example pairs carry no teacher scores, so training itself then stops, naming that)
    res = run_cli("train", "--model", "tiny", "--data", src, "-o", out, "--skip-bad", "--max-steps", "1")
    assert "no usable training example" in res.output
    rejected = [json.loads(x) for x in (out / "input.rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["reason"][:11]) for r in rejected] == [(3, "broken JSON")]
