"""Building judge training data: candidate answers, sampled pairs, teacher judgements, JudgeLM-format splits.

``generators`` (answer generators hf/openai/vllm: the candidate model's own chat template and
sampling), ``generate`` (a resumable ``judgelm generate`` run), ``pairing`` (answers → pairs),
``dataset`` (teacher judgements → JudgeLM train/val files). A feature above the engines: it may
import :mod:`judgelm.engines`, never the other way round. The face is lazy (no torch on import).
"""

from __future__ import annotations

from judgelm.lazy import lazy_face

#: public name → the module that defines it (imported on first use)
_WHERE = {
    "GenOutput": ".generators",
    "GenRequest": ".generators",
    "Generator": ".generators",
    "Sampling": ".generators",
    "load_generator": ".generators",
    "GenerateSummary": ".generate",
    "load_prompts": ".generate",
    "run_generate": ".generate",
    "Candidate": ".pairing",
    "PairingReport": ".pairing",
    "read_candidates": ".pairing",
    "select_pairs": ".pairing",
    "BuildOptions": ".dataset",
    "build_live": ".dataset",
    "build_recorded": ".dataset",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_face(__name__, _WHERE, __all__)
