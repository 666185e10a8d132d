"""The Pipedrive emulator: one company account behind ``/api/v1`` and ``/api/v2``.

Layers, outermost first: ``FaultMiddleware`` (injected transport failures), ``ContractMiddleware``
(test mode: every request/response checked against the OpenAPI documents), ``Gate`` (auth, token
budget, burst windows, rate-limit headers), then the FastAPI routes. The admin surface
``/_sandbox/state`` shows live and soft-deleted records, fields, users, pipelines, stages, token
usage and contract violations.

``SandboxOptions.extra`` knobs: ``plan`` (growth), ``seats`` (1), ``daily_budget`` / ``burst`` /
``search_burst`` (override the documented figures), ``hammer_after`` (429s before the Cloudflare
403), ``max_file_bytes`` (50 MB), ``validate`` (contract test mode; on under pytest),
``silent_truncate`` (``"person.<field or custom field name>:N"``: cut it silently, for tests),
``contact_sync`` (person ``birthday``, ``postal_address``, ``job_title``, ``notes``, ``im``
exist "only if contact sync is enabled" [doc v2.yaml]: off by default on the documented
surface, the common case; on for ``--surface extended``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ferry.sandbox.admin import RequestLog, install_admin
from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import FaultMiddleware, Faults, FaultSpec
from ferry.sandbox.pipedrive import spec
from ferry.sandbox.pipedrive.app_v1 import TooLarge, register_v1
from ferry.sandbox.pipedrive.app_v2 import Forbidden, NotFound, register_v2
from ferry.sandbox.pipedrive.contract import ContractMiddleware, split_version
from ferry.sandbox.pipedrive.limits import CLOUDFLARE_403, Limits
from ferry.sandbox.pipedrive.rules import Invalid
from ferry.sandbox.pipedrive.state import Account
from ferry.sandbox.registry import SandboxOptions


def _error(status: int, error: str, info: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "error": error,
                            "error_info": info or "Please check developers.pipedrive.com",
                            "data": None, "additional_data": None, **extra}
    return JSONResponse(body, status_code=status)


class Gate:
    """Auth and rate limits in front of the routes (pure ASGI: it runs on every call)."""

    def __init__(self, app: Any, sandbox: PipedriveSandbox) -> None:
        self.app = app
        self.sb = sandbox

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        split = split_version(scope.get("path", "")) if scope["type"] == "http" else None
        if split is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        token = headers.get("x-api-token")
        if token is None:
            from urllib.parse import parse_qs

            token = (parse_qs(scope.get("query_string", b"").decode()).get("api_token")
                     or [None])[0]
        if token != self.sb.account.api_token:
            await _send(send, 401, {"success": False, "error": "unauthorized access",
                                    "errorCode": 401}, {})
            return
        version, path = split
        route = spec.route_for(version, scope["method"], path)
        cost = route.cost if route else 0
        op = route.operation_id if route else "unknown"
        verdict = self.sb.limits.admit(token, op, cost, search="search" in path.lower(),
                                       write=scope["method"] in ("POST", "PUT", "PATCH"))
        if verdict.status == 403:
            await _send(send, 403, CLOUDFLARE_403, verdict.headers)
            return
        if verdict.status != 200:
            await _send(send, verdict.status, verdict.body, verdict.headers)
            return
        extra = [(k.encode(), v.encode()) for k, v in verdict.headers.items()]

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, with_headers)


async def _send(send: Any, status: int, body: Any, headers: dict[str, str]) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    hdrs = [h for h in hdrs if not (h[0] == b"content-type" and "content-type" in headers)]
    hdrs += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": raw})


class PipedriveSandbox:
    certfile: str | None = None
    keyfile: str | None = None

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        extra = options.extra
        self.clock = Clock(options.time_scale)
        self.validate = bool(extra.get("validate", "PYTEST_CURRENT_TEST" in os.environ))
        self.violations: list[dict[str, Any]] = []
        self.checked: dict[str, int] = {}
        self.faults = Faults(FaultSpec.parse(options.faults, seed=options.seed))
        self.log = RequestLog()
        self._reset()
        api = FastAPI(title="Pipedrive sandbox", docs_url=None, redoc_url=None,
                      openapi_url=None)
        self.api = api
        self._handlers(api)
        register_v2(api, _Proxy(self))  # type: ignore[arg-type]
        register_v1(api, _Proxy(self))  # type: ignore[arg-type]
        install_admin(api, state=self.state, reset=self._reset, faults=self.faults, log=self.log)
        inner: Any = Gate(api, self)
        if self.validate:
            spec.openapi("v1"), spec.openapi("v2")  # warm the cached validators
            inner = ContractMiddleware(inner, self.violations, self.checked)
        self.app = FaultMiddleware(inner, self.faults, options.time_scale,
                                   error_body=b'{"success":false,"error":"Request over limit",'
                                              b'"errorCode":429}')

    def _reset(self) -> None:
        extra = self.options.extra
        plan = str(extra.get("plan", "growth"))
        self.account = Account(self.options.users, seed=self.options.seed, plan=plan,
                               max_file_bytes=int(extra.get("max_file_bytes", 50 * 2**20)),
                               contact_sync=bool(extra.get(
                                   "contact_sync", self.options.surface == "extended")))
        trunc = str(extra.get("silent_truncate") or "")  # "object.field:N" (see entities)
        if trunc:
            where, _, n = trunc.rpartition(":")
            obj, _, fname = where.partition(".")
            self.account.silent_truncate = (obj, fname, int(n or 10))  # type: ignore[attr-defined]
        self.limits = Limits(self.clock, plan=plan, seats=int(extra.get("seats", 1)),
                             daily_budget=extra.get("daily_budget"), burst=extra.get("burst"),
                             search_burst=int(extra.get("search_burst", 10)),
                             hammer_after=int(extra.get("hammer_after", 200)))
        self.violations.clear() if hasattr(self, "violations") else None

    def _handlers(self, api: FastAPI) -> None:
        @api.exception_handler(Invalid)
        async def invalid(request: Request, exc: Invalid) -> JSONResponse:
            return _error(exc.status, "provided dataset is not valid", exc.message)

        @api.exception_handler(NotFound)
        async def not_found(request: Request, exc: NotFound) -> JSONResponse:
            if exc.status == 410:
                return JSONResponse({"success": False, "error": exc.what}, status_code=410)
            return _error(404, f"requested {exc.what} not found", "Object was not found.")

        @api.exception_handler(Forbidden)
        async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
            return _error(403, "You do not have permissions to do this.",
                          code="feature_capping_custom_fields_limit")

        @api.exception_handler(TooLarge)
        async def too_large(request: Request, exc: TooLarge) -> JSONResponse:
            return _error(413, "File size exceeds the allowed limit")

    def credentials(self, base_url: str) -> dict[str, Any]:
        return {"api_token": self.account.api_token,
                "company_domain": self.account.company_domain,
                "plan": self.limits.plan, "seats": self.limits.seats}

    def state(self) -> dict[str, Any]:
        return {**self.account.snapshot(), "tokens": self.limits.snapshot(),
                "contract": {"enabled": self.validate, "checked": self.checked.get("checked", 0),
                             "violations": list(self.violations)}}


class _Proxy:
    """Routes see the *current* account, so ``/_sandbox/reset`` swaps it under them."""

    def __init__(self, sb: PipedriveSandbox) -> None:
        object.__setattr__(self, "_sb", sb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sb.account, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._sb.account, name, value)


def build(options: SandboxOptions) -> PipedriveSandbox:
    return PipedriveSandbox(options)
