"""``--judge lm``: the reading judge. A pretrained causal LM reads each answer with and without the
question (PMI: how much more likely the question makes the answer), and a small antisymmetric
head combines that with the answer's length and the built-in ``mini`` judge's score.

No judge training of the LM: the head has a handful of weights fitted on length-balanced GPT-4
teacher pairs (``python -m judgelm.reading.recipe``; shipped in ``judgelm/assets/lm/head.json``).
Swapping the answers flips the verdict exactly (the head is a difference of per-answer
utilities), so ``--swap`` costs nothing: every (question, answer) is scored once per run.

``target``: a folder or ``head.json`` of another trained head (empty: the shipped one). Options:
``model`` (the LM; default the head's, ``smollm2-135m-instruct``: any ``hf:`` id, folder or GGUF),
``dtype`` (default float32 on CPU: log-likelihood differences need its precision), ``device``,
``max_answer_tokens`` (default the head's), ``threads``, ``ties`` (False: forced choice),
``encoder`` (mini's sentence encoder), ``cache_file`` (keep LM scores on disk across runs),
``scorer`` (library use: an already loaded :class:`~judgelm.engines.likelihood.LikelihoodScorer`),
``likelihood`` (``hf`` default; ``vllm``: the same likelihoods from vLLM in-process, ``model`` an HF
folder; ``server``: from a vLLM server at ``api_base``; :mod:`judgelm.engines.likelihood_vllm`).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, ClassVar

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest

log = logging.getLogger(__name__)

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "lm"

#: what the reading judge says when asked to grade against a rubric
RUBRIC_NOTE = ("the reading judge (lm) cannot grade against a rubric: it ignores the criteria and level descriptions and "
               "maps its general, relative grade linearly onto the rubric's scale; docs/rubrics.md shows what such grades "
               "are worth next to the length baseline")


def head_path(target: str) -> Path:
    path = Path(target) if target else ASSET_DIR
    path = path / "head.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no reading-judge head here (train one: python -m judgelm.reading.recipe --out DIR)")
    return path


class LMEngine(Engine):
    """LM likelihood evidence + mini + length, read by a trained head (see the module docstring)."""

    preferred_batch_size = 256
    cli_options: ClassVar[tuple[str, ...]] = ("dtype", "device")

    def __init__(self, target: str = "", *, model: str | None = None, dtype: str | None = None, device: str = "auto",
                 max_answer_tokens: int | None = None, threads: int | None = None, ties: bool = True,
                 encoder: str | None = None, cache_file: str | None = None, scorer: Any = None,
                 likelihood: str = "hf", api_base: str | None = None, **opts: Any) -> None:
        from judgelm.models.dtype import resolve_device
        from judgelm.engines.likelihood import LikelihoodScorer
        from judgelm.engines.mini import ASSET_DIR as MINI_DIR
        from judgelm.mini.scorer import MiniJudge
        from judgelm.reading.head import Head

        if opts:
            log.debug("lm engine ignores options %s", sorted(opts))
        self.head = Head.load(head_path(target))
        meta = self.head.meta
        dev = resolve_device(device)
        self.model_name = model or meta.get("model", "smollm2-135m-instruct")
        dtype = dtype or ("float32" if dev == "cpu" else "auto")
        tokens = max_answer_tokens if max_answer_tokens is not None else meta.get("max_answer_tokens")
        # ``scorer``: an already loaded LikelihoodScorer (library use, tests); its model and truncation win
        if scorer is None and likelihood != "hf":  # the same likelihoods read by vLLM (likelihood_vllm.py)
            from judgelm.engines.likelihood_vllm import make_scorer

            scorer = make_scorer(likelihood, self.model_name, api_base=api_base, dtype=dtype,
                                 max_answer_tokens=tokens or None, cache_file=cache_file)
        self.scorer = scorer or LikelihoodScorer(self.model_name, dtype=dtype, device=dev, max_answer_tokens=tokens or None,
                                                 threads=threads, cache_file=cache_file)
        self.mini = MiniJudge.load(MINI_DIR, encoder=encoder, threads=threads) if "mini" in self.head.features else None
        self.ties = bool(ties)
        self.name = f"lm:{target}" if target else "lm"
        from judgelm.reading.head import needs_expert

        self.expert = needs_expert(self.head.features)
        self._warned_rubric = False
        self.center = float(meta.get("utility_center", 0.0))
        self.spread = float(meta.get("utility_spread", 1.0)) or 1.0

    def generation_settings(self) -> dict[str, Any]:
        """What changes the output (part of the response-cache key)."""
        return {"head": [self.head.features, self.head.weights, self.head.margin], "model": self.model_name,
                "dtype": str(self.scorer.lm.dtype), "max_answer_tokens": self.scorer.max_answer_tokens, "ties": self.ties}

    def grade(self, utility: float) -> float:
        """A 1-10 grade: the utility against the spread of teacher answers' utilities (5.5 = typical)."""
        return 1.0 + 9.0 / (1.0 + math.exp(-(utility - self.center) / self.spread))

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        """Score every distinct (question, answer) once, then read each request with the head."""
        from judgelm.prompts import PINNED_MODES
        from judgelm.reading.signals import gather, problem_from_sample

        t0 = time.perf_counter()
        problems = [problem_from_sample(r.sample, reference=r.reference_used) for r in requests]
        evidence = gather(problems, self.scorer, self.mini, progress=len(requests) > 64, expert=self.expert)
        per = (time.perf_counter() - t0) / max(1, len(requests))
        out = []
        for req, ev in zip(requests, evidence):
            extra = {"evidence": [e.as_dict() for e in ev]}
            if req.criterion is not None:
                out.append(self._rubric_output(req, ev, per, extra))
                continue
            if req.mode in PINNED_MODES:
                g = round(self.grade(self.head.utility(ev[-1])), 1)
                scores = [10.0, g] if len(ev) > 1 else [g]
                why = _explain_single(ev[-1])
                out.append(EngineOutput(text=f"10 {g:g}\n{why}", scores=scores, latency_s=per, extra=extra))
                continue
            verdict, u = self.head.verdict(ev, ties=self.ties)
            scores = _display(self, u, verdict)
            order = sorted(range(len(u)), key=lambda i: (-u[i], i))
            best, other = order[0], order[1]
            p = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, u[best] - u[other]))))
            confidence = p if verdict else None
            why = _explain(ev, verdict, best, other, p)
            if req.template == "pandalm":
                text = f"{'Tie' if verdict == 0 else verdict}\n\n### Reason: {why}"
            else:
                text = " ".join(f"{s:g}" for s in scores) + "\n" + why
            extra["utilities"] = [round(x, 4) for x in u]
            out.append(EngineOutput(text=text, scores=scores, confidence=confidence, latency_s=per, extra=extra))
        return out

    def _rubric_output(self, req: JudgeRequest, ev: list[Any], per: float, extra: dict) -> EngineOutput:
        """Rubric templates: the relative grade mapped linearly onto the criterion's scale (absolute),
        or the head's choice (relative). The reading judge does not read the criterion (said once)."""
        if not self._warned_rubric:
            log.warning(RUBRIC_NOTE)
            self._warned_rubric = True
        c = req.criterion
        u = [self.head.utility(e) for e in ev]
        if len(ev) == 1:
            grade = round(c.low + (self.grade(u[0]) - 1.0) * (c.high - c.low) / 9.0)
            return EngineOutput(text=f"{grade}\nFeedback: {_explain_single(ev[0])} [RESULT] {grade}",
                                scores=[float(grade)], latency_s=per, extra=extra)
        verdict, _ = self.head.verdict(ev, ties=self.ties)
        if verdict == 0:  # Prometheus has no tie: recorded as unparsed, not turned into a choice
            return EngineOutput(text="Feedback: the answers are within the judge's tie margin (no choice)", latency_s=per,
                                extra=extra)
        best, other = (0, 1) if verdict == 1 else (1, 0)
        p = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, u[best] - u[other]))))
        why = _explain(ev, verdict, best, other, p).replace("\n", " ")
        return EngineOutput(text=f"Feedback: {why} [RESULT] {'A' if verdict == 1 else 'B'}", confidence=p, latency_s=per,
                            extra=extra)

    def close(self) -> None:
        self.scorer.close()


