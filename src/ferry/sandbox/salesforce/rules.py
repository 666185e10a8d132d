"""DML with the platform's validation: every write path (REST, collections, Bulk) goes through here.

One ``Dml`` serves one request or bulk job for one user, so field visibility is computed once.
Errors are ``{"statusCode", "message", "fields"}`` dicts as collections return them; messages name
fields, never values. Faults that are per-row on the platform live here too: ``lock`` (the
``--faults lock=R`` rate) fails a row with UNABLE_TO_LOCK_ROW, and the optional silent truncation
(``SandboxOptions.extra["silent_truncate"] = "Object.Field:N"``) cuts one field without telling,
so a diff downstream has something real to find.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import random
import re
from typing import Any

from ferry.sandbox.salesforce.effects import (
    Invalid,
    err,
    event_rules,
    hooks_after_insert,
    hooks_before_insert,
    remove,
    stored_datetime,
    unique_pairs,
)
from ferry.sandbox.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef
from ferry.sandbox.salesforce.state import GRANT_ROWS, Org, now_iso, to18

Err = dict[str, Any]
_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AUDIT = {"createddate", "createdbyid", "lastmodifieddate", "lastmodifiedbyid"}
MAX_JSON_FILE = 37_500_000  # base64 characters in a JSON ContentVersion body


def _bad(f: FieldDef) -> Err:
    return err("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type",
               f.name)


class Dml:
    def __init__(self, org: Org, user_id: str, *, csv: bool = False, lock_rate: float = 0.0,
                 rng: random.Random | None = None, truncate: tuple[str, str, int] | None = None,
                 max_file_bytes: int = 2_000_000_000) -> None:
        self.org, self.user, self.csv = org, user_id, csv
        self.lock_rate, self.rng, self.truncate = lock_rate, rng or random.Random(0), truncate
        self.max_file_bytes = max_file_bytes
        self._vis: dict[tuple[str, bool], dict[str, FieldDef]] = {}
        #: (object, permission) → granted, worked out once per request as the fields are
        #: (each row of a bulk job read every grant of the org to find it)
        self._perms: dict[tuple[str, str], bool] = {}
        self._checks: dict[tuple[str, int], tuple[list[str], list[FieldDef]]] = {}

    def fields(self, od: ObjectDef, edit: bool = False) -> dict[str, FieldDef]:
        key = (od.name, edit)
        if key not in self._vis:
            self._vis[key] = self.org.visible_fields(od, self.user, edit=edit)
        return self._vis[key]

    # -- public operations: each returns (id, created, errors) --------------------------------
    def insert(self, od: ObjectDef, values: dict[str, Any]) -> tuple[str | None, bool, list[Err]]:
        try:
            self._object_perm(od, "Create")
            rec = self._coerce(od, values, insert=True)
            return self._store(od, None, rec), True, []
        except Invalid as e:
            return None, False, [e.error]

    def update(self, od: ObjectDef, rid: str, values: dict[str, Any]
               ) -> tuple[str | None, bool, list[Err]]:
        try:
            self._object_perm(od, "Edit")
            rid = self._existing(od, rid)
            rec = self._coerce(od, values, insert=False)
            return self._store(od, rid, rec), False, []
        except Invalid as e:
            return None, False, [e.error]

    def upsert(self, od: ObjectDef, ext: str, values: dict[str, Any]
               ) -> tuple[str | None, bool, list[Err]]:
        f = od.get(ext)
        if f is None or not (f.external_id or f.id_lookup or f.type == "id"):
            return None, False, [err("INVALID_FIELD", f"{ext} is not an external id field on"
                                 f" {od.name}", ext)]
        low = f.name.lower()
        key = next((v for k, v in values.items() if k.lower() == low), None)
        if key in (None, ""):
            return None, False, [err("MISSING_ARGUMENT", f"{f.name} not specified", f.name)]
        found = self.org.lookup(od.name, f.name, key)
        if len(found) > 1:
            return None, False, [err("DUPLICATE_EXTERNAL_ID", f"{f.name}: more than one record"
                                     " found for external id field", f.name)]
        if found:
            skip = {low, "id"}
            rest = {k: v for k, v in values.items() if k.lower() not in skip}
            return self.update(od, next(iter(found)), rest)
        if f.type == "id":
            return None, False, [err("NOT_FOUND", "Provided external ID field does not exist"
                                     " or is not accessible", f.name)]
        return self.insert(od, values)

    def delete(self, od: ObjectDef, rid: str) -> tuple[str | None, bool, list[Err]]:
        try:
            if od.name == "User":
                raise Invalid(err("DELETE_FAILED", "users cannot be deleted"))
            self._object_perm(od, "Delete")
            rid = self._existing(od, rid)
            self._lock()
        except Invalid as e:
            return None, False, [e.error]
        remove(self.org, od.name, rid)
        self._granted(od)
        return rid, False, []

    def _granted(self, od: ObjectDef) -> None:
        """A write to a grant (a set's assignment, object or field permissions): what this
        request may see and do is worked out again."""
        if od.name in GRANT_ROWS:
            self._vis.clear()
            self._perms.clear()

    # -- internals -------------------------------------------------------------------------
    def _object_perm(self, od: ObjectDef, perm: str) -> None:
        key = (od.name, perm)
        if key not in self._perms:
            self._perms[key] = self.org.can_see_object(od, self.user, perm)
        if not self._perms[key]:
            raise Invalid(err("INSUFFICIENT_ACCESS_OR_READONLY", f"no {perm} access to"
                              f" {od.name}"))
        if od.queryable_only and perm != "Delete":
            raise Invalid(err("INVALID_TYPE", f"{od.name} cannot be written directly"))

    def _existing(self, od: ObjectDef, rid: str) -> str:
        if not isinstance(rid, str) or not _ID.match(rid):
            raise Invalid(err("MALFORMED_ID", "malformed id", "Id"))
        rid = to18(rid) if len(rid) == 15 else rid
        if rid in self.org.records[od.name]:
            return rid
        if rid in self.org.deleted:
            raise Invalid(err("ENTITY_IS_DELETED", "entity is deleted"))
        raise Invalid(err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "Id"))

    def _lock(self) -> None:
        if self.lock_rate and self.rng.random() < self.lock_rate:
            raise Invalid(err("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to"
                              " this record or 1 records"))

    def _coerce(self, od: ObjectDef, values: dict[str, Any], *, insert: bool) -> dict[str, Any]:
        vis = self.fields(od, edit=True)
        seen = self.fields(od)
        csv, audit = self.csv, insert and self.org.audit_fields
        out: dict[str, Any] = {}
        for key, raw in values.items():
            low = key.lower()
            if key == "attributes" or (low == "id" and not insert):
                continue
            if "." in key or isinstance(raw, dict):
                fd, rid = self._relationship(od, key, raw)
                if rid is not None:
                    out[fd.name] = rid
                continue
            f = vis.get(low)
            if f is None:
                if low in seen:
                    raise Invalid(err("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update"
                                      f" fields: {seen[low].name}", key))
                raise Invalid(err("INVALID_FIELD", f"No such column '{key}' on sobject of type"
                                  f" {od.name}", key))
            if not (f.createable if insert else f.updateable) and not (
                    audit and f.name.lower() in AUDIT):
                raise Invalid(err("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update"
                                  f" fields: {f.name}", f.name))
            if csv and raw == "":
                continue  # empty = leave unchanged
            if raw is None or (csv and raw == "#N/A"):
                out[f.name] = None
                continue
            out[f.name] = self._value(f, raw, od)
        return out

    def _relationship(self, od: ObjectDef, key: str, raw: Any) -> tuple[FieldDef, str | None]:
        """``Rel.Ext`` / ``Type:Rel.Ext`` columns and ``{"Rel": {"Ext": v}}`` REST values."""
        if isinstance(raw, dict):
            rel, target = key, (raw.get("attributes") or {}).get("type")
            pairs = [(k, v) for k, v in raw.items() if k != "attributes"]
            if len(pairs) != 1:
                raise Invalid(err("INVALID_FIELD", f"bad foreign key reference {key}", key))
            ext, value = pairs[0]
        else:
            head, _, ext = key.partition(".")
            target, _, rel = head.rpartition(":")
            target = target or None
            value = raw
        fd = od.relationship(rel)
        if fd is None or fd.name.lower() not in self.fields(od, edit=True):
            raise Invalid(err("INVALID_FIELD", f"No such relationship {rel} on {od.name}", key))
        poly = len(fd.reference_to) > 1
        if poly and not target:
            raise Invalid(err("INVALID_FIELD", f"{rel} is polymorphic: the type is needed", key))
        if target and not poly and not isinstance(raw, dict):
            raise Invalid(err("INVALID_FIELD", "type is not needed for non polymorphic foreign"
                              " key references", key))
        target = target or fd.reference_to[0]
        tod = self.org.obj(target)
        if tod is None or tod.name not in fd.reference_to:
            raise Invalid(err("INVALID_FIELD", f"{target} is not referenced by {rel}", key))
        if value in (None, "") or (self.csv and value == "#N/A"):
            return fd, None
        tf = tod.get(ext)
        if tf is None or not (tf.external_id or tf.id_lookup or tf.type == "id"):
            raise Invalid(err("INVALID_FIELD", f"{ext} is not an indexed field of {tod.name}",
                              key))
        found = self.org.lookup(tod.name, tf.name, value)
        if len(found) != 1:
            which = "not found" if not found else "matches more than one record"
            raise Invalid(err("INVALID_FIELD", f"Foreign key external ID {which} for field"
                              f" {tf.name} in entity {tod.name}", key))
        return fd, next(iter(found))

    def _value(self, f: FieldDef, raw: Any, od: ObjectDef) -> Any:
        t = f.type
        if t in TEXT_TYPES:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise Invalid(_bad(f))
            s = str(raw)
            if f.length and len(s) > f.length:
                raise Invalid(err("STRING_TOO_LONG", f"{f.label}: data value too large"
                                  f" (max length={f.length})", f.name))
            if t == "email" and not _EMAIL.match(s):
                raise Invalid(err("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address",
                                  f.name))
            if f.restricted and f.picklist:
                parts = s.split(";") if t == "multipicklist" else [s]
                if any(p not in f.picklist for p in parts):
                    raise Invalid(err("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                      f"{f.label}: bad value for restricted picklist field",
                                      f.name))
            return s
        if t == "boolean":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in {"true", "false", "1", "0"}:
                return raw.lower() in {"true", "1"}
            raise Invalid(_bad(f))
        if t in NUMBER_TYPES:
            try:
                num = float(raw) if not isinstance(raw, bool) else None
            except (TypeError, ValueError):
                num = None
            if num is None or num != num:
                raise Invalid(_bad(f))
            digits = f.precision - f.scale if f.precision else 18
            if abs(num) >= 10 ** digits:
                raise Invalid(err("NUMBER_OUTSIDE_VALID_RANGE", f"{f.label}: number outside"
                                  " valid range", f.name))
            if t == "int":
                return int(num)
            return round(num, f.scale) if f.scale else num
        if t == "date":
            try:
                return dt.date.fromisoformat(str(raw)).isoformat()
            except ValueError:
                raise Invalid(_bad(f)) from None
        if t == "datetime":
            try:
                return stored_datetime(str(raw))
            except ValueError:
                raise Invalid(_bad(f)) from None
        if t == "reference":
            return self._reference(f, raw)
        if t == "base64":
            if not isinstance(raw, str | bytes):
                raise Invalid(_bad(f))
            if isinstance(raw, bytes):
                return raw
            if len(raw) > MAX_JSON_FILE:
                raise Invalid(err("STORAGE_LIMIT_EXCEEDED", "base64 body over 37.5 MB: use a"
                                  " multipart request", f.name))
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise Invalid(_bad(f)) from None
        raise Invalid(_bad(f))

    def _reference(self, f: FieldDef, raw: Any) -> str:
        if not isinstance(raw, str) or not _ID.match(raw):
            raise Invalid(err("MALFORMED_ID", f"{f.label}: id value of incorrect type", f.name))
        rid = to18(raw) if len(raw) == 15 else raw
        hit = self.org.get(rid)
        anything = f.name in {"FirstPublishLocationId", "LinkedEntityId"}  # any record
        if hit is None or (hit[0] not in f.reference_to and not anything):
            raise Invalid(err("INVALID_CROSS_REFERENCE_KEY", f"{f.label}: invalid cross"
                              " reference id", f.name))
        if f.name == "OwnerId" and not hit[1].get("IsActive", True):
            raise Invalid(err("INACTIVE_OWNER_OR_USER", "operation performed with inactive user"
                              " as owner", f.name))
        return rid

    def _store(self, od: ObjectDef, rid: str | None, changes: dict[str, Any]) -> str:
        org = self.org
        old = org.records[od.name].get(rid) if rid else None
        rec = dict(old or {})
        if old is None:
            for f in od.fields.values():
                if f.defaulted and f.default is not None and f.name not in changes:
                    rec[f.name] = f.default
            if od.owned:
                rec["OwnerId"] = self.user
            rec.update(IsDeleted=False, CreatedById=self.user, CreatedDate=now_iso())
        rec.update(changes)
        if org.address_picklists:
            from ferry.sandbox.salesforce.addresses import sync

            sync(od, old, changes, rec)
        rec.update(LastModifiedById=self.user, LastModifiedDate=now_iso(),
                   SystemModstamp=now_iso())
        self._check(od, rid, rec)
        self._lock()
        if self.truncate and self.truncate[0] == od.name and isinstance(
                rec.get(self.truncate[1]), str):
            rec[self.truncate[1]] = rec[self.truncate[1]][:self.truncate[2]]
        if rid is None:
            rid = org.new_id(od.key_prefix)
            rec["Id"] = rid
            hooks_before_insert(self, od, rec)
        org.records[od.name][rid] = rec
        self._granted(od)
        org.reindex(od.name, rid, old, rec)
        if old is None:
            hooks_after_insert(self, od, rec)
        return rid

    def _rules(self, od: ObjectDef) -> tuple[list[str], list[FieldDef]]:
        """The object's required field names (ContentVersion's Title aside: the platform
        fills it) and its unique fields, found once per request (each row looked at every
        field of its object for both)."""
        key = (od.name, len(od.fields))
        hit = self._checks.get(key)
        if hit is None:
            hit = self._checks[key] = (
                [f.name for f in od.fields.values() if f.required
                 and not (od.name == "ContentVersion" and f.name == "Title")],
                [f for f in od.fields.values() if f.unique])
        return hit

    def _check(self, od: ObjectDef, rid: str | None, rec: dict[str, Any]) -> None:
        required, unique = self._rules(od)
        missing = [name for name in required if rec.get(name) in (None, "")]
        if od.name == "ContentVersion" and not rec.get("PathOnClient"):
            missing.append("PathOnClient")
        if missing:
            raise Invalid(err("REQUIRED_FIELD_MISSING", f"Required fields are missing:"
                              f" [{', '.join(missing)}]", *missing))
        if od.name == "Event":
            event_rules(rec)
        if od.name == "Task":
            rec["IsClosed"] = rec.get("Status") == "Completed"
        if "LastName" in od.fields:
            rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
        for f in unique:
            if rec.get(f.name) not in (None, ""):
                others = self.org.lookup(od.name, f.name, rec[f.name]) - {rid}
                if others:
                    raise Invalid(err("DUPLICATE_VALUE", f"duplicate value found: {f.name}"
                                      f" duplicates value on record with id: {min(others)}",
                                      f.name))
        unique_pairs(self.org, od.name, rid, rec)


