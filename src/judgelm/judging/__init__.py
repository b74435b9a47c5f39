"""The judging run: samples → requests → engine → judgements, resumable (SQLite state), cached, scaled out
with Ray.

The face of the package (names load on first use, so ``import judgelm`` stays cheap):

* :class:`JudgeSettings` — how to judge, made once (CLI flags, ``Judge(...)``, an HTTP body);
* :func:`prepare` / :class:`PreparedBatch` — every prompt rendered once, before a judge loads;
* :class:`Backend` — what a run needs from a judge (every engine is one);
* :func:`run_judge` (to a file, resumable), :func:`judge_samples` (in memory), :class:`RunSummary`;
* :class:`Judge` — the library face: a loaded judge.
"""

from __future__ import annotations

from judgelm.lazy import lazy_face

_WHERE = {
    "JudgeSettings": "judgelm.judging.settings",
    "SettingsError": "judgelm.judging.settings",
    "PreparedBatch": "judgelm.judging.prepared",
    "prepare": "judgelm.judging.prepared",
    "Backend": "judgelm.judging.backend",
    "ParallelBackend": "judgelm.judging.backend",
    "RunSummary": "judgelm.judging.runner",
    "judge_samples": "judgelm.judging.runner",
    "run_judge": "judgelm.judging.runner",
    "Judge": "judgelm.judging.judge",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_face(__name__, _WHERE, __all__)
