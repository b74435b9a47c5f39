"""The judge as a service (``judgelm serve``): FastAPI app, durable jobs, OpenAI-protocol endpoints,
batcher, telemetry, security and the gradio UI.

* :func:`create_app` — the app around one engine (:mod:`judgelm.serve.app`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judgelm.serve.app import create_app

#: public name → the module that holds it, imported on first use (fastapi loads with the app, not with the
#: package)
_EXPORTS: dict[str, str] = {
    "create_app": "judgelm.serve.app",
}

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """Import an entry point's module on first use, so importing the package stays cheap."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
