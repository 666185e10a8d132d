"""HTTP plumbing shared by every connector: clients, safe logging, retry of Retriable errors.

Clients take an optional ``transport`` (the httpx seam) so tests and benchmarks run the same code
path as production. Logging writes the method, the path and the status, never query strings,
headers or bodies, since those carry tokens and PHI.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import logging
import os
import random
import re
import select
import ssl
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from http.cookiejar import CookieJar
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

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


class NetworkError(Exception):
    """No answer from the server (connection refused, reset, timed out): ``KeepAliveClient``'s
    counterpart of httpx's TransportError."""


NETWORK_ERRORS = (httpx.TransportError, httpx.DecodingError, NetworkError)


class Response:
    """An answer read whole by ``KeepAliveClient``, with the httpx.Response names its callers
    read (``status_code``, ``headers`` keyed in lower case, ``content``, ``text``, ``json()``)."""

    __slots__ = ("status_code", "headers", "content", "path")

    def __init__(self, status: int, headers: dict[str, str], content: bytes, path: str) -> None:
        self.status_code, self.headers, self.content, self.path = status, headers, content, path

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def _query(params: dict[str, Any]) -> str:
    """As httpx writes a query: booleans in lower case, None as empty."""
    return urlencode({k: ("true" if v is True else "false" if v is False else
                          "" if v is None else v) for k, v in params.items()})


