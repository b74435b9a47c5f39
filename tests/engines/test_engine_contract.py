"""The engine contract (judgelm.engines.base.Engine, docs/engines.md "Adding an engine").

* ``generation_settings()`` is part of the response-cache key, so each engine must return exactly
  the dict the run cache was keyed with before the method was required (the attribute guessing of
  the old ``judging.requests.engine_settings``): resuming an existing run must still hit its cache.
* Each engine class declares the CLI flags that concern it and what its spec needs; the command
  line and the offline spec check read those declarations, without importing torch.
* The example engine in docs/engines.md runs as written, through a real judging run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from judgelm.engines import BUILT_IN, ENGINES, Engine, engine_class, load_engine, register_engine

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

#: the old guess (judging/requests.py before the contract) for engines without generation_settings
_DECODING_ATTRS = ("dtype", "num_beams", "repetition_penalty", "temperature", "fast_max_new_tokens",
                   "min_new_tokens", "batch_invariant")


def guessed(engine: Any) -> dict[str, str]:
    """The cache-key settings the runner built for an engine that did not say (hf, smol, test engines)."""
    return {k: str(getattr(engine, k)) for k in _DECODING_ATTRS if hasattr(engine, k)}


# -- generation_settings: the same cache key as before, per engine kind ------------------------------

HF_DEFAULTS = {"dtype": "torch.float32", "num_beams": "1", "repetition_penalty": "1.0",
               "fast_max_new_tokens": "None", "min_new_tokens": "0", "batch_invariant": "True"}


def test_hf_settings_are_the_guessed_strings(tiny_llama: Path) -> None:
    engine = load_engine(f"hf:{tiny_llama}", dtype="float32")
    assert engine.generation_settings() == guessed(engine) == HF_DEFAULTS
    tuned = load_engine(f"hf:{tiny_llama}", dtype="float32", num_beams=4, repetition_penalty=1.2,
                        fast_max_new_tokens=9, batch_invariant=False)
    assert tuned.generation_settings() == guessed(tuned) == {
        **HF_DEFAULTS, "num_beams": "4", "repetition_penalty": "1.2", "fast_max_new_tokens": "9",
        "batch_invariant": "False"}


def test_smol_settings_are_the_hf_engines(tiny_llama: Path) -> None:
    engine = load_engine(f"smol:{tiny_llama}", dtype="float32", balanced=False)
    assert engine.generation_settings() == guessed(engine) == HF_DEFAULTS
    assert engine.name.endswith("(one-order)")  # balanced is in the name, so in the key too


def test_vllm_settings_unchanged() -> None:
    from judgelm.engines.vllm import VLLMEngine

    engine = VLLMEngine.__new__(VLLMEngine)  # vLLM itself is not needed to read the settings
    engine.settings = {"dtype": "float32", "tensor_parallel_size": 1}
    engine.chat_template, engine.logprobs, engine.repetition_penalty, engine.fast_max_new_tokens = False, 20, 1.0, None
    assert engine.generation_settings() == {"dtype": "float32", "chat_template": False, "logprobs": 20,
                                            "repetition_penalty": 1.0, "fast_max_new_tokens": None}


def test_openai_settings_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    local = load_engine("openai:judge", api_base="http://127.0.0.1:9/v1")
    assert local.generation_settings() == {"api": "chat", "temperature": 0.0, "api_base": "http://127.0.0.1:9/v1"}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    hosted = load_engine("openai:gpt-4o", api="completions", tokenizer="none", temperature=0.5)
    assert hosted.generation_settings() == {"api": "completions", "temperature": 0.5, "api_base": "openai"}
    assert "sk-test" not in json.dumps(hosted.generation_settings())


def test_mini_settings_unchanged(mini_engine: Engine) -> None:
    assert mini_engine.generation_settings() == {"ties": True, "padding": "own-width-16"}


def test_lm_settings_unchanged() -> None:
    from judgelm.engines.lm import LMEngine

    engine = LMEngine.__new__(LMEngine)  # the head and the scorer as the engine holds them, without the LM
    engine.head = SimpleNamespace(features=["pmi", "length"], weights=[1.5, -0.25], margin=0.1)
    engine.scorer = SimpleNamespace(lm=SimpleNamespace(dtype="torch.float32"), max_answer_tokens=256)
    engine.model_name, engine.ties = "smollm2-135m-instruct", True
    assert engine.generation_settings() == {"head": [["pmi", "length"], [1.5, -0.25], 0.1],
                                            "model": "smollm2-135m-instruct", "dtype": "torch.float32",
                                            "max_answer_tokens": 256, "ties": True}


def test_every_engine_says_its_settings() -> None:
    """Required by the base class: an engine without it cannot be made (no guessing left)."""
    for kind in BUILT_IN:
        assert "generation_settings" in vars(engine_class(kind)), kind

    class Silent(Engine):
        def judge_batch(self, requests):  # noqa: ANN001, ANN201
            return []

    with pytest.raises(TypeError, match="generation_settings"):
        Silent()


def test_engine_settings_is_the_engines_own_dict() -> None:
    from judgelm.judging.requests import engine_settings

    class Fixed(Engine):
        def __init__(self) -> None:
            self.settings = {"rule": "x"}

        def judge_batch(self, requests):  # noqa: ANN001, ANN201
            return []

        def generation_settings(self) -> dict[str, Any]:
            return self.settings

    engine = Fixed()
    got = engine_settings(engine)
    assert got == {"rule": "x"} and got is not engine.settings


# -- declarations: CLI options and spec needs, read without torch ----------------------------------

#: the tables commands/options.py and engines/specs.py held before the engines declared them
OLD_CLI_OPTIONS = {
    "openai": ("api_base", "api_key_env", "api", "concurrency", "timeout_s", "max_retries", "budget_usd",
               "price_in", "price_out"),
    "hf": ("dtype", "device"), "smol": ("dtype", "device"), "lm": ("dtype", "device"), "vllm": ("dtype",), "mini": (),
}
OLD_NEEDS_TARGET = ("hf", "vllm", "openai")
OLD_MODEL_KINDS = ("hf", "vllm")
OLD_PACKAGES = {"vllm": ("vllm", "pip install 'judgelm[vllm]' (Linux with a CUDA GPU)"),
                "openai": ("openai", "pip install openai")}


def test_declarations_match_the_old_tables() -> None:
    assert set(BUILT_IN) == set(OLD_CLI_OPTIONS)
    for kind in BUILT_IN:
        cls = engine_class(kind)
        assert cls.cli_options == OLD_CLI_OPTIONS[kind], kind
        assert cls.needs_target == (kind in OLD_NEEDS_TARGET), kind
        assert cls.loads_model == (kind in OLD_MODEL_KINDS), kind
        assert cls.requires == OLD_PACKAGES.get(kind), kind


def test_engine_options_pass_only_the_declared_flags() -> None:
    from judgelm.commands.options import engine_options

    flags = dict(api_base="http://x/v1", api_key_env="K", api="chat", concurrency=2, timeout_s=5.0, max_retries=1,
                 budget_usd=1.0, price_in=None, price_out=0.5, dtype="float32", device=None)
    for kind in BUILT_IN:
        want = {k: v for k, v in flags.items() if k in OLD_CLI_OPTIONS[kind] and v is not None}
        assert engine_options(kind, **flags) == want, kind
    assert engine_options("hf", dtype="bfloat16", device="cpu") == {"dtype": "bfloat16", "device": "cpu"}
    assert engine_options("mini", dtype="float32") == {}


def test_declarations_and_spec_checks_import_no_heavy_package() -> None:
    code = ("import sys\n"
            "from judgelm.engines import BUILT_IN, engine_class\n"
            "from judgelm.engines.specs import check_spec, SpecError\n"
            "[engine_class(k).cli_options for k in BUILT_IN]\n"
            "check_spec('mini')\n"
            "try:\n    check_spec('nope:x')\nexcept SpecError:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'vllm', 'openai') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


def test_register_engine_guards_its_names() -> None:
    with pytest.raises(ValueError, match="built in"):
        register_engine("hf", "x:Y")
    with pytest.raises(ValueError, match="want a name"):
        register_engine("a:b", "x:Y")
    with pytest.raises(TypeError, match="Engine subclass"):
        register_engine("thing", dict)  # type: ignore[arg-type]
    assert "thing" not in ENGINES


# -- the example engine of docs/engines.md, run as written ----------------------------------------


@pytest.fixture()
def length_judge() -> Any:
    """The ``python`` block of docs/engines.md's "Adding an engine" executed as a module (it registers ``length``)."""
    text = (REPO / "docs" / "engines.md").read_text(encoding="utf-8")
    section = text.split("\n## Adding an engine\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    module = types.ModuleType("length_judge_doc")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, "docs/engines.md", "exec"), module.__dict__)  # noqa: S102 — our own docs
        assert ENGINES["length"] is module.LengthJudge
        yield module
    finally:
        ENGINES.pop("length", None)
        sys.modules.pop(module.__name__, None)


def test_docs_example_engine_judges_a_file(length_judge: Any, tmp_path: Path) -> None:
    from judgelm import Judge
    from judgelm.data import read_samples
    from judgelm.schema import ParseStatus

    samples = {s.id: s for s in read_samples(EXAMPLES / "pairs.jsonl")}
    with Judge("length:50", cache=False) as judge:
        assert judge.name == "length:50" and judge.engine.generation_settings() == {"words": 50}
        summary = judge.run(EXAMPLES / "pairs.jsonl", tmp_path / "length.jsonl", swap=True)
    rows = [json.loads(line) for line in (tmp_path / "length.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(summary.judgements) == 2 * len(samples)
    for j in summary.judgements:
        assert j.status == ParseStatus.OK and j.judge == "length:50"
        words = [len(a.text.split()) for a in samples[j.sample_id].answers]  # original order
        assert j.scores == [round(1 + 9 * min(1.0, n / 50), 1) for n in words]
        longer = 0 if j.scores[0] == j.scores[1] else (1 if j.scores[0] > j.scores[1] else 2)
        assert j.verdict == longer
        assert j.explanation == "by length: 50 words or more is a 10"
    by_sample: dict[str, set[int | None]] = {}
    for j in summary.judgements:
        by_sample.setdefault(j.sample_id, set()).add(j.verdict)
    assert all(len(v) == 1 for v in by_sample.values())  # both orders agree: length does not see position
    assert {v for vs in by_sample.values() for v in vs} >= {1, 2}  # not a constant judge on these pairs


def test_docs_example_engine_grades_a_rubric_and_reports_errors(length_judge: Any) -> None:
    from judgelm import Judge
    from judgelm.data import read_samples
    from judgelm.schema import ParseStatus

    graded = list(read_samples(EXAMPLES / "rubric" / "answers.jsonl"))
    with Judge("length", words=10, rubric=EXAMPLES / "rubric" / "helpfulness.yaml") as judge:
        judgements = judge.judge_many(graded)
    assert len(judgements) == 2 * len(graded)  # one per criterion
    for j in judgements:
        scale = j.metadata["scale"]
        assert j.status == ParseStatus.OK and scale[0] <= j.scores[0] <= scale[1]
    pairs = list(read_samples(EXAMPLES / "pairs.jsonl"))[:2]
    with Judge(load_engine("length:50")) as judge:
        failed = judge.judge_many(pairs, template="pandalm")
    assert [j.status for j in failed] == [ParseStatus.ERROR] * 2
    assert failed[0].error == "the length judge writes JudgeLM scores only"


def test_an_installed_engine_reaches_the_command_line(tmp_path: Path) -> None:
    """The docs' engine in a package declaring the ``judgelm.engines`` entry point: ``--judge length:50``
    on the real command line, without any registration in judgelm's own code."""
    text = (REPO / "docs" / "engines.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text.split("\n## Adding an engine\n", 1)[1], re.S).group(1)  # type: ignore[union-attr]
    site = tmp_path / "site"
    (site / "judgelm_length-0.1.dist-info").mkdir(parents=True)
    (site / "my_length_judge.py").write_text(code, encoding="utf-8")
    (site / "judgelm_length-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: judgelm-length\nVersion: 0.1\n", encoding="utf-8")
    (site / "judgelm_length-0.1.dist-info" / "entry_points.txt").write_text(
        "[judgelm.engines]\nlength = my_length_judge:LengthJudge\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO / 'src'}",
           "JUDGELM_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "judgelm.cli", "judge", str(EXAMPLES / "pairs.jsonl"), "-o", str(out),
                           "--judge", "length:50", "--swap", "--no-progress"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and {r["judge"] for r in rows} == {"length:50"} and {r["status"] for r in rows} == {"ok"}
    unknown = subprocess.run([sys.executable, "-m", "judgelm.cli", "judge", str(EXAMPLES / "pairs.jsonl"), "-o",
                              str(out), "--judge", "lenght:50"], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    assert unknown.returncode == 2 and "unknown judge spec 'lenght:50'" in unknown.stderr
