"""Pipedrive's token-based rate limits, as NOTES.md section 7 documents them.

* Daily budget: 30,000 tokens x plan multiplier x seats per company, charged per operation at the
  spec's ``x-token-cost`` when the request is accepted; once spent, every request gets 429 with a
  ``Retry-After`` until the emulated midnight (days are 86,400 emulated seconds).
* Burst: a rolling 2 s window per API token (20/40/80/100/120 by plan), plus a separate 10 / 2 s
  bucket for search; over it, 429 with ``x-ratelimit-*`` headers.
* Clients that keep hammering after 429 get the Cloudflare 403 HTML page.
Every window and wait is divided by the sandbox time scale (``Clock``); header values are real
seconds so a client pacing by them works at any scale.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ferry.sandbox.clock import Clock

MULTIPLIER = {"lite": 1, "essential": 1, "growth": 2, "advanced": 2, "professional": 3,
              "premium": 5, "power": 5, "ultimate": 7, "enterprise": 7}
BURST = {"lite": 20, "essential": 20, "growth": 40, "advanced": 40, "professional": 80,
         "premium": 100, "power": 100, "ultimate": 120, "enterprise": 120}
SEARCH_BURST = 10
WINDOW_S = 2.0
DAY_S = 86_400.0
FAIR_USE_WRITES = 10_000  # x-daily-requests-left: the 2019 POST/PUT fair-use counter (reported only)


@dataclass
class Verdict:
    status: int  # 200 = go ahead
    headers: dict[str, str]
    body: Any = None
    kind: str = ""  # "burst" | "search_burst" | "daily" | "hammer"


@dataclass
class Limits:
    clock: Clock
    plan: str = "growth"
    seats: int = 1
    daily_budget: int | None = None  # overrides the formula (tests exhaust it quickly)
    burst: int | None = None
    search_burst: int = SEARCH_BURST
    hammer_after: int = 200  # consecutive 429s before the Cloudflare 403
    used: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    writes_today: int = 0
    _windows: dict[str, deque[float]] = field(default_factory=dict)
    _streak: dict[str, int] = field(default_factory=dict)
    _day_start: float = 0.0

    def __post_init__(self) -> None:
        self.plan = self.plan.lower()
        self._day_start = self.clock.monotonic()
        if self.daily_budget is None:
            self.daily_budget = 30_000 * MULTIPLIER.get(self.plan, 1) * max(1, self.seats)
        if self.burst is None:
            self.burst = BURST.get(self.plan, 20)

    def _fmt(self, emulated: float) -> str:
        real = self.clock.real(max(0.0, emulated))
        return str(math.ceil(real)) if self.clock.time_scale == 1 else f"{real:.3f}"

    def _roll_day(self, now: float) -> None:
        if now - self._day_start >= DAY_S:
            days = (now - self._day_start) // DAY_S
            self._day_start += days * DAY_S
            self.used = 0
            self.writes_today = 0

    def _window(self, key: str, limit: int, now: float) -> tuple[int, float]:
        """(remaining after this event or -1 if over, seconds until the window frees a slot)."""
        q = self._windows.setdefault(key, deque())
        while q and now - q[0] >= WINDOW_S:
            q.popleft()
        if len(q) >= limit:
            return -1, WINDOW_S - (now - q[0])
        q.append(now)
        return limit - len(q), WINDOW_S - (now - q[0])

    def admit(self, token: str, operation: str, cost: int, *, search: bool, write: bool
              ) -> Verdict:
        now = self.clock.monotonic()
        self._roll_day(now)
        assert self.burst is not None and self.daily_budget is not None
        if self._streak.get(token, 0) >= self.hammer_after:
            self.refusals["hammer"] = self.refusals.get("hammer", 0) + 1
            return Verdict(403, {"content-type": "text/html"}, None, "hammer")
        if self.used + cost > self.daily_budget:
            return self._refuse(token, "daily", {
                "retry-after": self._fmt(DAY_S - (now - self._day_start)),
                "x-ratelimit-limit": str(self.burst)},
                {"success": False, "error": "daily request budget exceeded", "errorCode": 429})
        left, reset = self._window(f"b:{token}", self.burst, now)
        headers = {"x-ratelimit-limit": str(self.burst),
                   "x-ratelimit-remaining": str(max(left, 0)),
                   "x-ratelimit-reset": self._fmt(reset)}
        if left < 0:
            return self._refuse(token, "burst", headers, _over_limit())
        if search:
            s_left, s_reset = self._window(f"s:{token}", self.search_burst, now)
            if s_left < 0:
                self._windows[f"b:{token}"].pop()  # the refused call does not use a burst slot
                return self._refuse(token, "search_burst", {
                    "x-ratelimit-limit": str(self.search_burst), "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": self._fmt(s_reset)}, _over_limit())
        self._streak[token] = 0
        self.used += cost
        self.by_operation[operation] = self.by_operation.get(operation, 0) + cost
        if write:
            self.writes_today += 1
        headers["x-daily-requests-left"] = str(max(0, FAIR_USE_WRITES - self.writes_today))
        return Verdict(200, headers)

    def _refuse(self, token: str, kind: str, headers: dict[str, str], body: Any) -> Verdict:
        self._streak[token] = self._streak.get(token, 0) + 1
        self.refusals[kind] = self.refusals.get(kind, 0) + 1
        return Verdict(429, headers, body, kind)

    def snapshot(self) -> dict[str, Any]:
        return {"plan": self.plan, "seats": self.seats, "daily_budget": self.daily_budget,
                "burst_per_2s": self.burst, "search_burst_per_2s": self.search_burst,
                "used": self.used, "remaining": (self.daily_budget or 0) - self.used,
                "by_operation": dict(self.by_operation), "refusals": dict(self.refusals),
                "writes_today": self.writes_today}


def _over_limit() -> dict[str, Any]:
    return {"success": False, "error": "Request over limit", "errorCode": 429}


CLOUDFLARE_403 = (b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title>"
                  b"</head><body><h1>Sorry, you have been blocked</h1><p>This error is produced "
                  b"by Cloudflare.</p></body></html>")
