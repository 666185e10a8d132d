"""The emulated org: schema, records, indexes, users, sessions, API usage and FLS grants.

Everything lives in memory and is touched only from the event loop (handlers are ``async``), so
there is no locking. Ids are real-looking 18-character Salesforce ids (prefix + counter + the
case-folding checksum) so clients that validate id shape accept them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ferry.sandbox.clock import Clock
from ferry.sandbox.salesforce.schema import FieldDef, ObjectDef, standard_objects

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ORG_ID = "00D5g000004FeRyEAK"
DAY_S = 86_400.0


def to18(id15: str) -> str:
    """The 18-character form of a 15-character id (checksum of upper-case positions)."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, c in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= c <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX[bits]
    return id15 + suffix


#: objects whose rows are unique by a pair of fields (the platform's duplicate rule)
PAIRS = {"FieldPermissions": ("ParentId", "Field"),
         "ObjectPermissions": ("ParentId", "SobjectType"),
         "PermissionSetAssignment": ("AssigneeId", "PermissionSetId"),
         "ContentDocumentLink": ("ContentDocumentId", "LinkedEntityId")}


#: the rows ``Org.grants`` reads: a write to any of them drops its cache (and a request's
#: own view of them, ``Dml._granted``)
GRANT_ROWS = frozenset({"PermissionSetAssignment", "FieldPermissions", "ObjectPermissions"})


def pair_key(pair: tuple[str, ...], rec: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(rec.get(p, "")).lower() for p in pair)


