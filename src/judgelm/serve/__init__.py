"""The judge as a service (``judgelm serve``): FastAPI app, durable jobs, OpenAI-protocol endpoints,
batcher, telemetry, security and the gradio UI.

* :func:`create_app` — the app around one engine (:mod:`judgelm.serve.app`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judgelm.lazy import lazy_face

if TYPE_CHECKING:
    from judgelm.serve.app import create_app

#: public name → the module that holds it, imported on first use (fastapi loads with the app, not with the
#: package)
_EXPORTS: dict[str, str] = {
    "create_app": "judgelm.serve.app",
}

__all__ = ["create_app"]


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, __all__)
