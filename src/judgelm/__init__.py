"""judgelm: train, serve and evaluate fine-tuned LLM judges.

The library face::

    from judgelm import Judge
    with Judge("mini") as judge:
        first, swapped = judge.judge({"question": "2+2?", "answers": ["4", "5"]}, swap=True)

``Judge`` loads lazily (``import judgelm`` stays cheap: no torch until a judge is made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judgelm.schema import Answer, Gold, Judgement, ParseStatus, Sample, Turn, verdict_from_scores

if TYPE_CHECKING:
    from judgelm.judging.judge import Judge

__all__ = ["Answer", "Gold", "Judge", "Judgement", "ParseStatus", "Sample", "Turn", "verdict_from_scores"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Judge":
        from judgelm.judging.judge import Judge

        return Judge
    raise AttributeError(f"module 'judgelm' has no attribute {name!r}")
