"""What truncating answers at the head's 256 tokens costs: the reading judge with answers read whole
vs truncated, on the sets whose answers are longest (LLMBar Natural, FairEval), both orders.

    .venv/bin/python benchmarks/lm_truncation.py [--json benchmarks/results/lm-truncation.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    from judgelm.engines.lm import LMEngine
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings
    from judgelm.mini.evalsets import load_eval_set

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="runs/lm-truncation")
    ap.add_argument("--json")
    ap.add_argument("--cache-file", default="", help="keep LM scores between runs (keyed by truncation)")
    a = ap.parse_args()
    res = {}
    for tokens in (256, 4096):
        eng = LMEngine(threads=a.threads, ties=False, max_answer_tokens=tokens, cache_file=a.cache_file or None)
        for name in ("llmbar_natural", "llmbar_faireval"):
            samples = load_eval_set(name, Path(a.data))
            out = Path(a.out) / f"{name}.{tokens}.jsonl"
            out.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            summary = run_judge(samples, eng, out, JudgeSettings(both_orders=True), resume=False, cache=False,
                                progress=False)
            wall = time.perf_counter() - t0
            gold = {s.id: s.gold.verdict for s in samples}
            rows = [j for j in summary.judgements if j.order == sorted(j.order)]
            acc = sum(j.verdict == gold[j.sample_id] for j in rows) / len(rows)
            truncated = sum(e["truncated"] for j in rows for e in j.metadata["evidence"])
            res[f"{name}@{tokens}"] = {"agreement": round(acc, 4), "answers_truncated": truncated, "wall_s": round(wall, 1)}
            print(name, tokens, res[f"{name}@{tokens}"], flush=True)
        eng.close()
    text = json.dumps({"command": "benchmarks/lm_truncation.py", "figures": res}, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
