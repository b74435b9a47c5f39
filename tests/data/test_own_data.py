"""A user's own data, in the one sample shape, at every entry point (issue 27).

A CSV of real LLMBar pairs with the columns a user would pick (question, answer_a, answer_b,
label) is judged, evaluated and uploaded to a real server on loopback without `convert`; the
minimal JSONL row ``{"question": …, "answers": ["4", "5"]}`` is read by the file readers, the
Python API, ``/v1/judge`` and ``/v1/jobs`` alike, with ids ``<stem>:<line>`` stable across runs.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import httpx
import pytest
from support import REPO, Server, run_cli

from judgelm.data import read_samples

MAP = "question=question,answers=answer_a|answer_b,gold=label"
N = 12


def _llmbar_rows(shared_data: Path, n: int = N) -> list[dict]:
    rows = json.loads((shared_data / "llmbar" / "LLMBar" / "Natural" / "dataset.json").read_text(encoding="utf-8"))
    return [{"question": r["input"], "answer_a": r["output_1"], "answer_b": r["output_2"],
             "label": "A" if r["label"] == 1 else "B"} for r in rows[:n]]


def _write_csv(path: Path, rows: list[dict], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture()
def my_csv(shared_data: Path, tmp_path: Path) -> Path:
    return _write_csv(tmp_path / "mine.csv", _llmbar_rows(shared_data))


def test_csv_tsv_parquet_json_read_alike_with_a_map(shared_data: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _llmbar_rows(shared_data)
    csv_path = _write_csv(tmp_path / "mine.csv", rows)
    tsv_path = _write_csv(tmp_path / "mine.tsv", rows, delimiter="\t")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "mine.parquet")
    (tmp_path / "mine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    read = {p: list(read_samples(tmp_path / p, mapping=MAP)) for p in ("mine.csv", "mine.tsv", "mine.parquet", "mine.jsonl")}
    for samples in read.values():
        assert [s.question for s in samples] == [r["question"] for r in rows]
        assert [s.gold.verdict for s in samples] == [1 if r["label"] == "A" else 2 for r in rows]
    assert read["mine.csv"][0].id == "mine:2"  # CSV: line 1 is the header
    assert read["mine.parquet"][0].id == "mine:0"  # Parquet: 0-based row index
    again = [s.id for s in read_samples(csv_path, mapping=MAP)]
    assert again == [s.id for s in read["mine.csv"]]  # derived ids are stable across runs
    assert [s.id for s in read_samples(tsv_path, mapping=MAP)] == [s.id for s in read["mine.csv"]]


def test_minimal_jsonl_rows_are_samples(tmp_path: Path) -> None:
    path = tmp_path / "arith.jsonl"
    path.write_text('{"question": "2+2?", "answers": ["4", "5"]}\n\n'
                    '{"question": "3+3?", "answers": [{"text": "6", "model": "m"}, "7"], "id": "x"}\n', encoding="utf-8")
    samples = list(read_samples(path))
    assert [s.id for s in samples] == ["arith:1", "x"]
    assert [a.text for a in samples[0].answers] == ["4", "5"] and samples[1].answers[0].model == "m"


def test_no_format_error_suggests_the_map(my_csv: Path, tmp_path: Path) -> None:
    res = run_cli("judge", my_csv, "-o", tmp_path / "o.jsonl")
    assert res.exit_code == 2
    assert f"--map '{MAP}'" in res.output and "mine.csv" in res.output


def test_bad_map_is_a_flag_error(my_csv: Path, tmp_path: Path) -> None:
    res = run_cli("judge", my_csv, "-o", tmp_path / "o.jsonl", "--map", "question=question")
    assert res.exit_code == 2 and "answers=COLUMN" in res.output and "--map" in res.output
    # an unquoted map: the shell took `|answer_b,…` for a pipe, one answer column is left
    res = run_cli("judge", my_csv, "-o", tmp_path / "o.jsonl", "--map", "question=question,answers=answer_a")
    assert res.exit_code == 1 and "needs a reference answer" in res.output and "in quotes" in res.output


def test_judge_then_eval_my_csv_without_convert(my_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "judged.jsonl"
    res = run_cli("judge", my_csv, "--map", MAP, "-o", out, "--no-progress")
    assert res.exit_code == 0, res.output
    judged = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [s.id for s in read_samples(my_csv, mapping=MAP)]
    assert [j["sample_id"] for j in judged] == ids and ids[0] == "mine:2"  # <stem>:<line> (multi-line cells skip lines)
    res = run_cli("eval", "--gold", my_csv, "--map", MAP, "--pred", out, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{"):])
    assert summary["n"] == N and summary["missing"] == 0
    gold = [s.gold.verdict for s in read_samples(my_csv, mapping=MAP)]
    assert summary["agreement"] == pytest.approx(sum(j["verdict"] == g for j, g in zip(judged, gold)) / N)
    # cascade reads the same file through the same map (both stages recorded here: no second judge needed)
    res = run_cli("cascade", my_csv, "--map", MAP, "--stage1-predictions", out, "--stage2-predictions", out,
                  "--budget-share", "0.5", "-o", tmp_path / "cascade")
    assert res.exit_code == 0, res.output
    merged = [json.loads(line) for line in (tmp_path / "cascade" / "merged.jsonl").read_text().splitlines()]
    assert sorted(m["sample_id"] for m in merged) == sorted(ids)


def test_python_api_takes_the_same_row(my_csv: Path, tmp_path: Path) -> None:
    import judgelm

    with judgelm.Judge("mini") as judge:
        j = judge.judge({"question": "What is 2+2?", "answers": ["4", "5"]})
        first, swapped = judge.judge({"question": "What is 2+2?", "answers": ["4", "5"]}, swap=True)
        summary = judge.run(my_csv, tmp_path / "lib.jsonl", mapping=MAP)
    assert isinstance(j, judgelm.Judgement) and j.sample_id == "0" and j.verdict in (0, 1, 2)
    assert first.order == [0, 1] and swapped.order == [1, 0]
    assert [x.sample_id for x in summary.judgements] == [s.id for s in read_samples(my_csv, mapping=MAP)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("own-data")
    srv = Server(["--no-ui", "--judge", "mini"], log_path=tmp / "server.log", env={"PYTHONPATH": str(REPO / "src")})
    yield srv
    srv.stop()


def _results(srv: Server, job: dict, timeout_s: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = httpx.get(f"{srv.url}/v1/jobs/{job['id']}").json()
        if state["status"] not in ("queued", "running"):
            break
        time.sleep(0.3)
    assert state["status"] == "done", (state, srv.log())
    return [json.loads(line) for line in httpx.get(f"{srv.url}/v1/jobs/{job['id']}/results").text.splitlines()]


def test_serve_prints_its_url(server: Server) -> None:
    assert f"serving mini at {server.url}" in server.log()


def test_server_takes_the_same_shapes(server: Server, my_csv: Path) -> None:
    row = {"question": "What is 2+2?", "answers": ["4", "5"]}
    r = httpx.post(server.url + "/v1/judge", json=row, timeout=60)
    assert r.status_code == 200, r.text
    r = httpx.post(server.url + "/v1/judge", json={"sample": row}, timeout=60)  # the canonical form, no id
    assert r.status_code == 200, r.text

    # a raw CSV body with a map: ids from the job's name, as the same file gets on the command line
    r = httpx.post(server.url + "/v1/jobs", params={"map": MAP, "name": "mine.csv"}, content=my_csv.read_bytes(),
                   headers={"content-type": "text/csv"}, timeout=60)
    assert r.status_code == 201, r.text
    local = list(read_samples(my_csv, mapping=MAP))
    assert [j["sample_id"] for j in _results(server, r.json())] == [s.id for s in local]

    # a multipart JSONL upload of minimal rows: ids <stem>:<line>
    body = "".join(json.dumps({**row, "question": f"{k}+{k}?"}) + "\n" for k in range(3))
    r = httpx.post(server.url + "/v1/jobs", files={"file": ("arith.jsonl", body)}, timeout=60)
    assert r.status_code == 201, r.text
    assert [j["sample_id"] for j in _results(server, r.json())] == ["arith:1", "arith:2", "arith:3"]


def test_upload_errors_name_query_parameters(server: Server, my_csv: Path) -> None:
    r = httpx.post(server.url + "/v1/jobs", content=my_csv.read_bytes(), headers={"content-type": "text/csv"}, timeout=60)
    assert r.status_code == 422
    text = r.text
    assert "map=" in text and "--map" not in text and "--format" not in text


def test_api_explanation_of_both_orders_speaks_in_the_original_order(server: Server, shared_data: Path) -> None:
    sample = next(iter(read_samples(shared_data / "pandalm" / "testset-v1.json", limit=1)))
    body = {"sample": sample.model_dump(mode="json"), "both_orders": True, "fast": False}
    r = httpx.post(server.url + "/v1/judge", json=body, timeout=60)
    assert r.status_code == 200, r.text
    for j in r.json()["judgements"]:
        if j["verdict"] in (1, 2):
            assert j["explanation"].startswith(f"Assistant {j['verdict']} ")


def test_hf_dataset_folder_with_a_map(my_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pairs"
    folder.mkdir()
    my_csv.rename(folder / "mine.csv")
    out = tmp_path / "hf.jsonl"
    res = run_cli("judge", f"hf:{folder}", "--map", MAP, "-o", out, "--no-progress")  # datasets reads the folder
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["sample_id"] for r in rows] == [f"pairs[train]:{i}" for i in range(N)]


def test_parquet_upload_becomes_a_job(server: Server, shared_data: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _llmbar_rows(shared_data, 5)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "mine.parquet")
    r = httpx.post(server.url + "/v1/jobs", params={"map": MAP},
                   files={"file": ("mine.parquet", (tmp_path / "mine.parquet").read_bytes())}, timeout=60)
    assert r.status_code == 201, r.text
    assert [j["sample_id"] for j in _results(server, r.json())] == [f"mine:{i}" for i in range(5)]
