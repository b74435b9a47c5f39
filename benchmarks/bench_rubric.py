"""Rubric grading on the shared Prometheus items: the built-in judge, the length baseline and the ceiling.

Grades all 640 absolute-grading items (``prometheus/mt_bench_eval.json`` + ``vicuna_eval.json``) with
the ``prometheus-absolute`` template and each item's own rubric, through a judge (default: the
built-in ``mini``, which cannot read a rubric and says so), and evaluates with
:func:`judgelm.evaluation.grades.evaluate_grades`: per file and on both together, next to the length
baseline on the same items and the inter-annotator ceiling of the three GPT-4 grades.
Gold = the mean of the three GPT-4 grades (exact match against the mean rounded half up).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_rubric.py --json benchmarks/results/rubric-prometheus-mini.json
    .venv/bin/python benchmarks/bench_rubric.py --tables benchmarks/results/rubric-prometheus-mini.json --write docs/rubrics.md

``--tables`` writes the figure block of docs/rubrics.md (between ``<!-- rubric-figures:start -->`` and
``<!-- rubric-figures:end -->``) from a results file, so the page quotes exactly what was measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "prometheus"
FILES = ("mt_bench_eval.json", "vicuna_eval.json")
log = logging.getLogger("bench_rubric")


START, END = "<!-- rubric-figures:start -->", "<!-- rubric-figures:end -->"


def _f(x: float | None, pct: bool = False) -> str:
    return "–" if x is None else (f"{100 * x:.1f}" if pct else f"{x:.3f}")


def figures_table(result: dict) -> str:
    """Markdown: per item set, the judge, the length baseline and the GPT-4 ceiling (Pearson/Spearman/Kendall,
    exact %, within-1 %), from a ``bench_rubric.py`` results file."""
    head = ("| items | who | Pearson | Spearman | Kendall | exact % | within-1 % |\n"
            "|---|---|---|---|---|---|---|")
    rows = [head]
    sets = [("both files", result["both_files"])] + [(k, v) for k, v in result["per_file"].items()]
    for name, ev in sets:
        c = ev["criteria"]["rubric"]
        j, q, lc, k = c["judge"], c["length"]["quantile_grades"], c["length"]["length_correlation"], c["ceiling"]
        label = f"{name} ({c['judge']['n']})"
        rows.append(f"| {label} | **{result['judge']}** | {_f(j['pearson'])} | {_f(j['spearman'])} | {_f(j['kendall'])} "
                    f"| {_f(j['exact'], True)} | {_f(j['within_1'], True)} |")
        rows.append(f"| | length → grade (quantiles) | {_f(q['pearson'])} | {_f(q['spearman'])} | {_f(q['kendall'])} "
                    f"| {_f(q['exact'], True)} | {_f(q['within_1'], True)} |")
        rows.append(f"| | length in characters | {_f(lc['pearson'])} | {_f(lc['spearman'])} | {_f(lc['kendall'])} | | |")
        rows.append(f"| | GPT-4 ceiling ({k['annotators']} samples, mean of pairs) | {_f(k['pearson'])} "
                    f"| {_f(k['spearman'])} | {_f(k['kendall'])} | {_f(k['exact'], True)} | {_f(k['within_1'], True)} |")
    m = result["machine"]
    rows.append("")
    rows.append(f"Measured by `benchmarks/bench_rubric.py` ({result['gold']}); {result['seconds']} s for all items on "
                f"{m['cpus']} CPUs, {m['threads']} thread, load average {m['loadavg_at_start'][0]} at the start.")
    return "\n".join(rows)


def write_block(path: Path, block: str) -> None:
    """Replace the figure block between the markers of ``path``."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no {START} … {END} block")
    path.write_text(pattern.sub(lambda _: f"{START}\n{block}\n{END}", text), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", default="mini")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--tables", type=Path, help="print (or --write) the docs table of this results file; no run")
    ap.add_argument("--write", type=Path, help="with --tables: replace the figure block of this markdown file")
    args = ap.parse_args()
    if args.tables:
        block = figures_table(json.loads(args.tables.read_text(encoding="utf-8")))
        if args.write:
            write_block(args.write, block)
        else:
            print(block)
        return
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
