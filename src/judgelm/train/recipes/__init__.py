"""Training configs shipped with the package (``judgelm train --recipe NAME``)."""

from __future__ import annotations

from pathlib import Path

RECIPES_DIR = Path(__file__).resolve().parent


def recipe_path(name: str) -> Path:
    """The packaged YAML of recipe ``name`` (``smol`` → ``smol.yaml``)."""
    path = RECIPES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no packaged recipe {name!r} (known: {known})")
    return path
