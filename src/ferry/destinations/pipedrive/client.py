"""Pipedrive HTTP calls: pacing under the burst limit, token accounting, retry policy.

* Pacing: a ``SlidingWindow`` of ``burst`` calls per 2 s (plan figure, lowered to the server's
  ``x-ratelimit-limit`` when that is smaller) plus a 10 / 2 s window for search; when the server
  says ``x-ratelimit-remaining: 0`` we hold until ``x-ratelimit-reset``.
* Tokens: every call is priced from ``COSTS`` (the spec's ``x-token-cost``; a test keeps the table
  equal to the documents). The day's spend is kept in a small ledger file in the project workdir
  because Pipedrive reports no remaining-budget header; in a fleet (``shared_budget``, a
  PostgreSQL store) it is kept in the shared budget's database instead, so every worker
  serving the token spends one daily budget. Once the day's budget is spent (by the
  ledger or by a daily-budget 429) every call raises ``BudgetExhausted`` without touching the
  network: the run stops cleanly instead of hammering into the Cloudflare 403.
* Retries: 429 burst refusals are always retried (the server refused before running anything).
  5xx and network errors are retried for reads and idempotent writes; for creates they raise
  ``Ambiguous`` so the writer can look the record up by source id before trying again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.connectors.http import (
    KeepAliveClient,
    NetworkError,
    make_client,
    network_errors,
    proxied,
)
from ferry.connectors.ratelimit import SlidingWindow, account_id, current_budget
from ferry.destinations.pipedrive.errors import SYSTEM, to_error
from ferry.errors import BudgetExhausted, FatalError, RateLimited, RetriableError

if TYPE_CHECKING:
    import httpx

V2_OBJECTS = {"person": "persons", "organization": "organizations", "deal": "deals",
              "activity": "activities"}
COSTS: dict[tuple[str, str, str], int] = {
    **{("v2", m, f"/{p}{s}"): c for p in V2_OBJECTS.values()
       for m, s, c in (("GET", "", 10), ("POST", "", 5), ("GET", "/{id}", 1),
                       ("PATCH", "/{id}", 5), ("DELETE", "/{id}", 3))},
    **{("v2", m, f"/{o}Fields{s}"): c for o in ("person", "organization", "deal")
       for m, s, c in (("GET", "", 10), ("POST", "", 5), ("DELETE", "/{field_code}", 3),
                       ("POST", "/{field_code}/options", 5),
                       ("DELETE", "/{field_code}/options", 3))},
    ("v2", "GET", "/activityFields"): 10,
    **{("v2", "GET", f"/{p}/search"): 20 for p in ("persons", "organizations", "deals")},
    ("v2", "GET", "/itemSearch/field"): 20,
    **{("v2", m, f"/{p}{s}"): c for p in ("pipelines", "stages")
       for m, s, c in (("GET", "", 5), ("POST", "", 5), ("DELETE", "/{id}", 3))},
    ("v1", "GET", "/notes"): 20, ("v1", "POST", "/notes"): 10, ("v1", "GET", "/notes/{id}"): 2,
    ("v1", "PUT", "/notes/{id}"): 10, ("v1", "DELETE", "/notes/{id}"): 6,
    ("v1", "GET", "/files"): 20, ("v1", "POST", "/files"): 10, ("v1", "GET", "/files/{id}"): 2,
    ("v1", "PUT", "/files/{id}"): 10, ("v1", "DELETE", "/files/{id}"): 6,
    ("v1", "GET", "/users"): 20, ("v1", "GET", "/users/me"): 2,
    ("v1", "GET", "/activityTypes"): 20, ("v1", "POST", "/activityTypes"): 10,
    ("v1", "DELETE", "/activityTypes/{id}"): 6,
}
WINDOW_S = 2.0
DAY_S = 86_400.0
MARGIN = 1.1
JITTER_S = 0.03
LEDGER_WIDTH = 64  # bytes of the ledger file (JSON padded with spaces)
log = logging.getLogger(__name__)


class Ambiguous(RetriableError):
    """A create was sent and failed in a way that leaves unknown whether it was applied."""


class Ledger:
    """Tokens spent today (UTC day), persisted so separate ``ferry`` runs share the count.

    Under a ``time_scale`` (a sandbox whose days are 86,400 *emulated* seconds) the day is the
    emulated one, counted on the monotonic clock the sandbox scales too: a fast-scaled load goes
    through many emulated days, as the sandbox's budget does, instead of spending one calendar
    day's budget and stopping with ``BudgetExhausted``.

    With an ``account`` inside ``shared_budget`` (a fleet on PostgreSQL) the day's spend is the
    shared budget's row for the account and day, taken atomically before each call, so two
    workers cannot both take the last tokens; ``spent`` here is then this process's share. If
    the database cannot be reached the ledger counts alone (and says so in the log)."""

    def __init__(self, path: Path | None, time_scale: float = 1.0, *,
                 account: str | None = None) -> None:
        self.path = path
        self.time_scale = time_scale
        self.account = account
        self.shared = current_budget() if account else None
        self.day = self._today()
        self.spent = 0
        self._dirty = 0
        self._fd: int | None = None
        self._width = LEDGER_WIDTH
        if path and path.exists():
            try:
                data = json.loads(path.read_text())
                if data.get("day") == self.day:
                    self.spent = int(data.get("spent", 0))
            except (ValueError, OSError):
                pass

    def _today(self) -> str:
        if self.time_scale == 1.0:
            return dt.datetime.now(dt.UTC).date().isoformat()
        return f"emulated-{int(time.monotonic() * self.time_scale // DAY_S)}"

    def roll(self) -> None:
        """A new day starts with nothing spent."""
        today = self._today()
        if today != self.day:
            self.day, self.spent = today, 0

    def _alone(self, exc: Exception) -> None:
        log.warning("shared token budget unavailable (%s); counting this process alone",
                    type(exc).__name__)
        self.shared = None

    def take(self, tokens: int, limit: int) -> bool:
        """Spend ``tokens`` if the day's spend stays within ``limit``; False when it would not."""
        if tokens <= 0:
            return True
        self.roll()
        if self.shared is not None and self.account is not None:
            try:
                ok = self.shared.take_tokens(self.account, self.day, tokens, limit)
            except Exception as exc:  # noqa: BLE001 - the database went away: count alone
                self._alone(exc)
            else:
                if ok:
                    self.spent += tokens
                return ok
        if self.spent + tokens > limit:
            return False
        self._count(tokens)
        return True

    def add(self, tokens: int) -> None:
        """Count ``tokens`` whatever the limit (negative: tokens given back)."""
        self.roll()
        if self.shared is not None and self.account is not None:
            try:
                self.shared.add_tokens(self.account, self.day, tokens)
            except Exception as exc:  # noqa: BLE001
                self._alone(exc)
        self._count(tokens)

    def _count(self, tokens: int) -> None:
        self.spent += tokens
        self._dirty += 1
        if self._dirty >= 25:
            self.flush()

    def spent_today(self) -> int:
        """The day's spend: every worker's when shared, else this project's."""
        self.roll()
        if self.shared is not None and self.account is not None:
            try:
                return self.shared.tokens_spent(self.account, self.day)
            except Exception as exc:  # noqa: BLE001
                self._alone(exc)
        return self.spent

    def flush(self) -> None:
        """Written in place through a descriptor kept open, padded to a fixed width so each
        write covers the last: writing the file anew (``write_text``, every 25 calls) was a
        fifth of a fast call's CPU."""
        if self.path and self._dirty:
            text = json.dumps({"day": self.day, "spent": self.spent}).encode()
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
                os.ftruncate(self._fd, 0)
            data = text.ljust(self._width)
            os.pwrite(self._fd, data, 0)
            self._width = len(data)  # never shorter than what the file holds
            self._dirty = 0

    def close(self) -> None:
        self.flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class PipedriveClient:
    def __init__(self, base_url: str, token: str, *, burst: int, daily_budget: int,
                 time_scale: float = 1.0, search_burst: int = 10, attempts: int = 8,
                 ledger: Path | None = None, transport: httpx.BaseTransport | None = None,
                 timeout: float = 60.0) -> None:
        headers = {"x-api-token": token, "accept": "application/json"}
        # httpx for a test's transport and proxies (made on first use: ``http``); otherwise
        # calls (one per record) go through the leaner keep-alive client
        self._http: httpx.Client | None = None
        self._http_args = (base_url.rstrip("/"), timeout, transport, headers)
        self.lean = None if transport is not None or proxied(base_url) else \
            KeepAliveClient(base_url.rstrip("/"), headers=headers, timeout=timeout)
        self._network_errors: tuple[type[Exception], ...] = \
            (NetworkError,) if self.lean is not None else network_errors()
        self.time_scale = time_scale
        # wider than the server's window (10 % + 30 ms real): send/arrival jitter must not
        # push a call into the previous window, even at a sandbox's accelerated time scale
        window = WINDOW_S * MARGIN + JITTER_S * time_scale
        # the limits are the token's (Pipedrive's are per company; one token is one budget)
        self.window = SlidingWindow(burst, window, time_scale=time_scale,
                                    account=account_id("pipedrive", base_url, token))
        self.search_window = SlidingWindow(search_burst, window, time_scale=time_scale,
                                           account=account_id("pipedrive", base_url, token,
                                                              "search"))
        self.daily_budget = daily_budget
        self.attempts = attempts
        self.ledger = Ledger(ledger, time_scale, account=account_id("pipedrive", base_url, token))
        self.exhausted_until: float | None = None
        self._hold_until = 0.0
        self.headers: dict[str, str] = {}
        self.stats = {"requests": 0, "tokens": 0, "rate_limited": 0, "retries": 0}
        self._lock = threading.Lock()  # the writer runs a few rows at once

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            base, timeout, transport, headers = self._http_args
            self._http = make_client(base, timeout=timeout, transport=transport,
                                     headers=headers,
                                     cookies=False)  # the token authenticates: no cookies
        return self._http

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    # -- budget ----------------------------------------------------------------------------------
    def cost(self, version: str, method: str, template: str) -> int:
        return COSTS.get((version, method, template), 0)

    def remaining(self) -> int:
        if self.exhausted_until and time.time() < self.exhausted_until:
            return 0
        return max(0, self.daily_budget - self.ledger.spent_today())

    def resets_at(self) -> float:
        if self.exhausted_until and time.time() < self.exhausted_until:
            return self.exhausted_until
        if self.time_scale != 1.0:  # the ledger's emulated day (see ``Ledger``)
            left = DAY_S - (time.monotonic() * self.time_scale) % DAY_S
            return time.time() + left / self.time_scale
        tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(), dt.UTC).timestamp()

    def _reserve(self, cost: int) -> None:
        """Take ``cost`` tokens from today's budget before sending (atomic across threads, and
        across workers when the ledger is shared)."""
        with self._lock:
            refused = bool(self.exhausted_until and time.time() < self.exhausted_until)
            if (refused and cost > 0) or not self.ledger.take(cost, self.daily_budget):
                self.ledger.flush()
                raise BudgetExhausted("Pipedrive daily token budget is spent; resume after"
                                      " reset", resets_at=self.resets_at(), system=SYSTEM)
            self.stats["tokens"] += cost
            self.stats["requests"] += 1

    # -- calls -----------------------------------------------------------------------------------
    def _pace(self, search: bool) -> None:
        hold = self._hold_until - time.monotonic()
        if hold > 0:
            time.sleep(hold)
        self.window.wait()
        if search:
            self.search_window.wait()

    def _observe(self, response: Any, cost: int, search: bool) -> None:
        h = response.headers
        if response.status_code in (401, 429) or (
                not response.is_success and b"cloudflare" in response.content[:200].lower()):
            with self._lock:  # refused before it ran: not charged, give the tokens back
                self.ledger.add(-cost)
                self.stats["tokens"] -= cost
        limit = h.get("x-ratelimit-limit")
        if limit and limit.isdigit() and 0 < int(limit) < self.window.limit \
                and not search:
            self.window.limit = int(limit)
        if h.get("x-ratelimit-remaining") == "0":
            try:
                self._hold_until = time.monotonic() + float(h.get("x-ratelimit-reset", "0"))
            except ValueError:
                pass
        self.headers = h  # the last answer's (x-ratelimit-*, x-daily-requests-left)

    def _backoff(self, attempt: int) -> float:
        base = 0.5 / self.time_scale
        return random.uniform(0, min(30.0, base * 2 ** attempt))  # noqa: S311 - jitter

    def call(self, version: str, method: str, template: str, *, ref: str = "pipedrive",
             params: dict[str, Any] | None = None, json_body: Any = None,
             data: dict[str, Any] | None = None, files: Any = None, safe_retry: bool = True,
             **path: Any) -> dict[str, Any]:
        """One API call; returns the decoded envelope. ``safe_retry=False`` for creates."""
        cost = self.cost(version, method, template)
        url = f"/api/{version}" + (template.format(**path) if path else template)
        search = "search" in template.lower()
        attempt = limited = 0  # failures, and 429s (honoured waits: retried longer)
        while attempt < self.attempts and limited < 4 * self.attempts:
            self._pace(search)
            self._reserve(cost)  # (and counts the request)
            try:
                if self.lean is not None:
                    response: Any = self.lean.request(method, url, params=params,
                                                      json=json_body, data=data, files=files)
                else:
                    response = self.http.request(method, url, params=params, json=json_body,
                                                 data=data, files=files)
            except self._network_errors as exc:
                # no answer: the server may have run (and charged) it, so the ledger keeps it
                if not safe_retry:
                    raise Ambiguous(f"network error on {method} {template}",
                                    system=SYSTEM) from exc
                self._count("retries", 1)
                time.sleep(self._backoff(attempt))
                attempt += 1
                continue
            self._observe(response, cost, search)
            if response.is_success:
                try:
                    body: dict[str, Any] = response.json()
                except ValueError:
                    if not safe_retry:
                        raise Ambiguous("unreadable response", system=SYSTEM) from None
                    time.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                return body
            err = to_error(response, ref)
            if isinstance(err, BudgetExhausted):
                self.exhausted_until = err.resets_at or self.resets_at()
                self.ledger.flush()
                raise err
            if isinstance(err, RateLimited):
                (self.search_window if search else self.window).refused()
                self._count("rate_limited", 1)
                self._count("retries", 1)
                limited += 1
                time.sleep(err.retry_after if err.retry_after is not None
                           else self._backoff(min(limited, 6)))
                continue
            if isinstance(err, RetriableError):
                if not safe_retry:
                    raise Ambiguous(f"server error {response.status_code} on {method}"
                                    f" {template}", status=response.status_code, system=SYSTEM)
                self._count("retries", 1)
                time.sleep(self._backoff(attempt))
                attempt += 1
                continue
            raise err
        raise FatalError(f"Pipedrive {method} {template} failed after {self.attempts} attempts",
                         system=SYSTEM)

    def pages_v2(self, template: str, params: dict[str, Any] | None = None
                 ) -> Iterator[list[dict[str, Any]]]:
        """Cursor pages (limit 500: the price is per call, not per record)."""
        params = {**(params or {}), "limit": 500}
        while True:
            body = self.call("v2", "GET", template, params=params)
            yield body.get("data") or []
            cursor = (body.get("additional_data") or {}).get("next_cursor")
            if not cursor:
                return
            params["cursor"] = cursor

    def pages_v1(self, template: str, params: dict[str, Any] | None = None, limit: int = 500
                 ) -> Iterator[list[dict[str, Any]]]:
        """Offset pages, following ``next_start`` (files cap ``limit`` at 100)."""
        params = {**(params or {}), "start": 0, "limit": limit}
        while True:
            body = self.call("v1", "GET", template, params=params)
            yield body.get("data") or []
            pg = (body.get("additional_data") or {}).get("pagination") or {}
            if not pg.get("more_items_in_collection"):
                return
            params["start"] = pg.get("next_start", params["start"] + limit)

    def close(self) -> None:
        self.ledger.close()
        if self._http is not None:
            self._http.close()
        if self.lean is not None:
            self.lean.close()
