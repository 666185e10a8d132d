"""Sandbox time: ``--time-scale X`` divides every limit window and wait by X."""

from __future__ import annotations

import time


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = time_scale

    def monotonic(self) -> float:
        """Scaled seconds: one real second counts as ``time_scale`` emulated seconds."""
        return time.monotonic() * self.time_scale

    def real(self, emulated_seconds: float) -> float:
        """Real seconds that an emulated duration takes."""
        return emulated_seconds / self.time_scale
