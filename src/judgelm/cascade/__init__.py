"""Cascaded judging: a cheap judge first, a strong judge only where the cheap one is unsure, cost accounted.

* :func:`run_cascade` / :func:`write_outputs` — the two-stage run (:mod:`judgelm.cascade.two_stage`);
* :func:`run_guaranteed` / :func:`write_guaranteed` — any number of stages under a guarantee
  (:mod:`judgelm.cascade.guaranteed_run`; its plan: :mod:`judgelm.cascade.escalation_plan`);
* :func:`guarantee_study` — does the guarantee hold over many calibration splits (:mod:`judgelm.cascade.split_study`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgelm.lazy import lazy_face

if TYPE_CHECKING:
    from judgelm.cascade.guaranteed_run import StageSource, run_guaranteed, write_guaranteed
    from judgelm.cascade.policy import Policy
    from judgelm.cascade.results import CascadeResult, GuaranteedResult
    from judgelm.cascade.split_study import guarantee_study
    from judgelm.cascade.two_stage import run_cascade, write_outputs

#: public name → the module that holds it, imported on first use (numpy, scipy and scikit-learn load with
#: the run, not with the package)
_EXPORTS: dict[str, str] = {
    "run_cascade": "judgelm.cascade.two_stage",
    "write_outputs": "judgelm.cascade.two_stage",
    "run_guaranteed": "judgelm.cascade.guaranteed_run",
    "write_guaranteed": "judgelm.cascade.guaranteed_run",
    "StageSource": "judgelm.cascade.guaranteed_run",
    "guarantee_study": "judgelm.cascade.split_study",
    "CascadeResult": "judgelm.cascade.results",
    "GuaranteedResult": "judgelm.cascade.results",
    "Policy": "judgelm.cascade.policy",
}

__all__ = ["CascadeResult", "GuaranteedResult", "Policy", "StageSource", "guarantee_study", "run_cascade",
           "run_guaranteed", "write_guaranteed", "write_outputs"]


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, __all__)
