"""Long work (extract, sample, run, rollback …) in a background thread, one job at a time.

A page starts a job and returns at once; the browser polls ``/api/job`` for its progress. One
job at a time because the verbs share one staging store and one destination budget — two loads
at once would race each other's checkpoints, exactly as two ``ferry run`` processes would.

Progress is what the engine reports: ``(map, done, total)`` from a load, pages from an extract.
Rates and ETAs are computed here from those numbers. Errors are shown by class name, and by
message only for FerryErrors (whose messages carry record references, never values).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ferry.errors import FerryError

log = logging.getLogger("ferry.ui")


@dataclass
class Track:
    """Progress of one unit of work (an object map, or one object of an extract)."""

    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    updated: float = field(default_factory=time.monotonic)

    def as_dict(self, name: str) -> dict[str, Any]:
        elapsed = self.updated - self.started
        rate = self.done / elapsed if self.done and elapsed > 0.05 else 0.0
        eta = None
        if self.total and rate > 0 and self.total > self.done:
            eta = round((self.total - self.done) / rate, 1)
        return {"name": name, "done": self.done, "total": self.total,
                "rate": round(rate, 1), "eta_s": eta if self.total != self.done else 0}


@dataclass
class Job:
    id: int
    verb: str
    status: str = "running"  # running | done | failed
    started: float = field(default_factory=time.time)
    finished: float | None = None
    message: str = ""
    error: str = ""
    reports: list[str] = field(default_factory=list)  # paths relative to <project>/reports
    tracks: dict[str, Track] = field(default_factory=dict)
    budget: dict[str, Any] | None = None
    _tick: float = field(default_factory=time.monotonic, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, name: str, done: int, total: int | None) -> None:
        """The engine's ``progress(map, done, total)`` callback (thread-safe).

        Maps load one after another, and a small map reports once, already complete; so a new
        map's clock starts at the previous progress event, not at its own first report."""
        now = time.monotonic()
        with self._lock:
            t = self.tracks.get(name)
            if t is None:
                t = self.tracks[name] = Track(started=self._tick)
            t.done, t.total, t.updated = done, total, now
            self._tick = now

    def set_budget(self, remaining: int | None, limit: int | None) -> None:
        with self._lock:
            self.budget = {"remaining": remaining, "limit": limit}

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            tracks = [t.as_dict(n) for n, t in self.tracks.items()]
            done = sum(t["done"] for t in tracks)
        end = self.finished or time.time()
        return {"id": self.id, "verb": self.verb, "status": self.status,
                "elapsed_s": round(end - self.started, 1), "message": self.message,
                "error": self.error, "reports": list(self.reports), "progress": tracks,
                "records_done": done, "budget": self.budget}


Work = Callable[[Job], tuple[str, list[str]]]


class Busy(FerryError):
    """Another job is still running."""


class Jobs:
    """Starts jobs in daemon threads and keeps the recent ones for the pages."""

    def __init__(self, keep: int = 30) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.history: list[Job] = []
        self.keep = keep
        self.current: Job | None = None

    def start(self, verb: str, work: Work) -> Job:
        with self._lock:
            if self.current is not None and self.current.status == "running":
                raise Busy(f"job {self.current.id} ({self.current.verb}) is still running")
            job = Job(next(self._ids), verb)
            self.current = job
            self.history = [job, *self.history][: self.keep]
        threading.Thread(target=self._run, args=(job, work), name=f"ferry-ui-{verb}",
                         daemon=True).start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        try:
            job.message, job.reports = work(job)
            job.status = "done"
        except FerryError as exc:
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - shown by class only: messages may hold values
            log.warning("ui job %s (%s) failed: %s", job.id, job.verb, type(exc).__name__)
            job.status, job.error = "failed", f"{type(exc).__name__} (details withheld: an" \
                " unexpected error's message may quote record values)"
        finally:
            job.finished = time.time()

    def get(self, job_id: int) -> Job | None:
        return next((j for j in self.history if j.id == job_id), None)

    def wait(self, timeout: float = 60.0) -> Job | None:
        """Block until the current job ends (tests and the CLI's --wait use it)."""
        end = time.monotonic() + timeout
        while self.current is not None and self.current.status == "running":
            if time.monotonic() > end:
                break
            time.sleep(0.05)
        return self.current
