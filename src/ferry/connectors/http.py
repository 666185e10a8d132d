"""HTTP plumbing shared by every connector: clients, safe logging, retry of Retriable errors.

Clients take an optional ``transport`` (the httpx seam) so tests and benchmarks run the same code
path as production. Logging writes the method, the path and the status, never query strings,
headers or bodies, since those carry tokens and PHI.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from http.cookiejar import CookieJar
from typing import Any, TypeVar

import httpx

from ferry.errors import FatalError, RateLimited, RetriableError

log = logging.getLogger("ferry.http")
T = TypeVar("T")


def _log_response(response: httpx.Response) -> None:
    if log.isEnabledFor(logging.DEBUG):  # the path is decoded per call otherwise
        log.debug("%s %s -> %s", response.request.method, response.request.url.path,
                  response.status_code)


class _NoCookies(CookieJar):
    """A jar that keeps nothing: for APIs that authenticate by header, where parsing every
    response's cookies (httpx does, per call) is CPU spent on nothing."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


async def _alog_response(response: httpx.Response) -> None:
    _log_response(response)


def make_client(base_url: str, *, headers: dict[str, str] | None = None,
                timeout: float = 60.0, transport: httpx.BaseTransport | None = None,
                verify: Any = True, cookies: bool = True) -> httpx.Client:
    """``cookies=False`` for a token-authenticated API: responses' cookies are not kept."""
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport,
                        verify=verify, event_hooks={"response": [_log_response]},
                        cookies=None if cookies else _NoCookies())


def make_async_client(base_url: str, *, headers: dict[str, str] | None = None,
                      timeout: float = 60.0, transport: httpx.AsyncBaseTransport | None = None,
                      verify: Any = True, max_connections: int = 20) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout,
                             transport=transport, verify=verify,
                             limits=httpx.Limits(max_connections=max_connections),
                             event_hooks={"response": [_alog_response]})


NETWORK_ERRORS = (httpx.TransportError, httpx.DecodingError)


def retry_after_seconds(response: httpx.Response, now: dt.datetime | None = None
                        ) -> float | None:
    """``Retry-After`` in seconds, from delta-seconds or an HTTP-date (RFC 9110 allows both);
    None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** attempt))  # noqa: S311 - jitter, not crypto


def call_with_retry(fn: Callable[[], T], *, attempts: int = 8, base: float = 0.5,
                    on_retry: Callable[[Exception, float], None] | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn``; retry RetriableError and network errors with backoff, honouring hints."""
    for attempt in range(attempts):
        try:
            return fn()
        except (RetriableError, *NETWORK_ERRORS) as exc:
            if attempt == attempts - 1:
                raise _as_ferry(exc) from None
            wait = _wait_for(exc, attempt, base)
            if on_retry:
                on_retry(exc, wait)
            sleep(wait)
    raise AssertionError("unreachable")


async def acall_with_retry(fn: Callable[[], Awaitable[T]], *, attempts: int = 8,
                           base: float = 0.5,
                           on_retry: Callable[[Exception, float], None] | None = None) -> T:
    import asyncio

    for attempt in range(attempts):
        try:
            return await fn()
        except (RetriableError, *NETWORK_ERRORS) as exc:
            if attempt == attempts - 1:
                raise _as_ferry(exc) from None
            wait = _wait_for(exc, attempt, base)
            if on_retry:
                on_retry(exc, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def _wait_for(exc: Exception, attempt: int, base: float) -> float:
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return exc.retry_after
    return backoff(attempt, base)


def _as_ferry(exc: Exception) -> Exception:
    if isinstance(exc, RetriableError):
        return FatalError(f"gave up after retries: {exc}", status=exc.status, system=exc.system)
    return FatalError(f"gave up after retries: network error {type(exc).__name__}")
