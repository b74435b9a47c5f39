"""Checking a judge spec before anything heavy is imported or downloaded.

Why: a wrong ``--judge`` used to surface as a traceback (``vllm:foo`` without vLLM), a hub
repo-id error (``hf:./nope``) or a minute of download retries offline (``hf:does/not-exist``).
:func:`check_spec` answers in well under a second, offline, with one line that names the value
and the nearest valid ones (``difflib``): engine kinds, named bases, sibling folders, or the
models in the local Hugging Face cache. It only rules out what cannot work; the engine's own
loader still decides the rest.
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
import re
from pathlib import Path

from judgelm.engines import ENGINES, engine_class, parse_spec

log = logging.getLogger(__name__)

# What each engine kind needs is declared on its class (judgelm.engines.base.Engine: needs_target,
# loads_model, requires); engine_class imports only the engine's own light module.


class SpecError(ValueError):
    """A judge spec that cannot work; the message is one line meant for the user."""


def nearest(value: str, candidates: list[str], n: int = 3) -> str:
    """``"; nearest: a, b"`` (or ``""``) — the candidates closest to ``value``."""
    close = difflib.get_close_matches(value, candidates, n=n, cutoff=0.5)
    return f"; nearest: {', '.join(close)}" if close else ""


def _kinds() -> list[str]:
    return [f"{k}:" if engine_class(k).needs_target else k for k in ENGINES]


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def _is_pathlike(target: str) -> bool:
    """A local path (``./x``, ``/x``, ``~/x``, ``a/b/c``, or anything that exists), not a hub id."""
    return target.startswith((".", "/", "~")) or target.count("/") > 1 or Path(target).expanduser().exists()


def hub_offline() -> bool:
    """Whether the Hugging Face hub must not be contacted (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def cached_models() -> list[str]:
    """Repo ids of the models in the local Hugging Face hub cache (folder names only: no scan of files)."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:  # pragma: no cover - transformers brings huggingface_hub
        return []
    root = Path(HF_HUB_CACHE)
    if not root.is_dir():
        return []
    return sorted(p.name[len("models--"):].replace("--", "/") for p in root.iterdir() if p.name.startswith("models--"))


def _in_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    for name in ("config.json", "adapter_config.json"):
        found = try_to_load_from_cache(repo_id, name)
        if isinstance(found, str):
            return True
    return False


def _hub_reachable(timeout_s: float = 0.8) -> bool:
    """One short request to the hub endpoint: is there a network path to it at all?"""
    import httpx
    from huggingface_hub.constants import ENDPOINT

    try:
        httpx.head(ENDPOINT, timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return True


def _check_model(spec: str, target: str) -> None:
    from judgelm.models.sources import NAMED_BASES

    if target.lower() in NAMED_BASES:
        return
    path = Path(target).expanduser()
    if target.lower().endswith(".gguf"):
        if not path.is_file():
            raise SpecError(f"{spec}: no such GGUF file {target}{_siblings(path)}")
        return
    if _is_pathlike(target):
        if not path.exists():
            raise SpecError(f"{spec}: no such folder {target}{_siblings(path)}")
        if path.is_file():
            raise SpecError(f"{spec}: {target} is a file; give the model folder (config.json inside) or a .gguf file")
        known = ("config.json", "adapter_config.json")
        if not any((path / k).is_file() for k in known) and not list(path.glob("*.gguf")):
            held = ", ".join(sorted(p.name for p in path.iterdir())[:5]) or "nothing"
            raise SpecError(f"{spec}: {target} holds no model (no config.json, adapter_config.json or .gguf; "
                            f"it holds {held})")
        return
    # a hub id: must be cached when offline; a quick probe otherwise, instead of a minute of retries
    if not _HUB_ID.match(target):
        raise SpecError(f"{spec}: {target!r} is neither a local folder nor a hub id OWNER/NAME"
                        f"{nearest(target, list(NAMED_BASES) + cached_models())}")
    if _in_cache(target):
        return
    cached = cached_models()
    hint = nearest(target, cached + list(NAMED_BASES))
    if hub_offline():
        raise SpecError(f"{spec}: {target} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set "
                        f"(download it where there is network, or give a local folder){hint}")
    if not _hub_reachable():
        raise SpecError(f"{spec}: {target} is not in the local Hugging Face cache and the hub is unreachable "
                        f"(offline?): give a local folder, or download it first{hint}")


def _siblings(path: Path) -> str:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f" (and no folder {parent})"
    names = [p.name for p in parent.iterdir() if not p.name.startswith(".")]
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.5)
    return f"; nearest: {', '.join(str(parent / c) for c in close)}" if close else ""


def check_spec(spec: str) -> tuple[str, str]:
    """``(kind, target)`` of a spec that can work here, else :class:`SpecError` with one line."""
    try:
        kind, target = parse_spec(spec)
    except ValueError:
        kind, colon, _ = spec.partition(":")
        close = nearest(kind, list(ENGINES))
        if not colon and not close:  # a bare model name: it needs its engine in front
            close = f"; a model needs its engine: openai:{spec} or hf:OWNER/{spec}"
        raise SpecError(f"unknown judge spec {spec!r}{close}; "
                        f"known: {', '.join(_kinds())} (e.g. hf:BAAI/JudgeLM-7B-v1.0, openai:gpt-4o)") from None
    engine = engine_class(kind)
    if engine.needs_target and not target:
        raise SpecError(f"{spec!r} needs a target: {kind}:MODEL (e.g. hf:BAAI/JudgeLM-7B-v1.0, openai:gpt-4o)")
    if engine.requires is not None:
        package, how = engine.requires
        if importlib.util.find_spec(package) is None:
            raise SpecError(f"{spec}: the {kind} engine needs the {package!r} package, not installed here: {how}; "
                            "or judge with hf:MODEL on this machine")
    if engine.loads_model:
        _check_model(spec, target)
    return kind, target
