"""Job uploads read exactly what `judgelm judge` reads: the real PandaLM test set (a JSON array) and
AlpacaEval annotations through a real `judgelm serve` on loopback, JSONL, and a column mapping; each
job completes with one judgement per sample."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import httpx
import pytest
from support import Server

ALPACA = "alpaca_eval_gpt4/results/alpaca-7b/alpaca_eval_gpt4/annotations.json"


@pytest.fixture(scope="module")
def server(mini_server: Server) -> Server:
    return mini_server  # `judgelm serve` with the built-in judge, started once per session (tests/conftest.py)


def _finish(srv: Server, job: dict, timeout_s: float = 300.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = httpx.get(f"{srv.url}/v1/jobs/{job['id']}").json()
        if state["status"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    assert state["status"] == "done", (state, srv.log())
    lines = httpx.get(f"{srv.url}/v1/jobs/{job['id']}/results", timeout=60).text.splitlines()
    return [json.loads(line) for line in lines]


def _local(path: Path, **kw) -> list:
    from judgelm.data import read_samples

    return list(read_samples(path, **kw))


def test_pandalm_json_array_body_becomes_a_job_that_completes(server: Server, shared_data: Path) -> None:
    path = shared_data / "pandalm" / "testset-v1.json"
    r = httpx.post(server.url + "/v1/jobs", content=path.read_bytes(), timeout=120)  # a raw body: sniffed as JSON
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["total"] == 999
    results = _finish(server, job)
    expected = [s.id for s in _local(path)]
    assert [j["sample_id"] for j in results] == expected
    assert all(j["status"] == "ok" and j["verdict"] in (0, 1, 2) for j in results)


def test_alpaca_eval_annotations_upload_and_format_name(server: Server, shared_data: Path, tmp_path: Path) -> None:
    # the first 150 of the 805 annotations, byte-for-byte records of the real file (the whole file is
    # read by the same reader in test_data_readers; here the upload path is what is tested)
    rows = json.loads((shared_data / ALPACA).read_text(encoding="utf-8"))[:150]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    expected = _local(path)
    r = httpx.post(server.url + "/v1/jobs?format=alpaca_eval", files={"file": (path.name, path.read_bytes())},
                   timeout=120)
    assert r.status_code == 201, r.text
    results = _finish(server, r.json())
    assert len(results) == len(expected) > 100
    assert [j["sample_id"] for j in results] == [s.id for s in expected]


def test_jsonl_and_column_mapping_uploads(server: Server, shared_data: Path) -> None:
    rows = json.loads((shared_data / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))[:20]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["prompt", "a", "b"])
    for row in rows:
        w.writerow([row["instruction"], str(row["response1"]), str(row["response2"])])
    mapping = "question=prompt,answers=a|b"
    r = httpx.post(server.url + "/v1/jobs", params={"map": mapping}, files={"file": ("pairs.csv", buf.getvalue())})
    assert r.status_code == 201, r.text
    mapped = _finish(server, r.json())
    assert len(mapped) == 20 and all(j["status"] == "ok" for j in mapped)

    jsonl = "\n".join(json.dumps(s.model_dump(mode="json")) for s in _local(shared_data / "pandalm" / "testset-v1.json",
                                                                          limit=5))
    r = httpx.post(server.url + "/v1/jobs", content=jsonl, headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 201, r.text
    assert len(_finish(server, r.json())) == 5


def test_bad_uploads_are_refused_with_the_reason(server: Server) -> None:
    bad_map = httpx.post(server.url + "/v1/jobs", params={"map": "nonsense"}, content='[{"q": 1}]')
    assert bad_map.status_code == 422 and "mapping" in bad_map.text
    broken = httpx.post(server.url + "/v1/jobs", files={"file": ("rows.jsonl", '{"id": "a"}\n{oops\n')})
    assert broken.status_code == 422, broken.text
    message = broken.json()["error"]["message"]
    assert message.startswith("rows.jsonl") and "judgelm-upload-" not in message  # names the upload, not a temp file
