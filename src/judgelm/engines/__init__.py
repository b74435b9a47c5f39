"""Engine registry: a judge SPEC string ("hf:ID", "openai:MODEL", "vllm:ID", "mini", "lm", "smol") → an Engine.

Cheap to import: an engine's module is imported only when its kind is looked up, and engine modules
import torch, vLLM or an HTTP client only inside functions, so reading an engine's declarations
(:attr:`Engine.cli_options`, :attr:`Engine.needs_target`, …) through :func:`engine_class` loads nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest

#: spec prefix → the engine class, as "module:Class" (imported when chosen) or the class itself
#: (:func:`register_engine`); a class is made as ``cls(target, **options)``.
ENGINES: dict[str, str | type[Engine]] = {
    "hf": "judgelm.engines.hf:HFEngine",
    "vllm": "judgelm.engines.vllm:VLLMEngine",
    "openai": "judgelm.engines.openai:OpenAIEngine",
    "mini": "judgelm.engines.mini:MiniEngine",
    "smol": "judgelm.engines.smol:SmolEngine",
    "lm": "judgelm.engines.lm:LMEngine",
}
#: the kinds that ship with judgelm (register_engine may not replace them)
BUILT_IN = tuple(ENGINES)

DEFAULT_JUDGE = "mini"
#: the entry-point group through which an installed package adds engine kinds (name = kind, value = "module:Class")
ENTRY_POINT_GROUP = "judgelm.engines"


def _installed(kind: str) -> bool:
    """Register ``kind`` from an installed package's ``judgelm.engines`` entry point — how an engine of
    one's own reaches the command line (``judgelm judge --judge kind:...``); False when none declares it.
    Looked up only for a kind not registered yet, so the built-in kinds never pay for the scan."""
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == kind and kind not in BUILT_IN]
    if found:
        ENGINES[kind] = found[0].value
    return bool(found)


def parse_spec(spec: str) -> tuple[str, str]:
    """Split "kind:target" ("mini" alone is allowed); raise ValueError naming known kinds."""
    kind, _, target = spec.partition(":")
    if kind not in ENGINES and not _installed(kind):
        raise ValueError(f"unknown judge spec {spec!r}: expected one of {', '.join(k + ':...' for k in ENGINES)}")
    return kind, target


def engine_class(kind: str) -> type[Engine]:
    """The engine class registered for ``kind`` (KeyError for an unknown kind). Imports its module,
    which is cheap: engine modules load their heavy dependencies only when an engine is made."""
    entry = ENGINES[kind]
    if isinstance(entry, str):
        module_name, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module_name), attr)
    return entry


def register_engine(kind: str, engine: str | type[Engine]) -> None:
    """Make ``kind:target`` specs load ``engine`` (an :class:`Engine` subclass, or "module:Class" to
    import it only when chosen) in this process: :func:`load_engine`, ``Judge(spec)``, the server.

    Why a call and not a table edit: a project's own judge lives in its own code. The built-in
    kinds cannot be replaced; registering a kind again replaces the earlier registration.
    """
    if not kind or not kind.isidentifier():
        raise ValueError(f"engine kind {kind!r}: want a name such as 'length' (letters, digits, _)")
    if kind in BUILT_IN:
        raise ValueError(f"engine kind {kind!r} is built in; choose another name")
    if not isinstance(engine, str) and not (isinstance(engine, type) and issubclass(engine, Engine)):
        raise TypeError(f"register_engine({kind!r}, …): want an Engine subclass or 'module:Class', not {engine!r}")
    ENGINES[kind] = engine


def load_engine(spec: str = DEFAULT_JUDGE, **options: Any) -> Engine:
    """Create the engine named by ``spec``; ``options`` go to its constructor."""
    kind, target = parse_spec(spec)
    return engine_class(kind)(target, **options)


__all__ = ["BUILT_IN", "DEFAULT_JUDGE", "ENGINES", "ENTRY_POINT_GROUP", "Engine", "EngineOutput", "JudgeRequest", "engine_class",
           "load_engine", "parse_spec", "register_engine"]
