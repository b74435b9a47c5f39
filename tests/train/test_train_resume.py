"""A run interrupted at a checkpoint and resumed ends with the weights of an uninterrupted run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgelm.train.config import TrainConfig
from judgelm.train.trainer import SUMMARY_FILE, train


def _weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _cfg(tiny_llama: Path, shared_data: Path, out: Path, **kw) -> TrainConfig:
    defaults = dict(
        model=str(tiny_llama),
        data=[str(shared_data / "arena_bench_v1" / "model_judgment" / "claude-1.jsonl"),
              str(shared_data / "arena_bench_v1" / "model_judgment" / "gpt-4-turbo.jsonl")],
        pair_single_grades=True,
        output_dir=str(out),
        max_answer_chars=60,
        max_question_chars=60,
        max_length=1024,
        max_samples=48,
        epochs=2,  # 48 rows / batch 4 = 12 steps per epoch: the resume lands mid-epoch-1, ends in epoch 2
        per_device_batch_size=4,
        learning_rate=1e-3,
        warmup_ratio=0.1,
        save_steps=7,
        logging_steps=4,
        seed=11,
    )
    return TrainConfig(**{**defaults, **kw})


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)  # shared 2-core machine: one thread is faster and deterministic
    yield
    torch.set_num_threads(n)


def test_interrupted_and_resumed_run_matches_uninterrupted(tiny_llama: Path, shared_data: Path, tmp_path: Path) -> None:
    import torch

    full = train(_cfg(tiny_llama, shared_data, tmp_path / "full"))
    assert full.completed and full.global_step == 24

    part = train(_cfg(tiny_llama, shared_data, tmp_path / "resumed", stop_after_steps=7))
    assert not part.completed and part.global_step == 7
    assert (tmp_path / "resumed" / "checkpoint-7").is_dir()
    assert not (tmp_path / "resumed" / "model.safetensors").exists()  # no final model yet

    done = train(_cfg(tiny_llama, shared_data, tmp_path / "resumed", resume_from_checkpoint="auto"))
    assert done.completed and done.global_step == 24

    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "resumed")
    base = _weights(tiny_llama)
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    moved = max((a[k].float() - base[k].float()).abs().max().item() for k in a)
    print(f"\nresume: max |w_full - w_resumed| = {worst:.2e}; training moved weights by up to {moved:.2e}")
    assert moved > 1e-3  # the comparison is not between two untrained models
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    summary = json.loads((tmp_path / "resumed" / SUMMARY_FILE).read_text())
    assert summary["global_step"] == 24 and summary["world_size"] == 1
    card = (tmp_path / "resumed" / "README.md").read_text()
    assert "claude-1.jsonl" in card and "final training loss" in card


def test_lora_run_is_merged_into_a_plain_model(tiny_llama: Path, shared_data: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    out = tmp_path / "lora"
    res = train(_cfg(tiny_llama, shared_data, out, finetune="lora", lora_r=4, lora_alpha=8, max_steps=4,
                     learning_rate=1e-2))
    assert res.completed
    assert not (out / "adapter_config.json").exists()  # merged: a plain model, loads as hf:PATH
    merged = _weights(out)
    assert not any("lora" in k for k in merged)
    base = _weights(tiny_llama)
    assert any(not torch_equal(merged[k], base[k]) for k in merged if "q_proj" in k)
    assert AutoModelForCausalLM.from_pretrained(out).num_parameters() == AutoModelForCausalLM.from_pretrained(tiny_llama).num_parameters()


def test_qlora_without_bitsandbytes_is_a_clear_error(tiny_llama: Path) -> None:
    from judgelm.train.trainer import load_model

    with pytest.raises(RuntimeError, match="qlora needs"):
        load_model(TrainConfig(model=str(tiny_llama), data=["x"], finetune="qlora"))


def torch_equal(a, b) -> bool:
    import torch

    return torch.equal(a, b)
