"""Fixtures of the tests against a real vLLM (they run with .venv-vllm's interpreter, see
docs/engines.md): the smol judge merged into an HF folder, and the hf engine's judgements of it,
both made by the project's own venv (its transformers) in a subprocess, once per session.

The project's interpreter is ``$JUDGELM_HF_PYTHON``, else ``.venv/bin/python`` of the repository,
else this interpreter (judgelm's hf engine runs in .venv-vllm too). The merged folder is kept in
``.cache/vllm-tests/`` (gitignored), keyed by the adapter's bytes, so a rerun skips the export.
"""

from __future__ import annotations

import hashlib
import shutil
import os
import subprocess
from pathlib import Path

import pytest
from judging_runs import hf_python, subprocess_env

REPO = Path(__file__).resolve().parents[2]
ADAPTER = REPO / "tests" / "fixtures" / "smol-adapter"  # the CPU-trained smol judge (a test fixture)
HERE = Path(__file__).resolve().parent

# two cores shared by everything: vLLM's CPU backend binds one OpenMP thread per core unless told not to
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def judge_dir() -> Path:
    """The smol judge of tests/fixtures (LoRA over the SmolLM2 GGUF) merged into an HF folder vLLM loads."""
    digest = hashlib.sha256((ADAPTER / "adapter_model.safetensors").read_bytes()).hexdigest()[:12]
    out = REPO / ".cache" / "vllm-tests" / f"smol-judge-{digest}"
    if not (out / "model.safetensors").is_file():
        tmp = out.with_name(out.name + ".part")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([hf_python(), "-m", "judgelm.models.export", str(ADAPTER), str(tmp)], check=True,
                       env=subprocess_env(), timeout=600, stdout=subprocess.DEVNULL)
        tmp.rename(out)
    return out


@pytest.fixture(scope="session")
def hf_judgements(judge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """run name → the hf engine's output on the merged judge (float32), from the project's venv."""
    from judging_runs import runs, shared_data_dir

    out = tmp_path_factory.mktemp("hf-judgements")
    shared = shared_data_dir()
    subprocess.run([hf_python(), str(HERE / "judging_runs.py"), f"hf:{judge_dir}", str(out),
                    *([str(shared)] if shared else [])], check=True, env=subprocess_env(), timeout=900)
    return {name: out / f"{name}.jsonl" for name in runs(shared)}


@pytest.fixture(scope="session")
def hf_likelihoods(judge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[list]:
    """The reading judge's transformers likelihoods of ``judging_runs.likelihood_items`` on the merged
    judge (float32, answers cut at 256 tokens), from the project's venv: [[cond, uncond, tokens, truncated]]."""
    import json

    from judging_runs import shared_data_dir

    out = tmp_path_factory.mktemp("hf-likelihoods") / "likelihoods.json"
    shared = shared_data_dir()
    subprocess.run([hf_python(), str(HERE / "judging_runs.py"), f"likelihood:{judge_dir}", str(out),
                    *([str(shared)] if shared else [])], check=True, env=subprocess_env(), timeout=900)
    return json.loads(out.read_text())
