"""JSON-2 (``/json/2/<model>/<method>``), the external API Odoo 19 adds (NOTES 1.6).

Only on a version-19 sandbox. Authentication is an API key as a bearer token (a password is
refused), arguments are *named* as in the Python signature plus ``ids`` and ``context``, errors
are HTTP statuses with a ``{name, message, arguments, context, debug}`` body, and every recordset
result is a list of ids (so ``create`` always answers a list). ``/doc-bearer/<model>.json``
describes method signatures the way odoo-client-lib's JSON-2 connection reads them.
"""

from __future__ import annotations

import inspect
import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ferry.sandbox.odoo.exceptions import (
    AccessDenied,
    AccessError,
    MissingError,
    OdooException,
    UserError,
)
from ferry.sandbox.odoo.methods import RECORD_METHODS, ModelProxy
from ferry.sandbox.odoo.state import Database


def _error(status: int, name: str, message: str) -> JSONResponse:
    return JSONResponse({"name": name, "message": message, "arguments": [message],
                         "context": {}, "debug": ""}, status_code=status)


def _uid(db: Database, request: Request) -> int | None:
    auth = request.headers.get("authorization", "")
    scheme, _, key = auth.partition(" ")
    if scheme.lower() != "bearer" or not key:
        return None
    for entry in db.logins.values():
        if key.strip() in entry.api_keys:
            return entry.uid
    return None


def _signature(method: str) -> list[str]:
    fn = getattr(ModelProxy, f"rpc_{method}", None)
    if fn is None:
        return []
    params = list(inspect.signature(fn).parameters.values())[1:]
    return [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]


def install_json2(app: FastAPI, holder: dict[str, Database]) -> None:
    @app.get("/doc-bearer/{model}.json")
    async def doc(model: str, request: Request) -> JSONResponse:
        db = holder["db"]
        if db.orm.version < 19 or _uid(db, request) is None:
            return _error(401 if db.orm.version >= 19 else 404,
                          "werkzeug.exceptions.Unauthorized", "Invalid apikey")
        methods = {}
        for name in dir(ModelProxy):
            if name.startswith("rpc_"):
                meth = name[4:]
                params = [p for p in _signature(meth) if p != "ids"]
                methods[meth] = {"parameters": {p: {} for p in params},
                                 "api": [] if meth in RECORD_METHODS else ["model"]}
        return JSONResponse({"model": model, "methods": methods})

    @app.post("/json/2/{model}/{method}")
    async def call(model: str, method: str, request: Request) -> JSONResponse:
        db = holder["db"]
        if db.orm.version < 19:
            return _error(404, "werkzeug.exceptions.NotFound", "404: Not Found")
        uid = _uid(db, request)
        if uid is None:
            return _error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey")
        wanted_db = request.headers.get("x-odoo-database")
        if wanted_db and wanted_db != db.name:
            return _error(404, "werkzeug.exceptions.NotFound", "database not found")
        if model not in db.orm.models:
            return _error(404, "werkzeug.exceptions.NotFound",
                          f"the model {model!r} does not exist")
        if method.startswith("_") or not hasattr(ModelProxy, f"rpc_{method}"):
            return _error(404, "werkzeug.exceptions.NotFound",
                          f"the method {method!r} does not exist on {model!r}")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "werkzeug.exceptions.BadRequest", "invalid JSON body")
        if not isinstance(body, dict):
            return _error(422, "werkzeug.exceptions.UnprocessableEntity",
                          "the body must be a JSON object of named arguments")
        body = dict(body)
        context = body.pop("context", None) or {}
        ids = body.pop("ids", None)
        record = method in RECORD_METHODS
        if ids is not None and not record:
            return _error(422, "werkzeug.exceptions.UnprocessableEntity",
                          f"cannot call {model}.{method} with ids")
        unknown = set(body) - set(_signature(method))
        if unknown:
            return _error(422, "werkzeug.exceptions.UnprocessableEntity",
                          f"{model}.{method}() got unexpected arguments: {sorted(unknown)}")
        args = [ids or []] if record else []
        try:
            with db.orm.transaction():
                result = ModelProxy(db.orm, uid, model, context).call(method, args, body)
        except TypeError as exc:
            return _error(422, "werkzeug.exceptions.UnprocessableEntity", str(exc))
        except OdooException as exc:
            status = 403 if isinstance(exc, AccessError | AccessDenied) else \
                404 if isinstance(exc, MissingError) else 422 if isinstance(exc, UserError) \
                else 500
            return _error(status, exc.dotted, str(exc))
        except Exception as exc:  # noqa: BLE001 - the server's 500
            return _error(500, f"builtins.{type(exc).__name__}", str(exc))
        if method == "create" and isinstance(result, int):
            result = [result]  # every recordset is a list of ids in JSON-2
        return JSONResponse(result)
