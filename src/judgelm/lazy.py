"""Lazy package faces: a package lists its public names and the module each lives in, and a name's
module is imported the first time the name is asked for, so importing a package (and ``judgelm``)
loads no torch, transformers, fastapi or matplotlib until a caller needs them.

    __getattr__, __dir__ = lazy_face(__name__, {"run_cascade": ".two_stage", ...}, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from typing import Any


def lazy_face(package: str, exports: dict[str, str], names: Iterable[str]
              ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` (PEP 562). ``exports`` maps a public name to its module,
    absolute or relative to the package (``".two_stage"``); a resolved name is kept in the package."""
    public = set(names)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | public)

    return __getattr__, __dir__