_NOW: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """The current time to the second (the platform's audit stamps carry ``.000``): formatted
    once a second, not for each of the four stamps of every row written."""
    global _NOW
    second = int(time.time())
    if _NOW[0] != second:
        _NOW = (second, dt.datetime.fromtimestamp(second, dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.000+0000"))
    return _NOW[1]


@dataclass
class Session:
    token: str
    user_id: str
    issued: float


@dataclass
class Org:
    clock: Clock
    users: list[str]
    daily_limit: int = 100_000
    audit_fields: bool = False
    #: State and Country/Territory Picklists on (``addresses``)
    address_picklists: bool = False
    session_ttl: float = 0.0  # emulated seconds a session lives; 0 = forever
    objects: dict[str, ObjectDef] = field(default_factory=standard_objects)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    #: the Recycle Bin: deleted rows (IsDeleted true) that queryAll still returns [doc]
    recycle: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)  # ContentVersion id → content
    sessions: dict[str, Session] = field(default_factory=dict)
    counter: int = 0
    usage: int = 0
    window_start: float = 0.0
    next_prefix: int = 0
    index: dict[tuple[str, str], dict[Any, set[str]]] = field(default_factory=dict)
    #: object → its ``PAIRS`` key (lower-cased values) → record ids: the duplicate check of a
    #: link or grant looked at every row of its object per insert (quadratic in files)
    pairs: dict[str, dict[tuple[str, ...], set[str]]] = field(default_factory=dict)
    tooling_objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → row
    tooling_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    integration_user: str = ""
    _lower: dict[str, str] = field(default_factory=dict)
    #: key prefix → the object last found holding an id with it (``object_of``'s first guess)
    _by_prefix: dict[str, str] = field(default_factory=dict)
    #: user → ``grants``: dropped whenever a grant row is written or removed (``reindex``);
    #: every request worked them out again from every grant row of the org
    _grants: dict[str, tuple[dict[str, bool], dict[str, dict[str, bool]]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        self.window_start = self.clock.monotonic()
        if self.address_picklists:
            from ferry.sandbox.salesforce.addresses import add_fields

            add_fields(self.objects)
        for name in self.objects:
            self.records.setdefault(name, {})
            self._lower[name.lower()] = name
        self.integration_user = self._add_user("integration@ferry-sandbox.example",
                                               "Integration", "User")
        for email in self.users:
            local = email.split("@")[0]
            first, _, last = local.replace("_", ".").partition(".")
            self._add_user(email, first.title(), (last or first).title())

    # -- ids and objects -------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        self.counter += 1
        n, digits = self.counter, ""
        while n:
            n, r = divmod(n, 62)
            digits = _B62[r] + digits
        return to18(prefix + "5g0" + digits.rjust(9, "0"))

    def new_prefix(self) -> str:
        self.next_prefix += 1
        return "a0" + _B62[self.next_prefix % 62]

    def obj(self, name: str) -> ObjectDef | None:
        real = self._lower.get(name.lower())
        return self.objects.get(real) if real else None

    def add_object(self, od: ObjectDef) -> None:
        self.objects[od.name] = od
        self._lower[od.name.lower()] = od.name
        self.records.setdefault(od.name, {})
        if od.enable_activities:
            for act in ("Task", "Event"):
                what = self.objects[act].fields["WhatId"]
                what.reference_to = (*what.reference_to, od.name)

    def drop_object(self, name: str) -> None:
        od = self.objects.pop(name)
        self._lower.pop(name.lower(), None)
        for rid in self.records.pop(name, {}):
            self.deleted.add(rid)
        for key in [k for k in self.index if k[0] == name]:
            del self.index[key]
        for act in ("Task", "Event"):
            what = self.objects[act].fields["WhatId"]
            what.reference_to = tuple(r for r in what.reference_to if r != od.name)

    def object_of(self, rid: str) -> str | None:
        guess = self._by_prefix.get(rid[:3])
        od = self.objects.get(guess) if guess else None
        if od is not None and rid.startswith(od.key_prefix) and rid in self.records.get(
                od.name, {}):
            return od.name  # ids are unique across objects: the first match is the only one
        for od in self.objects.values():
            if rid.startswith(od.key_prefix) and rid in self.records.get(od.name, {}):
                self._by_prefix[rid[:3]] = od.name
                return od.name
        return None

    def get(self, rid: str) -> tuple[str, dict[str, Any]] | None:
        if len(rid) == 15:
            rid = to18(rid)
        name = self.object_of(rid)
        return (name, self.records[name][rid]) if name else None

    # -- users and sessions ----------------------------------------------------------------
    def _add_user(self, email: str, first: str, last: str) -> str:
        uid = self.new_id("005")
        self.records["User"][uid] = {
            "Id": uid, "Username": email + ".sandbox", "Email": email, "FirstName": first,
            "LastName": last, "Name": f"{first} {last}", "Alias": (first[:1] + last)[:8].lower(),
            "IsActive": True, "IsDeleted": False, "CreatedDate": now_iso(),
            "LastModifiedDate": now_iso(), "SystemModstamp": now_iso()}
        self.reindex("User", uid, None, self.records["User"][uid])
        return uid

    def user_by_username(self, username: str) -> str | None:
        for uid, u in self.records["User"].items():
            if u["Username"].lower() == username.lower() or u["Email"].lower() == username.lower():
                return uid
        return None

    def open_session(self, user_id: str) -> Session:
        token = f"{ORG_ID[:15]}!AR" + secrets.token_urlsafe(40)
        s = Session(token, user_id, self.clock.monotonic())
        self.sessions[token] = s
        return s

    # -- API usage ---------------------------------------------------------------------------
    def count_call(self) -> bool:
        """Count one API request; False when the rolling day's allocation is spent."""
        now = self.clock.monotonic()
        if now - self.window_start >= DAY_S:
            self.window_start, self.usage = now, 0
        if self.usage >= self.daily_limit:
            return False
        self.usage += 1
        return True

    def limit_info(self) -> str:
        return f"api-usage={self.usage}/{self.daily_limit}"

    # -- unique / external id indexes ------------------------------------------------------
    def reindex(self, obj: str, rid: str, old: dict[str, Any] | None,
                new: dict[str, Any] | None) -> None:
        od = self.objects[obj]
        if obj in GRANT_ROWS:
            self._grants.clear()
        for f in od.fields.values():
            # indexed: unique, external id and id-lookup fields (Id itself is the records' key)
            if not (f.unique or f.external_id or f.id_lookup) or f.type == "id":
                continue
            idx = self.index.setdefault((obj, f.name), {})
            for rec, add in ((old, False), (new, True)):
                if rec is None or rec.get(f.name) in (None, ""):
                    continue
                key = rec[f.name] if f.case_sensitive else str(rec[f.name]).lower()
                if add:
                    idx.setdefault(key, set()).add(rid)
                else:
                    idx.get(key, set()).discard(rid)

        pair = PAIRS.get(obj)
        if pair:
            pidx = self.pairs.setdefault(obj, {})
            for rec, add in ((old, False), (new, True)):
                if rec is None:
                    continue
                pkey = pair_key(pair, rec)
                if add:
                    pidx.setdefault(pkey, set()).add(rid)
                else:
                    pidx.get(pkey, set()).discard(rid)

    def lookup(self, obj: str, fname: str, value: Any) -> set[str]:
        od = self.objects[obj]
        f = od.get(fname)
        if f is None:
            return set()
        if f.type == "id":
            rid = to18(value) if isinstance(value, str) and len(value) == 15 else value
            return {rid} if rid in self.records[obj] else set()
        key = value if f.case_sensitive else str(value).lower()
        if (obj, f.name) in self.index:
            return set(self.index[(obj, f.name)].get(key, set()))
        return {rid for rid, r in self.records[obj].items()
                if r.get(f.name) is not None and (r[f.name] if f.case_sensitive
                                                  else str(r[f.name]).lower()) == key}

    # -- field-level security ----------------------------------------------------------------
    def grants(self, user_id: str) -> tuple[dict[str, bool], dict[str, dict[str, bool]]]:
        """(field → editable, object → {Read, Create, Edit, Delete}) granted to ``user_id``
        (cached until a grant row changes; callers only read them)."""
        cached = self._grants.get(user_id)
        if cached is not None:
            return cached
        sets = {r["PermissionSetId"] for r in self.records["PermissionSetAssignment"].values()
                if r["AssigneeId"] == user_id}
        fields: dict[str, bool] = {}
        for r in self.records["FieldPermissions"].values():
            if r["ParentId"] in sets and r.get("PermissionsRead"):
                key = r["Field"].lower()
                fields[key] = fields.get(key, False) or bool(r.get("PermissionsEdit"))
        objs: dict[str, dict[str, bool]] = {}
        for r in self.records["ObjectPermissions"].values():
            if r["ParentId"] in sets:
                cur = objs.setdefault(r["SobjectType"].lower(), {})
                for p in ("Read", "Create", "Edit", "Delete"):
                    cur[p] = cur.get(p, False) or bool(r.get(f"Permissions{p}"))
        self._grants[user_id] = (fields, objs)
        return fields, objs

    def can_see_object(self, od: ObjectDef, user_id: str, perm: str = "Read") -> bool:
        if not od.custom:
            return True
        return self.grants(user_id)[1].get(od.name.lower(), {}).get(perm, False)

    def visible_fields(self, od: ObjectDef, user_id: str, *, edit: bool = False
                       ) -> dict[str, FieldDef]:
        """Fields this user may read (or edit): custom fields only with a FieldPermissions
        grant; required custom fields are always visible, as on the platform."""
        granted = self.grants(user_id)[0]
        out: dict[str, FieldDef] = {}
        for f in od.fields.values():
            if not f.custom or f.required:
                out[f.name.lower()] = f
                continue
            key = f"{od.name}.{f.name}".lower()
            if key in granted and (granted[key] or not edit):
                out[f.name.lower()] = f
        return out

    # -- admin view ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        custom = {od.name: {"label": od.label, "key_prefix": od.key_prefix,
                            "custom_object": od.custom,
                            "fields": {f.name: {"type": f.type, "length": f.length,
                                                "externalId": f.external_id,
                                                "unique": f.unique,
                                                "referenceTo": list(f.reference_to)}
                                       for f in od.fields.values() if f.custom}}
                  for od in self.objects.values()
                  if od.custom or any(f.custom for f in od.fields.values())}
        perms = {"permission_sets": list(self.records["PermissionSet"].values()),
                 "field_permissions": list(self.records["FieldPermissions"].values()),
                 "object_permissions": list(self.records["ObjectPermissions"].values()),
                 "assignments": list(self.records["PermissionSetAssignment"].values())}
        objects = {name: [{k: v for k, v in r.items() if k != "VersionData"}
                          for r in recs.values()]
                   for name, recs in self.records.items()}
        return {"objects": objects, "custom_metadata": custom, "permissions": perms,
                "api_usage": {"used": self.usage, "max": self.daily_limit},
                "integration_user": self.integration_user}