def _display(engine: LMEngine, u: list[float], verdict: int) -> list[float]:
    """1-decimal scores whose JudgeLM reading (highest wins, equal = tie) is the verdict."""
    from judgelm.mini.scorer import _display_scores

    order = sorted(range(len(u)), key=lambda i: (-u[i], i))
    best = order[0]
    tied = {i for i in range(len(u)) if u[best] - u[i] <= engine.head.margin} if verdict == 0 else set()
    return _display_scores([engine.grade(x) for x in u], verdict, best, tied or {best})


def _evidence_line(k: int, e: Any) -> str:
    return (f"Assistant {k}: PMI {e.pmi:+.1f} nats ({e.pmi_mean:+.2f} per token over {e.tokens} tokens"
            f"{', truncated' if e.truncated else ''}), {e.chars} characters, built-in judge {e.mini:+.2f}")


def _explain(ev: list[Any], verdict: int, best: int, other: int, p: float) -> str:
    """The evidence, stated plainly: what the LM says, the length, what mini says, and the verdict."""
    a, b = ev[best], ev[other]
    lines = []
    if verdict == 0:
        lines.append(f"Tie: the answers are within the judge's tie margin (P(Assistant {best + 1} better) = {p:.2f}).")
    else:
        lines.append(f"Assistant {best + 1} is preferred (P = {p:.2f}).")
    if a.pmi_mean > b.pmi_mean:
        lines.append(f"The question makes Assistant {best + 1}'s answer more likely per token than Assistant {other + 1}'s "
                     f"({a.pmi_mean:+.2f} vs {b.pmi_mean:+.2f} nats).")
    else:
        lines.append(f"The question makes Assistant {other + 1}'s answer more likely per token "
                     f"({b.pmi_mean:+.2f} vs {a.pmi_mean:+.2f} nats); other evidence outweighs it.")
    ratio = (a.chars + 1) / (b.chars + 1)
    lines.append(f"Length ratio {ratio:.2f} (Assistant {best + 1} / Assistant {other + 1}).")
    lines += [_evidence_line(k + 1, e) for k, e in enumerate(ev)]
    return " ".join(lines[:3]) + "\n" + "\n".join(lines[3:])


def _explain_single(e: Any) -> str:
    return ("Graded on its own against typical teacher answers (a relative grade, not a rubric): "
            + _evidence_line(1, e) + ".")
