"""v2 persons, organizations, deals and activities: create, update, read shape, search.

The real API's rules that matter to a migration: strict typing (``rules``), references that must
exist (owner, organization, person, deal, stage), stage-implies-pipeline, person name split into
first/last, primary email defaulting to the first one, activity ``person_id`` as the primary
participant, custom fields under ``custom_fields`` keyed by their 40-hex code.
"""

from __future__ import annotations

from typing import Any

from ferry.sandbox.pipedrive.rules import Invalid, check_body, check_custom
from ferry.sandbox.pipedrive.state import Account, compact, now_v2

REFS = {"owner_id": "user", "org_id": "organization", "person_id": "person",
        "deal_id": "deal"}


def _contacts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [{"value": i["value"], "primary": bool(i.get("primary")),
            "label": i.get("label") or "work"} for i in items]
    if out and not any(i["primary"] for i in out):
        out[0]["primary"] = True
    return out


def _address(v: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if v is None else compact(v)


def _custom(acc: Account, obj: str, values: dict[str, Any], current: dict[str, Any]
            ) -> dict[str, Any]:
    out = dict(current)
    for key, value in values.items():
        f = acc.field(obj, key)
        if f is None or not f["is_custom_field"]:
            raise Invalid(f"custom_fields.{key}", f'"custom_fields.{key}" is not a known field')
        if f["is_deleted"]:
            continue  # keys of deleted fields are ignored
        out[key] = check_custom(f, value, lambda t, i: acc.exists(t, i))
    return out


def _check_refs(acc: Account, body: dict[str, Any]) -> None:
    for key, kind in REFS.items():
        if body.get(key) is not None and not acc.exists(kind, body[key]):
            raise Invalid(key, f'"{key}" refers to an item that does not exist')


def apply(acc: Account, obj: str, body: Any, rec: dict[str, Any] | None) -> dict[str, Any]:
    """Create (``rec`` None) or patch a record; raises Invalid with the documented messages."""
    creating = rec is None
    check_body(obj, body, creating=creating, contact_sync=acc.contact_sync)
    _check_refs(acc, body)
    if obj == "deal" and body.get("is_deleted"):
        raise Invalid("is_deleted", '"is_deleted" cannot be set through this endpoint')
    new = dict(rec or {})
    for key, value in body.items():
        if key == "custom_fields":
            continue
        if key in ("emails", "phones", "im"):
            value = _contacts(value)
        elif key in ("postal_address", "address", "location"):
            value = _address(value)
        new[key] = value
    if obj in ("person", "organization", "deal"):
        new["custom_fields"] = _custom(acc, obj, body.get("custom_fields") or {},
                                       new.get("custom_fields") or {})
    getattr(_Finish, obj)(acc, new, body, creating)
    _silent_truncate(acc, obj, new)
    now = now_v2()
    if creating:
        new["id"] = acc.next_id(obj)
        new["add_time"] = body.get("add_time") or now
        new["is_deleted"] = False
        new.setdefault("owner_id", 1)
        if obj != "activity":
            new.setdefault("visible_to", 3)
    new["update_time"] = now
    acc.records[obj][new["id"]] = new
    return new


def _silent_truncate(acc: Account, obj: str, rec: dict[str, Any]) -> None:
    """Test knob ``extra["silent_truncate"] = "object.field:N"`` (a standard key or a custom
    field's name): cut that text to N characters and answer success, like a lossy system would,
    so the sample diff has a planted mismatch to find."""
    spec = getattr(acc, "silent_truncate", None)
    if not spec or spec[0] != obj:
        return
    _, name, n = spec
    if isinstance(rec.get(name), str):
        rec[name] = rec[name][:n]
        return
    for f in acc.live_fields(obj):
        custom = rec.get("custom_fields") or {}
        code = f["field_code"]
        if f["is_custom_field"] and f["field_name"] == name and isinstance(custom.get(code),
                                                                            str):
            custom[code] = custom[code][:n]


class _Finish:
    @staticmethod
    def person(acc: Account, rec: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
        if "name" in body:
            if not body["name"].strip():
                raise Invalid("name", '"name" must not be empty')
            first, _, last = body["name"].strip().partition(" ")
            rec["first_name"], rec["last_name"] = first, last or None
        rec.setdefault("emails", [])
        rec.setdefault("phones", [])
        rec.setdefault("label_ids", [])

    @staticmethod
    def organization(acc: Account, rec: dict[str, Any], body: dict[str, Any],
                     creating: bool) -> None:
        rec.setdefault("label_ids", [])
        if body.get("industry") is not None:
            field = acc.field("organization", "industry") or {}
            if body["industry"] not in {o["id"] for o in field.get("options") or []}:
                raise Invalid("industry", '"industry" is not a valid option')

    @staticmethod
    def deal(acc: Account, rec: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
        if body.get("stage_id") is not None:
            stage = acc.stages.get(body["stage_id"])
            if stage is None or stage["is_deleted"]:
                raise Invalid("stage_id", '"stage_id" refers to an item that does not exist')
            rec["pipeline_id"] = stage["pipeline_id"]  # stage implies pipeline
        elif creating or "pipeline_id" in body:
            pid = body.get("pipeline_id")
            if pid is not None and (pid not in acc.pipelines or acc.pipelines[pid]["is_deleted"]):
                raise Invalid("pipeline_id", '"pipeline_id" refers to an item that does not exist')
            stage = acc.first_stage(pid)
            if stage is None:
                raise Invalid("pipeline_id", "pipeline has no stages")
            rec["stage_id"], rec["pipeline_id"] = stage["id"], stage["pipeline_id"]
        if "stage_id" in body or creating:
            rec["stage_change_time"] = now_v2()
        rec.setdefault("status", "open")
        rec.setdefault("value", 0)
        rec.setdefault("currency", "USD")
        rec.setdefault("is_archived", False)
        rec.setdefault("label_ids", [])
        rec.setdefault("origin", "API")
        status = rec["status"]
        if rec.get("won_time") and status != "won":
            raise Invalid("won_time", '"won_time" can only be set for won deals')
        if (rec.get("lost_time") or rec.get("lost_reason")) and status != "lost":
            raise Invalid("lost_time", '"lost_time" can only be set for lost deals')
        if rec.get("close_time") and status == "open":
            raise Invalid("close_time", '"close_time" can only be set for won or lost deals')

    @staticmethod
    def activity(acc: Account, rec: dict[str, Any], body: dict[str, Any],
                 creating: bool) -> None:
        if creating:
            rec.setdefault("type", "call")
            rec.setdefault("subject", "Call")
            rec.setdefault("done", False)
            rec.setdefault("busy", True)
            rec["creator_user_id"] = 1
        if "type" in body and body["type"] not in acc.activity_type_keys():
            raise Invalid("type", '"type" must be an existing activity type key')
        if "participants" in body:
            for p in body["participants"]:
                if not acc.exists("person", p["person_id"]):
                    raise Invalid("participants", '"participants" refers to a missing person')
            primary = next((p for p in body["participants"] if p.get("primary")),
                           (body["participants"] or [None])[0])
            rec["participants"] = [{"person_id": p["person_id"],
                                    "primary": p is primary} for p in body["participants"]]
            if "person_id" not in body:  # [doc] NOTES 5: set through the primary participant
                if primary:
                    rec["person_id"] = primary["person_id"]
                else:  # none left: the activity links no person
                    rec.pop("person_id", None)
        elif "person_id" in body:
            pid = body["person_id"]
            rec["participants"] = [{"person_id": pid, "primary": True}] if pid else []
        if body.get("done") and not rec.get("marked_as_done_time"):
            rec["marked_as_done_time"] = now_v2()


def shape(acc: Account, obj: str, rec: dict[str, Any], only: set[str] | None = None
          ) -> dict[str, Any]:
    """The v2 response body of one record."""
    out = compact(rec)
    if obj in ("person", "organization", "deal"):
        keys = [f["field_code"] for f in acc.live_fields(obj) if f["is_custom_field"]]
        if only is not None:
            keys = [k for k in keys if k in only]
        cf = rec.get("custom_fields") or {}
        out["custom_fields"] = {k: cf.get(k) for k in keys}
    return out


def _match(text: str, term: str, exact: bool) -> bool:
    return text.lower() == term.lower() if exact else term.lower() in text.lower()


def search(acc: Account, obj: str, term: str, fields: set[str], exact: bool
           ) -> list[dict[str, Any]]:
    """Items for ``GET /{obj}s/search`` (only searchable custom field types are looked at)."""
    searchable = {f["field_code"] for f in acc.live_fields(obj)
                  if f["is_custom_field"] and f["field_type"] in
                  {"address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}}
    items = []
    for rec in acc.records[obj].values():
        if rec.get("is_deleted"):
            continue
        texts: list[tuple[str, str]] = []
        label = "title" if obj == "deal" else "name"
        if "name" in fields or "title" in fields:
            texts.append(("name", str(rec.get(label) or "")))
        if "email" in fields:
            texts += [("email", e["value"]) for e in rec.get("emails") or []]
        if "phone" in fields:
            texts += [("phone", p["value"]) for p in rec.get("phones") or []]
        if "notes" in fields and rec.get("notes"):
            texts.append(("notes", rec["notes"]))
        if "custom_fields" in fields:
            for key in searchable:
                v = (rec.get("custom_fields") or {}).get(key)
                if isinstance(v, dict):
                    v = v.get("value")
                if v is not None:
                    texts.append(("custom_fields", str(v)))
        hits = [t for t in texts if _match(t[1], term, exact)]
        if hits:
            items.append({"result_score": 1.0 if exact else 0.5, "item": _item(acc, obj, rec)})
    return sorted(items, key=lambda i: i["item"]["id"])


def _item(acc: Account, obj: str, rec: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"id": rec["id"], "type": obj, "visible_to": rec.get("visible_to"),
                            "owner": {"id": rec.get("owner_id")}, "custom_fields": [],
                            "notes": []}
    if obj == "deal":
        base["title"] = rec.get("title")
    else:
        base["name"] = rec.get("name")
    if obj == "person":
        base["emails"] = [e["value"] for e in rec.get("emails") or []]
        base["phones"] = [p["value"] for p in rec.get("phones") or []]
        org = acc.records["organization"].get(rec.get("org_id") or 0)
        if org:
            base["organization"] = {"id": org["id"], "name": org["name"]}
    return compact(base)
