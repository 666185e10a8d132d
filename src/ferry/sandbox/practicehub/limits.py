"""PracticeHub's documented limit: 1 request per second per account, 429 past that.

Enforced as a GCRA (a leaky bucket of depth one) on the sandbox ``Clock``, so ``--time-scale``
shrinks the window. ``tolerance`` (a fraction of the interval, default 0.1) absorbs network
jitter: no two requests closer than 0.9 emulated seconds are ever both accepted, and over any
stretch the accepted rate never exceeds 1/s — but a client pacing itself at exactly 1/s is not
punished for a millisecond of loopback jitter. Refused requests do not use up the allowance.
The scope is the account (as documented) or, with ``limit_scope="key"``, each API key.
"""

from __future__ import annotations

import threading

from ferry.sandbox.clock import Clock


class AccountLimiter:
    def __init__(self, clock: Clock, *, per_second: float = 1.0, tolerance: float = 0.1) -> None:
        self.clock = clock
        self.interval = 1.0 / per_second
        self.tolerance = tolerance * self.interval
        self._tat: dict[str, float] = {}  # theoretical arrival time per scope, emulated seconds
        self._lock = threading.Lock()
        self.refused = 0
        self.accepted = 0

    def admit(self, scope: str) -> float | None:
        """None if the request may proceed, else the emulated seconds until it would."""
        with self._lock:
            now = self.clock.monotonic()
            tat = self._tat.get(scope, now)
            if now < tat - self.tolerance:
                self.refused += 1
                return tat - now
            self._tat[scope] = max(tat, now) + self.interval
            self.accepted += 1
            return None

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()
            self.refused = self.accepted = 0
