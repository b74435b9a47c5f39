"""``python -m judgelm.models.export``: any model judgelm loads → a plain HF folder (what vLLM loads)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from judgelm.models.export import TRAIN_SUMMARY, export_hf


def test_export_writes_a_folder_that_loads_to_the_same_model(tiny_llama: Path, tmp_path: Path) -> None:
    import torch

    from judgelm.models.loading import load_causal_lm, prompt_token_ids

    src = tmp_path / "judge"
    shutil.copytree(tiny_llama, src)
    (src / TRAIN_SUMMARY).write_text(json.dumps({"config": {"chat_template": False}}), encoding="utf-8")
    out = export_hf(str(src), tmp_path / "hf")
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "float32" == config["torch_dtype"]
    if "rope_parameters" in config:  # transformers 4 readers (the CUDA vLLM wheel may bring one) see the same RoPE base
        assert config["rope_theta"] == config["rope_parameters"]["rope_theta"]
    assert json.loads((out / TRAIN_SUMMARY).read_text()) == {"config": {"chat_template": False}}
    a, b = load_causal_lm(str(src), dtype="float32", device="cpu"), load_causal_lm(str(out), dtype="float32", device="cpu")
    ids = prompt_token_ids(a.tokenizer, "[Question]\nWhat is 2+2?")
    assert ids == prompt_token_ids(b.tokenizer, "[Question]\nWhat is 2+2?")
    with torch.inference_mode():
        x = torch.tensor([ids])
        assert torch.equal(a.model(x).logits, b.model(x).logits)


def test_export_refuses_to_overwrite_a_model(tiny_llama: Path) -> None:
    with pytest.raises(FileExistsError, match="already holds a model"):
        export_hf(str(tiny_llama), tiny_llama)
    res = subprocess.run([sys.executable, "-m", "judgelm.models.export", str(tiny_llama), str(tiny_llama)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stderr.startswith("Error: ") and "already holds a model" in res.stderr


def test_bench_measures_only_vllm_specs() -> None:
    from support import run_cli

    res = run_cli("bench", "--judge", "hf:x")
    assert res.exit_code == 2 and "vllm:MODEL_DIR" in res.output
