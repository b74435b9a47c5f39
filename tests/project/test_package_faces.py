"""Package faces: every name a feature package lists in ``__all__`` resolves to the entry point it
names (never to a submodule of the same name), and importing the packages stays cheap."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types

import pytest

#: the packages whose ``__init__`` is their public face
FACES = ["cascade", "rank", "report", "evaluation", "prompts", "reading", "train", "serve"]
#: what ``import judgelm.<package>`` must not load (``judgelm --help`` and ``import judgelm`` stay instant)
HEAVY = ["torch", "transformers", "fastapi", "matplotlib"]


@pytest.mark.parametrize("package", FACES)
def test_all_names_resolve(package: str) -> None:
    face = importlib.import_module(f"judgelm.{package}")
    assert face.__all__, f"judgelm.{package} exports nothing"
    assert len(set(face.__all__)) == len(face.__all__)
    for name in face.__all__:
        value = getattr(face, name)
        assert not isinstance(value, types.ModuleType), f"judgelm.{package}.{name} is a module, not an entry point"
        assert name in dir(face)
    with pytest.raises(AttributeError):
        face.no_such_entry_point  # noqa: B018 — a missing name is an AttributeError, not an import


def test_faces_import_nothing_heavy() -> None:
    """A fresh interpreter: importing every face loads none of the heavy libraries."""
    code = ("import json, sys\n"
            + "".join(f"import judgelm.{p}\n" for p in FACES)
            + f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []
