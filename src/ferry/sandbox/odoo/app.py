"""The HTTP face of the emulated Odoo: XML-RPC (``/xmlrpc/2`` and legacy ``/xmlrpc``), JSON-RPC,
and on 19 JSON-2 (``json2.py``).

Requests are parsed and answered with the stdlib ``xmlrpc.client.loads``/``dumps`` — the same
marshaller Odoo uses, with ``allow_none=False`` on responses, so a method that returns ``None``
faults exactly as on a real server. Errors follow NOTES 1.4/1.5: integer fault codes on
``/xmlrpc/2`` (1 traceback, 2 user/validation, 3 bad login, 4 access), string codes on legacy
``/xmlrpc``, HTTP 200 ``error`` objects on ``/jsonrpc``. The sandbox throttles nothing (Odoo
documents no limit); the shared fault mode adds 429/5xx/drops/slowness, and ``lock`` answers
with the serialization failure Odoo gives up with after its own retries.
"""

from __future__ import annotations

import contextvars
import json
import xmlrpc.client
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from ferry.sandbox.admin import RequestLog, install_admin
from ferry.sandbox.faults import FaultMiddleware, Faults, FaultSpec
from ferry.sandbox.odoo.exceptions import OdooException
from ferry.sandbox.odoo.json2 import install_json2
from ferry.sandbox.odoo.methods import dispatch
from ferry.sandbox.odoo.state import Database

DRAWN: contextvars.ContextVar[str | None] = contextvars.ContextVar("odoo_fault", default=None)
LOCK_MESSAGE = "could not serialize access due to concurrent update"


class OdooFaults(Faults):
    """Remembers the fault drawn for the current request so the app can play ``lock``."""

    def draw(self) -> str | None:
        name = super().draw()
        DRAWN.set(name)
        return name


class SerializationFailure(Exception):
    """psycopg2.errors.SerializationFailure, after Odoo's five retries gave up."""


def traceback_text(exc: BaseException) -> str:
    name = type(exc).__name__
    if isinstance(exc, SerializationFailure):
        name = "psycopg2.errors.SerializationFailure"
    return ("Traceback (most recent call last):\n"
            '  File "/usr/lib/python3/dist-packages/odoo/http.py", line 2182, in dispatch\n'
            "    result = endpoint(**request.params)\n"
            '  File "/usr/lib/python3/dist-packages/odoo/service/model.py", line 156, in'
            " execute_kw\n    res = execute_cr(cr, uid, obj, method, *args, **kw)\n"
            f"{name}: {exc}\n")


def version_info(version: int) -> dict[str, Any]:
    return {"server_version": f"{version}.0",
            "server_version_info": [version, 0, 0, "final", 0, ""],
            "server_serie": f"{version}.0", "protocol_version": 1}


class Services:
    """The ``common``, ``object`` and ``db`` services over one database."""

    def __init__(self, holder: dict[str, Database]) -> None:
        self.holder = holder

    @property
    def db(self) -> Database:
        return self.holder["db"]

    def call(self, service: str, method: str, params: list[Any]) -> Any:
        if DRAWN.get() == "lock" and service == "object":
            raise SerializationFailure(LOCK_MESSAGE)
        if service == "common":
            return self._common(method, params)
        if service == "object":
            if method == "execute_kw":
                db, uid, pwd, model, meth, *rest = params
                args = rest[0] if rest else []
                kwargs = rest[1] if len(rest) > 1 else {}
                return self._object(db, uid, pwd, model, meth, args, kwargs)
            if method == "execute":
                db, uid, pwd, model, meth, *args = params
                return self._object(db, uid, pwd, model, meth, args, {})
        if service == "db" and method in ("list", "server_version"):
            return [self.db.name] if method == "list" else f"{self.db.orm.version}.0"
        raise Exception(f"Method not found: {method}")  # noqa: TRY002 - Odoo's own wording

    def _common(self, method: str, params: list[Any]) -> Any:
        if method == "version":
            return version_info(self.db.orm.version)
        if method in ("authenticate", "login"):
            db, login, password = params[:3]
            return self.db.authenticate(db, login, password)
        if method == "about":
            return "See http://openerp.com"
        raise Exception(f"Method not found: {method}")  # noqa: TRY002

    def _object(self, db: Any, uid: Any, pwd: Any, model: Any, method: Any, args: Any,
                kwargs: Any) -> Any:
        uid = self.db.check(db, uid, pwd)
        return dispatch(self.db.orm, uid, str(model), str(method), list(args or []),
                        dict(kwargs or {}))


