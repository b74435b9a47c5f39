"""Custom rubrics end to end: rubric files (and their errors), parsing Prometheus output, the runner,
the CLI, the Python API and the HTTP API, on the shared Prometheus items with real engines."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import pytest
from support import Server, run_cli

from judgelm.engines.base import EngineOutput
from judgelm.judging.requests import build_requests, to_judgement
from judgelm.judging.settings import JudgeSettings
from judgelm.prompts.parsing import parse_prometheus_absolute, parse_prometheus_relative
from judgelm.prompts.rubric import RubricError, load_rubric, load_rubrics, rubric_from_dict
from judgelm.schema import Answer, ParseStatus, Sample

LEVELS5 = {1: "Ignores the request.", 2: "Misses its point.", 3: "Addresses it with gaps.", 4: "Minor gaps.",
           5: "Fully addresses it."}
RUBRIC = {
    "criteria": [
        {"name": "helpfulness", "description": "Does the response address what the user asked?", "levels": LEVELS5},
        {"name": "concision", "description": "Is the response as short as it can be?", "scale": [1, 3],
         "levels": {1: "Rambling.", 2: "Some filler.", 3: "Nothing to cut."}},
    ],
}
YAML = """criteria:
  - name: helpfulness
    description: Does the response address what the user asked?
    levels:
      1: Ignores the request.
      2: Misses its point.
      3: Addresses it with gaps.
      4: Minor gaps.
      5: Fully addresses it.
  - name: concision
    description: Is the response as short as it can be?
    scale: [1, 3]
    levels: {1: Rambling., 2: Some filler., 3: Nothing to cut.}
