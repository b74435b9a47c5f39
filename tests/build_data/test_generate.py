"""``judgelm generate``: real tiny Llama (transformers) and a real OpenAI-protocol server on loopback."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judgelm.build.generate import load_prompts, run_generate
from judgelm.data import DataError, read_answers
from judgelm.build.generators import (
    GenRequest,
    HFTextGenerator,
    OpenAIGenerator,
    Sampling,
)

REPO = Path(__file__).resolve().parents[2]


def _mt_bench(shared_data: Path, tmp_path: Path, n: int) -> Path:
    lines = (shared_data / "mt_bench" / "mt_bench" / "question.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hf_gen(tiny_llama: Path) -> HFTextGenerator:
    return HFTextGenerator(str(tiny_llama), dtype="float32", device="cpu", batch_size=4)


class Spy(HFTextGenerator):
    """The real generator, recording the conversations it was asked to continue."""

    def __init__(self, inner: HFTextGenerator) -> None:
        self.__dict__.update(inner.__dict__)
        self.seen: list[GenRequest] = []

    def generate_batch(self, requests: list[GenRequest]):  # type: ignore[override]
        self.seen.extend(requests)
        return super().generate_batch(requests)


def test_multi_turn_answers_carry_history_and_settings(hf_gen: HFTextGenerator, shared_data: Path,
                                                        tmp_path: Path) -> None:
    prompts = load_prompts(_mt_bench(shared_data, tmp_path, 3))
    assert all(len(p.turns) == 2 for p in prompts)
    spy = Spy(hf_gen)
    out = tmp_path / "answers.jsonl"
    s = run_generate(prompts, spy, out, sampling=Sampling(temperature=0.8, top_p=0.9, max_new_tokens=5, seed=3),
                     model_name="tiny-a")
    assert (s.generated, s.answers, s.errors) == (6, 6, 0)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["question_id"] for r in rows] == [p.id for p in prompts]
    for r, p in zip(rows, prompts):
        assert r["model"] == "tiny-a" and r["decoding_method"] == "sampling"
        assert (r["temperature"], r["top_p"], r["max_new_tokens"], r["seed"]) == (0.8, 0.9, 5, 3)
        assert r["question_turns"] == p.turns and len(r["turns"]) == 2
        assert r["question_body"] == p.turns[1] and r["text"] == r["turns"][1]
        assert r["prompt_format"] == "raw"  # the tiny tokenizer has no chat template
    # turn 2 was asked with the model's own turn-1 answer in the history
    second = [q for q in spy.seen if q.key.endswith("#2")]
    assert len(second) == 3
    for req, r in zip(second, rows):
        assert [m["role"] for m in req.messages] == ["user", "assistant", "user"]
        assert req.messages[1]["content"] == r["turns"][0]
    # the data layer reads it as a JudgeLM answer file
    recs = list(read_answers(out))
    assert [a.model for a in recs] == ["tiny-a"] * 3 and recs[0].decoding_method == "sampling"


def test_chat_template_is_used_when_given(tiny_llama: Path) -> None:
    template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    gen = HFTextGenerator(str(tiny_llama), dtype="float32", device="cpu", chat_template=template)
    assert gen.prompt_format == "chat_template"
    text = gen.render([{"role": "user", "content": "Name a prime."}])
    assert text == "<|user|>Name a prime.\n<|assistant|>"
    out = gen.generate_batch([GenRequest("q#1", [{"role": "user", "content": "Name a prime."}], Sampling(max_new_tokens=4))])
    assert out[0].error is None and out[0].completion_tokens <= 4


def test_batched_greedy_equals_one_by_one(hf_gen: HFTextGenerator) -> None:
    """Left padding must not change a greedy answer."""
    msgs = [[{"role": "user", "content": t}] for t in ("Hi", "What is the capital of Australia, in one word?")]
    reqs = [GenRequest(f"k{i}#1", m, Sampling(max_new_tokens=6)) for i, m in enumerate(msgs)]
    together = [o.text for o in hf_gen.generate_batch(reqs)]
    alone = [hf_gen.generate_batch([r])[0].text for r in reqs]
    assert together == alone


def test_prompt_files_and_errors(tmp_path: Path) -> None:
    own = tmp_path / "mine.jsonl"
    own.write_text(json.dumps({"question_id": 7, "instruction": "Translate", "input": "bonjour"}) + "\n"
                   + json.dumps({"question_id": 8, "question_body": "Why is the sky blue?"}) + "\n")
    ps = load_prompts(own)
    assert [(p.id, p.turns) for p in ps] == [("7", ["Translate\n\nbonjour"]), ("8", ["Why is the sky blue?"])]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question_id": 1, "question_body": "ok"}) + "\n" + json.dumps({"question_id": 2}) + "\n")
    with pytest.raises(DataError) as err:
        load_prompts(bad)
    assert "bad.jsonl" in str(err.value) and "2" in str(err.value)
    dup = tmp_path / "dup.jsonl"
    dup.write_text(json.dumps({"question_id": 1, "prompt": "a"}) + "\n" + json.dumps({"question_id": 1, "prompt": "b"}) + "\n")
    with pytest.raises(DataError, match="duplicate question_id"):
        load_prompts(dup)


def test_openai_server_retries_and_budget(tiny_llama: Path, tmp_path: Path) -> None:
    from openai_stub_server import StubServer

    prompts = load_prompts(_write(tmp_path / "q.jsonl", [{"question_id": i, "prompt": f"Question number {i}?"}
                                                          for i in range(6)]))
    out = tmp_path / "api.jsonl"
    with StubServer(tiny_llama) as server:
        server.inject("500", "429")
        # $1 per prompt token: the worst-case reservation lets only a few calls through
        gen = OpenAIGenerator("tiny", api_base=server.url, concurrency=1, max_retries=3, budget_usd=50.0,
                              price_in=1e6, price_out=0.0)
        s1 = run_generate(prompts, gen, out, sampling=Sampling(max_new_tokens=4))
        assert s1.budget_exhausted > 0 and s1.generated > 0
        assert s1.generated + s1.budget_exhausted == 6
        assert server.faults_applied == ["500", "429"]  # both retried by the client, not lost
        assert len(out.read_text().splitlines()) == s1.generated
        gen2 = OpenAIGenerator("tiny", api_base=server.url, concurrency=3)
        s2 = run_generate(prompts, gen2, out, sampling=Sampling(max_new_tokens=4))
        assert (s2.resumed, s2.generated, s2.errors) == (s1.generated, 6 - s1.generated, 0)
        assert max(server.completed.values()) == 1  # nothing generated twice
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["question_id"] for r in rows] == [str(i) for i in range(6)]
    assert all(r["generator"] == "openai:tiny" and r["decoding_method"] == "greedy" for r in rows)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_resume_after_kill9(tiny_llama: Path, tmp_path: Path) -> None:
    prompts = _write(tmp_path / "q.jsonl", [{"question_id": i, "prompt": f"Tell me about item {i}."} for i in range(8)])
    out = tmp_path / "answers.jsonl"
    state = Path(str(out) + ".state.sqlite")
    cmd = [sys.executable, "-m", "judgelm.cli", "generate", str(prompts), "--model", f"hf:{tiny_llama}",
           "-o", str(out), "--batch-size", "1", "--max-new-tokens", "40", "--no-progress", "--dtype", "float32",
           "--name", "tiny"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists():
            try:
                with sqlite3.connect(state) as con:
                    done = con.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
            if done >= 2:
                break
        time.sleep(0.1)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 2 <= done < 8
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout)
    assert summary["resumed"] >= 2 and summary["resumed"] + summary["generated"] == 8
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(int(r["question_id"]) for r in rows) == list(range(8))  # no gap, no duplicate
