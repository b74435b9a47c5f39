"""`judgelm serve` end to end: a real server process with the tiny Llama judge, real HTTP clients."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from support import REPO, Server, canonical_samples

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("serve-api")
    srv = Server(
        ["--judge", f"hf:{tiny_llama}", "--api-key", KEY, "--no-ui", "--jobs-db", str(tmp / "jobs.sqlite"),
         "--max-answers", "4", "--max-body-bytes", "100000", "--max-upload-bytes", "400000",
         "--max-new-tokens", "12", "--max-new-tokens-limit", "64", "--batch-wait-ms", "20"],
        log_path=tmp / "server.log",
    )
    yield srv
    srv.stop()


@pytest.fixture()
def client(server: Server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
        yield c


def test_health_and_metrics_are_public(server: Server) -> None:
    h = httpx.get(server.url + "/healthz")
    assert h.status_code == 200 and h.json()["status"] == "ok" and h.json()["generative"] is True
    m = httpx.get(server.url + "/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    assert "# TYPE judgelm_http_requests_total counter" in m.text
    assert "judgelm_queue_depth " in m.text


def test_api_key_required_and_cors_off(server: Server) -> None:
    body = {"question": "q", "answers": ["a", "b"]}
    assert httpx.post(server.url + "/v1/judge", json=body).status_code == 401
    bad = httpx.post(server.url + "/v1/judge", json=body, headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and "API key" in bad.json()["error"]["message"]
    ok = httpx.post(server.url + "/v1/judge", json=body, headers={"X-API-Key": KEY, "Origin": "http://evil.example"},
                    timeout=60)
    assert ok.status_code == 200
    assert "access-control-allow-origin" not in ok.headers  # CORS is off unless --cors-origin is given


def test_judge_pair_both_orders_with_reference(client: httpx.Client, shared_data: Path) -> None:
    sample = canonical_samples(shared_data, 1)[0]
    sample["reference"] = sample["answers"][0]["text"]
    r = client.post("/v1/judge", json={"sample": sample, "both_orders": True, "use_reference": True})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [j["order"] for j in out["judgements"]] == [[0, 1], [1, 0]]
    assert all(j["reference_used"] for j in out["judgements"])
    assert out["sample_id"] == sample["id"]
    for j in out["judgements"]:  # the tiny random model rarely writes a valid score line: recorded, not a tie
        assert j["status"] in ("ok", "unparsed")
        if j["status"] == "unparsed":
            assert j["verdict"] is None and j["raw"]
        assert j["cost"]["prompt_tokens"] > 100 and j["cost"]["completion_tokens"] >= 1
    assert {"verdict", "scores", "explanation", "confidence", "consistent", "status", "latency_s"} <= set(out)
    assert out["latency_s"] > 0


@pytest.mark.parametrize("body,mode,n_orders", [
    ({"question": "What is 2+2?", "answers": ["4"], "reference": "4", "mode": "single"}, "single", 1),
    ({"question": "Name a colour.", "answers": ["red", "blue", "banana"], "both_orders": True}, "multi", 2),
    ({"question": "And its capital?", "answers": ["Paris", "Lyon"],
      "history": [{"role": "user", "content": "Tell me about France."},
                  {"role": "assistant", "content": "France is a country in Europe."}]}, "pair", 1),
    ({"question": "Is this a cat?", "answers": ["yes, a cat"], "reference": "a cat<AND>sitting", "mode": "vqa"},
     "vqa", 1),
    ({"question": "Sum 1 and 1.", "answers": ["2", "3"], "template": "pandalm"}, "pair", 1),
])
def test_judge_modes(client: httpx.Client, body: dict, mode: str, n_orders: int) -> None:
    r = client.post("/v1/judge", json={**body, "fast": True})
    assert r.status_code == 200, r.text
    js = r.json()["judgements"]
    assert len(js) == n_orders and all(j["mode"] == mode for j in js)
    assert all(j["status"] in ("ok", "unparsed") for j in js)


def test_limits_name_the_limit(client: httpx.Client) -> None:
    r = client.post("/v1/judge", json={"question": "q", "answers": ["a", "b", "c", "d", "e"]})
    assert r.status_code == 422 and "limit of 4" in r.json()["detail"] and "--max-answers" in r.json()["detail"]
    r = client.post("/v1/judge", json={"question": "x" * 200_000, "answers": ["a", "b"]})
    assert r.status_code == 413 and "100000-byte limit" in r.json()["error"]["message"]
    r = client.post("/v1/judge", json={"question": "q", "answers": ["a", "b"], "max_new_tokens": 1000})
    assert r.status_code == 422 and "--max-new-tokens-limit" in r.json()["detail"]
    r = client.post("/v1/judge", json={"question": "q", "answers": ["a", "b"], "path": "/etc/passwd"})
    assert r.status_code == 422  # unknown fields are refused, nothing names a server path


def test_openai_client_chat_and_completions(server: Server) -> None:
    import openai

    oc = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    model = oc.models.list().data[0].id
    chat = oc.chat.completions.create(model=model, messages=[{"role": "user", "content": "Rate: 8 3"}],
                                      max_tokens=5, logprobs=True, top_logprobs=3)
    choice = chat.choices[0]
    assert chat.usage.completion_tokens == len(choice.logprobs.content) <= 5
    assert chat.usage.prompt_tokens > 0
    assert all(len(t.top_logprobs) == 3 and t.logprob <= 0 for t in choice.logprobs.content)
    assert "".join(t.token for t in choice.logprobs.content) == choice.message.content or \
        b"".join(bytes(t.bytes) for t in choice.logprobs.content).decode(errors="replace") == choice.message.content
    comp = oc.completions.create(model=model, prompt="1 2 3", max_tokens=4, logprobs=2)
    assert comp.usage.completion_tokens == len(comp.choices[0].logprobs.tokens)
    assert all(len(t) <= 2 for t in comp.choices[0].logprobs.top_logprobs)
    # greedy decoding is deterministic: the same prompt twice gives the same text
    again = oc.completions.create(model=model, prompt="1 2 3", max_tokens=4)
    assert again.choices[0].text == comp.choices[0].text
    stream = oc.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=3,
                                        stream=True)
    text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
    assert text == oc.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                              max_tokens=3).choices[0].message.content
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url + "/v1", api_key="nope", max_retries=0).models.list()


def test_project_openai_engine_uses_the_served_judge(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from judgelm.engines import load_engine
    from judgelm.judging.runner import judge_samples
    from judgelm.judging.settings import JudgeSettings
    from judgelm.schema import Answer, Sample

    monkeypatch.setenv("JUDGELM_TEST_KEY", KEY)
    engine = load_engine("openai:served", api_base=server.url + "/v1", api_key_env="JUDGELM_TEST_KEY",
                         max_retries=1, concurrency=4)
    samples = [Sample(id=str(i), question=f"What is {i}+{i}?", answers=[Answer(text=str(2 * i)), Answer(text="7")])
               for i in range(3)]
    js = judge_samples(samples, engine, JudgeSettings(fast=True))
    assert len(js) == 3
    assert all(j.status.value in ("ok", "unparsed") and j.error is None for j in js)
    assert all(j.cost.prompt_tokens > 100 for j in js)


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} not finished: {job}")


def test_job_from_jsonl_body_and_upload(client: httpx.Client, shared_data: Path) -> None:
    samples = canonical_samples(shared_data, 7)
    body = "\n".join(json.dumps(s) for s in samples).encode()
    r = client.post("/v1/jobs", content=body, params={"fast": True, "both_orders": True},
                    headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 201, r.text
    job = _wait_job(client, r.json()["id"])
    assert job["status"] == "done" and job["done"] == job["total"] == 7 and job["progress"] == 1.0
    lines = client.get(f"/v1/jobs/{job['id']}/results").text.splitlines()
    rows = [json.loads(x) for x in lines]
    assert len(rows) == 14  # two orders per sample
    assert [r["sample_id"] for r in rows[::2]] == [s["id"] for s in samples]
    # a JudgeLM-format file upload (auto-detected by the project's readers)
    with open(REPO / "examples" / "pairs.jsonl", "rb") as fh:
        r = client.post("/v1/jobs", files={"file": ("pairs.jsonl", fh, "application/jsonl")}, params={"fast": True})
    assert r.status_code == 201, r.text
    job = _wait_job(client, r.json()["id"])
    assert job["done"] == 6 and job["name"] == "pairs.jsonl"
    assert len(client.get(f"/v1/jobs/{job['id']}/results").text.splitlines()) == 6
    assert any(j["id"] == job["id"] for j in client.get("/v1/jobs").json()["jobs"])


def test_job_bad_input_names_line_and_field(client: httpx.Client) -> None:
    good = json.dumps({"id": "1", "question": "q", "answers": [{"text": "a"}, {"text": "b"}]})
    bad = json.dumps({"id": "2", "question": "q", "answers": []})
    r = client.post("/v1/jobs", content=f"{good}\n{bad}\n".encode())
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["line"] == 2 and "request body" in err["message"]
    r = client.post("/v1/jobs", content=b"{not json\n")
    assert r.status_code == 422 and r.json()["error"]["line"] == 1
    big = (good + "\n").encode() * 6000  # > 400 kB upload limit
    r = client.post("/v1/jobs", content=big)
    assert r.status_code == 413 and "--max-upload-bytes" in r.json()["error"]["message"]
    assert client.get("/v1/jobs/does-not-exist").status_code == 404


def test_metrics_count_requests_and_samples(client: httpx.Client, server: Server) -> None:
    client.post("/v1/judge", json={"question": "q", "answers": ["a", "b"], "fast": True})
    text = httpx.get(server.url + "/metrics").text
    judged = [ln for ln in text.splitlines() if ln.startswith("judgelm_samples_judged_total{")]
    assert judged and sum(float(ln.rsplit(" ", 1)[1]) for ln in judged) >= 1
    assert 'judgelm_http_requests_total{code="200",method="POST",route="/v1/judge"}' in text
    assert 'judgelm_http_request_duration_seconds_bucket{route="/v1/judge",le="+Inf"}' in text
    assert "judgelm_engine_batch_size_count" in text


def test_a_prompt_over_the_context_window_is_refused_like_openai(client: httpx.Client, server: Server) -> None:
    """Nothing is truncated: the judge API and the OpenAI endpoints answer 400 context_length_exceeded."""
    import openai

    long_answer = "word " * 3000  # ~3000 tokens; the tiny Llama's context is 2048
    r = client.post("/v1/judge", json={"question": "q", "answers": [long_answer, "b"]})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "context_length_exceeded" and "context of 2048 tokens" in err["message"]
    ok = client.post("/v1/judge", json={"question": "q", "answers": ["a", "b"]})
    assert ok.status_code == 200  # the server is fine afterwards
    oc = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        oc.chat.completions.create(model="any", messages=[{"role": "user", "content": long_answer}], max_tokens=4)
    assert info.value.code == "context_length_exceeded" and "2048" in str(info.value)
    with pytest.raises(openai.BadRequestError):
        oc.completions.create(model="any", prompt=["1 2 3", long_answer], max_tokens=4)