"""


def _prometheus(shared_data: Path, n: int | None = None) -> list[Sample]:
    from judgelm.data import read_samples

    samples = list(read_samples(shared_data / "prometheus" / "vicuna_eval.json"))
    return samples[:n] if n else samples


# --------------------------------------------------------------------------- rubric files


def test_yaml_and_json_rubric_files_read_alike(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(YAML, encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps(RUBRIC), encoding="utf-8")
    a, b = load_rubric(tmp_path / "r.yaml"), load_rubric(tmp_path / "r.json")
    assert a.criteria == b.criteria and a.names == ["helpfulness", "concision"]
    assert (a.criteria[1].low, a.criteria[1].high, a.criteria[1].levels[2]) == (1, 3, "Some filler.")
    one = rubric_from_dict({"name": "x", "description": "d", "levels": LEVELS5})  # one criterion at the top
    assert one.names == ["x"] and one.reference == "auto"
    (tmp_path / "x.json").write_text(json.dumps({"name": "x", "description": "d", "levels": LEVELS5}), encoding="utf-8")
    both = load_rubrics([tmp_path / "r.yaml", tmp_path / "x.json"])  # several files: their criteria in order
    assert both.names == ["helpfulness", "concision", "x"]
    with pytest.raises(RubricError, match=r"x\.json: field 'criteria': the name 'x' is also used in .*x\.json"):
        load_rubrics([tmp_path / "x.json", tmp_path / "x.json"])


@pytest.mark.parametrize("change, message", [
    (lambda r: r["criteria"][1]["levels"].pop("2"), "r.yaml: field 'criteria[1].levels': missing score 2"),
    (lambda r: r["criteria"][0].update(scale=[5, 1]), "field 'criteria[0].scale': expected [low, high]"),
    (lambda r: r["criteria"][0].update(name="two words"), "field 'criteria[0].name': expected a name"),
    (lambda r: r["criteria"][0].pop("description"), "field 'criteria[0].description': expected a non-empty string"),
    (lambda r: r["criteria"][0]["levels"].update({"9": "x"}), "field 'criteria[0].levels.9': outside the scale 1..5"),
    (lambda r: r["criteria"][0].update(weight=2), "field 'criteria[0].weight': unknown field"),
    (lambda r: r.update(reference="maybe"), "field 'reference': expected auto, true or false"),
    (lambda r: r["criteria"].append(dict(r["criteria"][0])), "the name 'helpfulness' is used twice"),
])
def test_malformed_rubric_is_one_line_naming_file_and_field(tmp_path: Path, change, message: str) -> None:
    import yaml

    rubric = json.loads(json.dumps(RUBRIC))
    change(rubric)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(rubric), encoding="utf-8")
    with pytest.raises(RubricError) as err:
        load_rubric(path)
    assert message in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_unreadable_rubric_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("criteria: [\n  - name: x\n", encoding="utf-8")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(RubricError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_rubric(tmp_path / "bad.yaml")
    with pytest.raises(RubricError, match=r"bad\.json:1: not valid JSON"):
        load_rubric(tmp_path / "bad.json")
    with pytest.raises(RubricError, match="cannot read the rubric file"):
        load_rubric(tmp_path / "missing.yaml")


# --------------------------------------------------------------------------- parsing


def test_prometheus_output_parsing() -> None:
    ok = parse_prometheus_absolute("Feedback: clear and right. [RESULT] 4")
    assert ok.ok and ok.scores == [4.0] and ok.explanation == "clear and right."
    assert parse_prometheus_absolute("The response... [RESULT] (2)\n").scores == [2.0]
    assert parse_prometheus_absolute("first [RESULT] 1, then [RESULT] 5").scores == [5.0]  # the last mark counts
    for text, why in [("no mark at all", "no [RESULT] mark"), ("[RESULT] great", "no grade after [RESULT]"),
                      ("x [RESULT] 3.5", "not an integer"), ("x [RESULT] 6", "outside the rubric's scale 1..5"),
                      ("x [RESULT] 0", "outside")]:
        bad = parse_prometheus_absolute(text)
        assert not bad.ok and bad.scores is None and why in (bad.error or "")
    assert parse_prometheus_absolute("x [RESULT] 9", low=0, high=10).scores == [9.0]
    assert parse_prometheus_relative("Feedback: A is right. [RESULT] A").verdict == 1
    assert parse_prometheus_relative("x [RESULT] Response B").verdict == 2
    assert not parse_prometheus_relative("x [RESULT] Tie").ok and not parse_prometheus_relative("A wins").ok


def test_out_of_scale_grades_are_rejected_never_clipped(shared_data: Path) -> None:
    rubric = rubric_from_dict(RUBRIC)
    sample = _prometheus(shared_data, 1)[0]
    helpful, concise = build_requests(sample, JudgeSettings(template="prometheus-absolute", rubric=rubric))
    assert helpful.key.endswith("|0~helpfulness") and concise.criterion.high == 3 and not helpful.fast
    j = to_judgement(concise, EngineOutput(text="Feedback: fine. [RESULT] 5"), "t")  # 5 is outside 1..3
    assert j.status == ParseStatus.UNPARSED and j.scores is None and "rejected, not clipped" in j.metadata["parse_error"]
    j = to_judgement(concise, EngineOutput(text="3\n", scores=[7.0]), "t")  # an engine's direct grade, too
    assert j.status == ParseStatus.UNPARSED and j.scores is None and "outside the rubric's scale 1..3" in j.metadata[
        "parse_error"]
    j = to_judgement(helpful, EngineOutput(text="Feedback: fine. [RESULT] 5"), "t")
    assert j.status == ParseStatus.OK and j.scores == [5.0] and j.verdict is None
    assert j.metadata["criterion"] == "helpfulness" and j.metadata["scale"] == [1, 5] and j.sample_id == sample.id


def test_relative_verdicts_come_back_in_original_order() -> None:
    rubric = rubric_from_dict(RUBRIC)
    pair = Sample(id="p", question="2+2?", answers=[Answer(text="4"), Answer(text="5")])
    reqs = build_requests(pair, JudgeSettings(template="prometheus-relative", rubric=rubric, both_orders=True))
    assert [r.key for r in reqs] == ["p|0-1~helpfulness", "p|1-0~helpfulness", "p|0-1~concision", "p|1-0~concision"]
    assert "###Response A:\n5\n\n###Response B:\n4" in reqs[1].prompt
    # "A" in the swapped order is the original answer 2
    assert to_judgement(reqs[1], EngineOutput(text="Feedback: x [RESULT] A"), "t").verdict == 2
    assert to_judgement(reqs[0], EngineOutput(text="Feedback: x [RESULT] A"), "t").verdict == 1


# --------------------------------------------------------------------------- CLI, API, HTTP


def test_cli_judge_with_a_rubric_file_then_eval(shared_data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "helpfulness.yaml").write_text(YAML, encoding="utf-8")
    data = shared_data / "prometheus" / "vicuna_eval.json"
    out = tmp_path / "graded.jsonl"
    res = run_cli("judge", data, "--rubric", tmp_path / "helpfulness.yaml", "-o", out, "--limit", "30",
                  "--no-progress")
    assert res.exit_code == 0, res.output
    assert "judged 30 samples (60 requests)" in res.output
    assert "criterion helpfulness: mean grade" in res.output and "criterion concision: mean grade" in res.output
    again = run_cli("judge", data, "--rubric", tmp_path / "helpfulness.yaml", "-o", out, "--limit", "30",
                    "--no-progress")  # the same command: every (sample, criterion) is already in the state
    assert again.exit_code == 0 and "engine calls 0, from cache 0, resumed 60" in again.output, again.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["metadata"]["criterion"] for r in rows[:2]] == ["helpfulness", "concision"]
    assert all(r["template"] == "prometheus-absolute" and r["reference_used"] for r in rows)
    assert all(r["status"] == "ok" and 1 <= r["scores"][0] <= r["metadata"]["scale"][1] for r in rows)

    ev = run_cli("eval", "--gold", data, "--pred", out, "--json")
    assert ev.exit_code == 0, ev.output
    summary = json.loads(ev.output[ev.output.index("{"):])
    assert summary["kind"] == "grades" and set(summary["criteria"]) == {"helpfulness", "concision"}
    h = summary["criteria"]["helpfulness"]
    assert h["judge"]["n"] == 30 and h["missing"] == 290 and h["scale"] == [1, 5]
    assert h["length"]["quantile_grades"]["n"] == 30 and h["ceiling"]["annotators"] == 3
    table = run_cli("eval", "--gold", data, "--pred", out)
    assert table.exit_code == 0 and "length → grade" in table.output and "ceiling (3 gold samples)" in table.output


def test_the_shipped_example_rubric_grades_and_evaluates(tmp_path: Path, monkeypatch) -> None:
    """examples/rubric: a user's rubric file and JSONL with per-criterion gold grades, judge then eval."""
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    ex = Path(__file__).resolve().parents[2] / "examples" / "rubric"
    out = tmp_path / "graded.jsonl"
    res = run_cli("judge", ex / "answers.jsonl", "--rubric", ex / "helpfulness.yaml", "-o", out, "--no-progress")
    assert res.exit_code == 0 and "judged 6 samples (12 requests)" in res.output, res.output
    ev = run_cli("eval", "--gold", ex / "answers.jsonl", "--pred", out, "--json")
    assert ev.exit_code == 0, ev.output
    crit = json.loads(ev.output[ev.output.index("{"):])["criteria"]
    assert crit["concision"]["scale"] == [1, 3] and crit["concision"]["gold_distribution"] == {"1": 2, "2": 0, "3": 4}
    assert crit["helpfulness"]["judge"]["n"] == 6 and crit["helpfulness"]["ceiling"] is None


