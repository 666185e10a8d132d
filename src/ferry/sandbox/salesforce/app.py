"""The emulated REST surface: versions, limits, describe, sObject CRUD, collections, SOQL.

A gate in front of ``/services/data/vXX.X/`` does what the platform does before any resource
runs: the bearer session (401 INVALID_SESSION_ID), the daily request allocation (403
REQUEST_LIMIT_EXCEEDED), the API version (410 for retired ones) and the ``Sforce-Limit-Info``
header on every answer. Bulk 2.0 lives in ``bulk.py``, the Tooling API in ``tooling.py``.
"""

from __future__ import annotations

import json
import random
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from ferry.sandbox.faults import Faults
from ferry.sandbox.salesforce.effects import remove
from ferry.sandbox.salesforce.query import QueryError, QueryRunner
from ferry.sandbox.salesforce.rules import Dml
from ferry.sandbox.salesforce.schema import describe_global_entry, describe_object
from ferry.sandbox.salesforce.state import Org

VERSIONS = [f"{v}.0" for v in range(31, 67)]
MAX_COLLECTION = 200
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the"
                          " request was using AllOrNone header", "fields": []}


#: statuses whose documented body has no ``fields`` key (NOTES §1: 401
#: ``[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]``; the REST
#: guide's status-code page: 404 ``[{"errorCode":"NOT_FOUND","message":...}]``)
NO_FIELDS = {401, 404}


