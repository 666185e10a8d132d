"""Run one call per row, a few at a time, results in row order.

Pipedrive has no batch create, and a real round trip takes a few hundred milliseconds, so one
call at a time cannot reach the burst limit (40-120 calls / 2 s). ``workers`` threads share the
client (httpx's client and the burst window are thread-safe), so pacing still holds.

A RecordError stays with its row (``WriteResult.failure``). The first FatalError (budget spent,
token refused) stops rows that have not started, lets in-flight ones finish, and is re-raised
with ``partial``: the results aligned with the rows, ``None`` where a row was not written (the
engine's ``recover`` settles those through ``find``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ferry.connectors.base import WriteResult
from ferry.errors import FatalError, RecordError

T = TypeVar("T")


def run_rows(fn: Callable[[int, T], WriteResult], rows: Sequence[T], workers: int
             ) -> list[WriteResult]:
    results: list[WriteResult | None] = [None] * len(rows)
    stop = threading.Event()
    fatal: list[FatalError] = []

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

    if workers <= 1 or len(rows) <= 1:
        for i, row in enumerate(rows):
            one(i, row)
            if stop.is_set():
                break
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(rows)),
                                thread_name_prefix="pipedrive") as pool:
            for future in [pool.submit(one, i, row) for i, row in enumerate(rows)]:
                future.result()
    if fatal:
        err: Any = fatal[0]
        err.partial = results
        raise err
    return [r for r in results if r is not None]
