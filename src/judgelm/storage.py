"""Durable files and databases, one module low in the tree so data/, judging/, serve/, build/ and
cascade/ share it: the one way this project keeps state in SQLite (run states, the response cache,
answer generation and the server's jobs open their database and write their batches through here)
and the one atomic file rewrite (:func:`write_jsonl_atomic`: outputs derived from that state).

WAL journal and ``synchronous=FULL``: a committed batch survives ``kill -9`` and power loss, and
readers never block the writer. Explicit ``BEGIN IMMEDIATE`` transactions: one writer at a time
across processes, so a batch is recorded whole or not at all.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path


def connect(path: str | Path, *, timeout: float = 60.0, row_factory: object | None = None) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit, see :class:`transaction`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    if row_factory is not None:
        con.row_factory = row_factory  # type: ignore[assignment]
    return con


class transaction:
    """``with transaction(con):`` — BEGIN IMMEDIATE … COMMIT, or ROLLBACK if the block raised.

    ``immediate=False`` starts a deferred transaction (the write lock is taken at the first write),
    for blocks that mostly read."""

    def __init__(self, con: sqlite3.Connection, *, immediate: bool = True) -> None:
        self.con = con
        self.begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute(self.begin)
        return self.con

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")


def write_jsonl_atomic(path: str | Path, lines: Iterable[str]) -> None:
    """Replace ``path`` with ``lines`` so a reader (or a kill) never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
