"""Object and field definitions of the emulated org, and their describe rendering.

The standard objects carry the real required fields and lengths (from the Salesforce object
reference) because validation is what makes a sandbox worth testing against: a loader that
forgets ``Contact.LastName`` or an Event's duration must fail here as it would in production.
Custom objects and fields are added at run time through the Tooling API (``app.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist",
              "combobox", "encryptedstring"}
NUMBER_TYPES = {"int", "double", "currency", "percent"}


@dataclass
class FieldDef:
    name: str
    type: str  # describe type: id, string, textarea, email, phone, url, picklist, ...
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False  # defaultedOnCreate
    default: Any = None
    unique: bool = False
    external_id: bool = False
    id_lookup: bool = False
    custom: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    tooling_id: str | None = None
    case_sensitive: bool = False
    #: picklist entries (value, label, validFor) when not one per ``picklist`` value with its
    #: own label: the address code picklists (``addresses``)
    entries: tuple[tuple[str, str, str | None], ...] = ()
    controller: str | None = None  # a dependent picklist's controlling field

    def __post_init__(self) -> None:
        self.label = self.label or self.name.removesuffix("__c").replace("_", " ")

    @property
    def required(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "label": self.label, "type": self.type, "length": self.length,
            "precision": self.precision, "scale": self.scale, "nillable": self.nillable,
            "createable": self.createable, "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted, "unique": self.unique,
            "externalId": self.external_id, "idLookup": self.id_lookup or self.type == "id",
            "custom": self.custom, "calculated": False, "caseSensitive": self.case_sensitive,
            "defaultValue": self.default,
            "picklistValues": [{"value": v, "label": label, "active": True,
                                "defaultValue": v == self.default,
                                **({"validFor": vf} if vf else {})}
                               for v, label, vf in (self.entries or
                                                    [(v, v, None) for v in self.picklist])],
            "controllerName": self.controller, "dependentPicklist": bool(self.controller),
            "restrictedPicklist": self.restricted,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "filterable": self.type not in {"textarea", "base64"} or self.length <= 255,
        }


@dataclass
class ObjectDef:
    name: str
    label: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    custom: bool = False
    owned: bool = True  # has OwnerId
    enable_activities: bool = False
    tooling_id: str | None = None
    queryable_only: bool = False  # system objects written only by side effects

    def __post_init__(self) -> None:
        self._lower = {k.lower(): k for k in self.fields}

    def add(self, f: FieldDef) -> None:
        self.fields[f.name] = f
        self._lower[f.name.lower()] = f.name

    def drop(self, name: str) -> None:
        real = self._lower.pop(name.lower(), None)
        if real:
            self.fields.pop(real, None)

    def get(self, name: str) -> FieldDef | None:
        real = self._lower.get(name.lower())
        return self.fields[real] if real else None

    def relationship(self, rel: str) -> FieldDef | None:
        """The reference field whose relationship name is ``rel`` (``Account``, ``Patient__r``)."""
        for f in self.fields.values():
            if f.relationship_name and f.relationship_name.lower() == rel.lower():
                return f
        return None


def _system_fields(owned: bool) -> list[FieldDef]:
    audit = dict(createable=False, updateable=False, defaulted=True, nillable=False)
    out = [FieldDef("Id", "id", "Record ID", 18, createable=False, updateable=False,
                    nillable=False, defaulted=True),
           FieldDef("IsDeleted", "boolean", "Deleted", createable=False, updateable=False,
                    nillable=False, defaulted=True),
           FieldDef("CreatedDate", "datetime", **audit),
           FieldDef("CreatedById", "reference", reference_to=("User",),
                    relationship_name="CreatedBy", length=18, **audit),
           FieldDef("LastModifiedDate", "datetime", **audit),
           FieldDef("LastModifiedById", "reference", reference_to=("User",),
                    relationship_name="LastModifiedBy", length=18, **audit),
           FieldDef("SystemModstamp", "datetime", **audit)]
    if owned:
        out.append(FieldDef("OwnerId", "reference", "Owner ID", 18, nillable=False,
                            defaulted=True, reference_to=("User",), relationship_name="Owner"))
    return out


def _obj(name: str, prefix: str, fields: list[FieldDef], *, owned: bool = True,
         label: str = "", **kw: Any) -> ObjectDef:
    od = ObjectDef(name, label or name, prefix, owned=owned, **kw)
    for f in _system_fields(owned) + fields:
        od.add(f)
    return od


def _s(name: str, length: int, **kw: Any) -> FieldDef:
    return FieldDef(name, kw.pop("type", "string"), length=length, **kw)


TASK_STATUS = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
PRIORITY = ("High", "Normal", "Low")
WHO = ("Contact", "Lead")


def standard_objects() -> dict[str, ObjectDef]:
    """A fresh set of standard object definitions for a new org."""
    ref = dict(type="reference", length=18)
    objs = [
        _obj("Account", "001", [
            _s("Name", 255, nillable=False, label="Account Name", id_lookup=False),
            _s("Phone", 40, type="phone"), _s("Website", 255, type="url"),
            _s("Industry", 255, type="picklist", picklist=("Healthcare", "Other")),
            _s("BillingStreet", 255, type="textarea"), _s("BillingCity", 40),
            _s("BillingState", 80), _s("BillingPostalCode", 20), _s("BillingCountry", 80),
            _s("Description", 32000, type="textarea")]),
        _obj("Contact", "003", [
            _s("FirstName", 40), _s("LastName", 80, nillable=False), _s("Salutation", 40,
                                                                          type="picklist",
                                                                          picklist=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
            _s("Name", 121, createable=False, updateable=False),
            FieldDef("AccountId", relationship_name="Account", reference_to=("Account",), **ref),
            FieldDef("ReportsToId", relationship_name="ReportsTo", reference_to=("Contact",), **ref),
            _s("Email", 80, type="email", id_lookup=True), _s("Phone", 40, type="phone"),
            _s("MobilePhone", 40, type="phone"), _s("HomePhone", 40, type="phone"),
            _s("Title", 128), _s("Department", 80), FieldDef("Birthdate", "date"),
            _s("MailingStreet", 255, type="textarea"), _s("MailingCity", 40),
            _s("MailingState", 80), _s("MailingPostalCode", 20), _s("MailingCountry", 80),
            # [doc] the compound field over the Mailing* parts: read-only, queried as an object
            FieldDef("MailingAddress", "address", createable=False, updateable=False),
            _s("LeadSource", 255, type="picklist", picklist=("Web", "Phone Inquiry", "Other")),
            _s("Description", 32000, type="textarea"),
            FieldDef("HasOptedOutOfEmail", "boolean", nillable=False, defaulted=True,
                     default=False)]),
        _obj("Task", "00T", [
            _s("Subject", 255, type="combobox", picklist=("Call", "Send Letter", "Other")),
            _s("Status", 255, type="picklist", picklist=TASK_STATUS, restricted=True,
               nillable=False, defaulted=True, default="Not Started"),
            _s("Priority", 40, type="picklist", picklist=PRIORITY, restricted=True,
               nillable=False, defaulted=True, default="Normal"),
            FieldDef("ActivityDate", "date", "Due Date Only"),
            FieldDef("IsReminderSet", "boolean", nillable=False, defaulted=True, default=False),
            FieldDef("ReminderDateTime", "datetime"),
            FieldDef("WhoId", relationship_name="Who", reference_to=WHO, **ref),
            FieldDef("WhatId", relationship_name="What", reference_to=("Account",), **ref),
            _s("Description", 32000, type="textarea"),
            _s("TaskSubtype", 40, type="picklist", picklist=("Task", "Email", "Call")),
            FieldDef("IsClosed", "boolean", createable=False, updateable=False, nillable=False,
                     defaulted=True)]),
        _obj("Event", "00U", [
            _s("Subject", 255, type="combobox", picklist=("Call", "Meeting", "Other")),
            FieldDef("StartDateTime", "datetime"), FieldDef("EndDateTime", "datetime"),
            FieldDef("ActivityDateTime", "datetime"), FieldDef("ActivityDate", "date"),
            FieldDef("DurationInMinutes", "int", precision=8),
            FieldDef("IsAllDayEvent", "boolean", nillable=False, defaulted=True, default=False),
            _s("Location", 255),
            FieldDef("WhoId", relationship_name="Who", reference_to=WHO, **ref),
            FieldDef("WhatId", relationship_name="What", reference_to=("Account",), **ref),
            _s("Description", 32000, type="textarea"),
            _s("ShowAs", 40, type="picklist", picklist=("Busy", "Free", "OutOfOffice"),
               defaulted=True, default="Busy")]),
        _obj("User", "005", [
            _s("Username", 80, nillable=False, unique=True, id_lookup=True),
            _s("Email", 128, type="email", nillable=False, id_lookup=True),
            _s("FirstName", 40), _s("LastName", 80, nillable=False),
            _s("Name", 121, createable=False, updateable=False), _s("Alias", 8, nillable=False),
            FieldDef("IsActive", "boolean", nillable=False, defaulted=True, default=True)],
             owned=False),
        _obj("ContentVersion", "068", [
            _s("Title", 255, nillable=False, defaulted=True), _s("PathOnClient", 500),
            FieldDef("VersionData", "base64", length=0, nillable=False),
            _s("Description", 1000, type="textarea"),
            FieldDef("FirstPublishLocationId", relationship_name="FirstPublishLocation",
                     reference_to=("Account", "Contact", "User"), **ref),
            FieldDef("ContentDocumentId", createable=False, updateable=False,
                     relationship_name="ContentDocument", reference_to=("ContentDocument",),
                     **ref),
            FieldDef("ContentSize", "int", createable=False, updateable=False),
            _s("FileExtension", 40, createable=False, updateable=False),
            _s("FileType", 20, createable=False, updateable=False)]),
        _obj("ContentDocument", "069", [
            _s("Title", 255), FieldDef("LatestPublishedVersionId", createable=False,
                                       reference_to=("ContentVersion",), **ref),
            FieldDef("ContentSize", "int", createable=False, updateable=False),
            _s("FileExtension", 40, createable=False, updateable=False)],
             queryable_only=True),
        _obj("ContentDocumentLink", "06A", [
            FieldDef("ContentDocumentId", nillable=False, relationship_name="ContentDocument",
                     reference_to=("ContentDocument",), **ref),
            FieldDef("LinkedEntityId", nillable=False, relationship_name="LinkedEntity",
                     reference_to=("Account", "Contact", "User"), **ref),
            _s("ShareType", 40, type="picklist", picklist=("V", "C", "I"), defaulted=True,
               default="V"),
            _s("Visibility", 40, type="picklist", picklist=("AllUsers", "InternalUsers",
                                                            "SharedUsers"),
               defaulted=True, default="AllUsers")], owned=False),
        _obj("PermissionSet", "0PS", [
            _s("Name", 80, nillable=False, unique=True), _s("Label", 80, nillable=False),
            _s("Description", 255)], owned=False),
        _obj("FieldPermissions", "01k", [
            FieldDef("ParentId", nillable=False, reference_to=("PermissionSet",),
                     relationship_name="Parent", **ref),
            _s("SobjectType", 80, nillable=False), _s("Field", 160, nillable=False),
            FieldDef("PermissionsRead", "boolean", nillable=False, defaulted=True, default=False),
            FieldDef("PermissionsEdit", "boolean", nillable=False, defaulted=True,
                     default=False)], owned=False),
        _obj("ObjectPermissions", "110", [
            FieldDef("ParentId", nillable=False, reference_to=("PermissionSet",),
                     relationship_name="Parent", **ref),
            _s("SobjectType", 80, nillable=False)]
             + [FieldDef(f"Permissions{p}", "boolean", nillable=False, defaulted=True,
                         default=False)
                for p in ("Read", "Create", "Edit", "Delete", "ViewAllRecords",
                          "ModifyAllRecords")], owned=False),
        _obj("PermissionSetAssignment", "0Pa", [
            FieldDef("AssigneeId", nillable=False, reference_to=("User",),
                     relationship_name="Assignee", **ref),
            FieldDef("PermissionSetId", nillable=False, reference_to=("PermissionSet",),
                     relationship_name="PermissionSet", **ref)], owned=False),
    ]
    return {o.name: o for o in objs}


def custom_object(name: str, label: str, prefix: str, *, auto_number: bool,
                  display_format: str = "", enable_activities: bool = True) -> ObjectDef:
    """A new custom object with its standard Name field (Text, or AutoNumber if asked)."""
    name_field = (_s("Name", 80, createable=False, updateable=False, nillable=False,
                     defaulted=True, label=label + " Name", default=display_format)
                  if auto_number else _s("Name", 80, nillable=False, label=label + " Name"))
    return _obj(name, prefix, [name_field], label=label, custom=True,
                enable_activities=enable_activities)


def custom_field(meta: dict[str, Any], name: str, tooling_id: str) -> FieldDef:
    """A FieldDef from Tooling API ``Metadata`` (Text, Number, Lookup, Picklist …)."""
    kind = str(meta.get("type", "Text"))
    label = str(meta.get("label") or name)
    common = dict(label=label, custom=True, tooling_id=tooling_id,
                  external_id=bool(meta.get("externalId")), unique=bool(meta.get("unique")),
                  case_sensitive=bool(meta.get("caseSensitive")),
                  nillable=not meta.get("required"))
    if kind == "Text":
        return FieldDef(name, "string", length=int(meta.get("length") or 255), **common)
    if kind in {"LongTextArea", "Html"}:
        return FieldDef(name, "textarea", length=int(meta.get("length") or 32768), **common)
    if kind == "TextArea":
        return FieldDef(name, "textarea", length=255, **common)
    if kind in {"Email", "Phone", "Url"}:
        return FieldDef(name, kind.lower(), length=80 if kind == "Email" else 255, **common)
    if kind in {"Number", "Currency", "Percent"}:
        scale = int(meta.get("scale") or 0)
        t = {"Number": "int" if scale == 0 else "double", "Currency": "currency",
             "Percent": "percent"}[kind]
        return FieldDef(name, t, precision=int(meta.get("precision") or 18), scale=scale,
                        **common)
    if kind == "Checkbox":
        common["nillable"] = False
        return FieldDef(name, "boolean", defaulted=True,
                        default=str(meta.get("defaultValue", "false")).lower() == "true",
                        **common)
    if kind in {"Date", "DateTime"}:
        return FieldDef(name, kind.lower(), **common)
    if kind in {"Picklist", "MultiselectPicklist"}:
        vs = (meta.get("valueSet") or {})
        values = [v.get("fullName") or v.get("label")
                  for v in (vs.get("valueSetDefinition") or {}).get("value", [])]
        return FieldDef(name, "picklist" if kind == "Picklist" else "multipicklist",
                        length=255 if kind == "Picklist" else 4099,
                        picklist=tuple(values), restricted=bool(vs.get("restricted")), **common)
    if kind in {"Lookup", "MasterDetail"}:
        rel = str(meta.get("relationshipName") or name.removesuffix("__c"))
        if kind == "MasterDetail":
            common["nillable"] = False
        return FieldDef(name, "reference", length=18, reference_to=(str(meta["referenceTo"]),),
                        relationship_name=rel + "__r", **common)
    raise ValueError(kind)


def describe_object(od: ObjectDef, fields: list[FieldDef], base: str) -> dict[str, Any]:
    return {**describe_global_entry(od, base), "fields": [f.describe() for f in fields],
            "childRelationships": [], "recordTypeInfos": []}


def describe_global_entry(od: ObjectDef, base: str) -> dict[str, Any]:
    return {"name": od.name, "label": od.label, "labelPlural": od.label + "s",
            "custom": od.custom, "keyPrefix": od.key_prefix,
            "createable": not od.queryable_only, "updateable": not od.queryable_only,
            "deletable": True, "queryable": True, "searchable": True,
            "urls": {"sobject": f"{base}/sobjects/{od.name}",
                     "describe": f"{base}/sobjects/{od.name}/describe",
                     "rowTemplate": f"{base}/sobjects/{od.name}/{{ID}}"}}
