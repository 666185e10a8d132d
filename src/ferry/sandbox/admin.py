"""The ``/_sandbox/`` admin surface every emulator mounts, clearly apart from the emulated API.

GET  /_sandbox/state     full state as JSON (what tests compare with the expected state)
POST /_sandbox/reset     back to the initial state
GET  /_sandbox/requests  the request log (method, path, status; no bodies)
GET/POST /_sandbox/faults   read or set the fault spec
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from ferry.sandbox.faults import Faults, FaultSpec


class RequestLog:
    def __init__(self, maxlen: int = 200_000) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self.counts: dict[str, int] = {}

    def add(self, method: str, path: str, status: int, **extra: Any) -> None:
        self.entries.append({"t": time.time(), "method": method, "path": path, "status": status,
                             **extra})
        key = f"{status}"
        self.counts[key] = self.counts.get(key, 0) + 1

    def clear(self) -> None:
        self.entries.clear()
        self.counts.clear()


def install_admin(app: FastAPI, *, state: Callable[[], Any], reset: Callable[[], None],
                  faults: Faults, log: RequestLog,
                  extra: Callable[[APIRouter], None] | None = None) -> None:
    """Mount the admin routes and a middleware that records every emulated request."""
    router = APIRouter(prefix="/_sandbox")

    @router.get("/state")
    def get_state() -> Any:
        return state()

    @router.post("/reset")
    def do_reset() -> dict[str, bool]:
        reset()
        log.clear()
        return {"ok": True}

    @router.get("/requests")
    def get_requests() -> dict[str, Any]:
        return {"count": len(log.entries), "by_status": log.counts,
                "requests": list(log.entries)}

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        return {**faults.spec.to_dict(), "injected": faults.injected}

    @router.post("/faults")
    async def set_faults(request: Request) -> dict[str, Any]:
        body = await request.json()
        faults.set(FaultSpec.parse(body.get("spec", ""), seed=int(body.get("seed", 0))))
        return faults.spec.to_dict()

    if extra:
        extra(router)
    app.include_router(router)

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        arrived = time.time()
        response = await call_next(request)
        if not request.url.path.startswith("/_sandbox"):
            log.add(request.method, request.url.path, response.status_code,
                    arrived=round(arrived, 4))
        return response

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "internal sandbox error", "type": type(exc).__name__},
                            status_code=500)
