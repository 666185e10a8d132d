"""Side effects and object rules of DML: Event timing, permission pairs, ContentVersion →
ContentDocument (+ link), auto-numbers, and what a delete takes with it (SetNull lookups,
a document's versions and links).

Kept apart from ``rules.py`` (field coercion and validation) so each reads on its own.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import TYPE_CHECKING, Any

from ferry.sandbox.salesforce.schema import ObjectDef
from ferry.sandbox.salesforce.state import PAIRS, Org, now_iso, pair_key

if TYPE_CHECKING:
    from ferry.sandbox.salesforce.rules import Dml

Err = dict[str, Any]


def err(code: str, message: str, *fields: str) -> Err:
    return {"statusCode": code, "message": message, "fields": list(fields)}


class Invalid(Exception):
    def __init__(self, error: Err) -> None:
        super().__init__(error["message"])
        self.error = error


_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
#: what ``stored_datetime`` returns (and ``parse_dt`` reads back): ``2024-05-01T09:30:00.000+0000``
_STORED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


def stored_datetime(raw: str) -> str:
    """A datetime as the org stores it (UTC, milliseconds, ``+0000``); ValueError when it is
    not one."""
    text = _OFFSET.sub(r"\1:\2", raw.strip().replace("Z", "+00:00"))
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    if value.year >= 1000:  # strftime's %Y does not pad years before 1000: left to it
        return (f"{value.year}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
                f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}+0000")
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_dt(value: str) -> dt.datetime:
    if _STORED.fullmatch(value):  # the stored form: fromisoformat reads it as strptime does
        return dt.datetime.fromisoformat(value)
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def event_rules(rec: dict[str, Any]) -> None:
    start = rec.get("StartDateTime") or rec.get("ActivityDateTime")
    if rec.get("IsAllDayEvent"):
        if not (rec.get("ActivityDate") or start):
            raise Invalid(err("REQUIRED_FIELD_MISSING", "Required fields are missing:"
                              " [ActivityDate]", "ActivityDate"))
        rec["ActivityDate"] = rec.get("ActivityDate") or start[:10]
        return
    if not start:
        raise Invalid(err("REQUIRED_FIELD_MISSING", "Required fields are missing:"
                          " [StartDateTime]", "StartDateTime"))
    begin = parse_dt(start)
    if rec.get("EndDateTime"):
        minutes = int((parse_dt(rec["EndDateTime"]) - begin).total_seconds() // 60)
    elif rec.get("DurationInMinutes") is not None:
        minutes = int(rec["DurationInMinutes"])
        rec["EndDateTime"] = stored_datetime((begin + dt.timedelta(minutes=minutes)).isoformat())
    else:
        raise Invalid(err("REQUIRED_FIELD_MISSING", "Required fields are missing:"
                          " [DurationInMinutes]", "DurationInMinutes", "EndDateTime"))
    if minutes < 0 or minutes > 14 * 24 * 60:
        raise Invalid(err("FIELD_INTEGRITY_EXCEPTION", "event duration must be between 0 and"
                          " 14 days", "EndDateTime"))
    rec.update(StartDateTime=start, ActivityDateTime=start, ActivityDate=start[:10],
               DurationInMinutes=minutes)


def unique_pairs(org: Org, obj: str, rid: str | None, rec: dict[str, Any]) -> None:
    pair = PAIRS.get(obj)
    if not pair:
        return
    if org.pairs.get(obj, {}).get(pair_key(pair, rec), set()) - {rid}:  # (Org.reindex)
        raise Invalid(err("DUPLICATE_VALUE", f"duplicate value found: {pair[1]}", pair[1]))
    if obj == "FieldPermissions":
        o, _, fname = str(rec["Field"]).partition(".")
        od = org.obj(o)
        if od is None or od.get(fname) is None or od.name != rec.get("SobjectType"):
            raise Invalid(err("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Field Name: bad value"
                              " for restricted picklist field", "Field"))
        if rec.get("PermissionsEdit") and not rec.get("PermissionsRead"):
            raise Invalid(err("FIELD_INTEGRITY_EXCEPTION", "Edit requires Read",
                              "PermissionsRead"))


def hooks_before_insert(dml: Dml, od: ObjectDef, rec: dict[str, Any]) -> None:
    org = dml.org
    if od.custom and "Name" in od.fields and od.fields["Name"].default and not rec.get("Name"):
        fmt = str(od.fields["Name"].default)
        width = fmt.count("0") or 6
        seq = len(org.records[od.name]) + len([d for d in org.deleted
                                                 if d.startswith(od.key_prefix)]) + 1
        rec["Name"] = re.sub(r"\{0+\}", str(seq).zfill(width), fmt)
    if od.name == "ContentVersion":
        data: bytes = rec.get("VersionData") or b""
        if len(data) > dml.max_file_bytes:
            raise Invalid(err("STORAGE_LIMIT_EXCEEDED", "file is larger than the maximum"
                              " allowed size", "VersionData"))
        path = str(rec["PathOnClient"])
        rec["Title"] = rec.get("Title") or path.rsplit(".", 1)[0]
        rec["FileExtension"] = path.rsplit(".", 1)[1].lower() if "." in path else ""
        rec["ContentSize"] = len(data)
        # bench/engine.py at scale keeps the size, not the content (see the Odoo sandbox's hooks)
        org.blobs[rec["Id"]] = b"" if os.environ.get("FERRY_SANDBOX_DROP_FILE_CONTENT") else data
        rec["VersionData"] = f"/services/data/v62.0/sobjects/ContentVersion/{rec['Id']}" \
                             "/VersionData"
        doc_id = org.new_id("069")
        org.records["ContentDocument"][doc_id] = {
            "Id": doc_id, "Title": rec["Title"], "LatestPublishedVersionId": rec["Id"],
            "ContentSize": len(data), "FileExtension": rec["FileExtension"],
            "OwnerId": dml.user, "IsDeleted": False, "CreatedDate": now_iso(),
            "CreatedById": dml.user, "LastModifiedDate": now_iso(),
            "LastModifiedById": dml.user, "SystemModstamp": now_iso()}
        rec["ContentDocumentId"] = doc_id


def hooks_after_insert(dml: Dml, od: ObjectDef, rec: dict[str, Any]) -> None:
    if od.name == "ContentVersion":
        link_od = dml.org.objects["ContentDocumentLink"]
        entities = [rec.get("FirstPublishLocationId") or dml.user]
        for entity in entities:
            dml._store(link_od, None, {"ContentDocumentId": rec["ContentDocumentId"],
                                       "LinkedEntityId": entity, "ShareType": "V",
                                       "Visibility": "AllUsers"})


def remove(org: Org, obj: str, rid: str) -> None:
    """Delete a record and what the platform deletes or clears with it."""
    rec = org.records[obj].pop(rid, None)
    if rec is None:
        return
    org.deleted.add(rid)
    org.recycle.setdefault(obj, {})[rid] = {**rec, "IsDeleted": True}
    org.reindex(obj, rid, rec, None)
    if obj == "PermissionSet":  # the platform deletes a set's grants with it
        for child in ("FieldPermissions", "ObjectPermissions"):
            for cid in [i for i, r in org.records[child].items() if r.get("ParentId") == rid]:
                remove(org, child, cid)
    if obj == "ContentDocument":
        for child in ("ContentVersion", "ContentDocumentLink"):
            for cid in [i for i, r in org.records[child].items()
                        if r.get("ContentDocumentId") == rid]:
                remove(org, child, cid)
                org.blobs.pop(cid, None)
    for link_id in [i for i, r in org.records["ContentDocumentLink"].items()
                    if r.get("LinkedEntityId") == rid]:
        remove(org, "ContentDocumentLink", link_id)
    for od in org.objects.values():  # custom lookups: SetNull
        refs = [f.name for f in od.fields.values() if f.custom and f.type == "reference"
                and obj in f.reference_to]
        for r in org.records[od.name].values() if refs else ():
            for fname in refs:
                if r.get(fname) == rid:
                    r[fname] = None

