"""``ensure``/``remove`` for Salesforce: custom objects and fields through the Tooling API, and
the permission set that makes them visible.

Fields created through the API have no field-level security: the integration user cannot see
or write them until a permission set grants them and is assigned. So ``ensure`` always finishes
with the grants (ObjectPermissions for each custom object, FieldPermissions for each custom
field, one PermissionSetAssignment), and it finds existing metadata by Tooling queries — not by
describe, which hides ungranted fields — so a second run creates nothing.

Creates are not idempotent (a second POST of a custom object, field, permission set or
assignment is refused as a duplicate), so each is sent once (``resend=False``): when its answer
is lost (a gateway's 504 leaves the request running) the item is looked up by its name, again
after ``ambiguous_settle_s`` (``connectors.settle``), and sent again only if neither look finds
it. One found that way is this run's (absent before the create, there after it): rollback
removes it. The grants (ObjectPermissions, FieldPermissions) are sent again as they are: a
row already there comes back ``DUPLICATE_VALUE``, which counts as granted.

Naming rule (``api_name``): split the logical name on anything not a letter or digit, capitalise
each word, join with ``_``, cut to 40 characters and add ``__c``: ``ferry_source_id`` →
``Ferry_Source_Id__c``, ``date of birth`` → ``Date_Of_Birth__c``. Names already ending in ``__c``
are kept. Lookups get the relationship name ``<Base>__r``. Custom objects get a Text ``Name``
(maps may write it, e.g. an invoice number); rows that leave it empty get their source id
(see ``writer.create``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ferry.connectors.base import Provisioned, SchemaItem
from ferry.connectors.settle import absent, look_twice
from ferry.destinations.salesforce.client import COLLECTION, SalesforceClient
from ferry.destinations.salesforce.errors import RETRIABLE, Ambiguous, ApiError
from ferry.errors import ConfigError, FatalError
from ferry.model.fields import Kind


def api_name(logical: str) -> str:
    if logical.endswith("__c"):
        return logical
    words = [w for w in re.split(r"[^0-9A-Za-z]+", logical) if w]
    base = "_".join(w[:1].upper() + w[1:] for w in words) or "Field"
    if not base[0].isalpha():
        base = "F_" + base
    return base[:40].rstrip("_") + "__c"


def object_name(item: SchemaItem) -> str:
    """Physical name of a custom object item (its ``object`` if already ``__c``, else name)."""
    return item.object if item.object.endswith("__c") else api_name(item.name or item.object)


def resolve(obj: str, customs: dict[str, str]) -> str:
    """A field's owner or a lookup's target: a standard name, an API name, or the logical name
    of a custom object (``treatment_record`` → ``Treatment_Record__c`` when that exists)."""
    if obj in customs or obj.endswith("__c"):
        return obj
    return api_name(obj) if api_name(obj) in customs else obj


def _label(text: str) -> str:
    return text[:40] or "Field"


def field_metadata(item: SchemaItem, ref_object: str | None) -> dict[str, Any]:
    """Tooling ``Metadata`` for a custom field of this kind (see NOTES §4 for the attributes)."""
    label = _label(item.label or item.name)
    kind = item.field_kind or Kind.TEXT
    if item.external_id:
        return {"label": label, "type": "Text", "length": 255, "externalId": True,
                "unique": True, "caseSensitive": False}
    text = {"label": label, "type": "Text", "length": 255}
    long_text = {"label": label, "type": "LongTextArea", "length": 32768, "visibleLines": 5}
    picklist = {"label": label, "valueSet": {"restricted": False, "valueSetDefinition": {
        "sorted": False, "value": [{"fullName": o, "label": o, "default": False}
                                   for o in item.options]}}}
    by_kind: dict[Kind, dict[str, Any]] = {
        Kind.TEXT: text, Kind.LONG_TEXT: long_text, Kind.JSON: long_text,
        Kind.ADDRESS: {**long_text, "length": 1000, "visibleLines": 3},
        Kind.INT: {"label": label, "type": "Number", "precision": 18, "scale": 0},
        Kind.DECIMAL: {"label": label, "type": "Number", "precision": 18, "scale": 4},
        Kind.MONEY: {"label": label, "type": "Currency", "precision": 16, "scale": 2},
        Kind.BOOL: {"label": label, "type": "Checkbox", "defaultValue": "false"},
        Kind.DATE: {"label": label, "type": "Date"},
        Kind.DATETIME: {"label": label, "type": "DateTime"},
        Kind.EMAIL: {"label": label, "type": "Email"},
        Kind.PHONE: {"label": label, "type": "Phone"},
        Kind.ENUM: {**picklist, "type": "Picklist"} if item.options else text,
        Kind.SET: ({**picklist, "type": "MultiselectPicklist", "visibleLines": 4}
                   if item.options else long_text),
    }
    if kind == Kind.REF:
        if not ref_object:
            raise ConfigError(f"lookup field {item.name} on {item.object} names no object")
        base = api_name(item.name).removesuffix("__c")
        return {"label": label, "type": "Lookup", "referenceTo": ref_object,
                "relationshipName": base, "relationshipLabel": _label(label + "s"),
                "deleteConstraint": "SetNull"}
    return by_kind.get(kind, text)


#: the permission set's description is Ferry's tag: with its fixed name it finds the set that
#: ``prepare`` made even when no log recorded it (an admin's own set of that name stays)
MADE_BY_FERRY = "Grants Ferry's migration objects and fields"


class Provisioner:
    def __init__(self, client: SalesforceClient, permission_set: str) -> None:
        self.client = client
        self.permission_set = permission_set
        # Lookups are cached for this connector's life (the engine ensures items one by one;
        # re-querying per item would cost ~8 calls each); ``forget`` drops them.
        self._obj_cache: dict[str, str] | None = None
        self._field_cache: dict[tuple[str, str], str] = {}
        self._tables_loaded: set[str] = set()
        self._ps: str | None = None
        self._granted: tuple[set[str], set[str]] | None = None
        # the permission set / assignment this connector created, not yet handed to an item
        self._made: dict[str, str] = {}

    def forget(self) -> None:
        self._obj_cache, self._ps, self._granted = None, None, None
        self._field_cache.clear()
        self._tables_loaded.clear()

    # -- lookups -------------------------------------------------------------------------
    def _objects(self) -> dict[str, str]:
        """Custom object API name → Tooling id."""
        if self._obj_cache is None:
            rows = self.client.query("SELECT Id, DeveloperName FROM CustomObject", tooling=True)
            self._obj_cache = {r["DeveloperName"] + "__c": r["Id"] for r in rows}
        return self._obj_cache

    def _fields(self, tables: list[str]) -> dict[tuple[str, str], str]:
        """(TableEnumOrId, field API name) → Tooling id, for the given tables."""
        todo = sorted(set(tables) - self._tables_loaded)
        if todo:
            ids = ", ".join(f"'{t}'" for t in todo)
            rows = self.client.query("SELECT Id, DeveloperName, TableEnumOrId FROM CustomField"
                                     f" WHERE TableEnumOrId IN ({ids})", tooling=True)
            self._field_cache.update({(r["TableEnumOrId"], r["DeveloperName"] + "__c"): r["Id"]
                                      for r in rows})
            self._tables_loaded.update(todo)
        return self._field_cache

    def existing(self, items: list[SchemaItem]) -> list[bool | None]:
        """Whether each custom object / field is in the org now (the caches are refreshed)."""
        self._obj_cache = None
        objects = self._objects()
        owners = {i.object: object_name(i) for i in items if i.kind == "custom_object"}
        tables = {}
        for item in items:
            if item.kind == "custom_field":
                owner = owners.get(item.object) or resolve(item.object, objects)
                tables[item.object] = objects.get(owner, owner)
        self._tables_loaded.difference_update(tables.values())
        have = self._fields(sorted(set(tables.values())))
        out: list[bool | None] = []
        for item in items:
            if item.kind == "custom_object":
                out.append(object_name(item) in objects)
            elif item.kind == "custom_field":
                out.append((tables[item.object], api_name(item.name)) in have)
            else:
                out.append(None)
        return out

    # -- ensure ----------------------------------------------------------------------------
    def ensure(self, items: list[SchemaItem]) -> list[Provisioned]:
        bad = [i.kind for i in items if i.kind not in {"custom_object", "custom_field"}]
        if bad:
            raise ConfigError(f"Salesforce has no {bad[0]}s; use custom objects/fields")
        existing = self._objects()
        logical = {i.name: object_name(i) for i in items if i.kind == "custom_object"}
        logical.update({i.object: object_name(i) for i in items if i.kind == "custom_object"})
        out: dict[int, Provisioned] = {}
        for n, item in enumerate(items):
            if item.kind != "custom_object":
                continue
            name = object_name(item)
            created = name not in existing
            if created:
                label = _label(item.label or name.removesuffix("__c").replace("_", " "))

                def look_object(name: str = name) -> str | None:
                    self._obj_cache = None
                    return self._objects().get(name)

                try:
                    made = self._create("tooling/sobjects/CustomObject", {
                        "FullName": name, "Metadata": {
                            "label": label, "pluralLabel": _label(label + "s"),
                            "nameField": {"label": _label(label + " Name"), "type": "Text"},
                            "deploymentStatus": "Deployed", "sharingModel": "ReadWrite",
                            "enableActivities": True, "enableReports": True}}, look_object)
                    existing = self._objects()  # (a look refreshed the cache)
                    existing[name] = made
                except ApiError as e:  # made since our lookup
                    if e.code != "DUPLICATE_DEVELOPER_NAME":
                        raise
                    self._obj_cache = None
                    existing = self._objects()
                    created = False
            out[n] = Provisioned(item, name, created)
        custom_objects = sorted({p.key for p in out.values()})
        field_items = [(n, i) for n, i in enumerate(items) if i.kind == "custom_field"]
        owners = {n: logical.get(i.object) or resolve(i.object, existing)
                  for n, i in field_items}
        tables = [existing.get(o, o) for o in owners.values()]
        have = self._fields(tables)
        for n, item in field_items:
            owner = owners[n]
            key = api_name(item.name)
            table = existing.get(owner, owner)
            created = (table, key) not in have
            if created:
                ref = logical.get(item.ref or "") or (resolve(item.ref, existing)
                                                      if item.ref else None)

                def look_field(table: str = table, key: str = key) -> str | None:
                    self._tables_loaded.discard(table)
                    return self._fields([table]).get((table, key))

                try:
                    have[(table, key)] = self._create("tooling/sobjects/CustomField", {
                        "FullName": f"{owner}.{key}",
                        "Metadata": field_metadata(item, ref)}, look_field)
                except ApiError as e:  # made since our lookup (another run, an admin)
                    if e.code != "DUPLICATE_DEVELOPER_NAME":
                        raise
                    self._tables_loaded.discard(table)
                    have = self._fields([table])
                    created = False
            out[n] = Provisioned(item, key, created)
        fields = sorted({f"{owners[n]}.{out[n].key}" for n, _ in field_items})
        self.grant(custom_objects, fields)
        result = [out[n] for n in range(len(items))]
        if self._made and result:  # removed with this item, the last rollback undoes
            result[0].also_made.update(self._made)
            self._made = {}
        return result

    def grant(self, objects: list[str], fields: list[str]) -> None:
        """Make objects and fields visible and writable to the integration user."""
        ps_id = self._permission_set()
        if self._granted is None:
            self._granted = (
                {r["SobjectType"].lower() for r in self.client.query(
                    f"SELECT Id, SobjectType FROM ObjectPermissions WHERE ParentId = '{ps_id}'")},
                {r["Field"].lower() for r in self.client.query(
                    f"SELECT Id, Field FROM FieldPermissions WHERE ParentId = '{ps_id}'")})
        have_obj, have_fld = self._granted
        records: list[dict[str, Any]] = [
            {"attributes": {"type": "ObjectPermissions"}, "ParentId": ps_id, "SobjectType": o,
             "PermissionsRead": True, "PermissionsCreate": True, "PermissionsEdit": True,
             "PermissionsDelete": True, "PermissionsViewAllRecords": True,
             "PermissionsModifyAllRecords": True}
            for o in objects if o.lower() not in have_obj]
        records += [{"attributes": {"type": "FieldPermissions"}, "ParentId": ps_id,
                     "SobjectType": f.split(".")[0], "Field": f, "PermissionsRead": True,
                     "PermissionsEdit": True}
                    for f in fields if f.lower() not in have_fld]
        # ObjectPermissions first: a field grant on an object nobody may read is pointless
        for _ in range(5):  # rounds: rows refused for lock contention go again
            retry: list[dict[str, Any]] = []
            for start in range(0, len(records), COLLECTION):
                chunk = records[start:start + COLLECTION]
                results = self.client.request("POST", "composite/sobjects", json={
                    "allOrNone": False, "records": chunk}).json()
                for rec, res in zip(chunk, results, strict=False):
                    codes = {e.get("statusCode") for e in res.get("errors", [])}
                    if res.get("success") or not codes - {"DUPLICATE_VALUE"}:
                        continue
                    if not codes - RETRIABLE:
                        retry.append(rec)
                        continue
                    raise FatalError(f"could not grant access in permission set"
                                     f" {self.permission_set}: {sorted(codes)}",
                                     system="salesforce")
            records = retry
            if not records:
                have_obj.update(o.lower() for o in objects)
                have_fld.update(f.lower() for f in fields)
                return
        raise FatalError("permission grants kept failing on lock contention",
                         system="salesforce")

    def _permission_set(self) -> str:
        if self._ps:
            return self._ps
        name = self.permission_set

        def look_set() -> str | None:
            rows = list(self.client.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'"))
            return str(rows[0]["Id"]) if rows else None

        ps_id = look_set()
        if ps_id is None:
            ps_id = self._made["PermissionSet"] = self._create(
                "sobjects/PermissionSet", {"Name": name, "Label": name.replace("_", " "),
                                           "Description": MADE_BY_FERRY}, look_set)
        user = self.client.user_id
        if user is None:
            raise FatalError("cannot tell which user to grant the permission set to",
                             system="salesforce")

        def look_assigned() -> str | None:
            rows = list(self.client.query(
                "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = "
                f"'{user}' AND PermissionSetId = '{ps_id}'"))
            return str(rows[0]["Id"]) if rows else None

        if look_assigned() is None:
            self._made["PermissionSetAssignment"] = self._create(
                "sobjects/PermissionSetAssignment", {"AssigneeId": user,
                                                     "PermissionSetId": ps_id}, look_assigned)
        self._ps = ps_id
        return ps_id

    def _create(self, path: str, body: dict[str, Any], look: Callable[[], str | None]) -> str:
        """POST a create that is not idempotent, once; when its answer is lost, ``look`` for
        what it made (twice, ``connectors.settle``) and send it again only if it is not there.
        The new (or found) record's id."""
        settings = self.client.settings
        for _ in range(settings.retries):
            try:
                return str(self.client.request("POST", path, json=body, resend=False)
                           .json()["id"])
            except Ambiguous:
                found = look_twice(look, absent, settings.ambiguous_settle_s,
                                   settings.time_scale)
                if found is not None:
                    return found
        raise FatalError(f"the answer to POST {path} was lost {settings.retries} times",
                         system="salesforce")

    # -- remove ----------------------------------------------------------------------------
    def remove(self, provisioned: Provisioned) -> None:
        if provisioned.created:
            self._remove_item(provisioned)
        # the assignment first: Salesforce refuses to delete an assigned permission set
        for obj in ("PermissionSetAssignment", "PermissionSet"):
            rid = provisioned.also_made.get(obj)
            if not rid:
                continue
            self._delete_if_there(obj, rid)
            if obj == "PermissionSet":
                self._ps, self._granted = None, None

    def _delete_if_there(self, obj: str, rid: str) -> None:
        """Delete one record; one already gone (a retry after a kill) counts as deleted."""
        try:
            self.client.request("DELETE", f"sobjects/{obj}/{rid}")
        except ApiError as e:
            if e.code not in ("NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"):
                raise

    def remove_leftovers(self) -> list[str]:
        """The permission set Ferry made (its name and tag) and every assignment of it."""
        name = self.permission_set
        removed: list[str] = []
        for ps in list(self.client.query("SELECT Id, Description FROM PermissionSet WHERE"
                                         f" Name = '{name}'")):
            if not str(ps.get("Description") or "").startswith(MADE_BY_FERRY):
                continue
            ps_id = str(ps["Id"])
            assigned = [str(a["Id"]) for a in self.client.query(
                f"SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = '{ps_id}'")]
            for obj, rid in [*(("PermissionSetAssignment", a) for a in assigned),
                             ("PermissionSet", ps_id)]:
                self._delete_if_there(obj, rid)
                removed.append(f"{obj}:{rid}")
        self._ps, self._granted = None, None
        return removed

    def _remove_item(self, provisioned: Provisioned) -> None:
        item = provisioned.item
        objects = self._objects()
        self._granted = None  # deleting metadata deletes the grants that named it
        try:
            if item.kind == "custom_object":
                tid = objects.get(provisioned.key)
                if tid:
                    self.client.request("DELETE", f"tooling/sobjects/CustomObject/{tid}")
                    objects.pop(provisioned.key, None)
                    for k in [k for k in self._field_cache if k[0] == tid]:
                        del self._field_cache[k]
                return
            owner = resolve(item.object, objects)
            table = objects.get(owner, owner)
            tid = self._fields([table]).get((table, provisioned.key))
            if tid:
                self.client.request("DELETE", f"tooling/sobjects/CustomField/{tid}")
                self._field_cache.pop((table, provisioned.key), None)
        except ApiError as e:
            if e.code != "NOT_FOUND":
                raise
