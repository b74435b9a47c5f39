"""Durable bookkeeping for judging runs: the per-run state and the shared response cache.

Why SQLite: a run may be killed at any instant (``kill -9``, a pre-empted node). Every finished
batch is committed in one transaction, so after a restart the state says exactly which requests
are done. The JSONL output is always *derived* from the state (rewritten atomically in request
order), which is what guarantees "no duplicates, no gaps" whatever the moment of the kill.

Two stores, one concept each:

* :class:`RunState` — ``OUT.state.sqlite`` beside the output: one row per request key with the
  request fingerprint and the finished :class:`~judgelm.schema.Judgement`.
* :class:`ResponseCache` — shared across runs (default ``~/.cache/judgelm/responses.sqlite``):
  raw :class:`~judgelm.engines.base.EngineOutput` keyed by (judge, prompt, generation settings),
  so judging the same prompt again with the same judge never pays twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from judgelm.engines.base import EngineOutput
from judgelm.schema import Judgement, ParseStatus
from judgelm.storage import connect, transaction

STATE_SUFFIX = ".state.sqlite"


def fingerprint(judge: str, prompt: str, settings: dict[str, Any]) -> str:
    """Stable id of one engine call: same judge, same prompt, same generation settings → same id."""
    blob = json.dumps({"judge": judge, "prompt": prompt, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def default_cache_path() -> Path:
    """``responses.sqlite`` under the cache root (:func:`judgelm.data.paths.cache_root`: ``$JUDGELM_CACHE``,
    else ``~/.cache/judgelm``)."""
    from judgelm.data.paths import cache_root

    return cache_root() / "responses.sqlite"


def state_path_for(out_path: str | Path) -> Path:
    return Path(str(out_path) + STATE_SUFFIX)


class ResponseCache:
    """Engine outputs keyed by :func:`fingerprint`. Errors are never cached (they must be retried)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_cache_path()
        self._con = connect(self.path)
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, output TEXT NOT NULL, created REAL)"
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, EngineOutput]:
        found: dict[str, EngineOutput] = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self._con.execute(
                f"SELECT key, output FROM responses WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            for key, blob in rows:
                found[key] = EngineOutput(**json.loads(blob))
        return found

    def put_many(self, items: Iterable[tuple[str, EngineOutput]]) -> None:
        rows = [(k, json.dumps(dataclasses.asdict(o), default=str), time.time()) for k, o in items if o.error is None]
        if not rows:
            return
        with transaction(self._con):
            self._con.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", rows)

    def __len__(self) -> int:
        return self._con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self._con.close()


class RunState:
    """What one run (one output file) has finished. Rows whose status is ``error`` count as pending."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._con = connect(self.path)
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "status TEXT NOT NULL, judgement TEXT NOT NULL, updated REAL)"
        )

    def done(self, fingerprints: dict[str, str]) -> set[str]:
        """Keys (of ``fingerprints``: key → fingerprint) already judged, non-error, with that fingerprint."""
        rows = self._con.execute("SELECT key, fingerprint, status FROM results").fetchall()
        return {
            key
            for key, fp, status in rows
            if status != ParseStatus.ERROR.value and fingerprints.get(key) == fp
        }

    def commit(self, rows: Iterable[tuple[str, str, Judgement]]) -> None:
        """Record finished requests ``(key, fingerprint, judgement)`` atomically."""
        data = [(k, fp, j.status.value, j.to_json(), time.time()) for k, fp, j in rows]
        with transaction(self._con):
            self._con.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)", data)

    def judgements(self, keys: list[str]) -> list[Judgement]:
        """The stored judgements for ``keys``, in that order (keys not stored are skipped)."""
        stored: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            stored.update(
                self._con.execute(
                    f"SELECT key, judgement FROM results WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            )
        return [Judgement.model_validate_json(stored[k]) for k in keys if k in stored]

    def clear(self) -> None:
        """Forget every result (a run started with ``resume=False``)."""
        with transaction(self._con):
            self._con.execute("DELETE FROM results")

    def close(self) -> None:
        self._con.close()


class RunBusy(RuntimeError):
    """Another run holds the output's lock."""


class RunLock:
    """An exclusive lock on one output, so two runs never judge (and pay for) the same requests.

    ``flock`` is released by the kernel when the holder dies, so a ``kill -9`` leaves no stale lock.
    The locked file is opened for appending, never truncated: the run's own state file serves, so a
    run leaves no lock file behind. ``what`` names the guarded output in the error.
    """

    def __init__(self, path: str | Path, what: str | None = None) -> None:
        self.path = Path(path)
        self.what = what or self.path.name
        self._fh: Any = None

    def __enter__(self) -> "RunLock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise RunBusy(f"another judging run is writing {self.what}: "
                          "wait for it or choose another output") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()  # closing releases the flock
