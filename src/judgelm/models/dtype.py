"""Device and dtype rules for torch work, one place for every user: the hf engine, the loader
(:mod:`judgelm.models.loading`), ``bf16: auto`` in training, vLLM's ``auto`` on a CPU and the
benchmarks' peaks. bf16 wherever it is fast (a bf16 GPU, or a CPU whose matmul library has native
bf16 kernels), fp32 on other CPUs, never fp16 on a CPU."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; anything else is kept."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (oneDNN's bf16 GEMM: AVX512-BF16, AMX, AVX512 cores).

    Where it does not (AVX2-only CPUs), torch falls back to a scalar bf16 kernel: measured on an
    AVX2 EPYC, two threads, 1.8 GFLOP/s per GEMM in bf16 against 67 in fp32, and 4-5x slower end to
    end (benchmarks/bench_cpu_dtype.py). The ``auto`` dtype on such a CPU is therefore fp32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def cpu_compute_dtype() -> Any:  # -> torch.dtype (torch is imported lazily)
    """The dtype CPU work runs in: bf16 where it is fast (:func:`cpu_has_fast_bf16`), else fp32."""
    import torch

    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32


def resolve_dtype(dtype: Any, device: str) -> Any:  # -> torch.dtype
    """``auto``: bf16 on GPUs that have it (fp16 on older ones), :func:`cpu_compute_dtype` on a CPU."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return cpu_compute_dtype()
    names = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp32": torch.float32, "float32": torch.float32,
             "fp16": torch.float16, "float16": torch.float16}
    if dtype not in names:
        raise ValueError(f"unknown dtype {dtype!r}: expected auto, bfloat16, float32 or float16")
    if names[dtype] is torch.float16 and not device.startswith("cuda"):
        raise ValueError("float16 on CPU is slow and inaccurate: use bfloat16 or float32 (or auto)")
    if names[dtype] is torch.bfloat16 and not device.startswith("cuda") and not cpu_has_fast_bf16():
        logger.warning("dtype bfloat16 on a CPU without native bf16 matmul (%s): expect it to run 4-5x slower "
                       "than float32 (dtype auto picks float32 here)", torch.backends.cpu.get_cpu_capability())
    return names[dtype]
