"""HTTP plumbing shared by every connector: clients, safe logging, retry of Retriable errors.

Clients take an optional ``transport`` (the httpx seam) so tests and benchmarks run the same code
path as production. Logging writes the method, the path and the status, never query strings,
headers or bodies, since those carry tokens and PHI.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import random
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlsplit

import orjson

from ferry.errors import FatalError, RateLimited, RetriableError

if TYPE_CHECKING:  # httpx is imported where a client is made: a verb whose calls all go
    import httpx  # through KeepAliveClient never pays its import (~0.1 CPU-s, its CLI's too)

log = logging.getLogger("ferry.http")
T = TypeVar("T")


def _log_response(response: httpx.Response) -> None:
    if log.isEnabledFor(logging.DEBUG):  # the path is decoded per call otherwise
        log.debug("%s %s -> %s", response.request.method, response.request.url.path,
                  response.status_code)


_NO_COOKIES: Any = None


def _no_cookies() -> Any:
    """A jar that keeps nothing: for APIs that authenticate by header, where parsing every
    response's cookies (httpx does, per call) is CPU spent on nothing. (Its class is made on
    first use: ``http.cookiejar`` comes with httpx, which a verb whose calls all go through
    ``KeepAliveClient`` never imports.)"""
    global _NO_COOKIES
    if _NO_COOKIES is None:
        from http.cookiejar import CookieJar

        class _NoCookies(CookieJar):
            def extract_cookies(self, response: Any, request: Any) -> None:
                return None

        _NO_COOKIES = _NoCookies
    return _NO_COOKIES()


async def _alog_response(response: httpx.Response) -> None:
    _log_response(response)


def make_client(base_url: str, *, headers: dict[str, str] | None = None,
                timeout: float = 60.0, transport: httpx.BaseTransport | None = None,
                verify: Any = True, cookies: bool = True) -> httpx.Client:
    """``cookies=False`` for a token-authenticated API: responses' cookies are not kept."""
    import httpx

    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport,
                        verify=verify, event_hooks={"response": [_log_response]},
                        cookies=None if cookies else _no_cookies())


def make_async_client(base_url: str, *, headers: dict[str, str] | None = None,
                      timeout: float = 60.0, transport: httpx.AsyncBaseTransport | None = None,
                      verify: Any = True, max_connections: int = 20, cookies: bool = True
                      ) -> httpx.AsyncClient:
    """``cookies=False`` as for ``make_client``."""
    import httpx

    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout,
                             transport=transport, verify=verify,
                             limits=httpx.Limits(max_connections=max_connections),
                             event_hooks={"response": [_alog_response]},
                             cookies=None if cookies else _no_cookies())


class NetworkError(Exception):
    """No answer from the server (connection refused, reset, timed out): ``KeepAliveClient``'s
    counterpart of httpx's TransportError."""


_NETWORK_ERRORS: tuple[type[Exception], ...] | None = None


