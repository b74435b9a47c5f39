"""The figures file and the stage clock: every stage has a time budget and its own entry.

Why: a lent GPU comes for minutes, in one go. The JSON is rewritten after each stage, so a run cut
short still returns what it measured; a stage that fails, times out or finds a package missing is
recorded as such and the next stage runs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: extra seconds past a stage's budget before its hard stop (soft deadlines are checked inside)
GRACE_S = 15.0


class Unavailable(Exception):
    """A stage cannot run here (a package or the weights are missing); the reason is recorded."""


class StageTimeout(BaseException):
    """A stage ran past its budget plus the grace period. A BaseException (like KeyboardInterrupt):
    the runner turns an engine's ``Exception`` into error outputs and goes on, which must not
    happen to the hard stop."""


@dataclass
class Stage:
    """One stage's clock and figures."""

    name: str
    deadline: float  # time.monotonic() by which the stage should wrap up
    figures: dict[str, Any] = field(default_factory=dict)

    def left(self) -> float:
        """Seconds left before the soft deadline."""
        return self.deadline - time.monotonic()


class Report:
    """The run's JSON: plan, one entry per stage, written atomically after every stage."""

    def __init__(self, path: Path, plan: dict[str, Any]) -> None:
        self.path = Path(path)
        self.start = time.monotonic()
        self.data: dict[str, Any] = {"plan": plan, "stages": {}, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.write()

    def write(self) -> None:
        self.data["wall_s"] = round(time.monotonic() - self.start, 2)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def status(self, name: str) -> str | None:
        return self.data["stages"].get(name, {}).get("status")

    def figures(self, name: str) -> dict[str, Any]:
        return self.data["stages"].get(name, {}).get("figures", {})

    def skip(self, name: str, reason: str) -> None:
        self.data["stages"][name] = {"status": "skipped", "reason": reason}
        logger.info("stage %s skipped: %s", name, reason)
        self.write()

    @contextmanager
    def stage(self, name: str, budget_s: float, total_deadline: float) -> Iterator[Stage]:
        """Run a stage under min(its budget, the run's time left); record how it ended."""
        budget = max(1.0, min(budget_s, total_deadline - time.monotonic()))
        st = Stage(name, time.monotonic() + budget)
        entry: dict[str, Any] = {"status": "running", "budget_s": round(budget, 1), "figures": st.figures}
        self.data["stages"][name] = entry
        self.write()
        logger.info("stage %s (budget %.0fs)", name, budget)
        t0 = time.monotonic()
        previous = _arm(budget + GRACE_S)
        try:
            yield st
            entry["status"] = "ok"
        except Unavailable as exc:
            entry.update(status="unavailable", reason=str(exc))
            logger.warning("stage %s unavailable: %s", name, exc)
        except StageTimeout:
            entry.update(status="timeout", reason=f"ran past {budget + GRACE_S:.0f}s")
            logger.error("stage %s timed out", name)
        except Exception as exc:  # noqa: BLE001 — one broken stage must not cost the others' figures
            entry.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                         traceback=traceback.format_exc(limit=8)[-3000:])
            logger.exception("stage %s failed", name)
        finally:
            _disarm(previous)
            entry["seconds"] = round(time.monotonic() - t0, 2)
            self.write()


def _on_alarm(signum: int, frame: Any) -> None:
    raise StageTimeout()


def _arm(seconds: float) -> Any:
    """A hard stop for the stage (main thread only; elsewhere only the soft deadline applies)."""
    try:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
    except ValueError:  # not the main thread
        return None
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return previous


def _disarm(previous: Any) -> None:
    if previous is None:
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
