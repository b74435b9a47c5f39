"""Scoring a judge against gold labels: metrics, trivial baselines on the same rows, the evaluation summary.

* :func:`evaluate` — verdicts against gold verdicts → :class:`Evaluation` (:mod:`judgelm.evaluation.verdicts`);
* :func:`evaluate_grades` — absolute grades against gold grades (:mod:`judgelm.evaluation.grades`);
* :mod:`judgelm.evaluation.metrics` / :mod:`judgelm.evaluation.baselines` — the pieces both use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgelm.lazy import lazy_face

if TYPE_CHECKING:
    from judgelm.evaluation.grades import evaluate_grades
    from judgelm.evaluation.verdicts import Evaluation, evaluate

#: public name → the module that holds it, imported on first use (scikit-learn and scipy load with the first
#: evaluation, not with the package)
_EXPORTS: dict[str, str] = {
    "evaluate": "judgelm.evaluation.verdicts",
    "Evaluation": "judgelm.evaluation.verdicts",
    "evaluate_grades": "judgelm.evaluation.grades",
}

__all__ = ["Evaluation", "evaluate", "evaluate_grades"]


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, __all__)