def _fault(exc: BaseException, *, legacy: bool) -> xmlrpc.client.Fault:
    if isinstance(exc, OdooException):
        if not legacy:
            return xmlrpc.client.Fault(exc.code, str(exc))
        if exc.v1 == "AccessDenied":
            return xmlrpc.client.Fault("AccessDenied", str(exc))  # type: ignore[arg-type]
        return xmlrpc.client.Fault(f"{exc.v1}\n\n{exc}", "")  # type: ignore[arg-type]
    if legacy:
        return xmlrpc.client.Fault(str(exc), traceback_text(exc))  # type: ignore[arg-type]
    return xmlrpc.client.Fault(1, traceback_text(exc))


def _xml(body: str) -> Response:
    return Response(body, media_type="text/xml; charset=utf-8")


def build_app(holder: dict[str, Database], *, faults_spec: str, seed: int,
              time_scale: float, max_request_bytes: int,
              reset: Any) -> FastAPI:
    app = FastAPI(title="Odoo external API (Ferry sandbox)", docs_url=None, redoc_url=None,
                  openapi_url=None)
    services = Services(holder)
    faults = OdooFaults(FaultSpec.parse(faults_spec, seed=seed))
    log = RequestLog()
    install_admin(app, state=lambda: holder["db"].dump(), reset=reset, faults=faults, log=log)

    async def body_of(request: Request) -> bytes | Response:
        size = int(request.headers.get("content-length") or 0)
        body = b"" if size > max_request_bytes else await request.body()
        if size > max_request_bytes or len(body) > max_request_bytes:
            return Response("<h1>Request Entity Too Large</h1><p>The data value transmitted"
                            " exceeds the capacity limit.</p>", status_code=413,
                            media_type="text/html")
        return body

    async def xmlrpc_endpoint(request: Request, service: str, legacy: bool) -> Response:
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        try:
            params, method = xmlrpc.client.loads(body, use_datetime=True)
            result = services.call(service, str(method), list(params))
            return _xml(xmlrpc.client.dumps((result,), methodresponse=True, allow_none=False))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Fault, as in Odoo
            return _xml(xmlrpc.client.dumps(_fault(exc, legacy=legacy), methodresponse=True,
                                            allow_none=True))

    @app.post("/xmlrpc/2/{service}")
    async def xmlrpc2(service: str, request: Request) -> Response:
        return await xmlrpc_endpoint(request, service, legacy=False)

    @app.post("/xmlrpc/{service}")
    async def xmlrpc1(service: str, request: Request) -> Response:
        return await xmlrpc_endpoint(request, service, legacy=True)

    @app.post("/jsonrpc")
    async def jsonrpc(request: Request) -> Response:
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        rid: Any = None
        try:
            payload = json.loads(body)
            rid = payload.get("id")
            params = payload.get("params") or {}
            result = services.call(str(params.get("service")), str(params.get("method")),
                                   list(params.get("args") or []))
            return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": result})
        except Exception as exc:  # noqa: BLE001
            name = exc.dotted if isinstance(exc, OdooException) else (
                "psycopg2.errors.SerializationFailure" if isinstance(exc, SerializationFailure)
                else f"builtins.{type(exc).__name__}")
            data = {"name": name, "message": str(exc), "arguments": [str(exc)], "context": {},
                    "debug": traceback_text(exc)}
            return JSONResponse({"jsonrpc": "2.0", "id": rid, "error": {
                "code": 200, "message": "Odoo Server Error", "data": data}})

    @app.get("/web/version")
    async def web_version() -> Response:
        version = holder["db"].orm.version
        if version < 19:
            return Response("<h1>Not Found</h1>", status_code=404, media_type="text/html")
        return JSONResponse({"version_info": version_info(version)["server_version_info"],
                             "version": f"{version}.0"})

    install_json2(app, holder)
    app.add_middleware(FaultMiddleware, faults=faults, time_scale=time_scale,
                       error_body=b"<html><body><h1>Service Unavailable</h1></body></html>")
    return app
