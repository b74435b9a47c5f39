"""Where judgelm keeps files of its own: one cache root for everything it caches.

``$JUDGELM_CACHE`` (the one variable; ``$JUDGELM_CACHE_DIR``, its former name, is still read),
else ``$XDG_CACHE_HOME/judgelm``, else ``~/.cache/judgelm``. Below it: ``responses.sqlite`` (the
response cache of ``judge``/``cascade``/``rank``/``build``) and ``downloads/`` (data files fetched
from URLs). Model weights stay in the Hugging Face cache (``$HF_HOME``), which judgelm does not move.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VARIABLES = ("JUDGELM_CACHE", "JUDGELM_CACHE_DIR")


def cache_root() -> Path:
    """The cache root (see the module docstring)."""
    for name in CACHE_VARIABLES:
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "judgelm"
