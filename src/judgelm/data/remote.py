"""Data files given as ``http(s)://`` URLs: downloaded once into a cache, then read like local files.

The cache lives in ``$JUDGELM_CACHE/downloads`` (default ``~/.cache/judgelm/downloads``); each
URL gets its own folder (a hash of the URL) that keeps the URL's path, so readers that name
samples after their folders (LLMBar) see ``…/LLMBar/Natural/dataset.json`` as usual.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from judgelm.data.errors import DataError
from judgelm.data.registry import stable_id

logger = logging.getLogger(__name__)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def cache_root() -> Path:
    from judgelm.data.paths import cache_root

    return cache_root() / "downloads"


def fetch(url: str, *, timeout_s: float = 60.0) -> Path:
    """The local copy of ``url`` (downloaded on first use); failures are a DataError naming the URL."""
    import httpx

    parts = [re.sub(r"[^\w.^=+-]", "_", unquote(p)) for p in urlparse(url).path.split("/") if p not in ("", ".", "..")]
    target = cache_root() / stable_id(url) / Path(*(parts or ["data"]))
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout_s) as response:
            response.raise_for_status()
            with partial.open("wb") as fh:
                for chunk in response.iter_bytes():
                    fh.write(chunk)
    except (httpx.HTTPError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DataError(url, None, None, f"cannot download: {exc}") from exc
    partial.replace(target)
    logger.info("downloaded %s -> %s", url, target)
    return target
