"""Durable batch jobs: samples and results in SQLite, judged by a background worker.

A job's samples are written once at submission; the worker claims pending samples a chunk
at a time and writes each chunk's results in one transaction, so a server killed mid-job
loses at most the chunk in flight, and on restart the worker resumes with exactly the
samples that have no result yet — nothing lost, nothing recorded twice.

Several servers may share one database file (replicas on one host, or a shared disk): a
claim marks the samples a worker is judging, so two workers never judge the same sample.
Claims of a worker that died are released — at once when it ran on this host (its process is
gone), otherwise when its heartbeat is older than ``stale_s``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Judgement, Sample
from judgelm.serve.service import JudgeService
from judgelm.storage import connect, transaction

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- queued | running | done | failed | cancelled
    created REAL NOT NULL,
    updated REAL NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    options TEXT NOT NULL,           -- the job's JudgeSettings.to_dict() as JSON
    name TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS items (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    sample TEXT NOT NULL,
    result TEXT,                     -- JSON list of judgements; NULL = not judged yet
    claimed_by TEXT,                 -- worker judging it now (NULL = free)
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    heartbeat REAL NOT NULL
);
"""

ACTIVE = ("queued", "running")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class JobStore:
    """SQLite persistence. One short-lived connection per operation keeps it thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        db = connect(self.path, timeout=30)
        try:
            db.executescript(_SCHEMA)  # its own implicit commits: outside a transaction
        finally:
            db.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn = connect(self.path, timeout=30, row_factory=sqlite3.Row)
        try:
            with transaction(conn, immediate=False):  # commit on success, roll back on error
                yield conn
        finally:
            conn.close()

    def create(self, samples: list[Sample], settings: JudgeSettings, name: str | None = None) -> str:
        """Store a new job with all its samples and its settings; returns its id."""
        job_id = uuid.uuid4().hex
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, status, created, updated, total, options, name) VALUES (?,?,?,?,?,?,?)",
                (job_id, "queued", now, now, len(samples), json.dumps(settings.to_dict()), name),
            )
            db.executemany(
                "INSERT INTO items (job_id, idx, sample) VALUES (?,?,?)",
                ((job_id, i, s.to_json()) for i, s in enumerate(samples)),
            )
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = dict(row)
        job["options"] = json.loads(job["options"])
        job["progress"] = job["done"] / job["total"] if job["total"] else 1.0
        return job

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT id FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [j for j in (self.get(r["id"]) for r in rows) if j]

    def active_count(self) -> int:
        with self._db() as db:
            return db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", ACTIVE).fetchone()[0]

    def next_active(self) -> dict[str, Any] | None:
        """The oldest job with work left for this worker: free samples, or none left (to close it).

        Running jobs come first, so a job interrupted by a restart resumes before new ones start.
        """
        with self._db() as db:
            row = db.execute(
                "SELECT j.id FROM jobs j WHERE j.status IN (?, ?) AND ("
                " EXISTS (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.result IS NULL AND i.claimed_by IS NULL)"
                " OR NOT EXISTS (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.result IS NULL))"
                " ORDER BY j.status = 'queued', j.created LIMIT 1",
                ACTIVE,
            ).fetchone()
        return self.get(row["id"]) if row else None

    # ---- workers and claims ---------------------------------------------------------------
    def register(self, worker_id: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO workers (id, host, pid, heartbeat) VALUES (?,?,?,?)",
                       (worker_id, socket.gethostname(), os.getpid(), time.time()))

    def heartbeat(self, worker_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE workers SET heartbeat = ? WHERE id = ?", (time.time(), worker_id))

    def unregister(self, worker_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE items SET claimed_by = NULL WHERE claimed_by = ?", (worker_id,))
            db.execute("DELETE FROM workers WHERE id = ?", (worker_id,))

    def release_dead(self, stale_s: float) -> int:
        """Free the claims of workers that are gone; returns how many samples were freed."""
        host = socket.gethostname()
        with self._db() as db:
            rows = db.execute("SELECT id, host, pid, heartbeat FROM workers").fetchall()
            dead = [r["id"] for r in rows
                    if r["heartbeat"] < time.time() - stale_s or (r["host"] == host and not _alive(r["pid"]))]
            freed = 0
            for wid in dead:
                freed += db.execute("UPDATE items SET claimed_by = NULL WHERE claimed_by = ? AND result IS NULL",
                                    (wid,)).rowcount
                db.execute("DELETE FROM workers WHERE id = ?", (wid,))
        if freed:
            logger.info("released %d samples claimed by %d stopped worker(s)", freed, len(dead))
        return freed

    def claim(self, job_id: str, worker_id: str, limit: int) -> list[tuple[int, Sample]]:
        """Atomically take up to ``limit`` free, unjudged samples of a job for ``worker_id``."""
        conn = connect(self.path, timeout=30, row_factory=sqlite3.Row)
        try:
            with transaction(conn):  # BEGIN IMMEDIATE: one claimer at a time across processes
                rows = conn.execute(
                    "SELECT idx, sample FROM items WHERE job_id = ? AND result IS NULL AND claimed_by IS NULL "
                    "ORDER BY idx LIMIT ?",
                    (job_id, limit),
                ).fetchall()
                conn.executemany("UPDATE items SET claimed_by = ? WHERE job_id = ? AND idx = ?",
                                 ((worker_id, job_id, r["idx"]) for r in rows))
        finally:
            conn.close()
        return [(r["idx"], Sample.model_validate_json(r["sample"])) for r in rows]

    def release(self, job_id: str, worker_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE items SET claimed_by = NULL WHERE job_id = ? AND claimed_by = ? AND result IS NULL",
                       (job_id, worker_id))

    def remaining(self, job_id: str) -> int:
        with self._db() as db:
            return db.execute("SELECT COUNT(*) FROM items WHERE job_id = ? AND result IS NULL",
                              (job_id,)).fetchone()[0]

    def set_status(self, job_id: str, status: str, error: str | None = None) -> bool:
        """Change status; returns False when the job does not exist or is already finished."""
        with self._db() as db:
            cur = db.execute(
                "UPDATE jobs SET status = ?, error = COALESCE(?, error), updated = ? WHERE id = ? AND status IN (?, ?)",
                (status, error, time.time(), job_id, *ACTIVE),
            )
            return cur.rowcount > 0

    def save(self, job_id: str, results: list[tuple[int, list[Judgement]]]) -> int:
        """Write a chunk's results atomically; an item already judged is never overwritten."""
        written = errors = 0
        with self._db() as db:
            for idx, judgements in results:
                payload = json.dumps([json.loads(j.to_json()) for j in judgements])
                cur = db.execute(
                    "UPDATE items SET result = ?, claimed_by = NULL WHERE job_id = ? AND idx = ? AND result IS NULL",
                    (payload, job_id, idx),
                )
                if cur.rowcount:
                    written += 1
                    errors += any(j.status.value == "error" for j in judgements)
            db.execute(
                "UPDATE jobs SET done = done + ?, errors = errors + ?, updated = ? WHERE id = ?",
                (written, errors, time.time(), job_id),
            )
        return written

    def results(self, job_id: str, batch: int = 500) -> Iterator[dict[str, Any]]:
        """Judgements of the finished samples, in sample order (read in pages, for streaming)."""
        last = -1
        while True:
            with self._db() as db:
                rows = db.execute(
                    "SELECT idx, result FROM items WHERE job_id = ? AND idx > ? AND result IS NOT NULL "
                    "ORDER BY idx LIMIT ?",
                    (job_id, last, batch),
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield from json.loads(r["result"])
            last = rows[-1]["idx"]


class JobWorker:
    """Background thread: runs active jobs chunk by chunk through the judge service."""

    def __init__(self, store: JobStore, service: JudgeService, chunk: int, poll_s: float = 0.5,
                 on_judged: Any = None, heartbeat_s: float = 5.0, stale_s: float = 60.0) -> None:
        self.id = uuid.uuid4().hex
        self.store = store
        self.heartbeat_s = heartbeat_s
        self.stale_s = stale_s
        self.service = service
        self.chunk = max(1, chunk)
        self.poll_s = poll_s
        self._on_judged = on_judged
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="judgelm-jobs", daemon=True)
        self._beat = threading.Thread(target=self._heartbeat, name="judgelm-jobs-heartbeat", daemon=True)

    def start(self) -> None:
        self.store.register(self.id)
        self.store.release_dead(self.stale_s)
        self._thread.start()
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.store.heartbeat(self.id)
                self.store.release_dead(self.stale_s)
            except sqlite3.Error:
                logger.exception("job heartbeat failed")

    def wake(self) -> None:
        """A new job arrived: don't wait for the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self._beat.join(timeout=10)
        self.store.unregister(self.id)

    def _run(self) -> None:
        while not self._stop.is_set():
            job = self.store.next_active()
            if job is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            try:
                self._step(job)
            except Exception as exc:  # a broken job must not stop the others
                logger.exception("job %s failed", job["id"])
                self.store.release(job["id"], self.id)
                self.store.set_status(job["id"], "failed", error=f"{type(exc).__name__}: {exc}")

    def _step(self, job: dict[str, Any]) -> None:
        job_id = job["id"]
        if job["status"] == "queued":
            if not self.store.set_status(job_id, "running"):
                return
            logger.info("job %s started (%d samples)", job_id, job["total"])
        items = self.store.claim(job_id, self.id, self.chunk)
        if not items:
            if self.store.remaining(job_id) == 0 and self.store.set_status(job_id, "done"):
                logger.info("job %s done", job_id)
            elif self.store.remaining(job_id):  # the rest is claimed by other workers
                self._wake.wait(self.poll_s)
            return
        settings = JudgeSettings.from_dict(job["options"])  # a bad row fails the job, naming the field
        results = self.service.judge_many([s for _, s in items], settings, background=True)
        current = self.store.get(job_id)
        if current is None or current["status"] not in ACTIVE:  # cancelled while judging
            self.store.release(job_id, self.id)
            return
        self.store.save(job_id, [(idx, js) for (idx, _), js in zip(items, results)])
        if self._on_judged:
            self._on_judged([j for js in results for j in js])
