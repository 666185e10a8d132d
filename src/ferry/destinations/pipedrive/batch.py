"""Run one call per row, a few at a time, results in row order.

Pipedrive has no batch create, and a real round trip takes a few hundred milliseconds, so one
call at a time cannot reach the burst limit (40-120 calls / 2 s). ``workers`` threads share the
client (its connections and the burst window are thread-safe), so pacing still holds. The calling
thread is one of them, each taking every ``workers``-th row.

A RecordError stays with its row (``WriteResult.failure``). The first FatalError (budget spent,
token refused) stops rows that have not started, lets in-flight ones finish, and is re-raised
with ``partial``: the results aligned with the rows, ``None`` where a row was not written (the
engine's ``recover`` settles those through ``find``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ferry.connectors.base import WriteResult
from ferry.errors import FatalError, RecordError

T = TypeVar("T")


def run_rows(fn: Callable[[int, T], WriteResult], rows: Sequence[T], workers: int
             ) -> list[WriteResult]:
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

        lanes = [threading.Thread(target=lane, args=(k,), name=f"pipedrive-{k}")
                 for k in range(1, n)]
        for t in lanes:
            t.start()
        lane(0)  # this thread is one of the lanes
        for t in lanes:
            t.join()
    if crashed:
        raise crashed[0]
    if fatal:
        err: Any = fatal[0]
        err.partial = results
        raise err
    return [r for r in results if r is not None]
