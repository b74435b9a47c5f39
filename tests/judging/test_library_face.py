"""The library face: ``judgelm.Judge`` gives the same judgements as the runner and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from support import run_cli

import judgelm
from judgelm.data import read_samples


def test_judge_matches_the_cli_on_real_pairs(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "pandalm" / "testset-v1.json"
    samples = list(read_samples(src, limit=24))
    with judgelm.Judge("mini") as judge:
        in_memory = judge.judge_many(samples, swap=True)
        one = judge.judge(samples[0], swap=True)
        summary = judge.run(samples, tmp_path / "lib.jsonl", swap=True)
    assert len(in_memory) == 48 and [j.order for j in one] == [[0, 1], [1, 0]]
    assert [(j.verdict, j.scores) for j in one] == [(j.verdict, j.scores) for j in in_memory[:2]]
    assert [j.verdict for j in summary.judgements] == [j.verdict for j in in_memory]

    res = run_cli("judge", src, "-o", tmp_path / "cli.jsonl", "--swap", "--limit", "24", "--no-progress")
    assert res.exit_code == 0, res.output
    cli = [json.loads(line) for line in (tmp_path / "cli.jsonl").read_text().splitlines()]
    assert [c["verdict"] for c in cli] == [j.verdict for j in in_memory]
    assert not list(tmp_path.glob("*.lock"))  # the run's state file is its lock


def test_plain_dicts_and_the_tiny_llama(tiny_llama: Path) -> None:
    with judgelm.Judge(f"hf:{tiny_llama}", dtype="float32", max_new_tokens=4) as judge:
        j = judge.judge({"question": "Name a colour.", "answers": ["Blue.", "A chair."]})
    assert j.sample_id == "0" and j.judge == f"hf:{tiny_llama}" and j.order == [0, 1]
    assert j.status.value in {"ok", "unparsed"}  # an untrained model: recorded as it came, never a tie
    if j.status.value == "unparsed":
        assert j.verdict is None
