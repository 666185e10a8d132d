"""Sandbox time: ``--time-scale X`` divides every limit window and wait by X.

Tests can also move time by hand: ``advance(s)`` adds emulated seconds at once (a session
that outlives its lifetime, without waiting for it), and ``freeze()`` stops the real seconds
from counting, so only ``advance`` moves the clock (a poll schedule counted against emulated
time, whatever the machine's load makes of the round trips).
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = time_scale
        self._advanced = 0.0  # emulated seconds added by advance()
        self._frozen_at: float | None = None  # the scaled real time freeze() stopped at

    def monotonic(self) -> float:
        """Scaled seconds: one real second counts as ``time_scale`` emulated seconds."""
        real = self._frozen_at if self._frozen_at is not None else \
            time.monotonic() * self.time_scale
        return real + self._advanced

    def real(self, emulated_seconds: float) -> float:
        """Real seconds that an emulated duration takes."""
        return emulated_seconds / self.time_scale

    def advance(self, emulated_seconds: float) -> None:
        """Move the clock on by ``emulated_seconds`` now."""
        if emulated_seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self._advanced += emulated_seconds

    def freeze(self) -> None:
        """Stop counting real time from now on: only ``advance`` moves the clock after this."""
        if self._frozen_at is None:
            self._frozen_at = time.monotonic() * self.time_scale

    def thaw(self) -> None:
        """Count real time again, on from where the clock stands (no jump)."""
        if self._frozen_at is not None:
            self._advanced += self._frozen_at - time.monotonic() * self.time_scale
            self._frozen_at = None
