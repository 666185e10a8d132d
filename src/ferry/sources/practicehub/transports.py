"""httpx transports of the PracticeHub client, for the paths that still use httpx: API pages
through a proxy (``KeepAliveClient`` has none) and ``check``/``describe``. Imported only
there: httpx and its dependencies cost a verb about 0.1 CPU-s to import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


class AsyncTransport(httpx.AsyncBaseTransport):
    """Redirects, and tells ``on_send`` the moment each request is handed to the pool: the
    nearest the client can see to when it leaves, however long the process was held up
    before (a GC pass, a busy CPU)."""

    def __init__(self, redirect: Any, inner: httpx.AsyncBaseTransport,
                 on_send: Callable[[httpx.Request], None] | None = None) -> None:
        self.redirect, self.inner, self.on_send = redirect, inner, on_send

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.redirect.rewrite(request)
        if self.on_send is not None:
            self.on_send(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class SyncTransport(httpx.BaseTransport):
    def __init__(self, redirect: Any, inner: httpx.BaseTransport) -> None:
        self.redirect, self.inner = redirect, inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.redirect.rewrite(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
