"""``python -m gpucheck [--dry-run] [--out FILE]`` — see benchmarks/gpu/check.sh and docs/benchmarks.md."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gpucheck.plan import dry_plan, gpu_plan
from gpucheck.run import STAGES, run_check
from gpucheck.summary import summary_lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gpucheck", description=__doc__)
    ap.add_argument("--dry-run", action="store_true", help="the same stages on the CPU with tiny sizes")
    ap.add_argument("--out", type=Path, default=Path("gpu-check.json"), help="figures JSON (rewritten after each stage)")
    ap.add_argument("--work", type=Path, default=None, help="keep the models and results here (default: a temp dir)")
    ap.add_argument("--skip", action="append", default=[], choices=STAGES, help="skip a stage (repeatable)")
    ap.add_argument("--base", default=None,
                    help="judge base: smollm2, random or a model folder (GPU default smollm2, dry-run default random)")
    ap.add_argument("--no-install", action="store_true", help="never run pip; missing packages are recorded")
    ap.add_argument("--budget", type=float, default=None, help="seconds for the whole run")
    ap.add_argument("--speed-prompts", type=int, default=None, help="prompts for the throughput runs")
    ap.add_argument("--agree-pairs", type=int, default=None, help="pairs for the agreement runs")
    ap.add_argument("--hf-token-budget", type=int, default=None, help="hf engine: padded tokens per batch")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    overrides = {k: v for k, v in {"judge_base": args.base, "budget_s": args.budget, "speed_prompts": args.speed_prompts,
                                   "agree_pairs": args.agree_pairs, "hf_token_budget": args.hf_token_budget}.items()
                 if v is not None}
    overrides["skip"] = args.skip
    if args.no_install:
        overrides["install"] = False
    plan = dry_plan(**overrides) if args.dry_run else gpu_plan(**overrides)
    data = run_check(plan, args.out, args.work)
    print("\n".join(summary_lines(data)))  # the script's own figures
    print(f"figures: {args.out}")
    broken = [name for name, st in data["stages"].items() if st.get("status") in ("failed", "timeout")]
    return 1 if broken else 0  # unavailable or skipped stages are not failures of the check


if __name__ == "__main__":
    raise SystemExit(main())