def proxied(base_url: str) -> bool:
    """Whether the environment sends requests to ``base_url`` through a proxy (httpx honours
    that; ``KeepAliveClient`` does not)."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    return bool(proxies.get(parts.scheme) or proxies.get("all")) and \
        not urllib.request.proxy_bypass(parts.hostname or "")


class _Headers(dict):  # type: ignore[type-arg]
    """Header fields keyed in lower case (what http.client's answer reads: ``get``)."""

    def get_all(self, name: str, default: Any = None) -> Any:
        value = self.get(name.lower())
        return default if value is None else [value]


class _Answer(http.client.HTTPResponse):
    """http.client's answer with the header block split by hand: its own parse goes through
    the ``email`` package and was a third of the client's CPU per call. Status, length, chunked
    and close rules are http.client's own (``begin``, Python 3.11-3.13)."""

    def begin(self) -> None:
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()  # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            http.client._read_headers(self.fp)  # type: ignore[attr-defined]
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        headers = _Headers()
        name = ""
        for raw in http.client._read_headers(self.fp):  # type: ignore[attr-defined]
            line = raw.decode("iso-8859-1")
            if line[:1] in (" ", "\t") and name:  # an obsolete folded continuation
                headers[name] += " " + line.strip()
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = self.msg = headers  # type: ignore[assignment]
        self.chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            if self.length is not None and self.length < 0:
                self.length = None
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or \
                100 <= status < 200 or self._method == "HEAD":  # type: ignore[attr-defined]
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


#: the faster answer where this Python's http.client has the helpers it relies on
_ANSWER = _Answer if hasattr(http.client, "_read_headers") else http.client.HTTPResponse


class KeepAliveClient:
    """Keep-alive connections over the standard library's ``http.client`` for JSON calls on a
    hot path (one call per record): about a third of httpx.Client's CPU per call on the same
    server (bench/http_clients.py). It does what those calls need and no more: JSON or form
    bodies, a query, answers read whole, idle connections reused by any thread (checked for a
    server-side close first, dropped after ``keepalive_s``), TLS verified against certifi's
    roots as httpx does; a file upload streamed as multipart/form-data. No proxies, redirects,
    cookies or compression: use httpx for those (``proxied``)."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None,
                 timeout: float = 60.0, keepalive_s: float = 5.0, max_idle: int = 16) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.headers = {"user-agent": f"ferry (python-http.client, httpx {httpx.__version__})",
                        "accept-encoding": "identity", **(headers or {})}
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        host = host if parts.port is None else f"{host}:{self.port}"
        fixed = {"host": host, **self.headers}
        if any(_UNSAFE_VALUE.search(f"{k}{v}") for k, v in fixed.items()):
            raise ValueError("a header name or value holds a line break or control character")
        self._head = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in fixed.items())
        self.timeout = timeout
        self.keepalive_s = keepalive_s
        self.max_idle = max_idle
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        if self.https:
            import certifi

            self._tls = ssl.create_default_context(cafile=certifi.where())

    def _connection(self) -> http.client.HTTPConnection:
        now = time.monotonic()
        with self._lock:
            while self._idle:
                conn, since = self._idle.pop()
                sock = conn.sock
                # readable while idle: the server closed it (or sent junk); never reuse that
                if sock is not None and now - since < self.keepalive_s and \
                        not select.select([sock], [], [], 0)[0]:
                    return conn
                conn.close()
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=self._tls)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        conn.response_class = _ANSWER
        return conn

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                json: Any = None, data: dict[str, Any] | None = None,
                files: dict[str, tuple[str, Any, str]] | None = None) -> Response:
        """``files``: one ``{field: (file name, open binary file, content type)}``, sent as
        multipart/form-data with ``data``'s fields, the file streamed from its start (by
        ``sendfile`` on a plain connection) and never held in memory."""
        path = self.prefix + url
        target = path + "?" + _query(params) if params else path
        if _UNSAFE.search(target):
            raise ValueError(f"refusing to send a request target with spaces or controls:"
                             f" {method} {path}")
        body = b""
        head = self._head
        upload = None
        if files is not None:
            (field, (file_name, fh, mime)), = files.items()
            boundary = os.urandom(16).hex().encode()
            pre = b"".join(b"--%s\r\nContent-Disposition: form-data; %s\r\n\r\n%s\r\n"
                           % (boundary, _form_param("name", str(k)), str(v).encode())
                           for k, v in (data or {}).items())
            pre += (b"--%s\r\nContent-Disposition: form-data; %s; %s\r\nContent-Type: %s"
                    b"\r\n\r\n" % (boundary, _form_param("name", field),
                                     _form_param("filename", file_name), mime.encode()))
            post = b"\r\n--%s--\r\n" % boundary
            fh.seek(0)
            size = os.fstat(fh.fileno()).st_size
            upload = (fh, size, post)
            body = pre
            head += b"content-type: multipart/form-data; boundary=%s\r\n" % boundary
            head += b"content-length: %d\r\n" % (len(pre) + size + len(post))
        elif json is not None:
            body = _dumps(json).encode()
            head += b"content-type: application/json\r\n"
        elif data is not None:
            body = urlencode(data).encode()
            head += b"content-type: application/x-www-form-urlencoded\r\n"
        if upload is None and (body or method in ("POST", "PUT", "PATCH")):
            head += b"content-length: %d\r\n" % len(body)
        # the request is written whole here (http.client's putrequest/putheader checked and
        # encoded each header on every call); http.client still connects and reads the answer
        message = b"%s %s HTTP/1.1\r\n%s\r\n%s" % (method.encode(), target.encode(), head, body)
        conn = self._connection()
        try:
            if conn.sock is None:
                conn.connect()
            conn.sock.sendall(message)
            if upload is not None:
                _send_file(conn.sock, *upload)
            answer = _ANSWER(conn.sock, method=method)
            answer.begin()
            content = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise NetworkError(f"{type(exc).__name__} on {method} {path}") from exc
        if answer.will_close:
            conn.close()
        else:
            with self._lock:
                if len(self._idle) < self.max_idle:
                    self._idle.append((conn, time.monotonic()))
                    conn = None  # type: ignore[assignment]
            if conn is not None:
                conn.close()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s", method, path, answer.status)
        headers = answer.headers if isinstance(answer.headers, _Headers) else \
            {k.lower(): v for k, v in answer.getheaders()}
        return Response(answer.status, headers, content, path)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


def _send_file(sock: Any, fh: Any, size: int, post: bytes) -> None:
    if isinstance(sock, ssl.SSLSocket):  # no zero-copy through TLS: 1 MiB at a time
        while chunk := fh.read(2**20):
            sock.sendall(chunk)
    else:
        sock.sendfile(fh, 0, size)
    sock.sendall(post)


_FORM_ESCAPES = {'"': "%22", "\\": "\\\\", **{chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}}
_FORM_ESCAPE = re.compile("|".join(re.escape(c) for c in _FORM_ESCAPES))


def _form_param(name: str, value: str) -> bytes:
    """A multipart parameter as httpx (and browsers, per HTML5) write it."""
    return f'{name}="{_FORM_ESCAPE.sub(lambda m: _FORM_ESCAPES[m.group(0)], value)}"'.encode()


_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_UNSAFE_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: JSON as httpx sends it (compact, UTF-8, no NaN)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


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
