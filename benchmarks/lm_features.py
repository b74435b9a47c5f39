"""Compute (and cache) the reading judge's evidence for the five labelled sets: a cold cache makes
later head fits and evaluations instant. Usage: python benchmarks/lm_features.py [--sets a,b] [--threads 2]"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from judgelm.engines.likelihood import LikelihoodScorer
    from judgelm.mini.evalsets import EVAL_SETS, load_eval_set
    from judgelm.mini.scorer import MiniJudge
    from judgelm.engines.mini import ASSET_DIR
    from judgelm.reading.signals import gather, problem_from_sample

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--sets", default="llmbar_natural,llmbar_faireval,llmbar_mtbench,llmbar_llmeval2,pandalm_test")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-answer-tokens", type=int, default=0)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--expert", action="store_true", help="also the expert-prompt likelihood")
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "lm" / "scores.jsonl"))
    ap.add_argument("--out", default=str(ROOT / ".cache" / "lm" / "evidence"))
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    scorer = LikelihoodScorer(dtype=a.dtype, threads=a.threads, max_answer_tokens=a.max_answer_tokens or None, cache_file=a.cache)
    mini = MiniJudge.load(ASSET_DIR, threads=a.threads)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.sets.split(","):
        samples = load_eval_set(name, Path(a.data))
        t0, tok0 = time.perf_counter(), scorer.tokens_scored
        ev = gather([problem_from_sample(s) for s in samples], scorer, mini, progress=True, expert=a.expert)
        dt = time.perf_counter() - t0
        rows = [{"id": s.id, "gold": s.gold.verdict if s.gold else None, "evidence": [e.as_dict() for e in e_row]}
                for s, e_row in zip(samples, ev)]
        (Path(a.out) / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
        logging.info("%s: %d samples, %d tokens in %.0f s (%.0f tok/s)", name, len(samples), scorer.tokens_scored - tok0, dt,
                     (scorer.tokens_scored - tok0) / max(dt, 1e-9))


if __name__ == "__main__":
    main()
