"""PracticeHub's documented limit: 1 request per second per account, 429 past that.

Enforced as a GCRA (a leaky bucket of depth one) on the sandbox ``Clock``, so ``--time-scale``
shrinks the window. A tolerance absorbs network jitter: a tenth of the interval, or 25 ms of *real* time
if that is more (latency does not shrink with ``--time-scale``, so at scale 100 a connection set-up
would otherwise look like a burst), never more than half the interval. So no two requests closer
than half an interval are both accepted and over any stretch the accepted rate never exceeds the
limit, while a client pacing itself at the limit is not punished for loopback jitter. Refused
requests do not use up the allowance.
The scope is the account (as documented) or, with ``limit_scope="key"``, each API key.
"""

from __future__ import annotations

import threading

from ferry.sandbox.clock import Clock


class AccountLimiter:
    def __init__(self, clock: Clock, *, per_second: float = 1.0, tolerance: float = 0.1) -> None:
        self.clock = clock
        self.interval = 1.0 / per_second
        jitter = 0.025 * clock.time_scale  # 25 ms of real time, in emulated seconds
        self.tolerance = min(0.5 * self.interval, max(tolerance * self.interval, jitter))
        self._tat: dict[str, float] = {}  # theoretical arrival time per scope, emulated seconds
        self._lock = threading.Lock()
        self.refused = 0
        self.accepted = 0
        self.refused_gaps: list[float] = []  # per refusal, emulated s since the last admitted

    def admit(self, scope: str, arrived: float | None = None) -> float | None:
        """None if the request may proceed, else the emulated seconds until it would.
        ``arrived``: when the request reached the server (emulated clock), if stamped earlier."""
        with self._lock:
            now = self.clock.monotonic() if arrived is None else arrived
            tat = self._tat.get(scope, now)
            if now < tat - self.tolerance:
                self.refused += 1
                if len(self.refused_gaps) < 1000:
                    self.refused_gaps.append(round(now - (tat - self.interval), 4))
                return tat - now
            self._tat[scope] = max(tat, now) + self.interval
            self.accepted += 1
            return None

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()
            self.refused = self.accepted = 0
            self.refused_gaps.clear()
