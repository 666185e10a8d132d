"""Blocking GETs of pre-signed file links, for download threads (``client.download``).

Why not httpx or urllib3: a practice has a file for every few records, and per file urllib3's
pool manager, URL and header objects cost about 1.5 ms of CPU (profiled) before a byte of body
arrived, more than hashing and sealing a typical file; ``http.client``'s header parsing (the
``email`` package) still cost about 0.2 ms a file. The API's own connection layer,
``connectors.http.KeepAliveClient``, reads the head from the socket's buffer and leaves the
body to be read straight into the writer's buffer (``stream``); this keeps one such client per
host the links point at, their kept-alive connections shared by the download threads.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ferry.connectors.http import KeepAliveClient, Stream


class Links:
    """Kept-alive connections to the hosts file links point at (any thread may use them)."""

    def __init__(self, timeout: float, tls: Callable[[], Any]) -> None:
        self._timeout = timeout
        self._tls = tls  # the SSL context, made on the first https link
        self._clients: dict[tuple[str, str, str], KeepAliveClient] = {}
        self._lock = threading.Lock()

    def get(self, url: str, headers: dict[str, str]) -> Stream:
        """Send ``GET url`` and return the answer with its body unread (``done`` after). A
        connection kept from an earlier file that the server has since closed is replaced.
        ``headers`` may name the ``host`` (a link redirected to a local emulator)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("a file link is neither http nor https")
        host = headers.get("host", "")
        key = (parts.scheme, parts.netloc, host)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = KeepAliveClient(
                        f"{parts.scheme}://{parts.netloc}", timeout=self._timeout,
                        headers={"host": host} if host else None,
                        tls=self._tls() if parts.scheme == "https" else None)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        rest = {k: v for k, v in headers.items() if k != "host"}
        return client.stream(target, headers=rest or None)

    def done(self, url: str, response: Stream) -> None:
        """After a response: its connection is kept when the body was read to its end and
        the server keeps it open; else closed (a refusal's body, a download cut short)."""
        response.close()

    def close(self) -> None:
        """Close every kept connection (the download threads are done with them)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


def decoded(response: Stream) -> Callable[[memoryview], int] | None:
    """A ``readinto`` that undoes a gzip or deflate ``Content-Encoding`` (as urllib3 did: a
    store may serve an object compressed whatever was asked), or None for a body as it is."""
    encoding = (response.headers.get("content-encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflate = zlib.decompressobj()
    else:
        return None
    pending = b""
    raw = bytearray(1 << 16)

    def readinto(view: memoryview) -> int:
        nonlocal pending
        while not pending:
            got = response.readinto(memoryview(raw))
            if not got:
                pending = inflate.flush()
                if not pending:
                    return 0
                break
            pending = inflate.decompress(raw[:got])
        n = min(len(view), len(pending))
        view[:n] = pending[:n]
        pending = pending[n:]
        return n

    return readinto
