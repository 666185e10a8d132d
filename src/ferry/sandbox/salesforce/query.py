"""Running SOQL against the org: field visibility, parent fields, paging cursors, tooling tables.

A query's matching ids are fixed when it runs; pages render rows on demand, so a 100k-row query
holds a list of ids, not 100k rendered dicts. Hidden (no FLS) and unknown fields fail the whole
query with INVALID_FIELD, as on the platform.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ferry.sandbox.salesforce import soql
from ferry.sandbox.salesforce.schema import FieldDef, ObjectDef
from ferry.sandbox.salesforce.state import Org

TOOLING_FIELDS = {"CustomObject": ("Id", "DeveloperName", "NamespacePrefix", "FullName",
                                   "ManageableState"),
                  "CustomField": ("Id", "DeveloperName", "TableEnumOrId", "NamespacePrefix",
                                  "FullName", "ManageableState")}


class QueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Cursor:
    obj: str
    ids: list[Any]  # record ids, or tooling rows
    fields: list[str]
    pos: int
    batch: int
    tooling: bool
    all_rows: bool = False  # queryAll


def _compound(rec: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    """A compound address as the REST API returns it (null when every part is empty)."""
    parts = {"street": rec.get(f"{prefix}Street"), "city": rec.get(f"{prefix}City"),
             "state": rec.get(f"{prefix}State"), "postalCode": rec.get(f"{prefix}PostalCode"),
             "country": rec.get(f"{prefix}Country")}
    return parts if any(v is not None for v in parts.values()) else None


class QueryRunner:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.cursors: dict[str, Cursor] = {}

    def run(self, text: str, user: str, version: str, *, batch: int = 2000,
            tooling: bool = False, include_deleted: bool = False) -> dict[str, Any]:
        try:
            q = soql.parse(text)
        except soql.SoqlError as e:
            raise QueryError(e.code, str(e)) from None
        if tooling:
            return self._tooling(q, version, batch)
        od = self.org.obj(q.obj)
        if od is None or not self.org.can_see_object(od, user):
            raise QueryError("INVALID_TYPE", f"sObject type '{q.obj}' is not supported.")
        vis = self.org.visible_fields(od, user)
        for name in [*q.fields, *soql.fields_in(q.where), *(f for f, _ in q.order)]:
            self._resolve(od, vis, name, user)
        recs = self.org.records[od.name]
        if include_deleted:  # queryAll: the Recycle Bin's rows too, IsDeleted true
            recs = {**recs, **self.org.recycle.get(od.name, {})}

        def getter(rec: dict[str, Any]) -> Any:
            return lambda name: self._value(od, rec, name)

        named = _ids_named(q.where)
        if named is not None and all(i in recs for i in named):
            # WHERE Id IN (…): the rows by key, not a scan of the object per query (reading
            # back 100k records 200 at a time made the emulator quadratic)
            ids = [rid for rid in dict.fromkeys(named) if soql.matches(q.where, getter(recs[rid]))]
        else:
            ids = [rid for rid, rec in recs.items() if soql.matches(q.where, getter(rec))]
        for fname, desc in reversed(q.order):
            ids.sort(key=lambda i, f=fname: soql.sort_key(self._value(od, recs[i], f)),
                     reverse=desc)
        ids = ids[q.offset:]
        if q.limit is not None:
            ids = ids[:q.limit]
        if q.count:
            return {"totalSize": len(ids), "done": True, "records": []}
        cur = Cursor(od.name, ids, q.fields, 0, batch, False, include_deleted)
        return self.page(cur, version)

    def more(self, cursor_id: str, version: str) -> dict[str, Any]:
        key, _, pos = cursor_id.rpartition("-")
        cur = self.cursors.get(key)
        if cur is None or not pos.isdigit():
            raise QueryError("INVALID_QUERY_LOCATOR", "invalid query locator")
        cur.pos = int(pos)
        return self.page(cur, version, key)

    def page(self, cur: Cursor, version: str, key: str | None = None) -> dict[str, Any]:
        chunk = cur.ids[cur.pos:cur.pos + cur.batch]
        if cur.tooling:
            rows = [{"attributes": {"type": cur.obj}, **{f: r.get(f) for f in cur.fields}}
                    for r in chunk]
        else:
            # a row deleted since the query began is left out (queryAll: kept, from the bin)
            rows = [self.render(cur.obj, rid, cur.fields, version) for rid in chunk
                    if rid in self.org.records.get(cur.obj, {})
                    or (cur.all_rows and rid in self.org.recycle.get(cur.obj, {}))]
        end = cur.pos + cur.batch
        out: dict[str, Any] = {"totalSize": len(cur.ids), "done": end >= len(cur.ids),
                               "records": rows}
        if end < len(cur.ids):
            key = key or "01g" + secrets.token_hex(6)
            self.cursors[key] = cur
            out["nextRecordsUrl"] = f"/services/data/v{version}/query/{key}-{end}"
        elif key:
            self.cursors.pop(key, None)
        return out

    def render(self, obj: str, rid: str, fields: list[str], version: str) -> dict[str, Any]:
        od = self.org.objects[obj]
        rec = self.org.records[obj].get(rid) or self.org.recycle[obj][rid]
        row: dict[str, Any] = {"attributes": {"type": obj,
                                              "url": f"/services/data/v{version}/sobjects/"
                                                     f"{obj}/{rid}"}}
        for name in fields:
            if "." not in name:
                f = od.get(name)
                if f is not None and f.type == "address":
                    row[f.name] = _compound(rec, f.name.removesuffix("Address"))
                    continue
                row[f.name if f else name] = rec.get(f.name if f else name)
                continue
            rel, _, sub = name.partition(".")
            fd = od.relationship(rel)
            parent_id = rec.get(fd.name) if fd else None
            hit = self.org.get(parent_id) if parent_id else None
            if hit is None:
                row[fd.relationship_name if fd else rel] = None
                continue
            pod = self.org.objects[hit[0]]
            key = fd.relationship_name if fd else rel
            nested = row.get(key) or {"attributes": {"type": hit[0], "url":
                                                     f"/services/data/v{version}/sobjects/"
                                                     f"{hit[0]}/{parent_id}"}}
            pf = pod.get(sub)
            nested[pf.name if pf else sub] = hit[1].get(pf.name if pf else sub)
            row[key] = nested
        return row

    def _resolve(self, od: ObjectDef, vis: dict[str, FieldDef], name: str, user: str) -> None:
        if "." in name:
            rel, _, sub = name.partition(".")
            fd = od.relationship(rel)
            if fd is None or fd.name.lower() not in vis:
                raise QueryError("INVALID_FIELD", f"Didn't understand relationship '{rel}' in"
                                 f" field path. No such column on entity '{od.name}'")
            for target in fd.reference_to:
                tod = self.org.obj(target)
                if tod and sub.lower() in self.org.visible_fields(tod, user):
                    return
            raise QueryError("INVALID_FIELD", f"No such column '{sub}' on entity"
                             f" '{fd.reference_to[0]}'")
        if name.lower() not in vis:
            raise QueryError("INVALID_FIELD", f"No such column '{name}' on entity '{od.name}'."
                             " If you are attempting to use a custom field, be sure to append"
                             " the '__c' after the custom field name.")

    def _value(self, od: ObjectDef, rec: dict[str, Any], name: str) -> Any:
        if "." not in name:
            f = od.get(name)
            return rec.get(f.name) if f else None
        rel, _, sub = name.partition(".")
        fd = od.relationship(rel)
        hit = self.org.get(rec[fd.name]) if fd and rec.get(fd.name) else None
        if hit is None:
            return None
        pf = self.org.objects[hit[0]].get(sub)
        return hit[1].get(pf.name) if pf else None

    def _tooling(self, q: soql.Query, version: str, batch: int) -> dict[str, Any]:
        allowed = TOOLING_FIELDS.get(q.obj)
        table = {"CustomObject": self.org.tooling_objects,
                 "CustomField": self.org.tooling_fields}.get(q.obj)
        if allowed is None or table is None:
            raise QueryError("INVALID_TYPE", f"sObject type '{q.obj}' is not supported.")
        lower = {a.lower(): a for a in allowed}
        for name in [*q.fields, *soql.fields_in(q.where)]:
            if name.lower() not in lower:
                raise QueryError("INVALID_FIELD", f"No such column '{name}' on entity"
                                 f" '{q.obj}'")
        if "fullname" in {f.lower() for f in q.fields} and q.limit != 1:
            raise QueryError("MALFORMED_QUERY", "When retrieving results with Metadata or"
                             " FullName fields, the query qualifications must specify no"
                             " more than one row for retrieval.")
        rows = [r for r in table.values()
                if soql.matches(q.where, lambda n, r=r: r.get(lower.get(n.lower(), n)))]
        if q.count:
            return {"totalSize": len(rows), "done": True, "records": []}
        fields = [lower[f.lower()] for f in q.fields]
        cur = Cursor(q.obj, rows[: q.limit] if q.limit else rows, fields, 0, batch, True)
        return self.page(cur, version)


def _ids_named(where: Any) -> list[str] | None:
    """The record ids a WHERE clause restricts the rows to (``Id = x``, ``Id IN (…)``, either
    side of an AND), or None when it does not."""
    if not where:
        return None
    if where[0] == "and":
        left = _ids_named(where[1])
        return left if left is not None else _ids_named(where[2])
    if where[0] in ("=", "in") and str(where[1]).lower() == "id":
        values = where[2] if where[0] == "in" else [where[2]]
        return [v for v in values if isinstance(v, str)] if all(
            isinstance(v, str) for v in values) else None
    return None
