"""Run an ASGI app on 127.0.0.1 in a background thread (ephemeral port by default)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Running:
    base_url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    #: called once the server has stopped (the sandbox's own clean-up: its temp folder)
    on_stop: list[Callable[[], None]] = field(default_factory=list)

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
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            ssl_certfile=certfile, ssl_keyfile=keyfile, timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    scheme = "https" if certfile else "http"
    return Running(f"{scheme}://{host}:{port}", port, server, thread)
