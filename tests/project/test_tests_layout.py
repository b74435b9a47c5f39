"""The test tree mirrors the packages (docs/DEVNOTES.md "Tests"): each folder is named for what it proves,
and test file names are unique across folders (no ``__init__.py``: pytest's ``prepend`` import mode imports
each test file by its bare name, so two ``test_x.py`` would collide)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SRC = TESTS.parent / "src" / "judgelm"
#: folders that are not named for a package: cross-cutting proofs, fixture files, vLLM's own venv, the CLI
#: commands, and build/'s tests (pytest's default ``norecursedirs`` skips any folder named ``build``)
OTHER = {"project", "fixtures", "vllm_real", "cli", "build_data"}


def test_test_file_names_are_unique() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py") if "fixtures" not in p.parts)
    assert [n for n, k in names.items() if k > 1] == []


def test_test_folders_are_named_for_packages() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders - packages - OTHER == set()
    assert not list(TESTS.glob("test_*.py")), "test files live in a package's folder or tests/project/"
    assert "build" in packages and "build_data" in folders  # build/'s tests: see OTHER