def network_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean no answer came (httpx's and ``KeepAliveClient``'s);
    ``NETWORK_ERRORS`` is the same tuple, made on first use (it imports httpx)."""
    global _NETWORK_ERRORS
    if _NETWORK_ERRORS is None:
        import httpx

        _NETWORK_ERRORS = (httpx.TransportError, httpx.DecodingError, NetworkError)
    return _NETWORK_ERRORS


def __getattr__(name: str) -> Any:
    if name == "NETWORK_ERRORS":
        return network_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        return loads(self.content)


def _query(params: dict[str, Any]) -> str:
    """As httpx writes a query: booleans in lower case, None as empty."""
    return urlencode({k: ("true" if v is True else "false" if v is False else
                          "" if v is None else v) for k, v in params.items()})


def proxied(base_url: str) -> bool:
    """Whether the environment sends requests to ``base_url`` through a proxy (httpx honours
    that; ``KeepAliveClient`` does not)."""
    import urllib.request  # (here: ~1 ms of every verb's start otherwise)

    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    return bool(proxies.get(parts.scheme) or proxies.get("all")) and \
        not urllib.request.proxy_bypass(parts.hostname or "")


class _Conn:
    """One kept-alive connection: its socket and the bytes read past the last answer."""

    __slots__ = ("sock", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class _BadAnswer(Exception):
    """What came back is not an HTTP/1.x answer (or the server closed mid-answer)."""


_RECV = 65536
_MAX_HEAD = 65536  # as http.client's limit on the header block


def _fill(conn: _Conn) -> None:
    data = conn.sock.recv(_RECV)
    if not data:
        raise _BadAnswer("the server closed the connection mid-answer")
    conn.buf += data


def _line(conn: _Conn) -> bytes:
    buf = conn.buf
    while (end := buf.find(b"\r\n")) < 0:
        if len(buf) > _MAX_HEAD:
            raise _BadAnswer("a line longer than 64 KiB")
        _fill(conn)
    line = bytes(buf[:end])
    del buf[:end + 2]
    return line


def _exactly(conn: _Conn, n: int) -> bytes:
    """The next ``n`` bytes: what is buffered, then read straight into the answer's buffer."""
    buf = conn.buf
    if len(buf) >= n:
        out = bytes(buf[:n])
        del buf[:n]
        return out
    out = bytearray(n)
    have = len(buf)
    out[:have] = buf
    buf.clear()
    view = memoryview(out)
    while have < n:
        got = conn.sock.recv_into(view[have:])
        if not got:
            raise _BadAnswer("the server closed the connection mid-answer")
        have += got
    return bytes(out)


def _read_head(conn: _Conn) -> tuple[int, int, dict[str, str]]:
    """Status, HTTP minor version and header fields (keyed in lower case; repeated fields
    joined by ``, `` as http.client's ``getheader`` does) of the next final answer."""
    while True:
        buf = conn.buf
        start = 0
        while (end := buf.find(b"\r\n\r\n", start)) < 0:
            if len(buf) > _MAX_HEAD:
                raise _BadAnswer("a header block longer than 64 KiB")
            start = max(0, len(buf) - 3)
            _fill(conn)
        head = buf[:end].decode("iso-8859-1")
        del buf[:end + 4]
        status_line, _, block = head.partition("\r\n")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise _BadAnswer("not an HTTP/1.x status line")
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:  # interim (100 Continue): the next one
            continue
        headers: dict[str, str] = {}
        name = ""
        for line in block.split("\r\n") if block else ():
            if line[:1] in (" ", "\t") and name:  # an obsolete folded continuation
                headers[name] += " " + line.strip()
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return status, 1 if parts[0] == "HTTP/1.1" else 0, headers


def _closes(minor: int, headers: dict[str, str]) -> bool:
    """Whether the connection closes after this answer (http.client's rules)."""
    tokens = headers.get("connection", "").lower()
    if minor == 1:
        return "close" in tokens
    return not ("keep-alive" in tokens or headers.get("keep-alive")
                or "keep-alive" in headers.get("proxy-connection", "").lower())


