"""The map's direction (docs/DEVNOTES.md): model loading, data and the built-in judge sit below the
engines, and the package faces stay cheap to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "judgelm"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (module level or inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("package", ["models", "data", "mini"])
def test_lower_packages_never_import_the_engines(package: str) -> None:
    offenders = {str(f.relative_to(SRC)): sorted(n for n in imported_modules(f) if n.startswith("judgelm.engines"))
                 for f in (SRC / package).rglob("*.py")}
    assert {f: n for f, n in offenders.items() if n} == {}


def test_package_faces_load_no_torch() -> None:
    """``import judgelm.models / mini / build`` is cheap: their faces import a module on first use."""
    code = ("import sys, judgelm.models, judgelm.mini, judgelm.build, judgelm.storage; "
            "assert 'torch' not in sys.modules; "
            "print(sorted(judgelm.models.__all__)[:1], judgelm.models.resolve_model_source('x').path_or_id)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['LoadedModel'] x"
