"""judgelm: train, serve and evaluate fine-tuned LLM judges."""

from judgelm.schema import (
    Answer,
    Gold,
    Judgement,
    ParseStatus,
    Sample,
    Turn,
    verdict_from_scores,
)

__all__ = ["Answer", "Gold", "Judgement", "ParseStatus", "Sample", "Turn", "verdict_from_scores"]
__version__ = "0.1.0"