def _read_answer(conn: _Conn, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    """One answer read whole: status, headers, body, and whether the connection must close
    after it (http.client's rules: ``Connection: close``, HTTP/1.0 without keep-alive, a body
    delimited by the close)."""
    status, minor, headers = _read_head(conn)
    close = _closes(minor, headers)
    if status in (204, 304) or status < 200 or method == "HEAD":
        return status, headers, b"", close
    if headers.get("transfer-encoding", "").lower().endswith("chunked"):
        parts = []
        while True:
            size = int(_line(conn).split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            parts.append(_exactly(conn, size))
            if _exactly(conn, 2) != b"\r\n":
                raise _BadAnswer("a chunk not ended by CRLF")
        while _line(conn):  # trailer fields, up to the empty line
            pass
        content = b"".join(parts)
    elif (length := headers.get("content-length")) is not None:
        n = int(length)
        if n < 0:
            raise _BadAnswer("a negative content-length")
        content = _exactly(conn, n)
    else:  # delimited by the server closing the connection
        while data := conn.sock.recv(_RECV):
            conn.buf += data
        content, close = bytes(conn.buf), True
        conn.buf.clear()
    if conn.buf:  # more than the answer: nothing was asked for it; never reuse this one
        close = True
    return status, headers, content, close


class KeepAliveClient:
    """Keep-alive connections for JSON calls on a hot path (one call per record): the request
    written whole and the answer read whole from the socket's buffer, with none of
    http.client's or httpx's per-call objects (bench/http_clients.py). It does what those
    calls need and no more: JSON or form bodies, a query, answers with a length, chunked or
    closed, idle connections reused by any thread (checked for a server-side close first,
    dropped after ``keepalive_s``), TLS verified against certifi's roots as httpx does; a file
    upload streamed as multipart/form-data. No proxies, redirects, cookies or compression:
    use httpx for those (``proxied``)."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None,
                 timeout: float = 60.0, keepalive_s: float = 5.0, max_idle: int = 16,
                 cafile: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.headers = {"user-agent": "ferry (python)",
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
        self._idle: list[tuple[_Conn, float]] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = tls  # ``tls``: a context the caller made
        if self.https and tls is None:
            import certifi

            # ``cafile``: a CA bundle file (a private CA) instead of certifi's roots
            self._tls = ssl.create_default_context(cafile=cafile or certifi.where())

    def _connection(self) -> _Conn | None:
        """An idle connection still open, or None (a new one is made by ``_connect``)."""
        now = time.monotonic()
        with self._lock:
            while self._idle:
                conn, since = self._idle.pop()
                # readable while idle: the server closed it (or sent junk); never reuse that
                if now - since < self.keepalive_s and \
                        not select.select([conn.sock], [], [], 0)[0]:
                    return conn
                conn.close()
        return None

    def _connect(self) -> _Conn:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        return _Conn(sock)

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                json: Any = None, data: dict[str, Any] | None = None,
                files: dict[str, tuple[str, Any, str]] | None = None,
                headers: dict[str, str] | None = None,
                on_send: Callable[[bool], None] | None = None) -> Response:
        """``files``: one ``{field: (file name, open binary file, content type)}``, sent as
        multipart/form-data with ``data``'s fields, the file streamed from its start (by
        ``sendfile`` on a plain connection) and never held in memory. ``headers``: this
        request's own, besides the client's. ``on_send(new_connection)`` is called as the
        request is written, once the connection is open (a caller pacing to a limit learns
        when it left)."""
        path = self.prefix + url
        # a query in ``url`` (a next-page link) and ``params`` besides: both are sent
        target = f"{path}{'&' if '?' in path else '?'}{_query(params)}" if params else path
        # what logs and errors name: never a query string, which a caller may have put in
        # ``url`` (Salesforce's SOQL: values in a WHERE clause)
        path = path.partition("?")[0]
        head = self._checked_head(method, target, path, headers)
        body = b""
        upload = None
        if files is not None:
            (field, (file_name, fh, mime)), = files.items()
            boundary = os.urandom(16).hex().encode()
            pre = b"".join(_form_field(boundary, str(k), v) for k, v in (data or {}).items())
            pre += (b"--%s\r\nContent-Disposition: form-data; %s; %s\r\nContent-Type: %s"
                    b"\r\n\r\n" % (boundary, _form_param("name", field),
                                     _form_param("filename", file_name), mime.encode()))
            post = b"\r\n--%s--\r\n" % boundary
            size = _file_size(fh)
            upload = (fh, size, post)
            body = pre
            head += b"content-type: multipart/form-data; boundary=%s\r\n" % boundary
            head += b"content-length: %d\r\n" % (len(pre) + size + len(post))
        elif json is not None:
            body = dumps(json)
            head += b"content-type: application/json\r\n"
        elif data is not None:
            body = urlencode(data).encode()
            head += b"content-type: application/x-www-form-urlencoded\r\n"
        if upload is None and (body or method in ("POST", "PUT", "PATCH")):
            head += b"content-length: %d\r\n" % len(body)
        message = b"%s %s HTTP/1.1\r\n%s\r\n%s" % (method.encode(), target.encode(), head, body)
        conn = self._connection()
        try:
            new = conn is None
            if conn is None:
                conn = self._connect()
            if on_send is not None:
                on_send(new)
            conn.sock.sendall(message)
            if upload is not None:
                _send_file(conn.sock, *upload)
            status, headers, content, close = _read_answer(conn, method)
        except (OSError, _BadAnswer, ValueError) as exc:
            if conn is not None:
                conn.close()
            raise NetworkError(f"{type(exc).__name__} on {method} {path}") from exc
        self._release(conn, close)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s", method, path, status)
        return Response(status, headers, content, path)

    def _checked_head(self, method: str, target: str, shown: str,
                      headers: dict[str, str] | None) -> bytes:
        """The client's header block plus this request's ``headers``, once the target and
        every header are free of what could split the request (``shown``: the target as
        errors name it, without its query)."""
        if _UNSAFE.search(target):
            raise ValueError(f"refusing to send a request target with spaces or controls:"
                             f" {method} {shown}")
        if not headers:
            return self._head
        if any(_UNSAFE_VALUE.search(f"{k}{v}") for k, v in headers.items()):
            raise ValueError("a header name or value holds a line break or control"
                             " character")
        return self._head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()
                                    ).encode("latin-1")

    def _release(self, conn: _Conn, close: bool) -> None:
        """An answer read to its end: keep its connection for the next call, or close it."""
        if not close and not conn.buf:  # bytes past the answer: nothing asked for them
            with self._lock:
                if len(self._idle) < self.max_idle:
                    self._idle.append((conn, time.monotonic()))
                    return
        conn.close()

    def stream(self, url: str, *, headers: dict[str, str] | None = None) -> Stream:
        """``GET url`` with the body left for the caller to read (``Stream.readinto``, into
        its own buffer: a file's bytes go from the socket to the writer with no copy in
        between). A kept connection the server closed before answering is replaced once (a
        GET is safe to send again). ``Stream.close`` gives the connection back."""
        path = self.prefix + url
        shown = path.partition("?")[0]
        head = self._checked_head("GET", path, shown, headers)
        message = b"GET %s HTTP/1.1\r\n%s\r\n" % (path.encode(), head)
        while True:
            conn = self._connection()
            kept = conn is not None
            try:
                if conn is None:
                    conn = self._connect()
                conn.sock.sendall(message)
                status, minor, fields = _read_head(conn)
            except (OSError, _BadAnswer, ValueError) as exc:
                if conn is not None:
                    conn.close()
                if kept and not isinstance(exc, TimeoutError):
                    continue  # closed while idle, unseen: a new connection, once
                raise NetworkError(f"{type(exc).__name__} on GET {shown}") from exc
            break
        if log.isEnabledFor(logging.DEBUG):
            log.debug("GET %s -> %s", shown, status)
        return Stream(self, conn, status, fields, _closes(minor, fields), shown)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


class Stream:
    """An answer whose body the caller reads (``KeepAliveClient.stream``): ``status_code``,
    ``headers`` (keyed in lower case), ``readinto(view)`` (bytes put in ``view``; 0 at the
    end of the body, which may be cut short only by raising ``NetworkError``) and ``close``
    (the connection is kept when the body was read to its end and the server keeps it)."""

    def __init__(self, client: KeepAliveClient, conn: _Conn, status: int,
                 headers: dict[str, str], close: bool, path: str) -> None:
        self.status_code, self.headers, self.path = status, headers, path
        self._client, self._conn, self._close = client, conn, close
        self._done = False
        self._left = 0  # bytes left: of the body (a length) or of the current chunk
        self._mode = "none" if status in (204, 304) or status < 200 else \
            "chunked" if headers.get("transfer-encoding", "").lower().endswith("chunked") \
            else "length" if headers.get("content-length") is not None else "close"
        if self._mode == "length":
            self._left = int(headers["content-length"])
            if self._left < 0:
                raise NetworkError(f"a negative content-length on GET {path}")
        if self._mode == "close":
            self._close = True
        self._chunks = 0
        if self._mode == "none" or (self._mode == "length" and not self._left):
            self._done = True

    def readinto(self, view: memoryview) -> int:
        if self._done or not len(view):
            return 0
        try:
            if self._mode == "chunked":
                return self._chunked(view)
            n = self._into(view if self._mode == "close" else view[:self._left])
            if self._mode == "close":
                self._done = not n
                return n
            if not n:
                raise _BadAnswer("the server closed the connection mid-answer")
            self._left -= n
            self._done = not self._left
            return n
        except (OSError, _BadAnswer, ValueError) as exc:
            self._close = True
            raise NetworkError(f"{type(exc).__name__} reading GET {self.path}") from exc

    def _into(self, view: memoryview) -> int:
        buf = self._conn.buf
        if buf:
            n = min(len(view), len(buf))
            view[:n] = buf[:n]
            del buf[:n]
            return n
        return self._conn.sock.recv_into(view)

    def _chunked(self, view: memoryview) -> int:
        conn = self._conn
        while not self._left:
            if self._chunks and _exactly(conn, 2) != b"\r\n":
                raise _BadAnswer("a chunk not ended by CRLF")
            size = int(_line(conn).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while _line(conn):  # trailer fields, up to the empty line
                    pass
                self._done = True
                return 0
            self._left, self._chunks = size, self._chunks + 1
        n = self._into(view[:self._left])
        if not n:
            raise _BadAnswer("the server closed the connection mid-answer")
        self._left -= n
        return n

    def close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None  # type: ignore[assignment]
        if self._done:
            self._client._release(conn, self._close)
        else:  # a refusal's body, a download given up: never reuse what is left unread
            conn.close()


def _file_size(fh: Any) -> int:
    """Bytes from the start; the file is left at its start. A reader with no descriptor (a
    stored file decrypted as it is read) is sized by seeking to its end."""
    try:
        size = os.fstat(fh.fileno()).st_size
    except (AttributeError, OSError):  # io.UnsupportedOperation is an OSError
        size = fh.seek(0, os.SEEK_END)
    fh.seek(0)
    return int(size)


def _send_file(sock: Any, fh: Any, size: int, post: bytes) -> None:
    try:
        fh.fileno()
        zero_copy = not isinstance(sock, ssl.SSLSocket)  # no zero-copy through TLS
    except (AttributeError, OSError):
        zero_copy = False
    if zero_copy:
        sock.sendfile(fh, 0, size)
    else:  # 1 MiB at a time
        sent = 0
        while sent < size and (chunk := fh.read(min(2**20, size - sent))):
            sock.sendall(chunk)
            sent += len(chunk)
        if sent != size:  # the length announced in the header was not met
            raise ValueError(f"the file ended after {sent} of {size} bytes")
    sock.sendall(post)


_FORM_ESCAPES = {'"': "%22", "\\": "\\\\", **{chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}}
_FORM_ESCAPE = re.compile("|".join(re.escape(c) for c in _FORM_ESCAPES))


def _form_field(boundary: bytes, name: str, value: Any) -> bytes:
    """One text part of a multipart body; a ``(text, content type)`` value carries its
    Content-Type (Salesforce's ``entity_content`` is JSON)."""
    kind = b""
    if isinstance(value, tuple):
        value, ctype = value
        if _UNSAFE_VALUE.search(str(ctype)):
            raise ValueError("a part's content type holds a line break or control character")
        kind = b"\r\nContent-Type: %s" % str(ctype).encode("latin-1")
    return b"--%s\r\nContent-Disposition: form-data; %s%s\r\n\r\n%s\r\n" % (
        boundary, _form_param("name", name), kind, str(value).encode())


def _form_param(name: str, value: str) -> bytes:
    """A multipart parameter as httpx (and browsers, per HTML5) write it."""
    return f'{name}="{_FORM_ESCAPE.sub(lambda m: _FORM_ESCAPES[m.group(0)], value)}"'.encode()


_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_UNSAFE_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(obj: Any) -> bytes:
    """JSON as httpx sends it (compact, UTF-8) by orjson, about 20 times the standard
    library's speed; what orjson refuses (an integer over 64 bits, a key that is not text)
    goes through the standard library, which still raises for what JSON cannot carry. orjson
    writes NaN as null: values that can be NaN are refused before they get here."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return _std_dumps(obj).encode()


def loads(data: bytes | str) -> Any:
    """JSON by orjson; the standard library for what orjson refuses (NaN, lone surrogates),
    so an answer reads as it did."""
    try:
        return orjson.loads(data)
    except ValueError:
        return json.loads(data)


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
        except (RetriableError, *network_errors()) as exc:
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
        except (RetriableError, *network_errors()) as exc:
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
