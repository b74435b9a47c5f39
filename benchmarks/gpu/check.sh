#!/usr/bin/env bash
# The GPU check of judgelm in one command (docs/benchmarks.md):
#   bash benchmarks/gpu/check.sh              # on one GPU: vLLM, hf bf16 at 7B shape, Ray, LoRA
#   bash benchmarks/gpu/check.sh --dry-run    # the same stages on a CPU, tiny sizes (the test-suite runs it)
# Figures: $OUT/gpu-check.json (rewritten after every stage) and the log $OUT/gpu-check.log.
# Wheels carried in .whl/ (made by benchmarks/gpu/wheels.sh) are installed first, offline, where needed.
set -u -o pipefail
cd "$(dirname "$0")/../.."
OUT_DIR="${OUT:-benchmarks/gpu/out}"
mkdir -p "$OUT_DIR"
PY="${PYTHON:-python3}"
SITE="${JUDGELM_GPU_SITE:-/tmp/judgelm-gpu-site}"
mkdir -p "$SITE"
# carried wheels are for an image that lacks judgelm's own dependencies; elsewhere they are left alone
if compgen -G ".whl/*.whl" > /dev/null && ! "$PY" -c "import pydantic" 2> /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --upgrade \
    --target "$SITE" .whl/*.whl || echo "check.sh: installing the carried wheels failed; going on" >&2
fi
# absolute: Ray starts its workers in folders of its own, and they must import this tree too
export PYTHONPATH="$PWD/benchmarks/gpu:$PWD/src:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false RAY_AUTH_MODE=disabled HF_HUB_OFFLINE=1
exec "$PY" -m gpucheck --out "$OUT_DIR/gpu-check.json" "$@" 2>&1 | tee "$OUT_DIR/gpu-check.log"
