"""Which confidence for the built-in judge? Compared on its teacher validation split, never on a test set.

Why: the agreement confidence (:mod:`judgelm.cascade.signals`) may include cheap signals that
make it worse; whether a signal helps must be decided on data the cascade is not scored on. The
built-in judge's validation prompts (GPT-4 teacher labels, the split of ``judgelm train --recipe
mini``) are that data for the signals that exist there: its own calibrated confidence and the
answer-length vote. (An LM judge's judgements of those prompts would join as another signal; the
recorded PandaLM-7B judgements exist only for the PandaLM test set, so there ``--confidence
auto`` decides on the calibration split.)

Run: ``python -m judgelm.cascade.validate_signals [recipe.yaml]`` — prints, per candidate, the
AUROC of the confidence for "the verdict is right" and the agreement on the most confident half.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def compare(verdict: np.ndarray, gold: np.ndarray, candidates: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per candidate confidence: AUROC for correctness and agreement on the most confident 50 % / 70 %."""
    from scipy.stats import rankdata

    ok = verdict == gold
    out = {}
    for name, c in candidates.items():
        r = rankdata(c)
        n_pos, n_neg = int(ok.sum()), int((~ok).sum())
        auroc = (r[ok].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg) if n_pos and n_neg else float("nan")
        order = np.argsort(-c, kind="stable")
        out[name] = {"auroc": float(auroc),
                     **{f"agreement_top{q}": float(ok[order[: round(q / 100 * len(c))]].mean()) for q in (50, 70)}}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Judge the validation pairs of the mini recipe with the shipped weights and compare confidences."""
    from judgelm.cascade.decisions import Decision
    from judgelm.cascade.signals import LENGTH_RATIO, Signal, agreement_confidence
    from judgelm.data.split import split_by_prompt
    from judgelm.engines.mini import ASSET_DIR
    from judgelm.mini.scorer import MiniJudge, Problem
    from judgelm.mini.train import MiniTrainConfig, collect_items

    argv = sys.argv[1:] if argv is None else argv
    recipe = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "mini" / "recipe.yaml"
    cfg = MiniTrainConfig.from_yaml(recipe)
    if not Path(cfg.data_dir).is_absolute():
        cfg.data_dir = str((Path(__file__).resolve().parents[3] / cfg.data_dir).resolve())
    items = collect_items(cfg)
    _, valid = split_by_prompt(items, cfg.valid_share, seed=cfg.seed, key=lambda it: it.group)
    pairs = [it for it in valid if it.verdict is not None and len(it.answers) == 2]
    logger.info("%d validation pairs of %d validation items", len(pairs), len(valid))
    judge = MiniJudge.load(ASSET_DIR)
    res = judge.judge([Problem(it.question, it.answers, it.reference) for it in pairs])
    ids = [str(i) for i in range(len(pairs))]
    decisions = {i: Decision(i, r.verdict, float(r.confidence or 0.0), None) for i, r in zip(ids, res)}
    lengths = {}
    for i, it in zip(ids, pairs):
        a, b = (max(1, len(x.split())) for x in it.answers)
        lengths[i] = 1 if a >= LENGTH_RATIO * b else 2 if b >= LENGTH_RATIO * a else 0
    length = Signal("length", lengths, {})
    own = np.array([decisions[i].confidence for i in ids])
    with_length = agreement_confidence(decisions, [length])
    table = compare(np.array([r.verdict for r in res]), np.array([it.verdict for it in pairs]),
                    {"own": own, "agreement(own, length)": np.array([with_length[i] for i in ids])})
    out = {"validation_pairs": len(pairs), "recipe": str(recipe), "candidates": table}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
