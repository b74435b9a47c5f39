"""Training the reading judge's head: teacher pairs → evidence (scored once, cached) → candidate
heads fitted on a prompt split → the best on validation → ``head.json``.

``python -m judgelm.reading.recipe --out runs/lm`` (or ``judgelm train --recipe lm``). Nothing here
reads an evaluation set's labels: candidates are compared on the teacher validation split only.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from judgelm.reading.head import Head, accuracy, best_margin, fit, needs_expert
from judgelm.reading.signals import AnswerEvidence, Problem, gather, user_text
from judgelm.reading.teacher import HeadDataConfig, head_items

log = logging.getLogger(__name__)

#: candidate feature sets compared on validation (the first that is best wins ties)
CANDIDATES: list[list[str]] = [
    ["mini"],
    ["log_chars"],
    ["pmi"],
    ["pmi", "log_chars", "mini"],
    ["pmi", "pmi_mean", "log_chars", "mini"],
    ["pmi", "pmi_mean", "cond_mean", "log_chars", "mini"],
    ["pmi_mean", "cond_mean", "log_chars", "mini"],
    ["pmi", "pmi_mean", "log_chars", "mini", "offtopic@0.05"],
    ["pmi", "pmi_mean", "log_chars", "mini", "offtopic@0.1"],
    ["pmi", "pmi_mean", "log_chars", "mini", "offtopic@0.2"],
    ["pmi", "log_chars", "mini", "offtopic@0.1"],
    ["pmi", "pmi_mean", "cond_mean", "log_chars", "log_tokens", "mini", "offtopic@0.1"],
    ["expert", "expert_mean", "mini", "log_chars"],
    ["pmi", "pmi_mean", "expert", "expert_mean", "log_chars", "mini", "offtopic@0.1"],
    ["pmi", "pmi_mean", "expert", "expert_mean", "cond_mean", "log_chars", "log_tokens", "mini", "offtopic@0.1"],
]


@dataclass
class RecipeConfig:
    """Settings of a head-training run (the shipped head's are the defaults)."""

    data: HeadDataConfig = field(default_factory=HeadDataConfig)
    model: str = "smollm2-135m-instruct"
    dtype: str = "float32"
    max_answer_tokens: int = 256
    valid_share: float = 0.3
    c_grid: tuple[float, ...] = (0.1, 1.0, 10.0)
    threads: int = 2
    cache_file: str = ".cache/lm/scores.jsonl"
    expert: bool = True  # also score the expert-prompt likelihood (one more pass per answer)


Pair = tuple[AnswerEvidence, AnswerEvidence, int]


def teacher_evidence(cfg: RecipeConfig, scorer, mini) -> tuple[list, list[Pair]]:  # noqa: ANN001
    """Teacher items and their evidence pairs (likelihoods from the score cache where present)."""
    items = head_items(cfg.data, embed=mini.embed if mini is not None else None)
    problems = [Problem((("user", user_text(it.question)),), tuple(it.answers)) for it in items]
    ev = gather(problems, scorer, mini, progress=True, expert=cfg.expert)
    return items, [(e[0], e[1], it.verdict) for it, e in zip(items, ev)]


def select(items: Sequence, pairs: Sequence[Pair], cfg: RecipeConfig) -> tuple[Head, list[dict]]:
    """Fit every candidate × C on the training prompts; keep the best non-tie validation accuracy."""
    from judgelm.data.split import split_by_prompt

    idx = list(range(len(items)))
    train_i, valid_i = split_by_prompt(idx, cfg.valid_share, seed=cfg.data.seed, key=lambda i: items[i].group)
    train, valid = [pairs[i] for i in train_i], [pairs[i] for i in valid_i]
    table, best, best_key = [], None, None
    for feats in [c for c in CANDIDATES if cfg.expert or not needs_expert(c)]:
        for c in cfg.c_grid:
            fitted = fit(train, feats, c)
            row = {"features": feats, "C": c, "train_2way": round(accuracy(fitted, train, False), 4),
                   "valid_2way": round(accuracy(fitted, valid, False), 4)}
            by_source = {}
            for src in sorted({items[i].source for i in valid_i}):
                sub = [pairs[i] for i in valid_i if items[i].source == src]
                by_source[src] = round(accuracy(fitted, sub, False), 4)
            row["valid_by_source"] = by_source
            table.append(row)
            key = (row["valid_2way"], -len(feats))
            if best_key is None or key > best_key:
                best, best_key = (fitted, feats, c), key
    head, feats, c = best  # the chosen candidate as fitted on the training prompts
    margin = best_margin(head, valid)
    final = fit(list(train) + list(valid), feats, c)  # refit on all teacher prompts, keep the validated margin
    final.margin = margin * _margin_rescale(head, final, valid)
    final.meta = {"selected_on": "teacher validation split (prompts)", "C": c,
                  "valid_2way": round(accuracy(head, valid, False), 4), "valid_3way_with_margin": round(accuracy(head, valid, True), 4),
                  "n_train_pairs": len(train), "n_valid_pairs": len(valid)}
    return final, table


def _margin_rescale(old: Head, new: Head, pairs: Sequence[Pair]) -> float:
    """Keep the same share of pairs inside the tie band after the refit (utilities change scale)."""
    import statistics

    a = statistics.median(abs(old.utility(x) - old.utility(y)) for x, y, _ in pairs) or 1.0
    b = statistics.median(abs(new.utility(x) - new.utility(y)) for x, y, _ in pairs) or 1.0
    return b / a


def run(cfg: RecipeConfig, out: Path) -> Head:
    """The whole recipe; writes ``head.json`` and ``selection.json`` into ``out``."""
    from judgelm.engines.likelihood import LikelihoodScorer
    from judgelm.engines.mini import ASSET_DIR
    from judgelm.mini.scorer import MiniJudge

    t0 = time.perf_counter()
    scorer = LikelihoodScorer(cfg.model, dtype=cfg.dtype, max_answer_tokens=cfg.max_answer_tokens, threads=cfg.threads,
                              cache_file=cfg.cache_file)
    mini = MiniJudge.load(ASSET_DIR, threads=cfg.threads)
    items, pairs = teacher_evidence(cfg, scorer, mini)
    head, table = select(items, pairs, cfg)
    import statistics

    utilities = sorted(head.utility(e) for a, b, _ in pairs for e in (a, b))
    q1, q3 = utilities[len(utilities) // 4], utilities[3 * len(utilities) // 4]
    head.meta.update({"utility_center": round(statistics.median(utilities), 6), "utility_spread": round(max(1e-6, (q3 - q1) / 1.35), 6)})
    head.meta.update({"model": cfg.model, "dtype": cfg.dtype, "max_answer_tokens": cfg.max_answer_tokens,
                      "data": asdict(cfg.data), "seconds": round(time.perf_counter() - t0, 1)})
    out.mkdir(parents=True, exist_ok=True)
    head.save(out / "head.json")
    (out / "selection.json").write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    log.info("head: %s (valid %.3f) -> %s", head.features, head.meta["valid_2way"], out / "head.json")
    return head


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/lm")
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-file", default=".cache/lm/scores.jsonl")
    ap.add_argument("--model", default=RecipeConfig.model,
                    help="base LM: a named base (smollm2-135m-instruct, gemma-3-270m), hub id, folder or .gguf")
    ap.add_argument("--no-expert", action="store_true",
                    help="skip the expert-prompt likelihood (one pass per answer less; its candidates are left out)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = RecipeConfig(data=HeadDataConfig(data_dir=a.data_dir), threads=a.threads, cache_file=a.cache_file,
                       model=a.model, expert=not a.no_expert)
    run(cfg, Path(a.out))


if __name__ == "__main__":
    main()