class Json(JSONResponse):
    """What FastAPI sends for a route's plain return value, without its ``jsonable_encoder``
    walk over every value first (14 us a row of a 200-row query page, three times the query):
    the same bytes, with a value JSON has no type for converted by ``jsonable_encoder`` as
    before."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":"), default=jsonable_encoder).encode("utf-8")


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None
             ) -> JSONResponse:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None or status not in NO_FIELDS:
        body["fields"] = fields or []
    return JSONResponse([body], status_code=status)


class Api:
    """Holds the org and the per-request helpers every route module shares."""

    def __init__(self, org: Org, faults: Faults, extra: dict[str, Any]) -> None:
        self.org = org
        self.faults = faults
        self.extra = extra
        self.queries = QueryRunner(org)
        self.lock_rng = random.Random(int(extra.get("lock_seed", 7)))
        self.max_file_bytes = int(extra.get("max_file_bytes", 2_000_000_000))
        trunc = extra.get("silent_truncate")  # "Object.Field:N"
        self.truncate: tuple[str, str, int] | None = None
        if trunc:
            target, _, n = str(trunc).partition(":")
            obj, _, fname = target.partition(".")
            self.truncate = (obj, fname, int(n or 10))

    def dml(self, request: Request, *, csv: bool = False) -> Dml:
        return Dml(self.org, request.state.user, csv=csv,
                   lock_rate=self.faults.spec.rates.get("lock", 0.0), rng=self.lock_rng,
                   truncate=self.truncate, max_file_bytes=self.max_file_bytes)


def install_gate(app: FastAPI, org: Org) -> None:
    app.add_middleware(_Gate, org=org)


class _Gate:
    """The gate as a plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (what
    ``@app.middleware("http")`` makes) spawned a task group and relayed every request body
    chunk and answer through memory streams, on every call."""

    def __init__(self, app: Any, org: Org) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("root_path", "") + scope.get("path", "") \
            if scope["type"] == "http" else ""
        if not path.startswith("/services/data/v"):
            await self.app(scope, receive, send)
            return
        org = self.org
        version = path.split("/")[3][1:]
        auth = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                     if k.lower() == b"authorization"), "")
        session = org.sessions.get(auth[7:] if auth.lower().startswith("bearer ") else "")
        if session and org.session_ttl and org.clock.monotonic() - session.issued > \
                org.session_ttl:
            org.sessions.pop(session.token, None)  # timed out, as after hours on a long run
            session = None
        if session is None:
            await sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")(
                scope, receive, send)
            return
        if version not in VERSIONS:
            if version.replace(".", "").isdigit() and float(version) < 31:
                await sf_error(410, "GONE", "The requested version is retired")(
                    scope, receive, send)
                return
            await sf_error(404, "NOT_FOUND", "The requested resource does not exist")(
                scope, receive, send)
            return

        async def send_usage(message: Any) -> None:
            if message["type"] == "http.response.start":  # on every answer, after the call
                message = {**message, "headers": [
                    *[(k, v) for k, v in message.get("headers", ())
                      if k.lower() != b"sforce-limit-info"],
                    (b"sforce-limit-info", org.limit_info().encode("latin-1"))]}
            await send(message)

        if not org.count_call():
            await sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")(
                scope, receive, send_usage)
            return
        state = scope.setdefault("state", {})
        state["user"] = session.user_id
        state["version"] = version
        await self.app(scope, receive, send_usage)


def install_rest(app: FastAPI, api: Api) -> None:
    org = api.org
    base = "/services/data/v{version}"

    @app.get("/services/data")
    def versions() -> list[dict[str, str]]:
        return [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                for v in VERSIONS]

    @app.get(base)
    def resources(version: str) -> dict[str, str]:
        b = f"/services/data/v{version}"
        return {k: f"{b}/{k}" for k in ("sobjects", "query", "queryAll", "limits", "tooling",
                                        "composite", "jobs/ingest", "jobs/query")}

    @app.get(base + "/limits")
    def limits(version: str) -> dict[str, Any]:
        def lim(mx: int, used: int = 0) -> dict[str, int]:
            return {"Max": mx, "Remaining": mx - used}
        return {"DailyApiRequests": lim(org.daily_limit, org.usage),
                "DailyBulkApiBatches": lim(15000), "DailyBulkV2QueryJobs": lim(10000),
                "DailyBulkV2QueryFileStorageMB": lim(1_000_000),
                "DataStorageMB": lim(5120), "FileStorageMB": lim(20480),
                "ConcurrentAsyncGetReportInstances": lim(200)}

    @app.get(base + "/sobjects")
    def describe_global(version: str, request: Request) -> dict[str, Any]:
        b = f"/services/data/v{version}"
        return {"encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION,
                "sobjects": [describe_global_entry(od, b) for od in org.objects.values()
                             if org.can_see_object(od, request.state.user)]}

    def _obj(name: str, request: Request) -> Any:
        od = org.obj(name)
        if od is None or not org.can_see_object(od, request.state.user):
            return None
        return od

    @app.get(base + "/sobjects/{obj}/describe")
    def describe(version: str, obj: str, request: Request) -> Any:
        od = _obj(obj, request)
        if od is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        fields = list(org.visible_fields(od, request.state.user).values())
        return describe_object(od, fields, f"/services/data/v{version}")

    @app.get(base + "/sobjects/{obj}")
    def sobject_info(version: str, obj: str, request: Request) -> Any:
        od = _obj(obj, request)
        if od is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return {"objectDescribe": describe_global_entry(od, f"/services/data/v{version}"),
                "recentItems": []}

    @app.post(base + "/sobjects/{obj}")
    async def create(version: str, obj: str, request: Request) -> Any:
        od = _obj(obj, request)
        if od is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        body = await _entity(request)
        if not isinstance(body, dict):
            return sf_error(400, "JSON_PARSER_ERROR", "expected a JSON object")
        if any(k.lower() == "id" for k in body):
            return sf_error(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        rid, _, errors = api.dml(request).insert(od, body)
        if errors:
            return _errors(400, errors)
        return JSONResponse({"id": rid, "success": True, "errors": []}, status_code=201)

    @app.get(base + "/sobjects/ContentVersion/{rid}/VersionData")
    def version_data(version: str, rid: str) -> Response:
        if rid not in org.blobs:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(org.blobs[rid], media_type="application/octet-stream")

    @app.get(base + "/sobjects/{obj}/{rid}")
    def get_record(version: str, obj: str, rid: str, request: Request,
                   fields: str | None = None) -> Any:
        return _get(version, obj, "Id", rid, request, fields)

    @app.get(base + "/sobjects/{obj}/{ext}/{value}")
    def get_by_ext(version: str, obj: str, ext: str, value: str, request: Request,
                   fields: str | None = None) -> Any:
        return _get(version, obj, ext, value, request, fields)

    def _get(version: str, obj: str, key: str, value: str, request: Request,
             fields: str | None) -> Any:
        od = _obj(obj, request)
        if od is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        vis = org.visible_fields(od, request.state.user)
        if key.lower() not in vis:
            return sf_error(404, "NOT_FOUND", "Provided external ID field does not exist or is"
                            " not accessible")
        found = sorted(org.lookup(od.name, vis[key.lower()].name, value))
        if not found:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if len(found) > 1:
            return JSONResponse([f"/services/data/v{version}/sobjects/{od.name}/{i}"
                                 for i in found], status_code=300)
        names = [f.strip() for f in fields.split(",")] if fields else \
            [f.name for f in vis.values()]
        bad = [n for n in names if n.lower() not in vis]
        if bad:
            return sf_error(400, "INVALID_FIELD", f"No such column '{bad[0]}' on entity"
                            f" '{od.name}'")
        return api.queries.render(od.name, found[0], names, version)

    @app.patch(base + "/sobjects/{obj}/{rid}")
    async def update(version: str, obj: str, rid: str, request: Request) -> Any:
        od = _obj(obj, request)
        if od is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        body = await request.json()
        _, _, errors = api.dml(request).update(od, rid, body)
        if errors:
            code = errors[0]["statusCode"]
            return _errors(404 if code == "INVALID_CROSS_REFERENCE_KEY" and errors[0]["fields"]
                           == ["Id"] else 400, errors)
        return Response(status_code=204)

    @app.patch(base + "/sobjects/{obj}/{ext}/{value}")
    async def upsert(version: str, obj: str, ext: str, value: str, request: Request) -> Any:
        od = _obj(obj, request)
        if od is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        body = await request.json()
        if any(k.lower() == "id" for k in body):
            return sf_error(400, "INVALID_FIELD", "Id is not allowed in an upsert body", ["Id"])
        if len(org.lookup(od.name, ext, value)) > 1:
            return JSONResponse([], status_code=300)
        rid, created, errors = api.dml(request).upsert(od, ext, {**body, ext: value})
        if errors:
            return _errors(400, errors)
        return JSONResponse({"id": rid, "success": True, "errors": [], "created": created},
                            status_code=201 if created else 200)

    @app.delete(base + "/sobjects/{obj}/{rid}")
    def delete(version: str, obj: str, rid: str, request: Request) -> Any:
        od = _obj(obj, request)
        if od is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        _, _, errors = api.dml(request).delete(od, rid)
        if errors:
            missing = errors[0]["statusCode"] in {"INVALID_CROSS_REFERENCE_KEY",
                                                  "ENTITY_IS_DELETED"}
            return _errors(404 if missing else 400, errors)
        return Response(status_code=204)

    # -- sObject collections -------------------------------------------------------------
    @app.post(base + "/composite/sobjects")
    async def coll_create(version: str, request: Request) -> Any:
        return await _collection(request, "insert")

    @app.patch(base + "/composite/sobjects")
    async def coll_update(version: str, request: Request) -> Any:
        return await _collection(request, "update")

    @app.patch(base + "/composite/sobjects/{obj}/{ext}")
    async def coll_upsert(version: str, obj: str, ext: str, request: Request) -> Any:
        return await _collection(request, "upsert", obj, ext)

    @app.delete(base + "/composite/sobjects")
    def coll_delete(version: str, request: Request, ids: str = "",
                    allOrNone: str = "false") -> Any:  # noqa: N803 - the API's name
        id_list = [i for i in ids.split(",") if i]
        if len(id_list) > MAX_COLLECTION:
            return sf_error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit"
                            " more than 200 records into this call")
        dml = api.dml(request)
        out = []
        for rid in id_list:
            hit = org.get(rid)
            od = org.objects[hit[0]] if hit else org.objects["Account"]
            got, _, errors = dml.delete(od, rid)
            out.append({"id": got, "success": not errors, "errors": errors})
        return Json(out)

    async def _collection(request: Request, op: str, obj: str | None = None,
                          ext: str | None = None) -> Any:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return sf_error(400, "JSON_PARSER_ERROR", "malformed JSON")
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            return sf_error(400, "JSON_PARSER_ERROR", "records is required")
        if len(records) > MAX_COLLECTION:
            return sf_error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit"
                            " more than 200 records into this call")
        if op == "upsert" and _obj(obj or "", request) is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        all_or_none = bool(body.get("allOrNone"))
        dml = api.dml(request)
        undo: list[tuple[str, str, dict[str, Any] | None]] = []
        out: list[dict[str, Any]] = []
        for rec in records:
            rtype = (rec.get("attributes") or {}).get("type") or obj
            od = _obj(rtype or "", request)
            if od is None:
                out.append({"success": False, "errors": [{"statusCode": "INVALID_TYPE",
                            "message": "sObject type is missing or not supported",
                            "fields": []}]})
                continue
            rid = next((v for k, v in rec.items() if k.lower() == "id"), None)
            prior = org.records[od.name].get(rid) if isinstance(rid, str) else None
            if op == "insert":
                got, created, errors = (None, False, [{"statusCode": "INVALID_FIELD",
                                        "message": "cannot specify Id in an insert call",
                                        "fields": ["Id"]}]) if rid else dml.insert(od, rec)
            elif op == "update":
                fields = {k: v for k, v in rec.items() if k.lower() != "id"}
                got, created, errors = dml.update(od, rid, fields) if rid else (
                    None, False, [{"statusCode": "MISSING_ARGUMENT",
                                   "message": "Id not specified in an update call",
                                   "fields": ["Id"]}])
            else:
                key = next((v for k, v in rec.items() if k.lower() == (ext or "").lower()), "")
                before = org.lookup(od.name, ext or "", key) if key else set()
                prior = org.records[od.name].get(next(iter(before))) if len(before) == 1 \
                    else None
                got, created, errors = dml.upsert(od, ext or "", rec)
            if got:
                undo.append((od.name, got, dict(prior) if prior and not created else None))
            result: dict[str, Any] = {"id": got, "success": not errors, "errors": errors}
            if op == "upsert":
                result["created"] = created
            out.append(result)
        if all_or_none and any(not r["success"] for r in out):
            for name, rid, prior in reversed(undo):
                if prior is None:
                    remove(org, name, rid)
                    org.deleted.discard(rid)
                else:
                    org.reindex(name, rid, org.records[name].get(rid), prior)
                    org.records[name][rid] = prior
            out = [r if not r["success"] else {"id": None, "success": False,
                                               "errors": [ROLLED_BACK]} for r in out]
        return Json(out)

    # -- SOQL ------------------------------------------------------------------------------
    def _batch(request: Request) -> int:
        opts = request.headers.get("sforce-query-options", "")
        if "batchsize=" in opts.lower():
            try:
                return max(200, min(2000, int(opts.lower().split("batchsize=")[1])))
            except ValueError:
                pass
        return 2000

    @app.get(base + "/query")
    def query(version: str, request: Request, q: str = "") -> Any:
        try:
            return Json(api.queries.run(q, request.state.user, version,
                                        batch=_batch(request)))
        except QueryError as e:
            return sf_error(400, e.code, str(e))

    @app.get(base + "/queryAll")
    def query_all(version: str, request: Request, q: str = "") -> Any:
        """[doc] REST queryAll: like query, plus deleted (Recycle Bin) and archived rows."""
        try:
            return Json(api.queries.run(q, request.state.user, version,
                                        batch=_batch(request), include_deleted=True))
        except QueryError as e:
            return sf_error(400, e.code, str(e))

    @app.get(base + "/query/{cursor}")
    @app.get(base + "/tooling/query/{cursor}")
    def query_more(version: str, cursor: str) -> Any:
        try:
            return Json(api.queries.more(cursor, version))
        except QueryError as e:
            return sf_error(400, e.code, str(e))


async def _entity(request: Request) -> Any:
    """JSON body, or for multipart uploads the ``entity_content`` part plus the binary part."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/"):
        try:
            return await request.json()
        except json.JSONDecodeError:
            return None
    form = await request.form(max_part_size=2_100_000_000)
    entity = form.get("entity_content")
    text = await entity.read() if hasattr(entity, "read") else entity
    body = json.loads(text or "{}")
    for key, part in form.multi_items():
        if key != "entity_content" and hasattr(part, "read"):
            body[key] = await part.read()
    return body


def _errors(status: int, errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse([{"message": e["message"], "errorCode": e["statusCode"],
                          "fields": e["fields"]} for e in errors], status_code=status)
