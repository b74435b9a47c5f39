"""Write any model judgelm loads (GGUF file, named base, LoRA adapter) as a plain HF folder.

vLLM (and TGI, and most servers) load a folder of ``config.json`` + safetensors, not the GGUF file the
smol judge's base ships as, nor a LoRA adapter over it (the shipped smol judge, a judge trained
here). This goes through the one loader
(:func:`judgelm.models.loading.load_causal_lm`: GGUF dequantised, adapter merged) in float32, drops
the GGUF quantisation marks (``quantization_config`` and ``hf_quantizer``, or the saved folder would
claim to be quantised) and saves model, tokenizer and generation config, with the transformers-4
names beside the v5 ones (:func:`portable_for_transformers_4`).

    python -m judgelm.models.export smollm2-135m-instruct models/smollm2-135m-instruct
    python -m judgelm.models.export runs/smol models/smol-judge   # a smol judge (LoRA adapter), merged
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: written by ``judgelm train`` beside an adapter; says e.g. whether the judge reads a chat template
TRAIN_SUMMARY = "judgelm_train.json"


def export_hf(spec: str, out_dir: str | Path, *, dtype: str = "float32") -> Path:
    """Load ``spec`` with judgelm's loader and save it as an HF folder at ``out_dir``; return the folder."""
    from judgelm.models.loading import load_causal_lm
    from judgelm.models.sources import mark_dequantised

    out = Path(out_dir)
    if (out / "config.json").exists():
        raise FileExistsError(f"{out}: already holds a model (config.json); choose another folder")
    loaded = load_causal_lm(spec, dtype=dtype, device="cpu")
    model = loaded.model
    mark_dequantised(model)  # also after an adapter merge: the base's marks must not reach config.json
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    loaded.tokenizer.save_pretrained(out)
    portable_for_transformers_4(out)
    summary = Path(str(spec)).expanduser() / TRAIN_SUMMARY
    if summary.is_file():  # how the judge was trained (chat template on/off): engines read it for "auto"
        shutil.copyfile(summary, out / TRAIN_SUMMARY)
    logger.info("wrote %s as an HF folder at %s", spec, out)
    return out


def portable_for_transformers_4(folder: Path) -> dict[str, Any]:
    """Let transformers 4.x read a folder written by transformers 5 (the official vLLM wheel may bring
    4.x): the v4 names of the tokenizer class, the RoPE base and the dtype go beside the v5 ones.
    Without ``rope_theta`` a v4 reader would silently use 10,000 (SmolLM2's is 100,000)."""
    changed: dict[str, Any] = {}
    tok_cfg = folder / "tokenizer_config.json"
    if tok_cfg.is_file():
        data = json.loads(tok_cfg.read_text(encoding="utf-8"))
        if data.get("tokenizer_class") == "TokenizersBackend":
            data["tokenizer_class"] = changed["tokenizer_class"] = "PreTrainedTokenizerFast"
            tok_cfg.write_text(json.dumps(data, indent=2), encoding="utf-8")
    cfg_file = folder / "config.json"
    cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    rope = cfg.get("rope_parameters") or {}
    if "rope_theta" not in cfg and "rope_theta" in rope and rope.get("rope_type", "default") == "default":
        cfg["rope_theta"] = changed["rope_theta"] = rope["rope_theta"]
    if "torch_dtype" not in cfg and "dtype" in cfg:
        cfg["torch_dtype"] = changed["torch_dtype"] = cfg["dtype"]
    if changed:
        cfg_file.write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m judgelm.models.export",
                                     description="Write a GGUF file, named base or LoRA adapter as an HF folder "
                                                 "(for vLLM and other servers).")
    parser.add_argument("spec", help="model spec: smollm2-135m-instruct | path/x.gguf | adapter folder | hub id")
    parser.add_argument("out", help="folder to write (must not hold a model yet)")
    parser.add_argument("--dtype", default="float32", help="float32 (default) | bfloat16")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        print(export_hf(args.spec, args.out, dtype=args.dtype))
    except (FileExistsError, FileNotFoundError, ValueError, OSError) as exc:
        parser.exit(2, f"Error: {exc}\n")


if __name__ == "__main__":
    main()
