"""One emulated Pipedrive company account: users, records, fields, pipelines, activity types.

Records are kept in the v2 response shape (v1 shape for notes and files) so responses are the
stored dicts minus empty values. Deletes are soft (``is_deleted`` / ``active_flag``): lists and
single GETs stop showing the record, ``snapshot()`` still has it flagged.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
from typing import Any

from ferry.sandbox.pipedrive.rules import standard

ENTITIES = ("person", "organization", "deal", "activity")
OBJECTS = (*ENTITIES, "note", "file")
FIELD_LIMIT = {"lite": 30, "essential": 30, "growth": 100, "advanced": 100, "professional": 300,
               "premium": 500, "power": 500}
DEFAULT_STAGES = ("Qualified", "Contact Made", "Demo Scheduled", "Proposal Made",
                  "Negotiations Started")
#: organization ``industry`` options (emulator's list; the real one is per account, read it from
#: ``GET /organizationFields``)
INDUSTRIES = ("Agriculture", "Construction", "Education", "Finance", "Healthcare", "Hospitality",
              "Manufacturing", "Media", "Non-profit", "Real estate", "Retail", "Technology",
              "Transportation", "Other")
DEFAULT_TYPES = (("Call", "call", "call"), ("Meeting", "meeting", "meeting"),
                 ("Task", "task", "task"), ("Deadline", "deadline", "deadline"),
                 ("Email", "email", "email"), ("Lunch", "lunch", "lunch"))
_SYSTEM_TYPE = {"owner_id": "user", "org_id": "org", "person_id": "people", "deal_id": "deal",
                "stage_id": "stage", "visible_to": "visible_to", "status": "status",
                "phones": "phone", "label_ids": "set", "type": "varchar_options"}
_KIND_TYPE = {"str": "varchar", "int": "int", "number": "double", "bool": "boolean",
              "date": "date", "datetime": "date", "time": "time", "contacts": "varchar",
              "address": "address", "ids": "set", "participants": "json", "attendees": "json"}


def now_v2() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_v1() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"field": "id", "fieldValue": last_id, "sortDirection": "asc",
                      "id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return int(json.loads(raw)["id"])


def compact(d: dict[str, Any]) -> dict[str, Any]:
    """Drop unset values: the v2 schemas mark almost nothing nullable."""
    return {k: v for k, v in d.items() if v is not None}


class Account:
    def __init__(self, users: list[str], *, seed: int, plan: str, max_file_bytes: int,
                 contact_sync: bool = False) -> None:
        self.contact_sync = contact_sync
        self.rng = random.Random(seed)  # noqa: S311 - emulator keys, not secrets
        self.api_token = f"{self.rng.getrandbits(160):040x}"
        self.company_domain = "ferry-sandbox"
        self.plan = plan
        self.max_file_bytes = max_file_bytes
        self.records: dict[str, dict[int, dict[str, Any]]] = {o: {} for o in OBJECTS}
        self.seq: dict[str, int] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.fields: dict[str, list[dict[str, Any]]] = {}
        self.pipelines: dict[int, dict[str, Any]] = {}
        self.stages: dict[int, dict[str, Any]] = {}
        self.activity_types: dict[int, dict[str, Any]] = {}
        self.option_seq = 0
        self._setup(users)

    def next_id(self, kind: str) -> int:
        self.seq[kind] = self.seq.get(kind, 0) + 1
        return self.seq[kind]

    # -- initial account ------------------------------------------------------------------------
    def _setup(self, emails: list[str]) -> None:
        self.add_user("owner@ferry-sandbox.example", "Account Owner", owner=True)
        for email in emails:
            if email.lower() != "owner@ferry-sandbox.example":
                self.add_user(email, email.split("@")[0].replace(".", " ").title())
        for obj in ENTITIES:
            self.fields[obj] = [
                {"field_code": key, "field_name": key.replace("_", " ").capitalize(),
                 "field_type": _SYSTEM_TYPE.get(key, _KIND_TYPE[kind]), "options": None,
                 "subfields": None, "is_custom_field": False,
                 "is_optional_response_field": False, "is_deleted": False}
                for key, kind in standard(obj, self.contact_sync).items()]
        industry = next(f for f in self.fields["organization"] if f["field_code"] == "industry")
        industry.update(field_type="enum", options=[])  # a system option field (values: ids)
        self.add_options(industry, list(INDUSTRIES))
        pipeline = self.add_pipeline("Pipeline")
        for name in DEFAULT_STAGES:
            self.add_stage(name, pipeline["id"])
        for name, key, icon in DEFAULT_TYPES:
            self.add_activity_type(name, icon, None, key=key, custom=False)

    def add_user(self, email: str, name: str, *, owner: bool = False) -> dict[str, Any]:
        uid = self.next_id("user")
        user = {"id": uid, "name": name, "email": email, "default_currency": "USD",
                "locale": "en_US", "lang": 1, "activated": True, "last_login": now_v1(),
                "created": now_v1(), "modified": now_v1(), "has_created_company": owner,
                "access": [{"app": "sales", "admin": owner,
                            "permission_set_id": f"{self.rng.getrandbits(128):032x}"}],
                "active_flag": True, "timezone_name": "UTC", "timezone_offset": "+00:00",
                "role_id": 1, "is_you": owner, "is_deleted": False}
        self.users[uid] = user
        return user

    # -- pipelines, stages, activity types -----------------------------------------------------
    def add_pipeline(self, name: str, probability: bool = False) -> dict[str, Any]:
        pid = self.next_id("pipeline")
        live = [p for p in self.pipelines.values() if not p["is_deleted"]]
        self.pipelines[pid] = {"id": pid, "name": name, "order_nr": len(live) + 1,
                               "is_deleted": False, "is_deal_probability_enabled": probability,
                               "add_time": now_v2(), "update_time": now_v2()}
        return self.pipelines[pid]

    def add_stage(self, name: str, pipeline_id: int, probability: int = 100,
                  rot: bool = False, days: int | None = None) -> dict[str, Any]:
        sid = self.next_id("stage")
        order = 1 + sum(1 for s in self.stages.values()
                        if s["pipeline_id"] == pipeline_id and not s["is_deleted"])
        self.stages[sid] = {"id": sid, "order_nr": order, "name": name, "is_deleted": False,
                            "deal_probability": probability, "pipeline_id": pipeline_id,
                            "is_deal_rot_enabled": rot, "days_to_rotten": days,
                            "add_time": now_v2(), "update_time": now_v2()}
        return self.stages[sid]

    def first_stage(self, pipeline_id: int | None) -> dict[str, Any] | None:
        if pipeline_id is None:
            live = sorted((p for p in self.pipelines.values() if not p["is_deleted"]),
                          key=lambda p: p["order_nr"])
            if not live:
                return None
            pipeline_id = live[0]["id"]
        stages = sorted((s for s in self.stages.values()
                         if s["pipeline_id"] == pipeline_id and not s["is_deleted"]),
                        key=lambda s: s["order_nr"])
        return stages[0] if stages else None

    def add_activity_type(self, name: str, icon: str, color: str | None, *, key: str = "",
                          custom: bool = True) -> dict[str, Any]:
        tid = self.next_id("activity_type")
        key = key or re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or f"type_{tid}"
        if any(t["key_string"] == key for t in self.activity_types.values()):
            key = f"{key}{tid}"
        self.activity_types[tid] = {"id": tid, "order_nr": tid, "name": name,
                                    "key_string": key, "icon_key": icon, "active_flag": True,
                                    "color": color, "is_custom_flag": custom,
                                    "add_time": now_v1(), "update_time": now_v1()}
        return self.activity_types[tid]

    def activity_type_keys(self) -> set[str]:
        return {t["key_string"] for t in self.activity_types.values() if t["active_flag"]}

    # -- custom fields ---------------------------------------------------------------------------
    def custom_count(self) -> int:
        return sum(1 for fs in self.fields.values() for f in fs
                   if f["is_custom_field"] and not f["is_deleted"])

    def field_limit(self) -> int | None:
        return FIELD_LIMIT.get(self.plan)

    def add_field(self, obj: str, name: str, field_type: str,
                  options: list[dict[str, Any]] | None) -> dict[str, Any]:
        key = f"{self.rng.getrandbits(160):040x}"
        f: dict[str, Any] = {"field_code": key, "field_name": name, "field_type": field_type,
                             "options": None, "subfields": None, "is_custom_field": True,
                             "is_optional_response_field": False, "is_deleted": False,
                             "ui_visibility": {"add_visible_flag": False,
                                               "details_visible_flag": True}}
        if field_type in {"enum", "set"}:
            f["options"] = []
            self.add_options(f, [o["label"] for o in options or []])
        self.fields[obj].append(f)
        return f

    def add_options(self, f: dict[str, Any], labels: list[str]) -> list[dict[str, Any]]:
        added = []
        for label in labels:
            self.option_seq += 1
            added.append({"id": self.option_seq, "label": label, "color": None,
                          "add_time": now_v2(), "update_time": now_v2()})
        f["options"].extend(added)
        return added

    def delete_options(self, f: dict[str, Any], ids: list[int]) -> list[dict[str, Any]]:
        gone = [o for o in f["options"] if o["id"] in ids]
        f["options"] = [o for o in f["options"] if o["id"] not in ids]
        return gone

    def field(self, obj: str, key: str) -> dict[str, Any] | None:
        return next((f for f in self.fields.get(obj, []) if f["field_code"] == key), None)

    def live_fields(self, obj: str) -> list[dict[str, Any]]:
        return [f for f in self.fields.get(obj, []) if not f["is_deleted"]]

    # -- records -------------------------------------------------------------------------------
    def live(self, obj: str, rid: int) -> dict[str, Any] | None:
        rec = self.records[obj].get(rid)
        if rec is None:
            return None
        if rec.get("is_deleted") or rec.get("active_flag") is False:
            return None
        return rec

    def exists(self, kind: str, rid: int) -> bool:
        if kind == "user":
            return rid in self.users and self.users[rid]["active_flag"]
        obj = {"org": "organization", "people": "person", "org_id": "organization",
               "person_id": "person", "deal_id": "deal"}.get(kind, kind)
        return self.live(obj, rid) is not None

    def page_v2(self, rows: list[dict[str, Any]], cursor: str | None, limit: int,
                desc: bool = False) -> tuple[list[dict[str, Any]], str | None]:
        """One cursor page ordered by id (the cursor holds the last id served)."""
        if cursor:
            after = decode_cursor(cursor)
            rows = [r for r in rows if (r["id"] < after if desc else r["id"] > after)]
        rows = sorted(rows, key=lambda r: r["id"], reverse=desc)
        page = rows[:limit]
        more = len(rows) > limit
        return page, (encode_cursor(page[-1]["id"]) if more and page else None)

    def snapshot(self) -> dict[str, Any]:
        return {"company_domain": self.company_domain, "plan": self.plan,
                "users": list(self.users.values()),
                "records": {o: list(v.values()) for o, v in self.records.items()},
                "fields": self.fields, "pipelines": list(self.pipelines.values()),
                "stages": list(self.stages.values()),
                "activity_types": list(self.activity_types.values()),
                "max_file_bytes": self.max_file_bytes}
