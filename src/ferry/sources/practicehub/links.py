"""Blocking GETs of pre-signed file links, for download threads (``client.download``).

Why not httpx or urllib3: a practice has a file for every few records, and per file urllib3's
pool manager, URL and header objects cost about 1.5 ms of CPU (profiled) before a byte of body
arrived, more than hashing and sealing a typical file. The standard library's ``http.client``
does the HTTP (status line, headers, Content-Length and chunked bodies) and lets the body be read
straight into the writer's buffer; this adds keep-alive connections, one per host per thread,
and a reconnect when a kept connection turns out to have been closed by the server.
"""

from __future__ import annotations

import http.client
import threading
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

#: errors that mean a kept-alive connection was closed by the other end before this request
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError)


class Links:
    """Keep-alive connections of the calling thread, one per (scheme, host)."""

    def __init__(self, timeout: float, tls: Callable[[], Any]) -> None:
        self._timeout = timeout
        self._tls = tls  # the SSL context, made on the first https link
        self._context: Any = None
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def get(self, url: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        """Send ``GET url`` and return the response with its body unread. A connection kept
        from an earlier file that the server has since closed is replaced, once."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (parts.scheme, parts.netloc)
        conns: dict[tuple[str, str], http.client.HTTPConnection] = \
            self._local.__dict__.setdefault("conns", {})
        while True:
            conn = conns.get(key)
            kept = conn is not None
            if conn is None:
                conn = conns[key] = self._connect(*key)
            try:
                conn.request("GET", target, headers=headers)
                return conn.getresponse()
            except _STALE:
                self._drop(conns, key)
                if not kept:
                    raise
            except BaseException:
                self._drop(conns, key)
                raise

    def done(self, url: str, response: http.client.HTTPResponse) -> None:
        """After a response: keep its connection when the body was read to its end and the
        server keeps it open; else close it (a refusal's body, a download cut short)."""
        if response.isclosed() and not response.will_close:
            return
        parts = urlsplit(url)
        self._drop(self._local.__dict__.setdefault("conns", {}), (parts.scheme, parts.netloc))

    def _connect(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        if scheme == "https":
            if self._context is None:
                self._context = self._tls()
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                netloc, timeout=self._timeout, context=self._context)
        elif scheme == "http":
            conn = http.client.HTTPConnection(netloc, timeout=self._timeout)
        else:
            raise ValueError("a file link is neither http nor https")
        with self._lock:
            self._all.append(conn)
        return conn

    def _drop(self, conns: dict[tuple[str, str], http.client.HTTPConnection],
              key: tuple[str, str]) -> None:
        conn = conns.pop(key, None)
        if conn is not None:
            conn.close()
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)

    def close(self) -> None:
        """Close every thread's connections (the threads are done with them)."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def decoded(response: http.client.HTTPResponse) -> Callable[[memoryview], int] | None:
    """A ``readinto`` that undoes a gzip or deflate ``Content-Encoding`` (as urllib3 did: a
    store may serve an object compressed whatever was asked), or None for a body as it is."""
    encoding = (response.getheader("content-encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflate = zlib.decompressobj()
    else:
        return None
    pending = b""

    def readinto(view: memoryview) -> int:
        nonlocal pending
        while not pending:
            raw = response.read(1 << 16)
            if not raw:
                pending = inflate.flush()
                if not pending:
                    return 0
                break
            pending = inflate.decompress(raw)
        n = min(len(view), len(pending))
        view[:n] = pending[:n]
        pending = pending[n:]
        return n

    return readinto