def test_several_rubric_files_in_one_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    ex = Path(__file__).resolve().parents[2] / "examples" / "rubric"
    (tmp_path / "tone.json").write_text(json.dumps({"name": "tone", "description": "Is it polite?", "scale": [0, 1],
                                                    "levels": {"0": "Rude.", "1": "Polite."}}), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    res = run_cli("judge", ex / "answers.jsonl", "--rubric", ex / "helpfulness.yaml", "--rubric", tmp_path / "tone.json",
                  "-o", out, "--no-progress")
    assert res.exit_code == 0 and "judged 6 samples (18 requests)" in res.output, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["metadata"]["criterion"] for r in rows[:3]] == ["helpfulness", "concision", "tone"]
    assert all(r["scores"][0] in (0.0, 1.0) for r in rows if r["metadata"]["criterion"] == "tone")


def test_cli_prometheus_template_uses_each_items_own_rubric(shared_data: Path, tmp_path: Path, monkeypatch,
                                                            caplog) -> None:
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "own.jsonl"
    with caplog.at_level(logging.WARNING, logger="judgelm.engines.mini"):
        res = run_cli("judge", shared_data / "prometheus" / "mt_bench_eval.json", "-t", "prometheus-absolute",
                      "-o", out, "--limit", "5", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "mini cannot grade against a rubric" in caplog.text  # the built-in judge says what it cannot do
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5 and {r["metadata"]["criterion"] for r in rows} == {"rubric"}


def test_cli_rubric_errors_are_one_line(shared_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(YAML.replace("      3: Addresses it with gaps.\n", ""), encoding="utf-8")
    res = run_cli("judge", shared_data / "prometheus" / "vicuna_eval.json", "--rubric", bad, "-o", tmp_path / "o.jsonl")
    assert res.exit_code == 2
    lines = [x for x in res.output.splitlines() if x.startswith("Error:")]
    assert len(lines) == 1 and str(bad) in lines[0] and "'criteria[0].levels': missing score 3" in lines[0]
    # a two-answer file cannot be graded absolutely: named before any judge loads
    pairs = Path(__file__).resolve().parents[2] / "examples" / "pairs.jsonl"
    res = run_cli("judge", pairs, "-t", "prometheus-absolute", "--rubric", tmp_path / "missing.yaml", "-o", tmp_path / "o")
    assert res.exit_code == 2 and "missing.yaml: cannot read the rubric file" in res.output
    (tmp_path / "ok.yaml").write_text(YAML, encoding="utf-8")
    res = run_cli("judge", pairs, "--rubric", tmp_path / "ok.yaml", "-o", tmp_path / "o")
    assert res.exit_code != 0 and "grades exactly 1 answer, got 2 (use prometheus-relative" in res.output
    res = run_cli("judge", pairs, "--rubric", tmp_path / "ok.yaml", "-t", "prometheus-relative", "-m", "single",
                  "-o", tmp_path / "o")
    assert res.exit_code == 2 and "--mode: prometheus-relative fixes its mode" in res.output


def test_render_shows_the_rubric_prompt(shared_data: Path) -> None:
    path = shared_data / "prometheus" / "mt_bench_eval.json"
    res = run_cli("render", path, "-t", "prometheus-absolute", "--limit", "2")
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert [r["prompt"] for r in records] == [raw[0]["instruction"], raw[1]["instruction"]]
    assert records[0]["criterion"] == "rubric" and records[0]["mode"] == "single"


def test_python_api_grades_per_criterion(shared_data: Path) -> None:
    from judgelm import Judge

    samples = _prometheus(shared_data, 4)
    with Judge("mini", rubric=RUBRIC) as judge:
        out = judge.judge_many(samples)
        assert [(j.sample_id, j.metadata["criterion"]) for j in out[:2]] == [(samples[0].id, "helpfulness"),
                                                                            (samples[0].id, "concision")]
        assert len(out) == 8 and all(j.template == "prometheus-absolute" and j.status == ParseStatus.OK for j in out)
        own = judge.judge(samples[0], template="prometheus-absolute", rubric=None)  # the item's own rubric
        assert len(own) == 1 and own[0].metadata["criterion"] == "rubric"


def test_hf_engine_rubric_output_goes_to_the_parser(tiny_llama: Path) -> None:
    """A real (random, tiny) model writes no ``[RESULT]``: recorded as unparsed with its raw text, not an error.
    (A short sample: the tiny model's 2,048-token context holds no Prometheus item.)"""
    from judgelm import Judge

    sample = Sample(id="t", question="What is 2+2?", answers=[Answer(text="4")], reference="4")
    with Judge(f"hf:{tiny_llama}", rubric=RUBRIC, dtype="float32", max_new_tokens=6) as judge:
        out = judge.judge_many([sample])
    assert len(out) == 2 and all(j.status == ParseStatus.UNPARSED and j.raw for j in out)
    assert all(j.metadata["parse_error"] == "no [RESULT] mark" for j in out)


def test_http_judge_with_a_rubric(shared_data: Path, tmp_path: Path) -> None:
    srv = Server(["--no-ui"], log_path=tmp_path / "server.log")
    try:
        sample = _prometheus(shared_data, 1)[0].model_dump(mode="json", exclude_none=True)
        r = httpx.post(srv.url + "/v1/judge", json={"sample": sample, "rubric": RUBRIC}, timeout=120)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "ok" and body["options"]["template"] == "prometheus-absolute"
        assert set(body["criteria"]) == {"helpfulness", "concision"}
        assert 1 <= body["criteria"]["concision"]["scores"][0] <= 3 and body["criteria"]["concision"]["scale"] == [1, 3]
        own = httpx.post(srv.url + "/v1/judge", json={"sample": sample, "template": "prometheus-absolute"}, timeout=120)
        assert own.status_code == 200 and list(own.json()["criteria"]) == ["rubric"]
        # a durable job on Prometheus items, each graded on its own rubric
        items = json.loads((shared_data / "prometheus" / "vicuna_eval.json").read_text(encoding="utf-8"))[:3]
        r = httpx.post(srv.url + "/v1/jobs", params={"template": "prometheus-absolute"}, json=items, timeout=60)
        assert r.status_code == 201, r.text
        job = r.json()
        for _ in range(240):
            state = httpx.get(f"{srv.url}/v1/jobs/{job['id']}").json()
            if state["status"] not in ("queued", "running"):
                break
            time.sleep(0.5)
        assert state["status"] == "done", state
        rows = [json.loads(x) for x in httpx.get(f"{srv.url}/v1/jobs/{job['id']}/results", timeout=60).text.splitlines()]
        assert len(rows) == 3 and all(r["metadata"]["criterion"] == "rubric" and r["status"] == "ok" for r in rows)
        bad = json.loads(json.dumps(RUBRIC))
        del bad["criteria"][0]["levels"]["4"]
        r = httpx.post(srv.url + "/v1/judge", json={"sample": sample, "rubric": bad}, timeout=60)
        assert r.status_code == 422 and "'criteria[0].levels': missing score 4" in r.json()["detail"]
    finally:
        srv.stop()


def test_relative_rubric_grading_is_evaluated_per_criterion(shared_data: Path, tmp_path: Path, monkeypatch) -> None:
    """Pairwise gold (PandaLM test set): prometheus-relative with two criteria, both orders, then eval."""
    monkeypatch.setenv("JUDGELM_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "r.yaml").write_text(YAML, encoding="utf-8")
    data = shared_data / "pandalm" / "testset-v1.json"
    out = tmp_path / "rel.jsonl"
    res = run_cli("judge", data, "--rubric", tmp_path / "r.yaml", "-t", "prometheus-relative", "--swap",
                  "--limit", "12", "-o", out, "--no-progress")
    assert res.exit_code == 0 and "judged 12 samples (48 requests)" in res.output, res.output
    assert "criterion helpfulness: preferred answer 1" in res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["template"] for r in rows} == {"prometheus-relative"} and all(r["verdict"] in (1, 2) for r in rows)
    ev = run_cli("eval", "--gold", data, "--pred", out, "--json", "--bootstrap", "20")
    assert ev.exit_code == 0, ev.output
    crit = json.loads(ev.output[ev.output.index("{"):])["criteria"]
    assert set(crit) == {"helpfulness", "concision"} and crit["helpfulness"]["n"] == 12
    assert crit["helpfulness"]["n_swap"] == 12 and "consistency" in crit["helpfulness"]
