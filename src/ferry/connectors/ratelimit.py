"""Pacing: stay under a system's limit instead of earning 429s.

``Pacer`` spaces requests at least ``interval`` seconds apart (per key) and can be told to hold
off (``defer``) when a server gives a retry hint. It works in threads and in asyncio. A
``time_scale`` divides every interval, mirroring the sandboxes' ``--time-scale`` so benchmarks
exercise the production pacing logic at speed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque


class Pacer:
    def __init__(self, interval: float, *, time_scale: float = 1.0) -> None:
        self.interval = interval / time_scale if interval else 0.0
        self.time_scale = time_scale
        self._next = 0.0
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
            return at - now

    def wait(self) -> None:
        delay = self._reserve()
        if delay > 0:
            time.sleep(delay)

    async def await_turn(self) -> None:
        delay = self._reserve()
        if delay > 0:
            await asyncio.sleep(delay)

    def defer(self, seconds: float) -> None:
        """Push the next slot out by a server hint (already in real seconds)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds (burst limits such as Pipedrive's 2 s)."""

    def __init__(self, limit: int, window: float, *, time_scale: float = 1.0) -> None:
        self.limit = limit
        self.window = window / time_scale
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def delay(self) -> float:
        with self._lock:
            now = time.monotonic()
            while self._events and now - self._events[0] >= self.window:
                self._events.popleft()
            if len(self._events) < self.limit:
                self._events.append(now)
                return 0.0
            wait = self.window - (now - self._events[0])
            self._events.append(now + wait)
            self._events.popleft()
            return wait

    def wait(self) -> None:
        d = self.delay()
        if d > 0:
            time.sleep(d)
