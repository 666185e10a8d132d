"""Pacing: stay under a system's limit instead of earning 429s.

``Pacer`` spaces requests at least ``interval`` seconds apart (per key) and can be told to hold
off (``defer``) when a server gives a retry hint. It works in threads and in asyncio. A
``time_scale`` divides every interval, mirroring the sandboxes' ``--time-scale`` so benchmarks
exercise the production pacing logic at speed.

One account's budget is one budget however many processes use it: inside ``shared_budget(b)``
(the fleet's activities, on a PostgreSQL store) a pacer built with an ``account`` identity takes
its turns from ``b`` (a row per account in the database) instead of from its own clock, so two
workers, or two activities one after the other, never send closer than the interval. A shared
turn is claimed at the moment of sending, not booked ahead: a worker that wakes late from its
wait (a loaded machine) then cannot squeeze another worker's request behind its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Protocol

log = logging.getLogger(__name__)

#: real seconds added to every shared turn: between two processes a claim, the send and the
#: server's stamp each wait for a CPU on a loaded machine, and that does not shrink with a
#: sandbox's time scale (3 % of PracticeHub's real 1 s interval)
SHARED_JITTER_S = 0.03


class SharedBudget(Protocol):
    """Turns of an account shared across processes (see ``ferry.model.pgbudget``)."""

    def turn(self, account: str, interval: float) -> float:
        """0.0 when the caller may send now (the turn is taken: the next one is ``interval``
        s away), else the seconds until it may ask again."""

    def defer(self, account: str, seconds: float) -> None:
        """No slot of the account starts before ``seconds`` from now."""

    def refused(self, account: str) -> None:
        """Count a 429 the account answered (per account, for monitoring: it should stay 0)."""

    def take_tokens(self, account: str, day: str, tokens: int, limit: int) -> bool:
        """Add ``tokens`` to the account's spend of ``day`` if it stays within ``limit``
        (atomically across processes); False, and nothing taken, when it would not."""

    def add_tokens(self, account: str, day: str, tokens: int) -> None:
        """Add ``tokens`` (negative: give back) to the account's spend of ``day``."""

    def tokens_spent(self, account: str, day: str) -> int:
        """The account's spend of ``day`` by every process."""


_BUDGET: contextvars.ContextVar[SharedBudget | None] = contextvars.ContextVar(
    "ferry_shared_budget", default=None)


@contextlib.contextmanager
def shared_budget(budget: SharedBudget | None) -> Iterator[None]:
    """Pacers built inside this block (with an ``account``) share ``budget``."""
    token = _BUDGET.set(budget)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def current_budget() -> SharedBudget | None:
    """The budget ``shared_budget`` opened around this code (None: one process alone)."""
    return _BUDGET.get()


def account_id(system: str, *parts: str | None) -> str:
    """A budget's name: a digest of what identifies the account (a host, a database, a token),
    so the shared table never holds a secret or a practice's name."""
    text = "\x1f".join([system, *(p or "" for p in parts)])
    return f"{system}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"


class _BudgetMember:
    """What both limiters say of their account's shared budget (``_shared``: None for one
    process alone) and the 429s they met."""

    account: str | None
    _shared: SharedBudget | None
    refusals = 0

    @property
    def shared(self) -> bool:
        """Whether turns come from a budget shared with other processes."""
        return self._shared is not None

    def refused(self) -> None:
        """The server answered 429: counted here and, shared, in the account's budget row."""
        self.refusals += 1
        if self._shared is not None and self.account is not None:
            with contextlib.suppress(Exception):  # a count for people: never stops a request
                self._shared.refused(self.account)


class Pacer(_BudgetMember):
    def __init__(self, interval: float, *, time_scale: float = 1.0,
                 account: str | None = None) -> None:
        self.interval = interval / time_scale if interval else 0.0
        self.time_scale = time_scale
        self._next = 0.0
        self._lock = threading.Lock()
        self.account = account
        self._shared = _BUDGET.get() if account and self.interval else None

    def _reserve(self) -> float:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
            return at - now

    def _shared_turn(self) -> float | None:
        """The shared budget's answer (see ``SharedBudget.turn``); None: pace alone."""
        if self._shared is None or self.account is None:
            return None
        try:
            return self._shared.turn(self.account, self.interval + SHARED_JITTER_S)
        except Exception as exc:  # noqa: BLE001 - the database went away: pace alone
            log.warning("shared rate budget unavailable (%s); pacing this process alone",
                        type(exc).__name__)
            self._shared = None
            return None

    def wait(self) -> None:
        if self._shared is not None:
            while (d := self._shared_turn()) is not None and d > 0:
                time.sleep(d)
            if d is not None:
                return
        delay = self._reserve()
        if delay > 0:
            time.sleep(delay)

    async def await_turn(self) -> None:
        import asyncio  # (loaded by whoever runs the event loop; a thread-paced verb never is)

        if self._shared is not None:  # database round trips: off the event loop
            while (d := await asyncio.to_thread(self._shared_turn)) is not None and d > 0:
                await asyncio.sleep(d)
            if d is not None:
                return
        delay = self._reserve()
        if delay > 0:
            await asyncio.sleep(delay)

    def defer(self, seconds: float) -> None:
        """Push the next slot out by a server hint (already in real seconds)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)
        if self._shared is not None and self.account is not None:
            with contextlib.suppress(Exception):
                self._shared.defer(self.account, seconds)

    def sent_late(self) -> None:
        """A request left later than its turn (a loaded machine): the account's next turn is
        an interval from now, whichever process takes it."""
        self.defer(self.interval)


class SlidingWindow(_BudgetMember):
    """At most ``limit`` events per ``window`` seconds (burst limits such as Pipedrive's 2 s).

    Shared across processes (an ``account`` inside ``shared_budget``), the window becomes even
    spacing of ``window / limit``: the same rate, without the burst."""

    def __init__(self, limit: int, window: float, *, time_scale: float = 1.0,
                 account: str | None = None) -> None:
        self.limit = limit
        self.window = window / time_scale
        self._events: deque[float] = deque()
        self._lock = threading.Lock()
        self.account = account
        self._shared = _BUDGET.get() if account else None

    def _shared_turn(self) -> float | None:
        if self._shared is None or self.account is None:
            return None
        try:
            # a count per window, not a spacing: even spacing is already within it
            return self._shared.turn(self.account, self.window / self.limit)
        except Exception as exc:  # noqa: BLE001 - the database went away: pace alone
            log.warning("shared rate budget unavailable (%s); pacing this process alone",
                        type(exc).__name__)
            self._shared = None
            return None

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
        if self._shared is not None:
            while (shared := self._shared_turn()) is not None and shared > 0:
                time.sleep(shared)
            if shared is not None:
                return
        d = self.delay()
        if d > 0:
            time.sleep(d)
