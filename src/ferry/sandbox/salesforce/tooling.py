"""Tooling API: create, read, query and delete CustomObject and CustomField.

New fields are created with no field-level security, exactly like the platform: until a
permission set grants them (FieldPermissions) and is assigned to the user, they are absent from
describe, SOQL and DML for that user. Deleting a field or object also deletes its data and the
permission rows that named it.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ferry.sandbox.salesforce.app import Api, sf_error
from ferry.sandbox.salesforce.effects import remove
from ferry.sandbox.salesforce.query import QueryError
from ferry.sandbox.salesforce.schema import custom_field, custom_object

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*[A-Za-z0-9]__c$")
_FIELD_TYPES = {"Text", "LongTextArea", "TextArea", "Html", "Email", "Phone", "Url", "Number",
                "Currency", "Percent", "Checkbox", "Date", "DateTime", "Picklist",
                "MultiselectPicklist", "Lookup", "MasterDetail"}


def _ok(rid: str) -> JSONResponse:
    return JSONResponse({"id": rid, "success": True, "errors": [], "warnings": []},
                        status_code=201)


def install_tooling(app: FastAPI, api: Api) -> None:
    org = api.org
    base = "/services/data/v{version}/tooling"

    @app.get(base + "/query")
    def tooling_query(version: str, request: Request, q: str = "") -> Any:
        try:
            return api.queries.run(q, request.state.user, version, tooling=True)
        except QueryError as e:
            return sf_error(400, e.code, str(e))

    @app.post(base + "/sobjects/CustomObject")
    async def create_object(version: str, request: Request) -> Any:
        body = await request.json()
        full = str(body.get("FullName", ""))
        meta = body.get("Metadata") or {}
        if not _NAME.match(full) or len(full.removesuffix("__c")) > 40:
            return sf_error(400, "INVALID_FIELD", "FullName must be a valid custom object"
                            " API name ending in __c", ["FullName"])
        if org.obj(full):
            return sf_error(400, "DUPLICATE_DEVELOPER_NAME", "There is already a custom object"
                            f" with the name {full}", ["FullName"])
        name_field = meta.get("nameField") or {}
        if not meta.get("label") or not name_field.get("type"):
            return sf_error(400, "REQUIRED_FIELD_MISSING", "Required fields are missing:"
                            " [label, nameField]", ["label", "nameField"])
        tid = org.new_id("01I")
        od = custom_object(full, str(meta["label"]), org.new_prefix(),
                           auto_number=name_field.get("type") == "AutoNumber",
                           display_format=str(name_field.get("displayFormat") or "{000000}"),
                           enable_activities=bool(meta.get("enableActivities", False)))
        od.tooling_id = tid
        org.add_object(od)
        org.tooling_objects[tid] = {"Id": tid, "DeveloperName": full.removesuffix("__c"),
                                    "NamespacePrefix": None, "FullName": full,
                                    "ManageableState": "unmanaged", "Metadata": meta}
        return _ok(tid)

    @app.post(base + "/sobjects/CustomField")
    async def create_field(version: str, request: Request) -> Any:
        body = await request.json()
        full = str(body.get("FullName", ""))
        meta = body.get("Metadata") or {}
        obj_name, _, fname = full.partition(".")
        od = org.obj(obj_name)
        if od is None:
            return sf_error(400, "INVALID_TYPE", f"Cannot find object {obj_name}",
                            ["FullName"])
        if not _NAME.match(fname) or len(fname.removesuffix("__c")) > 40:
            return sf_error(400, "INVALID_FIELD", "field name must be a valid API name ending"
                            " in __c", ["FullName"])
        if od.get(fname):
            return sf_error(400, "DUPLICATE_DEVELOPER_NAME", "There is already a field named"
                            f" {fname} on {od.name}", ["FullName"])
        kind = meta.get("type")
        if kind not in _FIELD_TYPES or not meta.get("label"):
            return sf_error(400, "FIELD_INTEGRITY_EXCEPTION", "label and a supported type are"
                            " required", ["type"])
        if kind == "Text" and not 1 <= int(meta.get("length") or 0) <= 255:
            return sf_error(400, "FIELD_INTEGRITY_EXCEPTION", "Text length must be 1-255",
                            ["length"])
        if kind == "LongTextArea" and not (meta.get("visibleLines") and
                                           256 <= int(meta.get("length") or 0) <= 131072):
            return sf_error(400, "FIELD_INTEGRITY_EXCEPTION", "LongTextArea needs length"
                            " 256-131072 and visibleLines", ["length"])
        if kind in {"Lookup", "MasterDetail"}:
            target = org.obj(str(meta.get("referenceTo", "")))
            if target is None or not meta.get("relationshipName"):
                return sf_error(400, "FIELD_INTEGRITY_EXCEPTION", "referenceTo must name an"
                                " object and relationshipName is required", ["referenceTo"])
            meta = {**meta, "referenceTo": target.name}
            rel = str(meta["relationshipName"]) + "__r"
            if od.relationship(rel):
                return sf_error(400, "DUPLICATE_DEVELOPER_NAME", "relationship name in use",
                                ["relationshipName"])
        if kind == "Checkbox" and "defaultValue" not in meta:
            return sf_error(400, "FIELD_INTEGRITY_EXCEPTION", "Checkbox needs defaultValue",
                            ["defaultValue"])
        tid = org.new_id("00N")
        od.add(custom_field(meta, fname, tid))
        org.tooling_fields[tid] = {
            "Id": tid, "DeveloperName": fname.removesuffix("__c"),
            "TableEnumOrId": od.tooling_id or od.name, "NamespacePrefix": None,
            "FullName": f"{od.name}.{fname}", "ManageableState": "unmanaged",
            "Metadata": meta}
        return _ok(tid)

    @app.get(base + "/sobjects/{kind}/{tid}")
    def read_meta(version: str, kind: str, tid: str) -> Any:
        table = {"CustomObject": org.tooling_objects, "CustomField": org.tooling_fields}
        row = table.get(kind, {}).get(tid)
        if row is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return {"attributes": {"type": kind}, **row}

    @app.delete(base + "/sobjects/CustomField/{tid}")
    def delete_field(version: str, tid: str) -> Any:
        row = org.tooling_fields.pop(tid, None)
        if row is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        obj_name, _, fname = row["FullName"].partition(".")
        od = org.objects[obj_name]
        for rid, rec in org.records[obj_name].items():
            org.reindex(obj_name, rid, rec, None)
        od.drop(fname)
        for rid, rec in org.records[obj_name].items():
            rec.pop(fname, None)
            org.reindex(obj_name, rid, None, rec)
        org.index.pop((obj_name, fname), None)
        for pid in [i for i, r in org.records["FieldPermissions"].items()
                    if r["Field"].lower() == row["FullName"].lower()]:
            remove(org, "FieldPermissions", pid)
        return Response(status_code=204)

    @app.delete(base + "/sobjects/CustomObject/{tid}")
    def delete_object(version: str, tid: str) -> Any:
        row = org.tooling_objects.pop(tid, None)
        if row is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        name = row["FullName"]
        for fid in [i for i, r in org.tooling_fields.items() if r["TableEnumOrId"] == tid]:
            del org.tooling_fields[fid]
        for perm in ("FieldPermissions", "ObjectPermissions"):
            for pid in [i for i, r in org.records[perm].items() if r["SobjectType"] == name]:
                remove(org, perm, pid)
        org.drop_object(name)
        return Response(status_code=204)
