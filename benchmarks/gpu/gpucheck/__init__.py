"""One prepared GPU check of every GPU path of judgelm (vLLM, hf at 7B shape, Ray, LoRA).

Why a package of its own under benchmarks/: it is run as ``bash benchmarks/gpu/check.sh`` on a lent
GPU machine (a copy of the working tree, no install of judgelm), and with ``--dry-run`` on a CPU in
the test-suite, so the same code is known to work before a GPU is ever lent. See docs/benchmarks.md.
"""
