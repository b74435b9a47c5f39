"""The sizes of a check: the real GPU run, or the dry run on a CPU (same stages, tiny sizes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Llama-7B shape (JudgeLM-7B's base): what the throughput figures are about
LLAMA_7B = {"hidden_size": 4096, "num_layers": 32, "num_heads": 32, "num_kv_heads": 32,
            "intermediate_size": 11008, "vocab_size": 32000}
#: SmolLM2-135M's shape: the judge base when its weights cannot be had (random weights then)
SMOLLM2_SHAPE = {"hidden_size": 576, "num_layers": 30, "num_heads": 9, "num_kv_heads": 3,
                 "intermediate_size": 1536, "vocab_size": 49152}
TINY = {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2,
        "intermediate_size": 256, "vocab_size": 512}

#: seconds each stage may take at most (the whole run is capped by Plan.budget_s as well)
GPU_STAGE_BUDGETS = {"env": 20, "install": 150, "peak": 15, "base": 90, "speed_model": 120, "vllm": 200,
                     "speed_hf": 100, "agree_cpu": 90, "agree_hf": 30, "lora": 50, "ray": 50}


@dataclass
class Plan:
    """Every size and budget of one run (recorded in the figures)."""

    dry_run: bool
    device: str  # cuda | cpu
    budget_s: float = 470.0  # the whole run, installs included (≤ 8 minutes with start-up)
    stage_budgets: dict[str, float] = field(default_factory=lambda: dict(GPU_STAGE_BUDGETS))
    judge_base: str = "smollm2"  # smollm2 (the LM-judge issue's base) | random | a model folder
    judge_shape: dict[str, int] = field(default_factory=lambda: dict(SMOLLM2_SHAPE))
    speed_shape: dict[str, int] = field(default_factory=lambda: dict(LLAMA_7B))
    #: dtype the speed model is saved in (what LoRA's base loads as; engines choose their own):
    #: bf16 on the GPU (13.5 GB for 7B), float32 in the dry run (bf16 backward is slow on a CPU)
    speed_saved_dtype: str = "bfloat16"
    agree_pairs: int = 200
    agree_explained_pairs: int = 50
    explained_tokens: int = 48
    speed_prompts: int = 5000
    prompt_tokens: int = 700  # JudgeLM val-shaped prompts, shared system prefix
    ref_samples: int = 64  # the batch-1 reference loop
    score_tokens: int = 4  # forced decode steps of a score line ("8", " ", "7", "\n")
    hf_token_budget: int | None = None  # None: the engine's default for the device
    hf_max_batch_size: int = 64
    hf_chunk: int = 500  # prompts per engine call, so a stage stops at its deadline
    vllm_chunk: int = 1000
    vllm_speed_memory: float = 0.55  # gpu_memory_utilization of the 7B-shaped vLLM
    vllm_agree_memory: float = 0.15
    vllm_max_model_len: int = 2048
    #: no CUDA graphs / compilation: start-up in seconds instead of a minute or more; fast mode is
    #: prefill-bound, where graphs matter little
    vllm_enforce_eager: bool = True
    peak_sizes: tuple[int, ...] = (4096, 8192)
    peak_seconds: float = 3.0
    nominal_bf16_tflops: float = 790.0  # H200 dense bf16 as measured on this workplace's H200s
    lora_steps: int = 20
    lora_batch: int = 4
    lora_max_length: int = 1024
    ray_replicas: int = 1
    install: bool = True
    skip: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gpu_plan(**overrides: Any) -> Plan:
    """The real check on one GPU."""
    return Plan(dry_run=False, device="cuda", **overrides)


def dry_plan(**overrides: Any) -> Plan:
    """The same stages on a CPU with tiny sizes (the test-suite runs it)."""
    values: dict[str, Any] = dict(
        dry_run=True, device="cpu", budget_s=600.0, judge_base="random", judge_shape=dict(TINY),
        speed_shape=dict(TINY), speed_saved_dtype="float32", agree_pairs=6, agree_explained_pairs=3,
        explained_tokens=12, speed_prompts=12, prompt_tokens=500, ref_samples=3, hf_chunk=6, vllm_chunk=6,
        peak_sizes=(256, 512), peak_seconds=0.4, lora_steps=5, lora_batch=2, lora_max_length=768,
        install=False, stage_budgets={k: max(v, 120) for k, v in GPU_STAGE_BUDGETS.items()},
    )
    values.update(overrides)
    return Plan(**values)
