"""The reading judge (``--judge lm``): speed on the whole PandaLM test, and its figures on the five sets.

Speed (default): judges all 999 PandaLM test pairs in both orders (``--swap``) from a cold start
(no score cache), and reports the wall time, LM tokens/s and the share of the fp32 matmul peak
measured on the spot with the same thread count. FLOPs are counted by the scorer from the token lengths:
2 × decoder parameters per token run, the causal attention scores, and the vocabulary projection on
answer tokens only (the only positions it is computed at; a context runs once per batch of answers).

    .venv/bin/python benchmarks/bench_lm.py [--threads 2] [--json benchmarks/results/lm-speed.json]

Figures (``--eval DIR``): every labelled set judged with ``--swap`` (forced choice on LLMBar's
sets, which have no ties) and scored by ``judgelm eval --json`` — agreement next to the length
rule and the majority class on the same rows — beside mini's recorded figures; writes
``DIR/summary.json``. ``--cache-file`` keeps the LM scores between runs (the figures do not change):

    .venv/bin/python benchmarks/bench_lm.py --eval runs/lm-eval --cache-file .cache/lm/scores.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_lm")


def machine(threads: int) -> str:
    import torch

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.machine()} {cpu}, {os.cpu_count()} cores, {threads} torch threads, torch CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()}, load average {os.getloadavg()[0]:.1f} at start")


def speed(args: argparse.Namespace) -> dict:
    import torch

    from judgelm.engines.bench import cpu_matmul_peak_gflops
    from judgelm.engines.lm import LMEngine
    from judgelm.judging.runner import run_judge
    from judgelm.mini.evalsets import load_eval_set

    samples = load_eval_set("pandalm_test", Path(args.data))
    peak = cpu_matmul_peak_gflops(args.threads, dtype=torch.float32)
    t_load = time.perf_counter()
    engine = LMEngine(threads=args.threads)
    load_s = time.perf_counter() - t_load
    out = Path(args.out) / "pandalm_test.lm.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = run_judge(samples, engine, out, swap=True, resume=False, cache=False, progress=True)
    wall = time.perf_counter() - t0
    flops = engine.scorer.flops
    tokens = engine.scorer.tokens_scored
    res = {
        "judge": "lm (shipped head, SmolLM2-135M-Instruct float32)",
        "machine": machine(args.threads),
        "pairs": len(samples), "judgements": len(summary.judgements), "orders": 2,
        "distinct_scored": len(engine.scorer.cache), "lm_tokens": tokens, "padded_tokens": engine.scorer.padded_tokens,
        "load_s": round(load_s, 1), "wall_s": round(wall, 1),
        "tokens_per_s": round(tokens / wall, 1),
        "gflops_per_s": round(flops / wall / 1e9, 1), "fp32_peak_gflops": round(peak, 1),
        "share_of_peak": round(flops / wall / 1e9 / peak, 3),
        "goal_wall_s": 480, "goal_share": 0.5,
    }
    return res


def run_eval(args: argparse.Namespace) -> dict:
    from judgelm.engines.lm import LMEngine
    from judgelm.judging.runner import run_judge
    from judgelm.mini.evalsets import EVAL_SETS, eval_set_path, load_eval_set

    out_dir = Path(args.eval)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = args.judge.partition(":")[2] if args.judge.startswith("lm:") else ""
    engines = {True: LMEngine(target, threads=args.threads, cache_file=args.cache_file or None)}
    engines[False] = LMEngine(target, threads=args.threads, ties=False, scorer=engines[True].scorer)
    mini = json.loads((REPO / "benchmarks/results/mini-eval-fp32.json").read_text())["sets"]
    figures = {}
    for name in EVAL_SETS:
        samples = load_eval_set(name, Path(args.data))
        has_ties = any(s.gold and s.gold.verdict == 0 for s in samples)
        pred = out_dir / f"{name}.jsonl"
        t0 = time.perf_counter()
        run_judge(samples, engines[has_ties], pred, swap=True, resume=False, cache=False, progress=True)
        wall = time.perf_counter() - t0
        res = subprocess.run([sys.executable, "-m", "judgelm.cli", "eval", "--gold", str(eval_set_path(name, Path(args.data))),
                              "--pred", str(pred), "--json"], check=True, capture_output=True, text=True)
        s = json.loads(res.stdout)
        figures[name] = {"n": s["n"], "agreement": s["agreement"], "longer": s["baselines"]["longer"]["agreement"],
                         "majority": s["baselines"]["majority"]["agreement"], "mini": mini[name]["agreement"],
                         "consistency": s.get("consistency", {}).get("rate") if isinstance(s.get("consistency"), dict) else s.get("consistency"),
                         "forced_choice": not has_ties, "judge_wall_s": round(wall, 1)}
        (out_dir / f"{name}.eval.json").write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
        log.warning("%s: lm %.4f  longer %.4f  mini %.4f", name, s["agreement"], figures[name]["longer"], figures[name]["mini"])
    sets = list(figures.values())
    mean = lambda k: sum(f[k] for f in sets) / len(sets)  # noqa: E731
    verdict = {
        "mean_lm": round(mean("agreement"), 4), "mean_mini": round(mean("mini"), 4), "mean_longer": round(mean("longer"), 4),
        "above_length_everywhere": all(f["agreement"] > f["longer"] for f in sets),
        "within_2_points_of_mini_everywhere": all(f["agreement"] >= f["mini"] - 0.02 for f in sets),
    }
    verdict["default_rule_met"] = bool(verdict["above_length_everywhere"] and verdict["within_2_points_of_mini_everywhere"]
                                       and verdict["mean_lm"] > verdict["mean_mini"])
    return {"judge": args.judge, "machine": machine(args.threads), "command": "benchmarks/bench_lm.py --eval DIR",
            "sets": figures, "default_rule": verdict}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="runs/lm-speed")
    ap.add_argument("--eval", help="judge + score the five labelled sets, writing into this directory")
    ap.add_argument("--judge", default="lm")
    ap.add_argument("--cache-file", default="")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    res = run_eval(args) if args.eval else speed(args)
    text = json.dumps(res, indent=2)
    print(text)
    if args.eval:
        (Path(args.eval) / "summary.json").write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
