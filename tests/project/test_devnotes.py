"""docs/DEVNOTES.md stays a true map: every module under src/judgelm is named in its package's row of the
map table, and every module the notes name still exists (a renamed module fails here, not in a reader's head)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "judgelm"
DEVNOTES = REPO / "docs" / "DEVNOTES.md"

#: a backticked file name: `runner.py`, `cascade/results.py`, `recipes/__init__.py`
FILE_NAME = re.compile(r"`([\w/]+\.py)`")
#: a dotted name under judgelm: judgelm.models.loading.load_causal_lm (not a file name such as `judgelm.py`)
DOTTED = re.compile(r"(?<![\w/])judgelm(?:\.(?!py\b)\w+)+")
#: paths outside src/judgelm that the notes name (tests, scripts, …): not modules of the package
OUTSIDE = ("tests/", "scripts/", "benchmarks/", "docs/", "src/", "../")


def map_rows() -> dict[str, str]:
    """The map table's rows: first cell (``schema.py``, ``data/``, …) → the whole row's text."""
    rows: dict[str, str] = {}
    for line in DEVNOTES.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if line.startswith("| `") and len(cells) > 2:
            rows[cells[1].strip()] = line
    return rows


def modules() -> list[Path]:
    """Every .py file of the package, relative to src/judgelm."""
    return sorted(p.relative_to(SRC) for p in SRC.rglob("*.py"))


def test_every_module_is_named_in_its_packages_row() -> None:
    rows = map_rows()
    top = " ".join(first for first in rows if not first.endswith("/`"))  # rows of top-level modules
    missing = []
    for rel in modules():
        if len(rel.parts) == 1:
            if f"`{rel.name}`" not in top:
                missing.append(f"{rel} (no row whose first cell names it)")
            continue
        row = rows.get(f"`{rel.parts[0]}/`")
        inner = "/".join(rel.parts[1:])  # train/recipes/__init__.py → `recipes/__init__.py`
        if row is None:
            missing.append(f"{rel} (no `{rel.parts[0]}/` row)")
        elif f"`{inner}`" not in row and not (rel.name == "__init__.py" and len(rel.parts) == 2):
            missing.append(str(rel))
    assert missing == [], f"modules docs/DEVNOTES.md does not name: {missing}"


def test_every_module_the_notes_name_exists() -> None:
    rows = map_rows()
    stale = []
    for first, row in rows.items():
        package = first.strip("`") if first.endswith("/`") else ""
        for name in FILE_NAME.findall(row):
            if name.startswith(OUTSIDE):
                continue
            here = [SRC / package / name, SRC / name]  # in the row's package, or a path from src/judgelm
            if not any(p.is_file() for p in here):
                stale.append(f"{first}: {name}")
    for name in DOTTED.findall(DEVNOTES.read_text(encoding="utf-8")):
        if not dotted_exists(name):
            stale.append(name)
    assert stale == [], f"docs/DEVNOTES.md names modules that do not exist: {stale}"


def dotted_exists(name: str) -> bool:
    """``judgelm.a.b`` is a module, or ``judgelm.a.b.attr`` an attribute its source defines or lists."""
    parts = name.split(".")[1:]
    for cut in (len(parts), len(parts) - 1):
        mod = SRC.joinpath(*parts[:cut])
        source = mod / "__init__.py" if mod.is_dir() else mod.with_suffix(".py")
        if source.is_file():
            return cut == len(parts) or re.search(rf"\b{re.escape(parts[-1])}\b", source.read_text(encoding="utf-8")) is not None
    return False


def test_the_check_sees_a_missing_and_a_stale_module() -> None:
    """The two checks really bite: a made-up module is reported missing, a renamed dotted name stale."""
    assert not dotted_exists("judgelm.engines.hf_model.load_causal_lm")
    assert dotted_exists("judgelm.models.loading.load_causal_lm")
    assert Path("data/records.py") in modules()
