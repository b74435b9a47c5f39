"""Scoring a judge against gold labels: metrics, trivial baselines on the same rows, the evaluation summary.

* :func:`evaluate` — verdicts against gold verdicts → :class:`Evaluation` (:mod:`judgelm.evaluation.verdicts`);
* :func:`evaluate_grades` — absolute grades against gold grades (:mod:`judgelm.evaluation.grades`);
* :mod:`judgelm.evaluation.metrics` / :mod:`judgelm.evaluation.baselines` — the pieces both use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    """Import an entry point's module on first use, so importing the package stays cheap."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
