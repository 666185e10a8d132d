"""Run an ASGI app on 127.0.0.1 in a background thread (ephemeral port by default).

``quiesce()`` waits until no request to a server started here is being answered: a test that
SIGKILLs a client runs the next process only once what the dead one sent has landed (or been
dropped), whatever the machine's load, instead of trusting a resume's settle wait to be long
enough.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn


class _Answering:
    """Wraps an app: ``n`` is how many of its HTTP requests are being answered now (from the
    moment uvicorn hands a request over, body not yet read, until the app returns)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.n = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.n += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.n -= 1


class _Server(uvicorn.Server):
    """uvicorn's server, but at shutdown an idle TLS connection (no request in flight, nothing
    left to write) is dropped, not closed with the TLS goodbye: asyncio sends its close_notify
    and then waits up to 30 s for the client's, which a client keeping the connection idle in
    its pool never sends. ``stop`` gave up on the thread after 10 s, so every test that
    stopped the Salesforce sandbox (the one served over TLS) waited 10 s for nothing. A
    plain-HTTP connection is closed at once either way; a connection answering a request is
    left to uvicorn, which closes it once the answer is sent."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            cycle = getattr(connection, "cycle", None)
            if transport is not None and transport.get_extra_info("sslcontext") is not None \
                    and (cycle is None or cycle.response_complete) \
                    and not transport.get_write_buffer_size():
                transport.abort()
        await super().shutdown(sockets)


#: the servers started here that are still up, each with its app's count
_SERVING: weakref.WeakKeyDictionary[uvicorn.Server, _Answering] = weakref.WeakKeyDictionary()


def quiesce(timeout: float = 120.0) -> None:
    """Return once every server started here (and not stopping) answers no request. Each
    server's loop first turns a few times, so bytes a killed client left in its socket have
    been read and handed to the app (and counted) before the count is trusted."""
    live = [(server, app) for server, app in list(_SERVING.items())
            if not server.should_exit and server.started and server.servers]
    for server, _ in live:
        loop = server.servers[0].get_loop()
        for _ in range(3):
            if not loop.is_running():
                break
            try:
                asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(timeout)
            except concurrent.futures.TimeoutError:
                if loop.is_running():
                    raise
    deadline = time.monotonic() + timeout
    while busy := sum(app.n for server, app in live if not server.should_exit):
        if time.monotonic() > deadline:
            raise TimeoutError(f"sandbox servers still answering {busy} request(s)")
        time.sleep(0.002)


@dataclass
class Running:
    base_url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    #: called once the server has stopped (the sandbox's own clean-up: its temp folder)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    #: the sandbox object it serves (``registry.serve`` sets it: its state, for changes)
    sandbox: Any = None

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        while self.on_stop:
            self.on_stop.pop()()


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0,
                    ssl_context: ssl.SSLContext | None = None,
                    certfile: str | None = None, keyfile: str | None = None) -> Running:
    """Start ``app`` and return once it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it, h11 writes headers and body separately and
    # Nagle + delayed ACK add ~40 ms to every keep-alive response on loopback.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    answering = _Answering(app)
    config = uvicorn.Config(answering, log_level="warning", access_log=False, lifespan="off",
                            ssl_certfile=certfile, ssl_keyfile=keyfile, timeout_keep_alive=30)
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    _SERVING[server] = answering
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    scheme = "https" if certfile else "http"
    return Running(f"{scheme}://{host}:{port}", port, server, thread)
