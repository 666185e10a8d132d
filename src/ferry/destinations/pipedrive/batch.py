"""Run one call per row, a few at a time, results in row order.

Pipedrive has no batch create, and a real round trip takes a few hundred milliseconds, so one
call at a time cannot reach the burst limit (40-120 calls / 2 s). ``workers`` threads share the
client (its connections and the burst window are thread-safe), so pacing still holds. The calling
thread is one of them, each taking every ``workers``-th row.

A RecordError stays with its row (``WriteResult.failure``). The first FatalError (budget spent,
token refused) stops rows that have not started, lets in-flight ones finish, and is re-raised
with ``partial``: the results aligned with the rows, ``None`` where a row was not written (the
engine's ``recover`` settles those through ``find``).

``Lanes`` keeps the helper threads alive between calls (a load makes one call per 100 rows, and
starting three threads per call was 1.6 % of a Pipedrive load's CPU); a call that finds them busy
(another thread of the caller's) starts its own, as before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ferry.connectors.base import WriteResult
from ferry.errors import FatalError, RecordError

T = TypeVar("T")


class Lanes:
    """``n`` helper threads, started at the first call that needs them and kept waiting on
    their own queue for the next call's lane; daemon threads, ended by ``close``."""

    def __init__(self, n: int, name: str = "pipedrive") -> None:
        self.n = n
        self.name = name
        self._inboxes: list[queue.SimpleQueue[Callable[[], None] | None]] = []
        self._done: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._busy = threading.Lock()

    def _serve(self, inbox: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        while (job := inbox.get()) is not None:
            try:
                job()
            finally:
                self._done.put(None)

    def run(self, jobs: list[Callable[[], None]]) -> bool:
        """Run ``jobs[1:]`` on the helpers and ``jobs[0]`` here, all finished on return.
        False (nothing run) when the helpers are busy with another call or too few."""
        extra = jobs[1:]
        if len(extra) > self.n or not self._busy.acquire(blocking=False):
            return False
        try:
            while len(self._inboxes) < len(extra):
                inbox: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
                threading.Thread(target=self._serve, args=(inbox,), daemon=True,
                                 name=f"{self.name}-{len(self._inboxes) + 1}").start()
                self._inboxes.append(inbox)
            for inbox, job in zip(self._inboxes, extra, strict=False):
                inbox.put(job)
            try:
                jobs[0]()
            finally:
                for _ in extra:
                    self._done.get()
        finally:
            self._busy.release()
        return True

    def close(self) -> None:
        with self._busy:
            for inbox in self._inboxes:
                inbox.put(None)
            self._inboxes = []


def run_rows(fn: Callable[[int, T], WriteResult], rows: Sequence[T], workers: int,
             lanes: Lanes | None = None) -> list[WriteResult]:
    results: list[WriteResult | None] = [None] * len(rows)
    stop = threading.Event()
    fatal: list[FatalError] = []
    crashed: list[BaseException] = []  # anything else (a defect): re-raised in the caller

    def one(i: int, row: T) -> None:
        if stop.is_set():
            return
        try:
            results[i] = fn(i, row)
        except RecordError as exc:
            results[i] = WriteResult.failure(exc)
        except FatalError as exc:
            stop.set()
            fatal.append(exc)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            stop.set()
            crashed.append(exc)

    if workers <= 1 or len(rows) <= 1:
        for i, row in enumerate(rows):
            one(i, row)
            if stop.is_set():
                break
    else:
        # each thread takes every ``n``-th row: no future, work item or queue per row (they
        # cost as much CPU as a fast server's whole answer)
        n = min(workers, len(rows))

        def lane(k: int) -> None:
            for i in range(k, len(rows), n):
                if stop.is_set():
                    return
                one(i, rows[i])

        jobs = [lambda k=k: lane(k) for k in range(n)]  # jobs[0]: this thread is a lane
        if lanes is None or not lanes.run(jobs):
            threads = [threading.Thread(target=job, name=f"pipedrive-{k}")
                       for k, job in enumerate(jobs) if k]
            for t in threads:
                t.start()
            jobs[0]()
            for t in threads:
                t.join()
    if crashed:
        raise crashed[0]
    if fatal:
        err: Any = fatal[0]
        err.partial = results
        raise err
    return [r for r in results if r is not None]
