"""How well a judge grades single answers: its grade against the labelled grades of Prometheus
(MT-bench / Vicuna ``gpt4_score``, mean of three, 1-5), as Spearman and Pearson correlations (scipy)
over the samples it graded, per set and pooled.

Auto-J's ``single_traindata.jsonl`` (``pred_score`` 1-10) has no reference answer, and JudgeLM's
single-answer prompt takes its anchor (Assistant 1, pinned at 10) from the reference: those samples
cannot be graded in that mode, and the script records how many it could not grade and why.

    .venv/bin/python benchmarks/single_answer.py [--judge mini] [--limit N] \\
        [--json benchmarks/results/single_answer_mini.json]

Unparsed grades are counted and left out of the correlations (never turned into a grade). The
Prometheus samples carry a reference answer; it is shown to the judge (``reference=True``), as the
Prometheus protocol does. The figure is what ``judgelm judge`` quotes when mini grades single answers.
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
DATA = Path(os.environ.get("JUDGELM_SHARED_DATA", REPO.parent / "shared" / "data"))
SETS = {
    "prometheus_mt_bench": (DATA / "prometheus" / "mt_bench_eval.json", True),
    "prometheus_vicuna": (DATA / "prometheus" / "vicuna_eval.json", True),
}


def gradable(path: Path, limit: int | None) -> dict[str, object]:
    """How many samples of a set the single-answer prompt can grade (it needs a reference)."""
    from judgelm.data import read_samples

    samples = list(read_samples(path, limit=limit))
    return {"file": str(path.relative_to(DATA.parent)), "n": len(samples),
            "with_reference": sum(1 for s in samples if s.reference),
            "note": "not graded: the single-answer prompt takes its anchor from the reference answer"}


def grade_set(judge: object, path: Path, reference: bool, limit: int | None) -> dict[str, object]:
    """One labelled set: the judge's grades next to the gold grades, and their correlations."""
    from scipy.stats import pearsonr, spearmanr

    from judgelm.data import read_samples

    samples = [s for s in read_samples(path, limit=limit) if s.gold and s.gold.scores and s.gold.scores[0] is not None]
    started = time.perf_counter()
    judgements = judge.judge_many(samples, mode="single", reference=reference)  # type: ignore[attr-defined]
    wall = time.perf_counter() - started
    pairs = [(s.gold.scores[0], j.scores[0]) for s, j in zip(samples, judgements)
             if j.status.value == "ok" and j.scores]
    gold, pred = [p[0] for p in pairs], [p[1] for p in pairs]
    graded = [s for s, j in zip(samples, judgements) if j.status.value == "ok" and j.scores]
    lengths = [len(s.answers[0].text) for s in graded]  # the trivial baseline: longer answers grade higher
    return {
        "_pairs": pairs,
        "file": str(path.relative_to(DATA.parent)) if path.is_relative_to(DATA.parent) else str(path),
        "n": len(samples), "graded": len(pairs), "unparsed_or_error": len(samples) - len(pairs),
        "reference_shown": reference,
        "spearman": round(float(spearmanr(gold, pred).statistic), 4),
        "pearson": round(float(pearsonr(gold, pred).statistic), 4),
        "length_baseline_spearman": round(float(spearmanr(gold, lengths).statistic), 4),
        "distinct_grades": len(set(pred)),
        "grade_range": [min(pred), max(pred)],
        "wall_s": round(wall, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", default="mini")
    ap.add_argument("--limit", type=int, default=None, help="first N samples of each set")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    import judgelm

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from scipy.stats import pearsonr, spearmanr

    results: dict[str, dict] = {}
    pooled: list[tuple[float, float]] = []
    with judgelm.Judge(args.judge) as judge:
        for name, (path, reference) in SETS.items():
            results[name] = grade_set(judge, path, reference, args.limit)
            pooled += results[name].pop("_pairs")
            print(name, json.dumps(results[name]))
    results["autoj"] = gradable(DATA / "autoj" / "single_traindata.jsonl", args.limit)
    gold, pred = [p[0] for p in pooled], [p[1] for p in pooled]
    headline = {"set": "prometheus (mt_bench + vicuna, pooled)", "n": len(pooled),
                "spearman": round(float(spearmanr(gold, pred).statistic), 4),
                "pearson": round(float(pearsonr(gold, pred).statistic), 4)}
    out = {
        "what": "single-answer grading: the judge's grade vs. labelled grades (benchmarks/single_answer.py)",
        "judge": args.judge,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
                   f"load average {os.getloadavg()[0]:.1f} at the end",
        "sets": results,
        "headline": headline,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        print(f"written {args.json}")


if __name__ == "__main__":
    main()
