"""Column mappings over JSON/JSONL/CSV, and Hugging Face datasets loaded by `datasets` from local files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from judgelm.data import load_samples, parse_mapping, read_samples
from judgelm.data.mapping import parse_verdict


def test_parse_mapping() -> None:
    m = parse_mapping("question=prompt, answers=resp_a|resp_b ,gold=winner,metadata=src|lang")
    assert m == {"question": "prompt", "answers": ["resp_a", "resp_b"], "gold": "winner", "metadata": ["src", "lang"]}
    with pytest.raises(ValueError, match="needs answers"):
        parse_mapping("question=q")
    with pytest.raises(ValueError, match="unknown mapping target 'anwsers'"):
        parse_mapping("question=q,anwsers=a|b")
    with pytest.raises(ValueError, match="one column per answer"):
        parse_mapping("question=q,answers=a|b,models=m")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), ("2", 2), (0, 0), ("tie", 0), ("Tie (bothbad)", 0), ("A", 1), ("b", 2), ("model_a", 1),
     ("model_b", 2), ("response 2", 2), ("output_1", 1), ("", None), (None, None), (2.0, 2)],
)
def test_verdict_spellings(value: object, expected: int | None) -> None:
    assert parse_verdict(value, 2) == expected


@pytest.mark.parametrize("value", ["C", 3, 1.5, "maybe", True])
def test_verdict_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_verdict(value, 2)


def test_mapping_over_real_llmbar_csv(shared_data: Path, tmp_path: Path) -> None:
    """LLMBar rows rewritten as CSV with other column names read back to the same samples."""
    rows = json.loads((shared_data / "llmbar" / "LLMBar" / "Natural" / "dataset.json").read_text(encoding="utf-8"))
    path = tmp_path / "natural.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["uid", "prompt", "resp_a", "resp_b", "winner"])
        for i, r in enumerate(rows):
            writer.writerow([f"n{i}", r["input"], r["output_1"], r["output_2"], "A" if r["label"] == 1 else "B"])
    mapped = load_samples(path, mapping="id=uid,question=prompt,answers=resp_a|resp_b,gold=winner")
    native = load_samples(shared_data / "llmbar" / "LLMBar" / "Natural" / "dataset.json")
    assert len(mapped) == 100
    assert [s.gold.verdict for s in mapped] == [s.gold.verdict for s in native]
    assert [s.question for s in mapped] == [s.question for s in native]
    assert [[a.text for a in s.answers] for s in mapped] == [[a.text for a in s.answers] for s in native]
    assert mapped[0].id == "n0" and mapped[0].gold.source == "mapped"


def test_mapping_scores_index_nested(shared_data: Path, tmp_path: Path) -> None:
    rows = json.loads((shared_data / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))[:4]
    data = [{"task": {"text": r["instruction"], "ctx": r["input"]}, "outs": None, "r1": r["response1"],
             "r2": r["response2"], "s1": 7, "s2": 3, "best": 1, "app": r["motivation_app"]} for r in rows]
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    samples = load_samples(path, mapping={"question": "task.text", "input": "task.ctx", "answers": ["r1", "r2"],
                                          "gold_index": "best", "gold_scores": ["s1", "s2"], "metadata": ["app"]})
    assert samples[0].question == rows[0]["instruction"] and samples[0].input == rows[0]["input"]
    assert samples[0].gold.verdict == 2  # gold_index is 0-based: 1 → answer 2
    assert samples[0].gold.scores == [7.0, 3.0]
    assert samples[0].metadata == {"app": "Grammarly"}
    assert samples[0].id == "nested:0"


def test_hf_local_json_dir(shared_data: Path, tmp_path: Path) -> None:
    """The real datasets.load_dataset path, on a local folder (the hub is unreachable)."""
    pytest.importorskip("datasets")
    folder = tmp_path / "autoj_ds"
    folder.mkdir()
    lines = (shared_data / "autoj" / "single_traindata.jsonl").read_text(encoding="utf-8").splitlines()[:5]
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    stream = read_samples(f"hf:{folder}", cache_dir=str(tmp_path / "cache"))
    samples = list(stream)
    assert stream.report.formats == {"autoj": 1}
    native = load_samples(shared_data / "autoj" / "single_traindata.jsonl", limit=5)
    assert samples == native


def test_hf_packaged_builder_with_split_and_mapping(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    rows = json.loads((shared_data / "llmbar" / "Processed" / "FairEval" / "dataset.json").read_text(encoding="utf-8"))
    path = tmp_path / "fair.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    samples = load_samples("hf:json", data_files={"test": str(path)}, split="test",
                           mapping="question=input,answers=output_1|output_2,gold=label",
                           cache_dir=str(tmp_path / "cache"))
    assert len(samples) == 66 and samples[0].question == "How can I improve my time management skills?"
    assert [s.gold.verdict for s in samples] == [r["label"] for r in rows]
    assert samples[0].id == "hf:json[test]:0"  # no id column: dataset, split and row index


def test_hf_unreachable_is_a_data_error(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    from judgelm.data import DataError

    with pytest.raises(DataError, match="hf:nobody/no-such-dataset: cannot load"):
        load_samples("nobody/no-such-dataset", cache_dir=str(tmp_path / "cache"))


def test_url_source_from_local_server(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real HTTP server on 127.0.0.1 serving the LLMBar folder; downloaded once, then cached."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from judgelm.data import DataError

    monkeypatch.setenv("JUDGELM_CACHE", str(tmp_path / "cache"))
    hits: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            hits.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(shared_data / "llmbar")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/LLMBar/Natural/dataset.json"
        samples = load_samples(url)
        assert len(samples) == 100 and samples[0].id == "LLMBar/Natural/0"
        assert samples == load_samples(shared_data / "llmbar" / "LLMBar" / "Natural" / "dataset.json")
        load_samples(url, limit=1)  # second read comes from the cache
        assert len([h for h in hits if "dataset.json" in h]) == 1
        with pytest.raises(DataError, match="cannot download"):
            load_samples(url.replace("dataset.json", "missing.json"))
    finally:
        server.shutdown()
        server.server_close()
