"""The emulated PracticeHub HTTP API (FastAPI), as far as the public docs and client code go.

Order of checks on every ``/api`` request, as a real multi-tenant API does them: the Host names a
known region and account (else 404), the key is valid and ``x-app-details`` present (else 401),
the account's 1 request/second allowance is free (else 429 with ``Retry-After: 1``), then the
resource. File content is served from short-lived signed links (S3 style: 403 once expired), not
rate limited, as pre-signed S3 URLs are not part of the API's allowance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ferry.sandbox.admin import RequestLog, install_admin
from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import FaultMiddleware, Faults
from ferry.sandbox.practicehub.limits import AccountLimiter
from ferry.sandbox.practicehub.rules import DOCUMENTED, RESOURCES, api_id, render
from ferry.sandbox.practicehub.state import PracticeState

REGIONS = ("neptune", "sydney")  # [3p] seed 001: UK (Neptune/London) and ANZ (Sydney)
APP_DETAILS = re.compile(r"^[^=\s]+=[^@\s]+@[^@\s]+$")  # [doc] ``appname=contact@email``
MAX_PAGE = 100


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _parse_since(text: str | None) -> float | None:
    """``updated`` accepts ISO 8601 or ``YYYY-MM-DD HH:MM:SS`` (taken as UTC)."""
    if text is None or text == "":
        return None
    t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


class _StampArrival:
    """Stamps each request's arrival before any other work, as a real API's gateway meters
    requests as they come in: time the server then spends on it, or on the request before it,
    must not make a client that paced itself correctly look early."""

    def __init__(self, app: Any, clock: Clock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["arrived"] = self.clock.monotonic()
        await self.app(scope, receive, send)


class PracticeHubApp:
    def __init__(self, state: PracticeState, *, account: str, region: str, keys: list[str],
                 clock: Clock, faults: Faults, limit_scope: str = "account",
                 file_ttl_s: float = 600.0, surface: str = "documented") -> None:
        self.state = state
        self.surface = surface
        self.account, self.region, self.keys = account, region, keys
        self.clock, self.faults = clock, faults
        self.limiter = AccountLimiter(clock)
        self.limit_scope = limit_scope
        self.file_ttl_s = file_ttl_s
        self.secret = hashlib.sha256(f"{account}{keys}".encode()).digest()
        self.log = RequestLog()
        self.page_log: list[dict[str, Any]] = []
        self.app = self._build()

    # -- gate ------------------------------------------------------------------------------------
    def _gate(self, request: Request) -> JSONResponse | str:
        host = request.headers.get("host", "").split(":")[0].lower()
        m = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.practicehub\.io", host)
        if m is None:
            return _error(404, "unknown host: use https://{account}.{region}.practicehub.io/api")
        account, region = m.groups()
        if region not in REGIONS:
            return _error(404, f"unknown region {region!r}")
        if account != self.account or region != self.region:
            return _error(404, f"no account {account!r} in region {region!r}")
        key = request.headers.get("x-practicehub-key")
        if not key or key not in self.keys:
            return _error(401, "missing or invalid x-practicehub-key")
        if not APP_DETAILS.match(request.headers.get("x-app-details", "")):
            return _error(401, "x-app-details must be sent as appname=contact@email")
        scope = key if self.limit_scope == "key" else account
        if self.limiter.admit(scope, getattr(request.state, "arrived", None)) is not None:
            # [doc] "you can retry once the limit is up, which means 1 second between requests"
            return _error(429, "rate limit: 1 request per second per account",
                          **{"Retry-After": "1"})
        return key

    # -- listing ---------------------------------------------------------------------------------
    def _links(self, request: Request, resource: str, page: int, size: int, pages: int,
               params: dict[str, str]) -> dict[str, str | None]:
        base = f"https://{request.headers['host'].split(':')[0]}/api/{resource}"

        def url(n: int) -> str:
            return f"{base}?{urlencode({**params, 'page': n, 'page_size': size})}"

        links: dict[str, str | None] = {"previous": url(page - 1) if page > 1 else None,
                                        "self": url(page)}
        if page < pages:  # [doc] links appear only if relevant
            links["next"] = url(page + 1)
        return links

    def served(self, resource: str) -> bool:
        """Whether ``/api/{resource}`` exists on this surface (see the package docstring)."""
        if resource not in self.state.tables:
            return False
        return self.surface == "extended" or resource in DOCUMENTED

    def _list(self, request: Request, resource: str, deleted: bool) -> Response:
        q = request.query_params
        try:
            page = int(q.get("page", "1"))
            size = min(int(q.get("page_size", str(MAX_PAGE))), MAX_PAGE)
            since = _parse_since(q.get("updated"))
        except ValueError:
            return _error(400, "invalid page, page_size or updated parameter")
        if page < 1 or size < 1:
            return _error(400, "page and page_size must be positive")
        table = self.state.tables[resource]
        with self.state.lock:
            if deleted:
                items = table.deleted_since(since)
                total = len(items)
                chunk = items[(page - 1) * size: page * size]
                rows = [json.dumps({"id": rid, "deleted": dt.datetime.fromtimestamp(
                    at, dt.UTC).isoformat().replace("+00:00", "Z")}).encode()
                        for rid, at in chunk]
            else:
                ids = table.ids(since)
                total = len(ids)
                rows = [self._row(table.resource, table.rows[i], i)
                        for i in ids[(page - 1) * size: page * size]]
        params = {"updated": q["updated"]} if q.get("updated") else {}
        path = f"{resource}/deleted" if deleted else resource
        links = self._links(request, path, page, size, max(1, math.ceil(total / size)), params)
        self.page_log.append({"resource": path, "page": page, "page_size": size,
                              "updated": q.get("updated"), "rows": len(rows)})
        body = (b'{"total_entries":%d,"data":[' % total + b",".join(rows) + b'],"links":'
                + json.dumps(links).encode() + b"}")
        return Response(body, media_type="application/json")

    def _row(self, resource: str, row: bytes, rid: int | str) -> bytes:
        if resource != "files":
            return row
        return row[:-1] + b',"url":' + json.dumps(self.signed_url(rid)).encode() + b"}"

    # -- files -----------------------------------------------------------------------------------
    def signed_url(self, rid: int | str) -> str:
        expires = f"{self.clock.monotonic() + self.file_ttl_s:.3f}"
        sig = hmac.new(self.secret, f"{rid}:{expires}".encode(), "sha256").hexdigest()
        host = f"{self.account}.{self.region}.practicehub.io"
        return f"https://{host}/_files/{rid}?{urlencode({'expires': expires, 'signature': sig})}"

    def _file(self, rid: str, expires: str, signature: str) -> Response:
        key = api_id(rid)
        want = hmac.new(self.secret, f"{key}:{expires}".encode(), "sha256").hexdigest()
        if not hmac.compare_digest(want, signature):
            return Response(b"<Error><Code>SignatureDoesNotMatch</Code></Error>", 403,
                            media_type="application/xml")
        if float(expires) < self.clock.monotonic():
            return Response(b"<Error><Code>AccessDenied</Code><Message>Request has expired"
                            b"</Message></Error>", 403, media_type="application/xml")
        content = self.state.file_bytes(key)
        if content is None:
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404,
                            media_type="application/xml")
        return Response(content, media_type="application/octet-stream")

    # -- app -------------------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI(title="PracticeHub sandbox", openapi_url=None, docs_url=None)

        @app.get("/api/{resource}")
        async def list_resource(resource: str, request: Request) -> Response:
            gate = self._gate(request)
            if isinstance(gate, Response):
                return gate
            if not self.served(resource):
                return _error(404, "not found")
            return self._list(request, resource, deleted=False)

        @app.get("/api/{resource}/deleted")
        async def list_deleted(resource: str, request: Request) -> Response:
            gate = self._gate(request)
            if isinstance(gate, Response):
                return gate
            # ASSUMPTION modelled on Cliniko's /deleted lists: extended surface only
            if self.surface != "extended" or not self.served(resource) \
                    or resource not in RESOURCES:
                return _error(404, "not found")
            return self._list(request, resource, deleted=True)

        @app.get("/api/{resource}/{rid}")
        async def get_one(resource: str, rid: str, request: Request) -> Response:
            gate = self._gate(request)
            if isinstance(gate, Response):
                return gate
            table = self.state.tables.get(resource)
            key = api_id(rid)
            # ASSUMPTION (REST convention, no public source shows it): extended surface only
            if self.surface != "extended" or not self.served(resource) or table is None \
                    or key not in table.rows:
                return _error(404, "not found")
            self.page_log.append({"resource": f"{resource}/{rid}", "page": None})
            return Response(self._row(resource, table.rows[key], key),
                            media_type="application/json")

        @app.get("/_files/{rid}")
        async def file_content(rid: str, expires: str = "0", signature: str = "") -> Response:
            return self._file(rid, expires, signature)

        install_admin(app, state=self._state, reset=self._reset, faults=self.faults,
                      log=self.log, extra=self._admin)
        # outermost, so injected faults hit the API before anything else answers
        app.add_middleware(FaultMiddleware, faults=self.faults, time_scale=self.clock.time_scale)
        app.add_middleware(_StampArrival, clock=self.clock)  # added last: outermost of all
        return app

    def _state(self) -> dict[str, Any]:
        return {"account": self.account, "region": self.region, "surface": self.surface,
                "resources": self.state.summary(),
                "rate_limit": {"accepted": self.limiter.accepted,
                               "refused_gaps": self.limiter.refused_gaps,
                               "refused": self.limiter.refused, "scope": self.limit_scope},
                "faults_injected": self.faults.injected}

    def _reset(self) -> None:
        self.state.reset()
        self.limiter.reset()
        self.page_log.clear()

    def _admin(self, router: APIRouter) -> None:
        @router.post("/mutate")
        async def mutate(request: Request) -> dict[str, Any]:
            body = await request.json()
            out: dict[str, Any] = {}
            for resource, spec in (body.get("resources") or {"patients": body}).items():
                out[resource] = self.state.mutate(
                    resource, int(spec.get("creates", 0)), int(spec.get("updates", 0)),
                    int(spec.get("deletes", 0)), spec.get("seed"),
                    delete_ids=[api_id(str(i)) for i in spec.get("delete_ids") or []],
                    restore_ids=[api_id(str(i)) for i in spec.get("restore_ids") or []])
            return out

        @router.post("/set")
        async def set_fields(request: Request) -> dict[str, Any]:
            body = await request.json()
            ok = self.state.set_fields(body["resource"], api_id(str(body["id"])),
                                       body.get("fields") or {})
            return {"updated": ok}

        @router.get("/pages")
        async def pages() -> dict[str, Any]:
            return {"count": len(self.page_log), "pages": self.page_log,
                    "refused_429": self.limiter.refused}

        @router.get("/records/{resource}")
        async def records(resource: str) -> dict[str, Any]:
            obj = RESOURCES[resource]
            return {"object": obj, "records": [r.model_dump(mode="json")
                                               for r in self.state.records(obj)]}

        @router.get("/rendered/{resource}/{rid}")
        async def rendered(resource: str, rid: str) -> dict[str, Any]:
            rec = self.state.find(RESOURCES[resource], api_id(rid))
            return {} if rec is None else render(
                rec, self.state._date_format, tz=self.state.tz, method_id=self.state.method_id,
                surface=self.state.surface)
