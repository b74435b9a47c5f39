"""Engine registry: a judge SPEC string ("hf:ID", "openai:MODEL", "vllm:ID", "mini", "lm", "smol") → an Engine."""

from __future__ import annotations

import importlib
from typing import Any

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest

#: spec prefix → "module:factory"; factories take (target: str, **options) and return an Engine.
#: Modules are imported only when their engine is chosen (vllm, torch and openai are heavy).
ENGINES: dict[str, str] = {
    "hf": "judgelm.engines.hf:HFEngine",
    "vllm": "judgelm.engines.vllm:VLLMEngine",
    "openai": "judgelm.engines.openai:OpenAIEngine",
    "mini": "judgelm.engines.mini:MiniEngine",
    "smol": "judgelm.engines.smol:SmolEngine",
    "lm": "judgelm.engines.lm:LMEngine",
}

DEFAULT_JUDGE = "mini"


def parse_spec(spec: str) -> tuple[str, str]:
    """Split "kind:target" ("mini" alone is allowed); raise ValueError naming known kinds."""
    kind, _, target = spec.partition(":")
    if kind not in ENGINES:
        raise ValueError(f"unknown judge spec {spec!r}: expected one of {', '.join(k + ':...' for k in ENGINES)}")
    return kind, target


def load_engine(spec: str = DEFAULT_JUDGE, **options: Any) -> Engine:
    """Create the engine named by ``spec``; ``options`` go to its constructor."""
    kind, target = parse_spec(spec)
    module_name, _, factory = ENGINES[kind].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, factory)(target, **options)


__all__ = ["ENGINES", "DEFAULT_JUDGE", "Engine", "EngineOutput", "JudgeRequest", "load_engine", "parse_spec"]
