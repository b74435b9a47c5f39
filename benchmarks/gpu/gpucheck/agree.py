"""Do the GPU engines judge as the CPU does? Same weights, same 200 pairs, both answer orders,
fast (score line) and explained mode; verdicts and texts compared request by request.

The CPU reference runs in float32 (the most exact reading of the weights); the GPU engines in bf16
(how they are used) and, for the hf engine, float32 too — so a disagreement can be told apart as
rounding (bf16 only) or as a difference of code (float32 as well).
"""

from __future__ import annotations

import logging
from typing import Any

from judgelm.schema import Sample

logger = logging.getLogger(__name__)

#: one judged request: "<sample id>|<order>|fast|explained" → what is compared
Results = dict[str, dict[str, Any]]


def judge_pairs(engine: Any, samples: list[Sample], explained: list[Sample], explained_tokens: int,
                left: Any = None, chunk: int = 50) -> Results:
    """Fast mode on ``samples`` and explained mode on ``explained``, both orders. Chunks of the two
    modes alternate, so a deadline (``left()``: seconds left) cuts both, not the second away; what
    was judged before it is kept."""
    from itertools import zip_longest

    from judgelm.judging.runner import judge_samples
    from judgelm.judging.settings import JudgeSettings

    tasks = [t for pair in zip_longest(
        [("fast", samples[i:i + chunk]) for i in range(0, len(samples), chunk)],
        [("explained", explained[i:i + chunk]) for i in range(0, len(explained), chunk)]) for t in pair if t]
    out: Results = {}
    for n, (mode, group) in enumerate(tasks):
        if left is not None and left() <= 0 and out:
            logger.warning("deadline: %d of %d chunks judged", n, len(tasks))
            break
        settings = JudgeSettings(both_orders=True, fast=mode == "fast",
                                 max_new_tokens=explained_tokens if mode == "explained" else None)
        judgements = judge_samples(group, engine, settings)
        for j in judgements:
            out[f"{j.sample_id}|{'-'.join(map(str, j.order))}|{mode}"] = {
                "verdict": j.verdict, "raw": j.raw, "status": str(getattr(j.status, "value", j.status))}
    return out


def outputs_to_results(keys: list[str], judgements: list[Any]) -> Results:
    """The same record for judgements made elsewhere (a Ray replica, the vLLM subprocess)."""
    return {k: {"verdict": j.verdict, "raw": j.raw, "status": str(getattr(j.status, "value", j.status))}
            for k, j in zip(keys, judgements)}


def compare(reference: Results, other: Results) -> dict[str, Any]:
    """Agreement per mode over the requests both judged: verdict (unparsed counts as its own
    verdict), whole text, first line; and how many the reference could parse at all."""
    figures: dict[str, Any] = {}
    for mode in ("fast", "explained"):
        keys = [k for k in reference if k.endswith(f"|{mode}") and k in other]
        if not keys:
            continue
        n = len(keys)
        verdict = sum(reference[k]["verdict"] == other[k]["verdict"] for k in keys)
        text = sum(reference[k]["raw"] == other[k]["raw"] for k in keys)
        first = sum(reference[k]["raw"].split("\n", 1)[0] == other[k]["raw"].split("\n", 1)[0] for k in keys)
        parsed = sum(reference[k]["verdict"] is not None for k in keys)
        figures[mode] = {"requests": n, "verdict_agreement": verdict / n, "text_agreement": text / n,
                         "first_line_agreement": first / n, "reference_parsed": parsed / n,
                         "disagreeing_keys": [k for k in keys if reference[k]["verdict"] != other[k]["verdict"]][:10]}
    return figures
