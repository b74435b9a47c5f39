"""Rubric grading on the shared Prometheus items: the built-in judge, the length baseline and the ceiling.

Grades all 640 absolute-grading items (``prometheus/mt_bench_eval.json`` + ``vicuna_eval.json``) with
the ``prometheus-absolute`` template and each item's own rubric, through a judge (default: the
built-in ``mini``, which cannot read a rubric and says so), and evaluates with
:func:`judgelm.evaluation.grades.evaluate_grades`: per file and on both together, next to the length
baseline on the same items and the inter-annotator ceiling of the three GPT-4 grades.
Gold = the mean of the three GPT-4 grades (exact match against the mean rounded half up).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_rubric.py --json benchmarks/results/rubric-prometheus-mini.json
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
DATA = REPO.parent / "shared" / "data" / "prometheus"
FILES = ("mt_bench_eval.json", "vicuna_eval.json")
log = logging.getLogger("bench_rubric")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", default="mini")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from judgelm import Judge
    from judgelm.data import read_samples
    from judgelm.evaluation.grades import evaluate_grades

    per_file, all_samples, all_preds = {}, [], []
    t0 = time.perf_counter()
    load = os.getloadavg()
    with Judge(args.judge, template="prometheus-absolute") as judge:
        for name in FILES:
            samples = list(read_samples(args.data / name))
            t = time.perf_counter()
            preds = judge.judge_many(samples)
            sec = time.perf_counter() - t
            per_file[name] = {"seconds": round(sec, 1), **evaluate_grades(samples, preds)}
            all_samples += samples
            all_preds += preds
            log.info("%s: %d items in %.1fs", name, len(samples), sec)
    result = {
        "benchmark": "rubric grading, Prometheus absolute items (shared data)",
        "judge": args.judge,
        "template": "prometheus-absolute (each item's own rubric, reference shown)",
        "gold": "mean of the three GPT-4 grades (metadata.gpt4_scores); exact = grade == gold rounded half up",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": args.threads,
                    "loadavg_at_start": [round(x, 2) for x in load]},
        "seconds": round(time.perf_counter() - t0, 1),
        "both_files": evaluate_grades(all_samples, all_preds),
        "per_file": per_file,
    }
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
