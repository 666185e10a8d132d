"""Pulse Digital Clinic REST mode (higher tiers) — an ASSUMED API, since none is published.

Shape chosen to be plausible and ordinary: ``GET /api/v1/{resource}`` with ``Authorization:
Bearer <key>``, ``page`` (1-based) and ``per_page`` (≤ 100), optional ``updated_since`` (ISO
8601) on the ``Modified On`` stamp; envelope ``{"data": [...], "meta": {"page", "per_page",
"total"}, "links": {"next"}}``; rows are the export's rows (same headers), so one mapping serves
both modes. Limits: 5 requests per second per key, 429 + ``Retry-After`` beyond that.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ferry.sandbox.admin import RequestLog, install_admin
from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import FaultMiddleware, Faults
from ferry.sandbox.pulse.export import iter_rows
from ferry.sandbox.synth import Practice

RESOURCES = {"patients": "patient", "physicians": "practitioner", "appointments": "appointment",
             "bills": "invoice", "prescriptions": "prescription",
             "medical-records": "clinical_note", "campaigns": "campaign",
             "chat-logs": "message"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PER_SECOND = 5
MAX_PAGE = 100


class PulseState:
    def __init__(self, practice: Practice) -> None:
        self.practice = practice
        self.touched: dict[tuple[str, str], str] = {}
        self._cache: dict[str, list[dict[str, str]]] = {}
        self._stamps: dict[str, list[dt.datetime]] = {}

    def use(self, practice: Practice) -> None:
        """Serve ``practice`` from now on (a bench's clinic changed its records)."""
        self.practice = practice
        self._cache.clear()
        self._stamps.clear()

    def stamps(self, obj: str) -> list[dt.datetime]:
        """When each of ``rows(obj)`` last changed, as the server stores it: ``updated_since``
        compares these, not the ``Modified On`` text, which a dirty row writes in a local
        format (reading that text as old hid a changed record from every delta)."""
        if obj not in self._stamps:
            self._stamps[obj] = [r.updated_at or r.created_at or EPOCH
                                 for r in self.practice.iter(obj)]
        stamps = self._stamps[obj]
        if not self.touched:
            return stamps
        rows = self.rows(obj)
        id_col = next(iter(rows[0])) if rows else ""
        return [_stamp(self.touched[(obj, r[id_col])], self.practice.timezone) if (obj, r.get(id_col, ""))
                in self.touched else t for r, t in zip(rows, stamps, strict=True)]

    def rows(self, obj: str) -> list[dict[str, str]]:
        if obj not in self._cache:
            self._cache[obj] = list(iter_rows(self.practice, obj))
        rows = self._cache[obj]
        if not self.touched:
            return rows
        id_col = next(iter(rows[0])) if rows else ""
        return [({**r, "Modified On": self.touched[(obj, r[id_col])]}
                 if (obj, r.get(id_col, "")) in self.touched else r) for r in rows]

    def reset(self) -> None:
        self.touched.clear()


def make_app(state: PulseState, *, keys: list[str], clock: Clock, faults: Faults,
             surface: str = "extended") -> Any:
    app = FastAPI(title="Pulse sandbox (assumed API)", docs_url=None, redoc_url=None)
    log = RequestLog()
    windows: dict[str, deque[float]] = {}

    def error(status: int, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": {"code": code}}, status_code=status, headers=headers)

    @app.get("/api/v1/{resource}")
    def list_rows(resource: str, request: Request, page: int = 1, per_page: int = 50,
                  updated_since: str | None = None) -> JSONResponse:
        if surface != "extended":  # no public Pulse API: the whole REST mode is assumed
            return error(404, "not_found")
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if key not in keys:
            return error(401, "unauthorized")
        win = windows.setdefault(key, deque())
        now = clock.monotonic()
        while win and now - win[0] >= 1.0:
            win.popleft()
        if len(win) >= PER_SECOND:
            return error(429, "rate_limited", {"Retry-After": "1"})
        win.append(now)
        obj = RESOURCES.get(resource)
        if obj is None:
            return error(404, "unknown_resource")
        if page < 1 or not 1 <= per_page <= MAX_PAGE:
            return error(400, "bad_pagination")
        rows = state.rows(obj)
        if updated_since:
            try:
                since = dt.datetime.fromisoformat(updated_since.replace("Z", "+00:00"))
            except ValueError:
                return error(400, "bad_updated_since")
            since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
            rows = [r for r, t in zip(rows, state.stamps(obj), strict=True) if t > since]
        start = (page - 1) * per_page
        chunk = rows[start:start + per_page]
        nxt = (f"{request.url.path}?page={page + 1}&per_page={per_page}"
               + (f"&updated_since={updated_since}" if updated_since else "")
               if start + per_page < len(rows) else None)
        return JSONResponse({"data": chunk, "meta": {"page": page, "per_page": per_page,
                                                     "total": len(rows)},
                             "links": {"next": nxt}})

    def admin_extra(router: Any) -> None:
        @router.post("/touch")
        async def touch(request: Request) -> dict[str, bool]:
            body = await request.json()
            stamp = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(state.practice.timezone)
                                                       ).strftime("%Y-%m-%d %H:%M:%S")
            state.touched[(str(body["object"]), str(body["id"]))] = stamp
            return {"ok": True}

    install_admin(app, state=lambda: {"touched": [list(k) for k in state.touched]},
                  reset=state.reset, faults=faults, log=log, extra=admin_extra)
    return FaultMiddleware(app, faults, clock.time_scale)


def _stamp(text: str, zone: str) -> dt.datetime:
    """A ``touch``'s Modified On stamp (the practice's wall time, as every row's)."""
    try:
        got = dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
    except ValueError:
        return EPOCH
    return got.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
