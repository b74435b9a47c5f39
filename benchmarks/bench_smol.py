"""The smol judge on the labelled evaluation sets: agreement (``judgelm eval``) and judging speed.

For every set the judge runs in both orders (``--swap``, fast mode: the score line only), then
``judgelm eval --json`` scores it next to the length rule and the majority class on the same rows,
with swap consistency. The engine is loaded once; its counters give pairs/s, prefill tokens/s and
the share of the matmul peak (measured on the spot, same thread count, in the dtype the model runs in:
bf16 where the CPU has native bf16 kernels, else fp32) while judging:
FLOPs = 2 x linear weights x tokens run + causal attention + the head at the decoded positions.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_smol.py --out runs/smol-eval [--judge smol:runs/smol] \
        [--sets pandalm_test,llmbar_natural,...] [--subset pandalm_test=333] [--threads 1]

Writes DIR/<set>.jsonl (judgements), DIR/<set>.eval.json and DIR/summary.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def engine_flops(engine) -> float:
    """FLOPs the engine executed so far (prefill + decode), from its counters."""
    import torch

    m = engine.model
    cfg = m.config
    layer = m.model.layers[0]
    per_layer = sum(x.weight.numel() for x in layer.modules() if isinstance(x, torch.nn.Linear))
    d = cfg.hidden_size
    st = engine.stats
    flops = 0.0
    for lcp, suffixes in st.prefill_batches:
        tokens = lcp + sum(suffixes)
        attn = 2 * d * lcp * lcp + sum(2 * d * (2 * lcp + s) * s for s in suffixes)  # causal QK^T + AV, per layer
        flops += cfg.num_hidden_layers * (2 * per_layer * tokens + attn) + 2 * cfg.vocab_size * d * len(suffixes)
    avg_ctx = (st.prefill_tokens / max(1, sum(len(s) for _, s in st.prefill_batches)))
    flops += st.generated_tokens * (cfg.num_hidden_layers * (2 * per_layer + 4 * d * avg_ctx) + 2 * cfg.vocab_size * d)
    return flops


def one_order_figures(pred: Path, samples: list) -> dict:
    """The same run read WITHOUT balancing: each order's own greedy-distribution reading
    (``metadata.orders.presented``: expected scores of the two slots) → agreement per order and
    swap consistency, i.e. what ``--judge smol --balanced false`` would have scored."""
    gold = {s.id: s.gold.verdict for s in samples if s.gold and s.gold.verdict is not None}
    per: dict[str, dict] = {}
    for line in pred.read_text(encoding="utf-8").splitlines():
        j = json.loads(line)
        e = (j.get("metadata") or {}).get("orders", {}).get("presented")
        if j["sample_id"] not in gold or not e:
            continue
        first_is_one = j["order"] == sorted(j["order"])
        v = 0 if abs(e[0] - e[1]) < 1e-9 else (1 if e[0] > e[1] else 2)  # presented order
        if not first_is_one and v:
            v = 3 - v  # back to the original order
        per.setdefault(j["sample_id"], {})["a" if first_is_one else "b"] = v
    both = [(k, d) for k, d in per.items() if "a" in d and "b" in d]
    n = len(both)
    if not n:
        return {}
    return {"n": n,
            "agreement_original_order": round(sum(d["a"] == gold[k] for k, d in both) / n, 4),
            "agreement_swapped_order": round(sum(d["b"] == gold[k] for k, d in both) / n, 4),
            "consistency": round(sum(d["a"] == d["b"] for _, d in both) / n, 4),
            "first_position_wins": round(sum((d["a"] == 1) + (d["b"] == 2) for _, d in both) / (2 * n), 4)}


def forced_choice(pred: Path, samples: list) -> dict:
    """Agreement when the unrounded balanced scores decide (a tie only if exactly equal): the
    written score line has two decimals, so near-equal readings show as ties there."""
    gold = {s.id: s.gold.verdict for s in samples if s.gold and s.gold.verdict is not None}
    hits = n = ties = 0
    for line in pred.read_text(encoding="utf-8").splitlines():
        j = json.loads(line)
        e = (j.get("metadata") or {}).get("expected_scores")
        if j["sample_id"] not in gold or not e or j["order"] != sorted(j["order"]):
            continue
        v = 0 if e[0] == e[1] else (1 if e[0] > e[1] else 2)
        ties += v == 0
        hits += v == gold[j["sample_id"]]
        n += 1
    return {"n": n, "agreement": round(hits / n, 4) if n else None, "ties": ties}


def main() -> None:
    from bench_mini import most_confident_half

    from judgelm.engines.bench import cpu_matmul_peak_gflops

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--judge", default="smol:runs/smol")
    ap.add_argument("--sets", default="pandalm_test,llmbar_natural,llmbar_faireval,llmbar_llmeval2,llmbar_mtbench")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--subset", default="", help="NAME=N,...: judge N evenly spaced samples of set NAME "
                    "(every ceil(len/N)-th, from the first); the length rule and majority are scored on the same rows")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from judgelm.engines import load_engine
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings
    from judgelm.mini.evalsets import eval_set_path, load_eval_set

    args.out.mkdir(parents=True, exist_ok=True)
    subsets = {k: int(v) for k, v in (x.split("=") for x in args.subset.split(",") if x)}
    engine = load_engine(args.judge)
    figures: dict[str, dict] = {}
    for name in args.sets.split(","):
        gold = eval_set_path(name, Path(args.data))
        samples = load_eval_set(name, Path(args.data))
        if name in subsets and subsets[name] < len(samples):
            step = -(-len(samples) // subsets[name])
            samples = samples[::step]
        pred = args.out / f"{name}.jsonl"
        f0, p0 = engine_flops(engine), engine.stats.prefill_tokens
        s0 = engine.stats.prefill_s + engine.stats.decode_s
        peak_before = cpu_matmul_peak_gflops(args.threads, reps=4)
        t0 = time.perf_counter()
        summary = run_judge(samples, engine, pred, JudgeSettings(both_orders=True, fast=True), resume=True, cache=False)
        wall = time.perf_counter() - t0
        peak = (peak_before + cpu_matmul_peak_gflops(args.threads, reps=4)) / 2
        model_s = engine.stats.prefill_s + engine.stats.decode_s - s0
        flops = engine_flops(engine) - f0
        cmd = [sys.executable, "-m", "judgelm.cli", "eval", "--gold", str(gold), "--pred", str(pred), "--json"]
        res = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
        ev = json.loads(res.stdout)
        ev["most_confident_half"] = most_confident_half(pred, samples)
        ev["one_order_unbalanced"] = one_order_figures(pred, samples)
        ev["forced_choice"] = forced_choice(pred, samples)
        ev["speed"] = {
            "threads": args.threads, "pairs": len(samples), "requests": summary.requests, "wall_s": round(wall, 1),
            "pairs_per_s_both_orders": round(len(samples) / wall, 3) if wall else None,
            "requests_per_s": round(summary.requests / wall, 3) if wall else None,
            "prefill_tokens": engine.stats.prefill_tokens - p0,
            "model_gflops": round(flops / max(model_s, 1e-9) / 1e9, 1),
            "matmul_peak_gflops": round(peak, 1),
            "peak_dtype": str(engine.dtype).replace("torch.", ""),
            "share_of_peak_model": round(flops / max(model_s, 1e-9) / 1e9 / peak, 3),
            "share_of_peak_wall": round(flops / wall / 1e9 / peak, 3) if wall else None,
            "load_average": os.getloadavg(),
            "resumed": summary.resumed,
            "subset_of": len(load_eval_set(name, Path(args.data))) if name in subsets else None,
        }
        figures[name] = ev
        (args.out / f"{name}.eval.json").write_text(json.dumps(ev, indent=2) + "\n", encoding="utf-8")
        base = ev.get("baselines", {})
        print(f"{name}: agreement {ev.get('agreement')} longer {base.get('longer', {}).get('agreement')} "
              f"majority {base.get('majority', {}).get('agreement')} consistency {ev.get('consistency')} "
              f"speed {ev['speed']}", flush=True)
    # the summary is every set scored in this folder so far (several runs may share it)
    merged = {p.name[: -len(".eval.json")]: json.loads(p.read_text(encoding="utf-8"))
              for p in sorted(args.out.glob("*.eval.json"))}
    (args.out / "summary.json").write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
