"""One module per CLI command (``main``), plus what they share (options, errors, help layout)."""

from __future__ import annotations

import time

#: when the command started: this package is imported first thing by ``judgelm.cli``, so the
#: imports, the reading and the model loading all count in a summary's time
_start = time.monotonic()
_invocations = 0


def mark_start() -> None:
    """Called by the root command on every invocation; a second invocation in the same process
    (tests running the CLI in-process) starts its own clock."""
    global _start, _invocations
    _invocations += 1
    if _invocations > 1:
        _start = time.monotonic()


def elapsed() -> float:
    """Seconds since the command started."""
    return time.monotonic() - _start
