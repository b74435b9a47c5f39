"""Two-process data-parallel training (torchrun + gloo on CPU) through the real ``judgelm train`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import free_port

from judgelm.train.trainer import SUMMARY_FILE

REPO = Path(__file__).resolve().parents[2]



@pytest.mark.slow
def test_two_process_run_writes_one_consistent_checkpoint(shared_data: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    out = tmp_path / "ddp"
    config = {
        "model": "tiny",  # built from scratch once (main process first), read by the other rank
        "data": [str(shared_data / "arena_bench_v1" / "model_judgment" / f) for f in ("claude-1.jsonl", "gpt-4-turbo.jsonl")],
        "pair_single_grades": True,
        "output_dir": str(out),
        "max_answer_chars": 60,
        "max_question_chars": 60,
        "max_samples": 32,
        "max_steps": 6,
        "per_device_batch_size": 2,
        "learning_rate": 1e-3,
        "save_steps": 6,
        "logging_steps": 2,
    }
    cfg_path = tmp_path / "ddp.yaml"
    cfg_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = dict(os.environ, OMP_NUM_THREADS="1", JUDGELM_LOG="INFO")
    cmd = [sys.executable, "-m", "judgelm.cli", "train", "--config", str(cfg_path),
           "--num-processes", "2", "--main-port", str(free_port())]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "torch.distributed.run --nproc_per_node 2" in proc.stderr  # CPU: torchrun, gloo

    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 6
    checkpoints = sorted(p.name for p in out.glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-6"]
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    # one consistent model: the checkpoint and the final weights are the same tensors
    final, ckpt = load_file(str(out / "model.safetensors")), load_file(str(out / "checkpoint-6" / "model.safetensors"))
    assert final.keys() == ckpt.keys()
    for k in final:
        assert torch.equal(final[k], ckpt[k]), k
    # each rank restores its own RNG state on resume
    assert {p.name for p in (out / "checkpoint-6").glob("rng_state*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.num_parameters() > 0
    base = load_file(str(out / "tiny-base" / "model.safetensors"))
    assert any(not torch.equal(base[k], final[k]) for k in final)  # it trained
    print(f"\nDDP: world size {summary['world_size']}, {summary['global_step']} steps, loss {summary['train_loss']:.3f}")
