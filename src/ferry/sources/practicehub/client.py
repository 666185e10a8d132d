"""PracticeHub HTTP calls, and nothing else: pacing, keys, retries, links, file streams.

Why it looks like this:

* The limit is **1 request/second per account** [doc]. Every request waits for its turn on a
  ``Pacer`` set a little slower than the limit (``pace_margin``), so steady state never earns a
  429; a 429 or 5xx that happens all the same (another client on the account, a fault) is retried
  with the server's hint or with jittered backoff. ``time_scale`` divides every interval and wait,
  mirroring the sandbox's ``--time-scale``, so benchmarks run this exact pacing logic fast.
* Several keys of one account **share** the account's allowance (``limit_scope="account"``, the
  documented behaviour): they are used in turn behind one pacer, which buys no speed but keeps the
  extraction going when one key is revoked (a key refused with 401 is dropped while others
  remain). Only if the account's limit turns out to be per key (``limit_scope="key"``) does each
  key get its own pacer, and N keys then fetch N pages at once: N times the throughput.
* ``connect_to`` sends the TCP connection elsewhere (the local sandbox) while every request keeps
  the account's ``Host``; absolute ``links.next`` URLs are rewritten the same way.
* Pages come over kept-alive connections (``connectors.http.KeepAliveClient``), each request
  sent from a thread of the I/O loop's pool while the loop keeps pacing: httpx's per-request
  machinery cost the extract's I/O thread 0.6-0.7 CPU-s at 1,000 patients, this 0.1. httpx
  stays for a proxy and for ``check``/``describe``.
* Logs carry method, path and status only (``ferry.connectors.http``); bodies are never logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import functools
import os
import ssl
import threading
import time
import zlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ferry.connectors.http import (
    KeepAliveClient,
    NetworkError,
    Response,
    acall_with_retry,
    loads,
    make_async_client,
    make_client,
    network_errors,
    proxied,
    retry_after_seconds,
)
from ferry.connectors.ratelimit import Pacer, account_id
from ferry.errors import FatalError, RateLimited, RecordError, RetriableError
from ferry.model.crypto import FileWriter
from ferry.sources.practicehub.links import Links, decoded

if TYPE_CHECKING:  # httpx is imported only where a proxy or check/describe needs it
    import httpx

SYSTEM = "practicehub"
T = TypeVar("T")


class _Redirect:
    """Send requests for ``host`` to ``connect_to`` while keeping the Host header."""

    def __init__(self, host: str, connect_to: str | None) -> None:
        self.host = host
        target = urlsplit(connect_to) if connect_to else None
        self.target = target

    def rewrite_url(self, url: str) -> tuple[str, dict[str, str]]:
        """``rewrite`` for a plain URL: where to connect, and the headers that keep the host."""
        parts = urlsplit(url)
        if self.target is None or parts.hostname != self.host:
            return url, {}
        netloc = self.target.hostname or ""
        if self.target.port:
            netloc += f":{self.target.port}"
        return parts._replace(scheme=self.target.scheme, netloc=netloc).geturl(), {
            "host": self.host}

    def rewrite(self, request: httpx.Request) -> None:
        if self.target is None or request.url.host != self.host:
            return
        request.headers["host"] = self.host
        request.url = request.url.copy_with(scheme=self.target.scheme,
                                            host=self.target.hostname,
                                            port=self.target.port)


class _IoThread:
    """An event loop of its own, in a thread, for every request and download.

    Why: the engine stages a page synchronously inside its event loop. Were requests sent from
    that loop, a request whose turn came while a page was being written would leave late (the
    pool's lock yields to the loop), and the next, sent on time, would reach the server less
    than an interval after it: a 429 the pacing did not deserve. Here nothing but I/O runs.
    """

    def __init__(self, senders: int) -> None:
        self.loop = asyncio.new_event_loop()
        # the blocking GETs of ``KeepAliveClient``: one thread per request the pacing lets be
        # in flight at once (a key each with per-key limits, and the pages fetched ahead)
        self.senders = concurrent.futures.ThreadPoolExecutor(senders, "practicehub-api")
        self.loop.set_default_executor(self.senders)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="practicehub-io")
        self.thread.start()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class ListPage:
    total: int
    data: list[dict[str, Any]]
    next_url: str | None
    server_time: float | None  # the response's Date header, epoch seconds


@dataclass
class Stats:
    requests: int = 0
    list_requests: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    network_errors: int = 0
    bad_bodies: int = 0
    late_sends: int = 0  # left over a tenth of an interval after their turn
    slow_answers: int = 0  # the next turn was spaced from the answer (see _after_answer)
    by_resource: dict[str, int] = field(default_factory=dict)


class PracticeHubClient:
    def __init__(self, base_url: str, keys: list[str], app_details: str, *,
                 connect_to: str | None = None, requests_per_second: float = 1.0,
                 time_scale: float = 1.0, limit_scope: str = "account",
                 pace_margin: float = 0.02, timeout: float = 60.0, attempts: int = 8) -> None:
        if not keys:
            raise FatalError("no PracticeHub API key given", system=SYSTEM)
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or ""
        self.keys = list(keys)
        self.app_details = app_details
        self.time_scale = time_scale
        self.limit_scope = limit_scope
        interval = (1.0 / requests_per_second) * (1.0 + pace_margin)
        # the limit's scope is the account (its host) or each key; ``connect_to`` (a test
        # redirect, None in production) keeps two sandboxes of one account name apart
        shared = Pacer(interval, time_scale=time_scale,
                       account=account_id(SYSTEM, self.host, connect_to))
        self.pacers = {k: (Pacer(interval, time_scale=time_scale,
                                 account=account_id(SYSTEM, self.host, connect_to, k))
                           if limit_scope == "key" else shared) for k in self.keys}
        self.attempts = attempts
        self.stats = Stats()
        self._turn = 0
        self._sent: dict[int, float] = {}
        self._min_rtt: float | None = None
        self._redirect = _Redirect(self.host, connect_to)
        # API pages on kept-alive connections (``KeepAliveClient``, by where they connect);
        # httpx only through a proxy, which that client does not speak
        self._lean: dict[tuple[str, str], KeepAliveClient] | None = \
            None if proxied(connect_to or self.base_url) else {}
        self._sent_lock = threading.Lock()  # ``_sent`` is also written by the send threads
        self._async: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fresh = False
        self._io_thread: _IoThread | None = None
        self._sync: httpx.Client | None = None
        self._files: Links | None = None  # connections of the file downloads (first use)
        self._files_lock = threading.Lock()  # the download lanes make ``_files`` at once
        self._timeout = timeout

    @property
    def _io(self) -> _IoThread:
        if self._io_thread is None:
            self._io_thread = _IoThread(len(self.keys) + 5)  # + the most pages prefetched
        return self._io_thread

    @property
    def client(self) -> httpx.AsyncClient:
        """The async client of the I/O loop (connections belong to one loop), through a
        proxy."""
        import httpx

        from ferry.sources.practicehub.transports import AsyncTransport

        loop = asyncio.get_running_loop()
        if self._async is None or self._loop is not loop:
            self._async = make_async_client(
                self.base_url, timeout=self._timeout, cookies=False,  # a key authenticates
                transport=AsyncTransport(self._redirect, httpx.AsyncHTTPTransport(),
                                         on_send=self._note_send))
            self._loop = loop
            self._fresh = True
        return self._async

    @property
    def parallelism(self) -> int:
        """Requests worth having in flight: one per key only when the limit is per key."""
        return len(self.keys) if self.limit_scope == "key" else 1

    def _next_key(self) -> str:
        self._turn = (self._turn + 1) % len(self.keys)
        return self.keys[self._turn]

    async def _turn_of(self, key: str) -> None:
        """Wait for the key's slot, then until an interval has passed since the previous
        request *actually* left (``_note_send``): a request that left late (the process was held
        up between its turn and the send) must not squeeze the next one closer to it than the
        limit allows."""
        pacer = self.pacers[key]
        pid = id(pacer)
        while True:
            now = time.monotonic()
            last = self._sent.get(pid)
            at = now if last is None else max(now, last + pacer.interval)
            if at <= now:
                break
            await asyncio.sleep(at - now)
        # the pacer's turn last: a turn shared with other workers is claimed as we send
        await pacer.await_turn()
        self._sent_at(pid, time.monotonic())  # reserved: a concurrent turn queues after this

    def _sent_at(self, pid: int, at: float) -> None:
        """The latest send of pacer ``pid`` is ``at`` if none later is known (under a lock: a
        send thread reports its send while the I/O loop reserves the next turn)."""
        with self._sent_lock:
            self._sent[pid] = max(self._sent.get(pid, 0.0), at)

    def _after_answer(self, key: str, sent: float, answered: float, fresh: bool) -> None:
        """An answer much slower than the fastest one seen may have waited on the way *in*
        (this process or the server's held up on a loaded machine): the request then reached
        the server late, and the next one, spaced from the send, would look early. Space the
        next turn from the latest the request can have arrived instead: the answer less half
        the fastest round trip. A normal answer costs nothing. Only with a shared budget (a
        fleet of workers on loaded machines): alone, the pacing stays as it always was.

        The first answer on an open connection has no fastest one to compare with, and may
        itself have waited: it is then taken as the measure, and the next request, spaced from
        its send, arrived early. In a delta pass that answer is the probe of an optional object
        (``/locations``) and the next the list (``/practitioners``): the fleet bench's 429s,
        21-34 ms apart at the server. So the next turn is spaced from the first answer, however
        quick it was (a few ms per client)."""
        rtt = answered - sent
        if fresh or not self.pacers[key].shared:
            return  # a new connection's set-up is in this round trip: handled by the caller
        best, first = self._min_rtt, self._min_rtt is None
        if best is None or rtt < best:
            self._min_rtt = best = rtt
        if not first and rtt <= 2 * best + 0.01:
            return
        shift = 0.0 if first else best / 2
        pacer = self.pacers[key]
        self._sent_at(id(pacer), answered - shift)
        self.stats.slow_answers += 1
        pacer.defer(max(0.0, pacer.interval - shift))  # other workers too

    def _note_send(self, request: httpx.Request) -> None:
        self._left(request.headers.get("x-practicehub-key"))

    def _left(self, key: str | None) -> None:
        """A request of ``key`` is leaving now: late if over a tenth of an interval after its
        turn (the process was held up), and the next turn is spaced from now."""
        pacer = self.pacers.get(key) if key else None
        if pacer is None:
            return
        pid = id(pacer)
        now = time.monotonic()
        if now - self._sent.get(pid, now) > 0.1 * pacer.interval:
            self.stats.late_sends += 1
            pacer.sent_late()
        self._sent_at(pid, now)

    def _headers(self, key: str) -> dict[str, str]:
        return {"x-practicehub-key": key, "x-app-details": self.app_details,
                "accept": "application/json"}

    def _lean_for(self, url: str) -> tuple[KeepAliveClient, str] | None:
        """The kept-alive client for an API URL and its request target (path and query);
        None through a proxy. The account's host is reached at ``connect_to`` with its own
        Host header, as ``_Redirect`` does for httpx."""
        if self._lean is None:
            return None
        target, headers = self._redirect.rewrite_url(url)
        parts = urlsplit(target)
        where = (parts.scheme, parts.netloc)
        lean = self._lean.get(where)
        if lean is None:
            lean = self._lean[where] = KeepAliveClient(
                f"{parts.scheme}://{parts.netloc}", timeout=self._timeout,
                tls=_tls_context() if parts.scheme == "https" else None,
                headers={**headers, "x-app-details": self.app_details,
                         "accept": "application/json"})
        path = parts.path or "/"
        return lean, f"{path}?{parts.query}" if parts.query else path

    def _lean_get(self, lean: KeepAliveClient, target: str, params: dict[str, Any] | None,
                  key: str) -> tuple[Response, bool]:
        """One GET on a kept-alive connection, in a thread of the I/O loop's pool (the loop
        keeps pacing the other requests meanwhile); whether it opened a connection."""
        opened = [False]

        def left(new: bool) -> None:
            opened[0] = new
            self._left(key)

        response = lean.request("GET", target, params=params,
                                headers={"x-practicehub-key": key}, on_send=left)
        return response, opened[0]

    def url(self, resource: str) -> str:
        return f"{self.base_url}/{resource}"

    # -- responses -------------------------------------------------------------------------------
    def _classify(self, response: Response | httpx.Response, key: str) -> None:
        """Raise the Ferry error a non-2xx status means. Bodies are the server's own messages."""
        status = response.status_code
        if status < 400:
            return
        message = _error_text(response)
        if status == 429:
            self.stats.rate_limited += 1
            hint = retry_after_seconds(response)
            wait = (hint if hint is not None else 1.0) / self.time_scale
            self.pacers[key].defer(wait)
            self.pacers[key].refused()
            raise RateLimited("rate limited (429)", retry_after=wait, status=429, system=SYSTEM)
        if status >= 500:
            self.stats.server_errors += 1
            raise RetriableError(f"server error {status}", status=status, system=SYSTEM)
        if status == 401:
            if len(self.keys) > 1 or key not in self.keys:
                # this key is refused; the others of the account carry on
                if key in self.keys:
                    self.keys.remove(key)
                raise RetriableError("a key was refused (401); continuing with the others",
                                     status=401, system=SYSTEM)
            raise FatalError(f"PracticeHub refused the API key (401): {message}", status=401,
                             system=SYSTEM)
        if status == 404:
            path = response.path if isinstance(response, Response) else \
                response.request.url.path
            raise NotFound(f"PracticeHub answered 404 for {path}: {message}", status=404,
                           system=SYSTEM)
        raise FatalError(f"PracticeHub refused the request ({status}): {message}",
                         status=status, system=SYSTEM)

    async def get_json(self, url: str, params: dict[str, Any] | None = None,
                       *, counted: str | None = None
                       ) -> tuple[Any, Response | httpx.Response]:
        """GET an API URL under the account's allowance; retried until it yields whole JSON."""
        return await self._io.run(self._get_json(url, params, counted))

    async def _get_json(self, url: str, params: dict[str, Any] | None,
                        counted: str | None) -> tuple[Any, Response | httpx.Response]:
        loop = asyncio.get_running_loop()

        async def attempt() -> tuple[Any, Response | httpx.Response]:
            # made before the turn: a new client or pool costs milliseconds
            lean = self._lean_for(url)
            client = self.client if lean is None else None
            key = self._next_key()
            await self._turn_of(key)
            self.stats.requests += 1
            if counted:
                self.stats.list_requests += 1
                self.stats.by_resource[counted] = self.stats.by_resource.get(counted, 0) + 1
            sent = time.monotonic()
            response: Response | httpx.Response
            try:
                if lean is not None:
                    # a new connection is ``fresh``: its set-up was in the round trip
                    response, fresh = await loop.run_in_executor(
                        None, self._lean_get, lean[0], lean[1], params, key)
                else:
                    assert client is not None
                    fresh, self._fresh = self._fresh, False
                    response = await client.get(url, params=params, headers=self._headers(key))
            except network_errors():
                self.stats.network_errors += 1
                raise
            self._after_answer(key, sent, time.monotonic(), fresh)
            if fresh:
                # A new connection's set-up time is unknown, so this request may have reached
                # the server well after it left; space the next one from the answer instead.
                self._sent_at(id(self.pacers[key]), time.monotonic())
                self.pacers[key].sent_late()  # and so must every other worker's
            self._classify(response, key)
            try:
                return loads(response.content), response
            except ValueError:  # a body cut short: worth asking again
                self.stats.bad_bodies += 1
                raise RetriableError("incomplete JSON body", status=response.status_code,
                                     system=SYSTEM) from None

        return await acall_with_retry(attempt, attempts=self.attempts,
                                      base=0.5 / self.time_scale)

    async def list_page(self, url: str, params: dict[str, Any] | None, resource: str
                        ) -> ListPage:
        body, response = await self.get_json(url, params, counted=resource)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise RetriableError("list response without a data array", system=SYSTEM)
        links = body.get("links") or {}
        return ListPage(total=int(body.get("total_entries") or 0), data=body["data"],
                        next_url=links.get("next") or None,
                        server_time=_date_header(response))

    # -- files -----------------------------------------------------------------------------------
    async def download(self, url: str, dest: Path, ref: str, codec: object = None
                       ) -> tuple[int, str, str | None]:
        """Stream a (pre-signed) file URL to ``dest``; returns size, sha256, content type.

        Raises ``Expired`` on 403 so the caller can ask for a fresh link. The API key is not
        sent: a pre-signed link carries its own authority. The bytes are hashed and (when
        ``codec`` encrypts) sealed as they arrive (``FileWriter``).

        Blocking reads in a worker thread, straight into the writer's chunk buffer, not httpx
        on the event loop: the loop handled the body one socket read at a time (64 KiB or less),
        4.5 ms of CPU per MB against 1.7 for blocking reads; a practice's files run to
        gigabytes. A link is outside the API allowance, so no pacing is lost. ``links.Links``
        says why not urllib3.
        """
        return await acall_with_retry(
            lambda: asyncio.to_thread(self._download_blocking, url, dest, ref, codec),
            attempts=self.attempts, base=0.5 / self.time_scale)

    def download_many(self, jobs: list[tuple[str, Path, str]], codec: object
                      ) -> list[tuple[int, str, str | None] | Exception]:
        """``download`` of each (url, dest, ref) in turn, in the calling (worker) thread: a
        page's files in one thread hop instead of one hop and retry wrapper each. A file that
        failed has its exception instead: ``RecordError`` is its answer; ``Expired`` and what
        is worth retrying are for the caller to fetch again through ``download``."""
        out: list[tuple[int, str, str | None] | Exception] = []
        for url, dest, ref in jobs:
            try:
                out.append(self._download_blocking(url, dest, ref, codec))
            except (RecordError, Expired, RetriableError, *network_errors()) as exc:
                out.append(exc)
        return out

    def _download_blocking(self, url: str, dest: Path, ref: str, codec: object
                           ) -> tuple[int, str, str | None]:
        target, headers = self._redirect.rewrite_url(url)
        with self._files_lock:
            if self._files is None:
                self._files = Links(self._timeout, _tls_context)
        try:
            response = self._files.get(target, headers)
        except NetworkError as exc:
            self.stats.network_errors += 1
            raise RetriableError(f"file download failed: {_cause(exc)}", system=SYSTEM) from None
        try:
            status = response.status_code
            if status in (401, 403):
                raise Expired()
            if status == 404:
                raise RecordError(ref, "url", "file content not found at the source",
                                  system=SYSTEM)
            if status == 429 or status >= 500:
                self.stats.server_errors += 1
                raise RetriableError(f"file server error {status}", status=status,
                                     system=SYSTEM)
            read = decoded(response)
            expected = None if read else response.headers.get("content-length")
            with FileWriter(dest, codec) as out:
                try:
                    out.fill_from(read or response.readinto)
                except NetworkError as exc:  # cut short, reset, timeout
                    self.stats.network_errors += 1
                    raise RetriableError(f"file download failed: {_cause(exc)}",
                                         system=SYSTEM) from None
                except zlib.error:
                    raise RecordError(ref, "url", "the file's compressed content is corrupt",
                                      system=SYSTEM) from None
                if expected is not None and int(expected) != out.size:
                    raise RetriableError("file body cut short", system=SYSTEM)
                out.commit()
            return out.size, out.sha256, response.headers.get("content-type")
        finally:
            self._files.done(target, response)

    # -- synchronous calls for check/describe -----------------------------------------------------
    def get_sync(self, url: str, params: dict[str, Any] | None = None,
                 key: str | None = None) -> httpx.Response:
        """One paced GET without retries (``check`` wants to see the first answer as it is)."""
        fresh = self._sync is None
        if self._sync is None:
            import httpx

            from ferry.sources.practicehub.transports import SyncTransport

            self._sync = make_client(self.base_url, timeout=self._timeout,
                                     transport=SyncTransport(self._redirect,
                                                             httpx.HTTPTransport()))
        key = key or self.keys[0]
        pacer = self.pacers[key]
        pacer.wait()
        self.stats.requests += 1
        sent = time.monotonic()
        response = self._sync.get(url, params=params, headers=self._headers(key))
        self._after_answer(key, sent, time.monotonic(), fresh)
        if fresh and pacer.shared:  # as on the async path: space the next from the answer
            pacer.sent_late()
        return response

    def get_json_sync(self, url: str, params: dict[str, Any] | None = None) -> Any:
        for attempt in range(self.attempts):
            try:
                response = self.get_sync(url, params)
                self._classify(response, self.keys[0])
                return response.json()
            except (RetriableError, *network_errors(), ValueError):
                if attempt == self.attempts - 1:
                    raise
                time.sleep(min(2.0 ** attempt, 8.0) / self.time_scale)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        if self._io_thread is not None:
            if self._async is not None:
                await self._io_thread.run(self._async.aclose())
            self._io_thread.close()
        self._io_thread = None
        self._async = self._loop = None
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        if self._files is not None:
            self._files.close()
            self._files = None
        for lean in (self._lean or {}).values():
            lean.close()
        if self._lean:
            self._lean = {}


class NotFound(FatalError):
    """404: the path does not exist on this account (an optional resource may be absent)."""


class Expired(Exception):
    """A pre-signed link is no longer valid (403)."""


def _cause(exc: Exception) -> str:
    """What went wrong, by its type's name (``NetworkError`` wraps the socket's error)."""
    return type(exc.__cause__ or exc).__name__


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The roots httpx trusted here: ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set (a
    private CA), else certifi's. One context for the API and the file links (made once: each
    costs milliseconds)."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _date_header(response: Response | httpx.Response) -> float | None:
    value = response.headers.get("date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _error_text(response: Response | httpx.Response) -> str:
    """The server's error message (never a record value: error bodies carry no record data)."""
    try:
        body = response.json()
        return str(body.get("error") or body.get("message") or "")[:200]
    except (ValueError, AttributeError):
        return ""

