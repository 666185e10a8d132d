"""Routes of the emulated ``/api/v2``: entities, fields, pipelines, stages, search."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from ferry.sandbox.pipedrive.entities import apply, search, shape
from ferry.sandbox.pipedrive.rules import Invalid
from ferry.sandbox.pipedrive.state import ENTITIES, Account, compact, decode_cursor, encode_cursor

PLURAL = {"person": "persons", "organization": "organizations", "deal": "deals",
          "activity": "activities"}
FIELD_TYPES = {"varchar", "text", "double", "phone", "date", "daterange", "time", "timerange",
               "set", "enum", "varchar_auto", "address", "monetary", "org", "people", "user"}


class NotFound(Exception):
    def __init__(self, what: str, status: int = 404) -> None:
        super().__init__(what)
        self.what = what
        self.status = status


class Forbidden(Exception):
    pass


def ok(data: Any, additional: Any = None) -> dict[str, Any]:
    return {"success": True, "data": data, "additional_data": additional}


async def json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise Invalid("body", "request body is not valid JSON") from None


def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise Invalid(name, f'"{name}" must be a number') from None


def bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise Invalid(name, f'"{name}" must be a boolean')
    return raw == "true"


def limit_param(request: Request) -> int:
    limit = int_param(request, "limit", 100) or 100
    if limit < 1 or limit > 500:
        raise Invalid("limit", '"limit" must be less than or equal to 500')
    return limit


def cursor_param(request: Request) -> str | None:
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            decode_cursor(cursor)
        except Exception:  # noqa: BLE001
            raise Invalid("cursor", '"cursor" is not valid') from None
    return cursor


def _id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise Invalid("id", '"id" must be a number') from None


def register_v2(app: FastAPI, acc: Account) -> None:
    _search_routes(app, acc)  # before /{id}: literal segments win, as in the real router
    for obj in ENTITIES:
        _entity_routes(app, acc, obj)
        _field_routes(app, acc, obj)
    _pipeline_routes(app, acc)


def _filters(request: Request, obj: str) -> dict[str, Any]:
    f: dict[str, Any] = {}
    for key in ("owner_id", "org_id", "person_id", "deal_id", "pipeline_id", "stage_id"):
        value = int_param(request, key)
        if value is not None:
            f[key] = value
    done = bool_param(request, "done") if obj == "activity" else None
    if done is not None:
        f["done"] = done
    return f


def _entity_routes(app: FastAPI, acc: Account, obj: str) -> None:
    base = f"/api/v2/{PLURAL[obj]}"

    def get_live(rid: str) -> dict[str, Any]:
        rec = acc.live(obj, _id(rid))
        if rec is None:
            raise NotFound(obj)
        return rec

    def only(request: Request) -> set[str] | None:
        raw = request.query_params.get("custom_fields")
        if not raw:
            return None
        keys = set(raw.split(","))
        if len(keys) > 15:
            raise Invalid("custom_fields", '"custom_fields" accepts at most 15 keys')
        return keys

    @app.get(base)
    async def list_(request: Request) -> Any:
        limit, cursor, keep = limit_param(request), cursor_param(request), only(request)
        filters = _filters(request, obj)
        status = request.query_params.get("status") if obj == "deal" else None
        ids_raw = request.query_params.get("ids")
        ids = {_id(i) for i in ids_raw.split(",")} if ids_raw else None
        if ids is not None and len(ids) > 100:
            raise Invalid("ids", '"ids" accepts at most 100 ids')
        since = request.query_params.get("updated_since")
        rows = []
        for rec in acc.records[obj].values():
            deleted = bool(rec.get("is_deleted"))
            if status:
                if deleted != ("deleted" in status.split(",")) and not (
                        not deleted and rec.get("status") in status.split(",")):
                    continue
            elif deleted:
                continue
            if ids is not None and rec["id"] not in ids:
                continue
            if any(rec.get(k) != v for k, v in filters.items()):
                continue
            if since and rec["update_time"] < since:
                continue
            rows.append(rec)
        sort_by = request.query_params.get("sort_by", "id")
        if sort_by not in ("id", "update_time", "add_time"):  # [doc] v2 list sort_by enum
            raise Invalid("sort_by", '"sort_by" must be one of [id, update_time, add_time]')
        desc = request.query_params.get("sort_direction", "asc") == "desc"
        if sort_by == "id":
            page, nxt = acc.page_v2(rows, cursor, limit, desc)
        else:  # the cursor then holds a position in the sorted list
            rows.sort(key=lambda r: (r.get(sort_by) or "", r["id"]), reverse=desc)
            start = decode_cursor(cursor) if cursor else 0
            page = rows[start:start + limit]
            nxt = encode_cursor(start + limit) if len(rows) > start + limit else None
        return ok([shape(acc, obj, r, keep) for r in page], {"next_cursor": nxt})

    @app.get(base + "/{rid}")
    async def get(rid: str, request: Request) -> Any:
        return ok(shape(acc, obj, get_live(rid), only(request)))

    @app.post(base)
    async def create(request: Request) -> Any:
        return ok(shape(acc, obj, apply(acc, obj, await json_body(request), None)))

    @app.patch(base + "/{rid}")
    async def update(rid: str, request: Request) -> Any:
        rec = get_live(rid)
        return ok(shape(acc, obj, apply(acc, obj, await json_body(request), rec)))

    @app.delete(base + "/{rid}")
    async def delete(rid: str) -> Any:
        from ferry.sandbox.pipedrive.state import now_v2

        rec = get_live(rid)
        rec["is_deleted"] = True
        rec["update_time"] = now_v2()
        return ok({"id": rec["id"]})


def field_out(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in f.items() if k != "is_deleted"}


def _field_routes(app: FastAPI, acc: Account, obj: str) -> None:
    base = f"/api/v2/{obj}Fields"

    def find(code: str) -> dict[str, Any]:
        f = acc.field(obj, code)
        if f is None:
            raise NotFound("field")
        if f["is_deleted"]:
            raise NotFound("The field is not found", 410)
        return f

    @app.get(base)
    async def list_(request: Request) -> Any:
        limit, cursor = limit_param(request), cursor_param(request)
        start = decode_cursor(cursor) if cursor else 0
        live = acc.live_fields(obj)
        page = live[start:start + limit]
        nxt = encode_cursor(start + limit) if start + limit < len(live) else None
        return ok([field_out(f) for f in page], {"next_cursor": nxt})

    @app.get(base + "/{code}")
    async def get(code: str) -> Any:
        return ok(field_out(find(code)))

    if obj == "activity":
        return  # activityFields is read-only

    @app.post(base)
    async def create(request: Request) -> Any:
        body = await json_body(request)
        name, ftype = body.get("field_name"), body.get("field_type")
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise Invalid("field_name", '"field_name" must be 1-255 characters')
        if ftype not in FIELD_TYPES:
            raise Invalid("field_type", '"field_type" must be one of the allowed values')
        options = body.get("options")
        if ftype in {"enum", "set"}:
            if not isinstance(options, list) or not options or not all(
                    isinstance(o, dict) and isinstance(o.get("label"), str)
                    and 1 <= len(o["label"]) <= 255 for o in options):
                raise Invalid("options", '"options" with labels are required for enum and set')
            if len(options) > 10_000:
                raise Invalid("options", '"options" allows at most 10000 items')
        limit = acc.field_limit()
        if limit is not None and acc.custom_count() >= limit:
            raise Forbidden()
        return ok(field_out(acc.add_field(obj, name, ftype, options)))

    @app.post(base + "/{code}/options")
    async def add_options(code: str, request: Request) -> Any:
        f, body = find(code), await json_body(request)
        if f["field_type"] not in {"enum", "set"}:
            raise Invalid("field_code", "field does not support options")
        if not isinstance(body, list) or not body or not all(
                isinstance(o, dict) and isinstance(o.get("label"), str)
                and 1 <= len(o["label"]) <= 255 for o in body):
            raise Invalid("options", "Options on update must use the label & id (if it is an"
                          " update) key.")
        added = acc.add_options(f, [o["label"] for o in body])
        return {"success": True, "data": [{"id": o["id"], "label": o["label"]} for o in added],
                "additional_data": None}

    @app.delete(base + "/{code}/options")
    async def delete_options(code: str, request: Request) -> Any:
        # [doc] v2.yaml deletePersonFieldOptions: atomic, "fails if any of the specified
        # option IDs do not exist", returns only the deleted options
        f, body = find(code), await json_body(request)
        if f["field_type"] not in {"enum", "set"}:
            raise Invalid("field_code", "field does not support options")
        if not isinstance(body, list) or not body or not all(
                isinstance(o, dict) and isinstance(o.get("id"), int)
                and not isinstance(o["id"], bool) for o in body):
            raise Invalid("options", "Options on delete must use the id key.")
        have = {o["id"] for o in f.get("options") or []}
        if any(o["id"] not in have for o in body):
            raise Invalid("options", "Option(s) not found.")
        gone = acc.delete_options(f, [o["id"] for o in body])
        return {"success": True, "data": [{"id": o["id"], "label": o["label"]} for o in gone],
                "additional_data": None}

    @app.delete(base + "/{code}")
    async def delete(code: str) -> Any:
        f = find(code)
        if not f["is_custom_field"]:
            raise Invalid("field_code", "system fields cannot be deleted")
        f["is_deleted"] = True
        return ok({k: f[k] for k in ("field_name", "field_code", "field_type", "options",
                                     "subfields", "is_custom_field",
                                     "is_optional_response_field")})


def _pipeline_routes(app: FastAPI, acc: Account) -> None:
    def listing(rows: list[dict[str, Any]], request: Request) -> Any:
        page, nxt = acc.page_v2([r for r in rows if not r["is_deleted"]],
                                cursor_param(request), limit_param(request))
        return ok([compact(r) for r in page], {"next_cursor": nxt})

    def live(table: dict[int, dict[str, Any]], rid: str, what: str) -> dict[str, Any]:
        rec = table.get(_id(rid))
        if rec is None or rec["is_deleted"]:
            raise NotFound(what)
        return rec

    @app.get("/api/v2/pipelines")
    async def pipelines(request: Request) -> Any:
        return listing(list(acc.pipelines.values()), request)

    @app.get("/api/v2/pipelines/{rid}")
    async def pipeline(rid: str) -> Any:
        return ok(compact(live(acc.pipelines, rid, "pipeline")))

    @app.post("/api/v2/pipelines")
    async def add_pipeline(request: Request) -> Any:
        body = await json_body(request)
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise Invalid("name", '"name" is required')
        prob = body.get("is_deal_probability_enabled", False)
        if not isinstance(prob, bool):
            raise Invalid("is_deal_probability_enabled",
                          '"is_deal_probability_enabled" must be a boolean')
        return ok(compact(acc.add_pipeline(body["name"], prob)))

    @app.delete("/api/v2/pipelines/{rid}")
    async def del_pipeline(rid: str) -> Any:
        rec = live(acc.pipelines, rid, "pipeline")
        rec["is_deleted"] = True
        for s in acc.stages.values():
            if s["pipeline_id"] == rec["id"]:
                s["is_deleted"] = True
        return ok({"id": rec["id"]})

    @app.get("/api/v2/stages")
    async def stages(request: Request) -> Any:
        pid = int_param(request, "pipeline_id")
        return listing([s for s in acc.stages.values()
                        if pid is None or s["pipeline_id"] == pid], request)

    @app.get("/api/v2/stages/{rid}")
    async def stage(rid: str) -> Any:
        return ok(compact(live(acc.stages, rid, "stage")))

    @app.post("/api/v2/stages")
    async def add_stage(request: Request) -> Any:
        body = await json_body(request)
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise Invalid("name", '"name" is required')
        pid = body.get("pipeline_id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise Invalid("pipeline_id", '"pipeline_id" must be a number')
        live(acc.pipelines, str(pid), "pipeline")
        prob = body.get("deal_probability", 100)
        if not isinstance(prob, int) or isinstance(prob, bool):
            raise Invalid("deal_probability", '"deal_probability" must be a number')
        return ok(compact(acc.add_stage(body["name"], pid, prob,
                                        bool(body.get("is_deal_rot_enabled", False)),
                                        body.get("days_to_rotten"))))

    @app.delete("/api/v2/stages/{rid}")
    async def del_stage(rid: str) -> Any:
        rec = live(acc.stages, rid, "stage")
        rec["is_deleted"] = True
        return ok({"id": rec["id"]})


def _search_routes(app: FastAPI, acc: Account) -> None:
    allowed = {"person": {"custom_fields", "email", "notes", "phone", "name"},
               "organization": {"address", "custom_fields", "notes", "name"},
               "deal": {"custom_fields", "notes", "title"}}
    for obj in ("person", "organization", "deal"):
        _one_search(app, acc, obj, allowed[obj])

    @app.get("/api/v2/itemSearch/field")
    async def field_search(request: Request) -> Any:
        q = request.query_params
        term, entity, key = q.get("term"), q.get("entity_type"), q.get("field")
        match = q.get("match", "exact")
        obj = {"organization": "organization", "person": "person", "deal": "deal"}.get(
            entity or "")
        if not term or obj is None or not key:
            raise Invalid("term", '"term", "entity_type" and "field" are required')
        f = acc.field(obj, key)
        if f is None or f["is_deleted"]:
            raise NotFound("field")
        if f["is_custom_field"] and f["field_type"] not in {
                "address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}:
            raise Invalid("field", "this field type is not searchable")
        found: dict[str, list[int]] = {}
        for rec in acc.records[obj].values():
            if rec.get("is_deleted"):
                continue
            v = (rec.get("custom_fields") or {}).get(key) if f["is_custom_field"] else rec.get(key)
            if isinstance(v, dict):
                v = v.get("value")
            if v is None:
                continue
            s = str(v)  # case-sensitive, as documented
            hit = (s == term if match == "exact" else s.startswith(term)
                   if match == "beginning" else term in s)
            if hit:
                found.setdefault(s, []).append(rec["id"])
        rows = [{"id": rid, "name": value} for value, ids in sorted(found.items()) for rid in ids]
        rows = sorted(rows, key=lambda r: r["id"])
        page, nxt = acc.page_v2(rows, cursor_param(request), limit_param(request))
        return ok(page, {"next_cursor": nxt})


def _one_search(app: FastAPI, acc: Account, obj: str, allowed: set[str]) -> None:
    @app.get(f"/api/v2/{PLURAL[obj]}/search")
    async def run(request: Request) -> Any:
        term = request.query_params.get("term") or ""
        exact = bool(bool_param(request, "exact_match"))
        if len(term) < (1 if exact else 2):
            raise Invalid("term", '"term" must be at least 2 characters long')
        raw = request.query_params.get("fields")
        fields = set(raw.split(",")) if raw else allowed
        if not fields <= allowed:
            raise Invalid("fields", '"fields" contains a value that is not allowed')
        items = search(acc, obj, term, fields, exact)
        start = decode_cursor(cursor_param(request) or "") if request.query_params.get(
            "cursor") else 0
        limit = limit_param(request)
        page = items[start:start + limit]
        nxt = encode_cursor(start + limit) if start + limit < len(items) else None
        return ok({"items": page}, {"next_cursor": nxt})
