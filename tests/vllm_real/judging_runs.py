"""The judging runs the vLLM tests compare, shared by the hf side (run as a script in the project's
venv) and the vLLM side (in .venv-vllm): the same inputs, modes and settings on both.

    python tests/vllm_real/judging_runs.py hf:MODEL_DIR OUT_DIR [SHARED_DATA]
    python tests/vllm_real/judging_runs.py likelihood:MODEL_DIR OUT.json [SHARED_DATA]

writes one ``<run>.jsonl`` per run into OUT_DIR (the hf engine, float32, no cache), or the reading
judge's likelihoods (transformers, float32) of :func:`likelihood_items` into OUT.json.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "pairs.jsonl"
PANDALM = ("pandalm", "testset-v1.json")

def shared_data_dir() -> Path | None:
    """../shared/data as tests/conftest.py finds it (None when absent: those runs are left out)."""
    path = Path(os.environ.get("JUDGELM_SHARED_DATA", REPO.parent / "shared" / "data"))
    return path if path.is_dir() else None


def runs(shared_data: Path | None) -> dict[str, tuple[Path, int | None, bool]]:
    """run name → (input, limit, fast); every run judges both answer orders (--swap)."""
    out: dict[str, tuple[Path, int | None, bool]] = {"examples-fast": (EXAMPLES, None, True),
                                                      "examples-explained": (EXAMPLES, None, False)}
    panda = shared_data / PANDALM[0] / PANDALM[1] if shared_data else None
    if panda is not None and panda.is_file():
        out["pandalm-fast"] = (panda, 8, True)
    return out


def hf_python() -> str:
    explicit = os.environ.get("JUDGELM_HF_PYTHON")
    if explicit:
        return explicit
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.is_file() else sys.executable


def subprocess_env() -> dict[str, str]:
    """This checkout's judgelm first on the path (the project venv's may be an editable install elsewhere)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
            "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


MAX_NEW_TOKENS = 64  # explained mode: enough for the smol judge's whole answer, short on 2 cores


def judge_all(engine, out_dir: Path, shared_data: Path | None) -> dict[str, Path]:  # noqa: ANN001
    """Every run of :func:`runs` with ``engine``; returns run name → output file."""
    from judgelm.data.intake import read_input
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (source, limit, fast) in runs(shared_data).items():
        samples = read_input(source, None, limit=limit).samples
        path = out_dir / f"{name}.jsonl"
        run_judge(samples, engine, path, JudgeSettings(both_orders=True, fast=fast, max_new_tokens=MAX_NEW_TOKENS),
                  cache=False, resume=False)
        written[name] = path
    return written


def likelihood_items(shared_data: Path | None) -> list[tuple[str, str]]:
    """(question, answer) items whose likelihoods both sides compute: the examples, 8 PandaLM pairs."""
    from judgelm.data.intake import read_input

    samples = list(read_input(EXAMPLES).samples)
    panda = shared_data / PANDALM[0] / PANDALM[1] if shared_data else None
    if panda is not None and panda.is_file():
        samples += read_input(panda, None, limit=8).samples
    return [(s.question, a.text) for s in samples for a in s.answers]


def hf_likelihoods(model: str, out: Path, shared_data: Path | None) -> None:
    """The reading judge's hf scorer on the items: [[cond, uncond, tokens, truncated], ...] as JSON."""
    import json

    from judgelm.engines.likelihood import LikelihoodScorer, question_messages

    items = likelihood_items(shared_data)
    scorer = LikelihoodScorer(model, dtype="float32", device="cpu", max_answer_tokens=256, threads=1)
    sig = scorer.signals([question_messages(q) for q, _ in items], [a for _, a in items])
    out.write_text(json.dumps([[s.cond.logprob, s.uncond.logprob, s.cond.n_tokens, s.cond.truncated] for s in sig]))


def check_likelihoods(scorer, hf: list[list]) -> None:  # noqa: ANN001  (tests: a likelihood scorer)
    """The scorer's likelihoods of the same items equal the transformers figures within 1e-3 nats/token."""
    from judgelm.engines.likelihood import question_messages

    items = likelihood_items(shared_data_dir())
    assert len(items) == len(hf) >= 12
    signals = scorer.signals([question_messages(q) for q, _ in items], [a for _, a in items])
    for s, (cond, uncond, tokens, truncated) in zip(signals, hf):
        assert (s.cond.n_tokens, s.cond.truncated) == (tokens, truncated)
        assert abs(s.cond.logprob - cond) / tokens < 1e-3 and abs(s.uncond.logprob - uncond) / s.uncond.n_tokens < 1e-3
    assert max(t for _, _, t, _ in hf) > 20  # real answers, not one-token stubs


if __name__ == "__main__":
    import logging

    import torch

    from judgelm.engines import load_engine

    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    spec, out = sys.argv[1], Path(sys.argv[2])
    shared = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    if spec.startswith("likelihood:"):  # python judging_runs.py likelihood:MODEL_DIR OUT.json [SHARED]
        hf_likelihoods(spec.removeprefix("likelihood:"), out, shared)
    else:
        with load_engine(spec, dtype="float32") as eng:
            judge_all(eng, out, shared)
