"""Routes of the emulated ``/api/v1`` (also ``/v1``): notes, files, users, activity types.

v1 is the lenient generation: ids may come as numbers or numeric strings, flags as 0/1, lists use
offset pagination (``start``/``limit``, max 500, files max 100, clamped) with
``additional_data.pagination``. Files are multipart uploads checked against a configurable size cap
(the real cap is undocumented; the emulator answers 413 over it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import FastAPI, Request

from ferry.sandbox.pipedrive.app_v2 import NotFound, _id, json_body, ok
from ferry.sandbox.pipedrive.rules import V1_TIME, Invalid
from ferry.sandbox.pipedrive.state import Account, compact, now_v1
from ferry.sandbox.sanitize import sanitize

LINKS = ("deal_id", "person_id", "org_id", "lead_id", "project_id", "task_id")
ICONS = {"task", "email", "meeting", "deadline", "call", "lunch", "calendar", "downarrow",
         "document", "smartphone", "camera", "scissors", "cogs", "bubble", "uparrow", "checkbox",
         "signpost", "shuffle", "addressbook", "linegraph", "picture", "car", "world", "search",
         "clip", "sound", "brush", "key", "padlock", "pricetag", "suitcase", "finish", "plane",
         "loop", "wifi", "truck", "cart", "bulb", "bell", "presentation"}


class TooLarge(Exception):
    pass


def _v1_int(body: dict[str, Any], key: str) -> int | None:
    v = body.get(key)
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise Invalid(key, f'"{key}" must be a number')
    try:
        return int(v)
    except (TypeError, ValueError):
        raise Invalid(key, f'"{key}" must be a number') from None


def _page(request: Request, rows: list[dict[str, Any]], cap: int = 500) -> Any:
    """Offset page; ``sort`` honours ``id ASC|DESC`` (rows arrive sorted by id ascending)."""
    sort = (request.query_params.get("sort") or "").strip().lower()
    if sort in ("id desc",):
        rows = rows[::-1]
    try:
        start = int(request.query_params.get("start", 0))
        limit = min(max(1, int(request.query_params.get("limit", 100))), cap)
    except ValueError:
        raise Invalid("limit", '"start" and "limit" must be numbers') from None
    page = rows[start:start + limit]
    more = start + limit < len(rows)
    pagination: dict[str, Any] = {"start": start, "limit": limit,
                                  "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return ok(page, {"pagination": pagination})


def register_v1(app: FastAPI, acc: Account) -> None:
    for prefix in ("/api/v1", "/v1"):
        _notes(app, acc, prefix)
        _files(app, acc, prefix)
        _users(app, acc, prefix)
        _types(app, acc, prefix)


def _note_out(acc: Account, n: dict[str, Any]) -> dict[str, Any]:
    out = compact(n)
    user = acc.users.get(n["user_id"])
    if user:
        out["user"] = {"email": user["email"], "name": user["name"], "is_you": user["is_you"]}
    person = acc.records["person"].get(n.get("person_id") or 0)
    if person:
        out["person"] = {"name": person.get("name")}
    org = acc.records["organization"].get(n.get("org_id") or 0)
    if org:
        out["organization"] = {"name": org.get("name")}
    deal = acc.records["deal"].get(n.get("deal_id") or 0)
    if deal:
        out["deal"] = {"title": deal.get("title")}
    return out


def _note_apply(acc: Account, body: Any, note: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("body", "request body must be a JSON object")
    new = dict(note or {})
    if "content" in body or note is None:
        if not isinstance(body.get("content"), str) or not body["content"].strip():
            raise Invalid("content", '"content" is required')
        new["content"] = sanitize(body["content"])  # the service strips scripts
    for key in (*LINKS, "user_id"):
        if key in body:
            value = body[key] if key == "lead_id" else _v1_int(body, key)
            kind = {"user_id": "user", "person_id": "person", "org_id": "organization",
                    "deal_id": "deal"}.get(key)
            if value is not None and kind and not acc.exists(kind, value):
                raise Invalid(key, f'"{key}" refers to an item that does not exist')
            new[key] = value
    if not any(new.get(k) is not None for k in LINKS):
        raise Invalid("deal_id", "note must be attached to a deal, person, organization, lead,"
                      " project or task")
    if "add_time" in body:
        if not isinstance(body["add_time"], str) or not V1_TIME.match(body["add_time"]):
            raise Invalid("add_time", '"add_time" must be in format YYYY-MM-DD HH:MM:SS')
        new["add_time"] = body["add_time"]
    for flag in ("deal", "person", "organization", "lead", "project", "task"):
        key = f"pinned_to_{flag}_flag"
        if key in body:
            if body[key] not in (0, 1, "0", "1", True, False):
                raise Invalid(key, f'"{key}" must be 0 or 1')
            new[key] = body[key] in (1, "1", True)
    if note is None:
        new.update(id=acc.next_id("note"), active_flag=True)
        new.setdefault("add_time", now_v1())
        new.setdefault("user_id", 1)
        for flag in ("deal", "person", "organization", "project", "task"):
            new.setdefault(f"pinned_to_{flag}_flag", False)
    new["update_time"] = now_v1()
    new["last_update_user_id"] = 1
    acc.records["note"][new["id"]] = new
    return new


def _notes(app: FastAPI, acc: Account, p: str) -> None:
    def live(rid: str) -> dict[str, Any]:
        n = acc.live("note", _id(rid))
        if n is None:
            raise NotFound("note")
        return n

    @app.get(p + "/notes")
    async def list_(request: Request) -> Any:
        q = request.query_params
        filt = {k: _v1_int(dict(q), k) for k in ("person_id", "org_id", "deal_id", "user_id")
                if q.get(k)}
        since = q.get("updated_since")
        rows = [_note_out(acc, n) for n in sorted(acc.records["note"].values(),
                                                  key=lambda n: n["id"])
                if n["active_flag"] and all(n.get(k) == v for k, v in filt.items())
                and (not since or n["update_time"] >= since)]
        return _page(request, rows)

    @app.get(p + "/notes/{rid}")
    async def get(rid: str) -> Any:
        return ok(_note_out(acc, live(rid)))

    @app.post(p + "/notes")
    async def create(request: Request) -> Any:
        return ok(_note_out(acc, _note_apply(acc, await json_body(request), None)))

    @app.put(p + "/notes/{rid}")
    async def update(rid: str, request: Request) -> Any:
        note = live(rid)
        return ok(_note_out(acc, _note_apply(acc, await json_body(request), note)))

    @app.delete(p + "/notes/{rid}")
    async def delete(rid: str) -> Any:
        note = live(rid)
        note["active_flag"] = False
        note["update_time"] = now_v1()
        return {"success": True, "data": True}


def _files(app: FastAPI, acc: Account, p: str) -> None:
    def live(rid: str) -> dict[str, Any]:
        f = acc.live("file", _id(rid))
        if f is None:
            raise NotFound("file")
        return f

    @app.post(p + "/files")
    async def upload(request: Request) -> Any:
        form = await request.form()
        part = form.get("file")
        if part is None or isinstance(part, str):
            raise Invalid("file", '"file" is required')
        data = await part.read()
        if len(data) > acc.max_file_bytes:
            raise TooLarge()
        fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        rec: dict[str, Any] = {}
        for key in ("deal_id", "person_id", "org_id", "product_id", "activity_id",
                    "project_id"):
            value = _v1_int(fields, key)
            kind = {"person_id": "person", "org_id": "organization", "deal_id": "deal",
                    "activity_id": "activity"}.get(key)
            if value is not None and kind and not acc.exists(kind, value):
                raise Invalid(key, f'"{key}" refers to an item that does not exist')
            rec[key] = value
        if not any(rec.values()) and not fields.get("lead_id"):
            raise Invalid("deal_id", "file must be attached to an item")
        fid = acc.next_id("file")
        name = part.filename or "file"
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        rec.update(id=fid, user_id=1, lead_id=fields.get("lead_id"), add_time=now_v1(),
                   update_time=now_v1(), file_name=name, name=name, file_size=len(data),
                   file_type={"png": "img", "jpg": "img", "jpeg": "img", "pdf": "pdf"}.get(
                       ext, ext or "other"),
                   active_flag=True, inline_flag=False, remote_location="s3",
                   remote_id=f"{fid:08d}", description="",
                   url=f"https://{acc.company_domain}.pipedrive.com/api/v1/files/{fid}/download",
                   sha256=hashlib.sha256(data).hexdigest())
        acc.records["file"][fid] = rec
        return ok(_file_out(rec))

    @app.get(p + "/files")
    async def list_(request: Request) -> Any:
        rows = [_file_out(f) for f in sorted(acc.records["file"].values(), key=lambda f: f["id"])
                if f["active_flag"]]
        return _page(request, rows, cap=100)

    @app.get(p + "/files/{rid}")
    async def get(rid: str) -> Any:
        return ok(_file_out(live(rid)))

    @app.put(p + "/files/{rid}")
    async def update(rid: str, request: Request) -> Any:
        f = live(rid)
        form = await request.form()
        for key in ("name", "description"):
            value = form.get(key)
            if isinstance(value, str):
                f[key] = value
        f["update_time"] = now_v1()
        return ok(_file_out(f))

    @app.delete(p + "/files/{rid}")
    async def delete(rid: str) -> Any:
        f = live(rid)
        f["active_flag"] = False
        return ok({"id": f["id"]})


def _file_out(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in compact(f).items() if k != "sha256"}


def _users(app: FastAPI, acc: Account, p: str) -> None:
    @app.get(p + "/users")
    async def users() -> Any:
        return ok([compact(u) for u in acc.users.values()])

    @app.get(p + "/users/me")
    async def me() -> Any:
        return ok({**compact(acc.users[1]), "company_id": 1,
                   "company_name": "Ferry Sandbox", "company_domain": acc.company_domain,
                   "company_country": "US", "company_industry": "healthcare"})

    @app.get(p + "/users/{rid}")
    async def user(rid: str) -> Any:
        u = acc.users.get(_id(rid))
        if u is None:
            return_404 = NotFound("User not found or not accessible.")
            raise return_404
        return ok(compact(u))


def _types(app: FastAPI, acc: Account, p: str) -> None:
    @app.get(p + "/activityTypes")
    async def list_() -> Any:
        return ok([compact(t) for t in acc.activity_types.values()])

    @app.post(p + "/activityTypes")
    async def create(request: Request) -> Any:
        body = await json_body(request)
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise Invalid("name", '"name" is required')
        if body.get("icon_key") not in ICONS:
            raise Invalid("icon_key", '"icon_key" must be one of the allowed values')
        color = body.get("color")
        if color is not None and not (isinstance(color, str) and len(color) == 6):
            raise Invalid("color", '"color" must be a 6-character hex code')
        return ok(compact(acc.add_activity_type(body["name"], body["icon_key"], color)))

    @app.delete(p + "/activityTypes/{rid}")
    async def delete(rid: str) -> Any:
        t = acc.activity_types.get(_id(rid))
        if t is None or not t["active_flag"]:
            raise NotFound("activity type")
        t["active_flag"] = False
        return ok(compact(t))
