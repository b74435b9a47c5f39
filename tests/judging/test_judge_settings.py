"""One judging settings object (``judgelm.judging.settings.JudgeSettings``): one set of defaults for the CLI,
``Judge(...)`` and the HTTP API; ``to_dict``/``from_dict`` errors that name the field; prompts rendered once
per request through a whole run (prepare once, then run)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from support import run_cli

from judgelm.judging.settings import JudgeSettings, SettingsError
from judgelm.schema import Answer, Sample

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pairs.jsonl"
RUBRIC = {"criteria": [{"name": "helpfulness", "description": "Does it help?", "scale": [1, 3],
                        "levels": {"1": "useless", "2": "partly useful", "3": "fully useful"}}]}


def _cli_defaults() -> JudgeSettings:
    """The settings ``judgelm judge`` makes when no judging flag is given (its signature's defaults)."""
    from judgelm.commands.judge import main

    p = inspect.signature(main).parameters
    return JudgeSettings(template=p["template"].default, mode=p["mode"].default, reference=p["reference"].default,
                         both_orders=p["swap"].default, fast=p["fast"].default,
                         max_new_tokens=p["max_new_tokens"].default, rubric=p["rubric"].default)


@pytest.fixture()
def app_client(mini_engine, tmp_path: Path):
    from fastapi.testclient import TestClient

    from judgelm.serve.app import create_app
    from judgelm.serve.settings import ServeSettings

    app = create_app(mini_engine, ServeSettings(ui=False, jobs_db=tmp_path / "jobs.sqlite"))
    with TestClient(app) as client:
        yield client


def test_one_set_of_defaults_cli_library_and_http(mini_engine, app_client) -> None:
    from judgelm import Judge
    from judgelm.serve.settings import ServeSettings

    defaults = JudgeSettings()
    assert _cli_defaults() == defaults
    assert Judge(mini_engine).settings == defaults
    assert (ServeSettings().template, ServeSettings().fast, ServeSettings().max_new_tokens) == \
        (defaults.template, defaults.fast, defaults.max_new_tokens)
    r = app_client.post("/v1/judge", json={"question": "What is 2+2?", "answers": ["4", "5"]})
    assert r.status_code == 200, r.text
    assert r.json()["options"] == defaults.to_dict()  # an HTTP body without the fields
    assert (defaults.fast, defaults.both_orders) == (True, False)  # the CLI's documented defaults
    help_text = run_cli("judge", "--help").output
    assert "[default: fast]" in help_text and "the default everywhere" in help_text


def test_http_requests_that_set_fields_are_judged_as_asked(app_client) -> None:
    body = {"question": "What is 2+2?", "answers": ["4", "5"], "fast": False, "both_orders": True,
            "max_new_tokens": 40}
    r = app_client.post("/v1/judge", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["options"] == {**JudgeSettings().to_dict(), "fast": False, "both_orders": True, "max_new_tokens": 40}
    assert [j["order"] for j in out["judgements"]] == [[0, 1], [1, 0]]


@pytest.mark.parametrize("extra,field", [({"fast": "maybe"}, "fast"), ({"max_new_tokens": 0}, "max_new_tokens"),
                                         ({"both_orders": [1]}, "both_orders"), ({"mode": "trio"}, "mode")])
def test_a_bad_http_settings_field_is_a_422_naming_it(app_client, extra: dict, field: str) -> None:
    r = app_client.post("/v1/judge", json={"question": "q", "answers": ["a", "b"], **extra})
    assert r.status_code == 422, r.text
    assert field in json.dumps(r.json())
    if field == "max_new_tokens":
        return  # /v1/jobs reads max_new_tokens=0 as "the server's default", as it always has
    job = app_client.post("/v1/jobs", params={field: str(extra[field])},
                          content=b'{"question": "q", "answers": ["a", "b"]}')
    assert job.status_code == 422 and field in json.dumps(job.json())


def test_to_dict_from_dict_round_trip_and_errors_name_the_field() -> None:
    settings = JudgeSettings(template="prometheus-relative", both_orders=True, max_new_tokens=64, rubric=RUBRIC)
    again = JudgeSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again.to_dict() == settings.to_dict() and again.rubric is not None
    assert again.template == "prometheus-relative" and again.rubric.criteria[0].name == "helpfulness"
    assert JudgeSettings.from_dict({}) == JudgeSettings()
    # a job row written before JudgeSettings (the server's JudgeOptions) reads the same
    old_row = {"template": "judgelm", "mode": None, "reference": False, "both_orders": True, "fast": False,
               "max_new_tokens": None, "rubric": None}
    assert JudgeSettings.from_dict(old_row) == JudgeSettings(both_orders=True, fast=False)
    for bad, field in [({"swapp": True}, "swapp"), ({"fast": "yes"}, "fast"), ({"max_new_tokens": 0}, "max_new_tokens"),
                       ({"template": "gpt"}, "template"), ({"mode": "trio"}, "mode"),
                       ({"rubric": {"criteria": [{"name": "x"}]}}, "rubric")]:
        with pytest.raises(SettingsError, match=f"field '{field}'") as info:
            JudgeSettings.from_dict(bad)
        assert info.value.field == field


def test_a_rubric_implies_absolute_grading_and_settings_are_frozen() -> None:
    assert JudgeSettings(rubric=RUBRIC).template == "prometheus-absolute"
    assert JudgeSettings(template="prometheus-relative", rubric=RUBRIC).template == "prometheus-relative"
    assert JudgeSettings(fast=False).generation_length == 512 and JudgeSettings().generation_length == 16
    with pytest.raises(AttributeError):
        JudgeSettings().fast = False  # type: ignore[misc]
    settings, rest = JudgeSettings.split({"template": "pandalm", "swap": True, "cache": False})
    assert settings == JudgeSettings(template="pandalm", both_orders=True) and rest == {"cache": False}


def test_runners_take_a_loaded_backend_not_a_spec(tmp_path: Path) -> None:
    from judgelm.judging.runner import judge_samples, run_judge

    sample = Sample(id="1", question="q", answers=[Answer(text="a"), Answer(text="b")])
    with pytest.raises(TypeError, match="load it first"):
        run_judge([sample], "mini", tmp_path / "out.jsonl")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a judging backend"):
        judge_samples([sample], object())  # type: ignore[arg-type]


@pytest.fixture()
def count_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every prompt rendered from now on (``judgelm.prompts.render``, as the request builder calls it)."""
    import judgelm.prompts

    rendered: list[str] = []
    real = judgelm.prompts.render

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        rendered.append(out)
        return out

    monkeypatch.setattr(judgelm.prompts, "render", counting)
    return rendered


def test_cli_run_renders_each_prompt_once(mini_engine, count_renders: list[str], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``judgelm judge`` validates by preparing (before the judge loads) and the run reuses that preparation."""
    import judgelm.engines

    loaded: list[str] = []

    class Borrowed:  # the session's engine, not closed by the command
        def __init__(self) -> None:
            self.name, self.preferred_batch_size = mini_engine.name, mini_engine.preferred_batch_size

        def judge_batch(self, requests):
            return mini_engine.judge_batch(requests)

        def generation_settings(self) -> dict:
            return mini_engine.generation_settings()

        def close(self) -> None:
            pass

    def load_engine(spec: str, **_: object) -> Borrowed:
        loaded.append(f"{spec} after {len(count_renders)} renders")
        return Borrowed()

    monkeypatch.setattr(judgelm.engines, "load_engine", load_engine)
    out = tmp_path / "out.jsonl"
    res = run_cli("judge", EXAMPLES, "-o", out, "--judge", "mini", "--swap", "--no-cache", "--no-progress")
    assert res.exit_code == 0, res.output
    rows = out.read_text().splitlines()
    assert len(rows) == 12 and len(count_renders) == 12  # 6 pairs × 2 orders, each rendered once
    assert loaded == ["mini after 12 renders"]  # every prompt rendered (checked) before the judge loads


def test_library_run_renders_each_prompt_once(mini_engine, count_renders: list[str], tmp_path: Path) -> None:
    from judgelm import Judge

    samples = [Sample(id=str(i), question=f"{i}+{i}?", answers=[Answer(text=str(2 * i)), Answer(text="7")])
               for i in range(3)]
    with Judge(mini_engine, cache=False) as judge:
        summary = judge.run(samples, tmp_path / "out.jsonl", swap=True)
        assert summary.requests == 6 and len(count_renders) == 6
        judge.judge_many(samples)
    assert len(count_renders) == 9
