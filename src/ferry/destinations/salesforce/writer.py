"""The Salesforce Destination: what the engine calls, mapped onto client, loader and provisioner.

Objects at the seam are sObject API names (``Account``, ``Contact``, ``Task``, ``Event``,
``ContentVersion`` and custom ``…__c`` objects); fields are API names as describe reports them.
Describe results are cached per object and dropped after ``ensure`` (new grants change what the
integration user can see). Files go up as multipart ContentVersions with
``FirstPublishLocationId``, which makes the platform link them to the parent record.

A ContentVersion insert is not idempotent: sent again after a lost answer it makes a second
file (and a second ContentDocument). The ContentDocumentLink is no write of Ferry's: the
platform makes it as it stores the file, from ``FirstPublishLocationId`` (NOTES 5), so it
lands or not with the file. An upload that carries a source id is sent once per try
(``client.request(resend=False)``); after a lost answer its tag (``[ferry-id:…]`` in the
Description) is looked for on the parent, again after ``ambiguous_settle_s``
(``connectors.settle``), and the file is sent again only if neither look finds it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import IO, Any, ClassVar

from ferry.connectors.base import (
    Budget,
    Capabilities,
    CheckItem,
    Cost,
    Destination,
    DestUser,
    FieldSpec,
    ObjectInfo,
    Provisioned,
    RateInfo,
    SchemaItem,
    WriteResult,
)
from ferry.connectors.settle import absent, look_twice
from ferry.destinations.salesforce import Settings
from ferry.destinations.salesforce import addresses as addr
from ferry.destinations.salesforce.bulk import BulkIngest
from ferry.destinations.salesforce.client import COLLECTION, SalesforceClient
from ferry.destinations.salesforce.errors import SYSTEM, Ambiguous, ApiError, record_error
from ferry.destinations.salesforce.load import Loader
from ferry.destinations.salesforce.provision import Provisioner, api_name
from ferry.destinations.salesforce.shape import flatten, from_api, to_json
from ferry.errors import FatalError, FerryError, RecordError
from ferry.model.crypto import PlainView
from ferry.model.fields import Kind

STANDARD = ("Account", "Contact", "Task", "Event", "ContentVersion")
KINDS = {"string": Kind.TEXT, "textarea": Kind.LONG_TEXT, "email": Kind.EMAIL,
         "phone": Kind.PHONE, "url": Kind.TEXT, "picklist": Kind.ENUM,
         "multipicklist": Kind.SET, "combobox": Kind.TEXT, "boolean": Kind.BOOL,
         "int": Kind.INT, "double": Kind.DECIMAL, "percent": Kind.DECIMAL,
         "currency": Kind.MONEY, "date": Kind.DATE, "datetime": Kind.DATETIME,
         "reference": Kind.REF, "id": Kind.TEXT, "address": Kind.ADDRESS}
BULK_JOB_CALLS = 9  # create, PUT, UploadComplete, ~3 polls, up to 3 result files
FILE_TAG = re.compile(r"\[ferry-id:([^\]]+)\]\s*$")
ID_CHUNK = 200  # ids per SOQL IN (…): keeps the URL well under the 16k limit


def file_title(file_name: str) -> str:
    """A file's ``Title``: its name without the extension, as Salesforce shows it."""
    return file_name.rsplit(".", 1)[0] or file_name


def _event_span(key: str, row: dict[str, Any]) -> str | None:
    """The rule by which Salesforce filled an Event's ``key`` the map left empty, when the
    read-back row bears it out: EndDateTime = StartDateTime + DurationInMinutes (and the
    length the minutes between them)."""
    from ferry.connectors import meaning

    start = meaning.instant(row.get("StartDateTime"), naive_utc=True)
    end = meaning.instant(row.get("EndDateTime"), naive_utc=True)
    minutes = row.get("DurationInMinutes")
    if start is None or end is None or isinstance(minutes, bool) or \
            not isinstance(minutes, int | float):
        return None
    if end - start != dt.timedelta(minutes=minutes):
        return None
    return ("Salesforce derives an Event's EndDateTime from StartDateTime + DurationInMinutes"
            if key == "EndDateTime" else
            "Salesforce derives an Event's DurationInMinutes from StartDateTime and "
            "EndDateTime")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: the most rows one ``create`` takes from the engine (the loader splits them further)
BULK_BATCH = 100_000


def _with_emptied(obj: str, results: list[WriteResult],
                  emptied: dict[int, list[tuple[str, str]]], keys: list[Any]
                  ) -> list[WriteResult]:
    """Successful results carry the address fields sent empty as field-level errors."""
    for i, fields in emptied.items():
        r = results[i]
        if r.ok:
            ref = f"salesforce:{obj}:{keys[i]}" if keys[i] else f"salesforce:{obj}:row{i}"
            r.field_errors.extend(RecordError(ref, f, reason, system="salesforce")
                                  for f, reason in fields)
    return results


class SalesforceDestination(Destination):
    name: ClassVar[str] = "salesforce"
    capabilities: ClassVar[Capabilities] = Capabilities(
        custom_objects=True, custom_fields=True, native_upsert=True,
        # creates: the engine hands over a whole write batch (options.batch_size), which the
        # loader sends as collections of 200 or, from ``bulk_threshold`` rows, as Bulk API 2.0
        # jobs; capped at 200 here, no load ever reached Bulk 2.0
        max_file_bytes=2_000_000_000, batch_create=BULK_BATCH, batch_update=COLLECTION,
        batch_delete=COLLECTION, custom_field_style="suffix__c", upload_reads_view=True)

    def __init__(self, settings: Settings, workdir: Path, transport: Any = None) -> None:
        self.settings = settings
        self.client = SalesforceClient(settings, transport)
        self.bulk = BulkIngest(self.client, Path(workdir) / "salesforce")
        self.loader = Loader(self.client, self.bulk, settings)
        self.provisioner = Provisioner(self.client, settings.permission_set)
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}
        #: object → (its describe, its addresses with code picklists) (``addresses``)
        self._addr: dict[str, tuple[Any, list[addr.Address]]] = {}

    # -- schema ----------------------------------------------------------------------------
    def _describe(self, obj: str) -> dict[str, dict[str, Any]]:
        """Visible fields of ``obj`` by lower-case API name (cached)."""
        if obj not in self._fields:
            desc = self.client.get(f"sobjects/{obj}/describe")
            self._fields[obj] = {f["name"].lower(): f for f in desc["fields"]}
        return self._fields[obj]

    def _addresses(self, obj: str) -> list[addr.Address]:
        """The object's addresses whose country is a picklist (State and Country/Territory
        Picklists on); worked out again when describe was."""
        fields = self._describe(obj)
        hit = self._addr.get(obj)
        if hit is None or hit[0] is not fields:
            hit = self._addr[obj] = (fields, addr.picklists(fields))
        return hit[1]

    def _type(self, obj: str, name: str) -> str | None:
        f = self._describe(obj).get(name.lower())
        return str(f["type"]) if f else None

    def check(self) -> list[CheckItem]:
        items: list[CheckItem] = []
        try:
            self.client.connect()
            items.append(CheckItem("login", True, "token obtained"))
        except FerryError as e:
            return [CheckItem("login", False, str(e), "check the connected app, the"
                              " credentials' env vars and login_url")]
        versions = {v["version"] for v in self.client.request("GET", "/services/data").json()}
        ok = self.settings.api_version in versions
        items.append(CheckItem("api version", ok, f"v{self.settings.api_version}",
                               "" if ok else "pick a version the org lists"))
        try:
            lim = self.client.limits()["DailyApiRequests"]
            items.append(CheckItem("daily API requests", lim["Remaining"] > 0,
                                   f"{lim['Remaining']} of {lim['Max']} left"))
            desc = self.client.get("sobjects/Contact/describe")
            items.append(CheckItem("Contact createable", bool(desc.get("createable")), ""))
            on = bool(addr.picklists({f["name"].lower(): f for f in desc.get("fields", [])}))
            items.append(CheckItem("State and Country/Territory Picklists", True,
                                   "on: countries and states are written as ISO codes" if on
                                   else "off: countries and states are written as text"))
            self.client.count("SELECT COUNT() FROM User")
            list(self.client.query("SELECT Id FROM CustomObject LIMIT 1", tooling=True))
            items.append(CheckItem("metadata access (Tooling API)", True, ""))
        except ApiError as e:
            items.append(CheckItem("permissions", False, e.code, "grant the integration user"
                                   " API Enabled, View Setup and Modify Metadata"))
        return items

    def describe(self) -> list[ObjectInfo]:
        listed = self.client.get("sobjects")["sobjects"]
        names = [o["name"] for o in listed if o["name"] in STANDARD or o.get("custom")]
        out = []
        for o in listed:
            if o["name"] not in names:
                continue
            fields = [FieldSpec(
                name=f["name"], kind=KINDS.get(f["type"], Kind.TEXT), label=f["label"],
                key=f["name"], custom=bool(f.get("custom")),
                # a custom object's Text Name is filled by ``create`` (the source id) when the
                # map leaves it empty: not a field the map must give
                required=f["createable"] and not f["nillable"] and not f["defaultedOnCreate"]
                and not (o["name"].endswith("__c") and f["name"] == "Name"),
                max_length=f.get("length") or None,
                options=[p["value"] for p in f.get("picklistValues") or []] or None,
                ref=(f.get("referenceTo") or [None])[0],
                writable=bool(f["createable"] or f["updateable"]),
                external_id=bool(f.get("externalId")))
                for f in self._describe(o["name"]).values()]
            out.append(ObjectInfo(o["name"], o.get("label", o["name"]), fields,
                                  custom=bool(o.get("custom"))))
        return out

    def ensure(self, items: list[SchemaItem]) -> list[Provisioned]:
        try:
            return self.provisioner.ensure(items)
        finally:
            self._fields.clear()

    def remove(self, provisioned: Provisioned) -> None:
        self.provisioner.remove(provisioned)
        self._fields.clear()

    def remove_leftovers(self) -> list[str]:
        return self.provisioner.remove_leftovers()

    def existing_schema(self, items: list[SchemaItem]) -> list[bool | None]:
        return self.provisioner.existing(items)

    def users(self) -> list[DestUser]:
        return [DestUser(r["Id"], r.get("Email") or "", r.get("Name") or "",
                         bool(r.get("IsActive")))
                for r in self.client.query("SELECT Id, Email, Name, IsActive FROM User")]

    # -- records ---------------------------------------------------------------------------
    def _id_field(self, id_field: str) -> str:
        return api_name(id_field.split(":", 1)[1]) if id_field.startswith("custom:") \
            else id_field

    def find(self, object_name: str, id_field: str, source_ids: list[str]) -> dict[str, str]:
        field = self._id_field(id_field)
        if not field and object_name == "ContentVersion":  # files: the Description tag
            return self._tagged_files("", source_ids)
        if not field:
            raise FerryError(f"no source-id field to find {object_name} records by")
        wanted = {s.lower(): s for s in source_ids}
        found: dict[str, str] = {}
        todo = sorted(set(source_ids))
        start = 0
        while start < len(todo):
            chunk, size = [], 0
            while start < len(todo) and size < 8000 and len(chunk) < ID_CHUNK:
                chunk.append(todo[start])
                size += len(todo[start]) + 3
                start += 1
            soql = (f"SELECT Id, {field} FROM {object_name} WHERE {field} IN"
                    f" ({', '.join(_quote(s) for s in chunk)})")
            for row in self.client.query(soql):
                value = str(flatten(row).get(field, ""))
                src = wanted.get(value.lower())
                if src is not None:
                    found[src] = row["Id"]
        return found

    def _ext(self, object_name: str, rows: list[dict[str, Any]]) -> str | None:
        keys = {k for r in rows[:1] for k in r}
        preferred = self.settings.source_id_field
        if preferred in keys:
            return preferred
        fields = self._describe(object_name)
        return next((k for k in keys if (fields.get(k.lower()) or {}).get("externalId")), None)

    def create(self, object_name: str, rows: list[dict[str, Any]]) -> list[WriteResult]:
        if not rows:
            return []
        rows, emptied = self._codes(object_name, rows)
        ext = self._ext(object_name, rows)
        name = self._describe(object_name).get("name") if object_name.endswith("__c") else None
        if ext and name and name["createable"] and not name["nillable"] and \
                not name["defaultedOnCreate"]:  # a Text Name the map left empty: the source id
            rows = [r if r.get("Name") else {**r, "Name": str(r.get(ext) or "")[:80] or None}
                    for r in rows]
        return _with_emptied(object_name, self.loader.create(object_name, rows, ext), emptied,
                             [r.get(ext) if ext else None for r in rows])

    def update(self, object_name: str, rows: list[tuple[str, dict[str, Any]]]
               ) -> list[WriteResult]:
        if not rows:
            return []
        values, emptied = self._codes(object_name, [r for _, r in rows])
        pairs = [(rid, v) for (rid, _), v in zip(rows, values, strict=True)]
        return _with_emptied(object_name, self.loader.update(object_name, pairs), emptied,
                             [rid for rid, _ in rows])

    def _codes(self, object_name: str, rows: list[dict[str, Any]]
               ) -> tuple[list[dict[str, Any]], dict[int, list[tuple[str, str]]]]:
        """Rows with their text countries and states as codes in a picklist org
        (``addresses``), and by row index the fields left empty for want of one."""
        addresses = self._addresses(object_name) if object_name in STANDARD else []
        if not addresses:
            return rows, {}
        out, emptied = [], {}
        for i, row in enumerate(rows):
            new, gone = addr.to_codes(addresses, row)
            out.append(new)
            if gone:
                emptied[i] = gone
        return out, emptied

    def delete(self, object_name: str, dest_ids: list[str]) -> list[WriteResult]:
        if not dest_ids:
            return []
        if object_name == "ContentVersion":  # files are deleted through their document
            docs = self.read("ContentVersion", dest_ids, ["ContentDocumentId"])
            doc_ids = [str((docs.get(i) or {}).get("ContentDocumentId") or i) for i in dest_ids]
            results = self.loader.delete("ContentDocument", doc_ids)
            return [WriteResult.success(i) if r.ok else r for i, r in zip(dest_ids, results,
                                                                          strict=True)]
        return self.loader.delete(object_name, dest_ids)

    def read(self, object_name: str, dest_ids: list[str], fields: list[str] | None = None
             ) -> dict[str, dict[str, Any]]:
        """Records by id; in a picklist org an address's text country or state reads as its
        code (``addresses``: the org's label for it is not what the map sent)."""
        try:
            addresses = self._addresses(object_name) if object_name in STANDARD else []
        except ApiError:
            addresses = []
        if not addresses:
            return self._read(object_name, dest_ids, fields)
        if fields is None:
            rows = self._read(object_name, dest_ids, None)
            swap = addr.read_fields(addresses, [n for a in addresses for n in (a.country,
                                                                                a.state)])
            for r in rows.values():
                for text, code in swap.items():
                    if code in r:
                        r[text] = r[code]
            return rows
        swap = addr.read_fields(addresses, fields)
        asked = list(dict.fromkeys(swap.get(f, f) for f in fields))
        rows = self._read(object_name, dest_ids, asked)
        return {rid: {f: r.get(swap.get(f, f)) for f in fields} for rid, r in rows.items()}

    def _read(self, object_name: str, dest_ids: list[str], fields: list[str] | None = None
              ) -> dict[str, dict[str, Any]]:
        try:
            described = self._describe(object_name)
        except ApiError as e:
            if e.code == "NOT_FOUND":  # the object itself is gone (schema rolled back)
                return {}
            raise
        if fields is None:
            fields = [f["name"] for f in described.values()
                      if (f["createable"] or f["updateable"]) and f["type"] != "base64"]
        select = ", ".join(dict.fromkeys(["Id", *fields]))
        # each field's type looked up once per call, not per row
        types = [(f, f.lower(), self._type(object_name, f) if "." not in f else None)
                 for f in fields]
        out: dict[str, dict[str, Any]] = {}
        # rows of one query come with the same keys: where each field is among them is worked
        # out once per set of keys (a row holding a parent or compound field as an object is
        # flattened first, as any row was)
        plans: dict[tuple[str, ...], list[tuple[str, str | None, str | None]]] = {}
        for start in range(0, len(dest_ids), ID_CHUNK):
            chunk = dest_ids[start:start + ID_CHUNK]
            soql = (f"SELECT {select} FROM {object_name} WHERE Id IN"
                    f" ({', '.join(_quote(i) for i in chunk)})")
            for row in self.client.query(soql):
                if any(isinstance(v, dict) for k, v in row.items() if k != "attributes"):
                    flat = flatten(row)
                    lower = {k.lower(): v for k, v in flat.items()}
                    out[row["Id"]] = {f: from_api(lower.get(low), kind)
                                      for f, low, kind in types}
                    continue
                keys = tuple(row)
                plan = plans.get(keys)
                if plan is None:
                    at = {k.lower(): k for k in keys if k != "attributes"}
                    plan = plans[keys] = [(f, at.get(low), kind) for f, low, kind in types]
                out[row["Id"]] = {f: None if k is None else from_api(row[k], kind)
                                  for f, k, kind in plan}
        for rid in dest_ids:  # 15-char ids asked for come back as 18-char ones
            if rid not in out and len(rid) == 15:
                match = next((k for k in out if k.startswith(rid)), None)
                if match:
                    out[rid] = out[match]
        return out

    def design_rule(self, object_name: str, key: str, sent: Any, stored: Any, *,
                    row: dict[str, Any] | None = None) -> str | None:
        """Salesforce's documented behaviours the sample diff must not call faults; an Event's
        end and length are one fact: sent one, Salesforce derives the other
        [specs/salesforce/NOTES.md: "EndDateTime or DurationInMinutes"]."""
        if object_name == "Event" and row and sent in (None, "") and \
                key in ("EndDateTime", "DurationInMinutes"):
            return _event_span(key, row)
        if object_name == "ContentVersion" and key == "file_name" and isinstance(sent, str) \
                and "." in sent and stored == (sent.rsplit(".", 1)[0] or sent):
            return "ContentVersion.Title holds the file name without its extension"
        if stored is False and sent in (None, "") and "." not in key:
            try:
                boolean = self._type(object_name, key) == "boolean"
            except FerryError:
                return None
            if boolean:
                return "a checkbox is never empty: one the map did not send reads false"
        return None

    def stored_form(self, object_name: str, key: str, value: Any, row: dict[str, Any]
                    ) -> Any:
        """In a picklist org a text country or state the map sent is read back as its code
        (``read``): the code it resolves to; else ``value``. Never raises."""
        try:
            addresses = self._addresses(object_name) if object_name in STANDARD else []
        except FerryError:
            return value
        return addr.stored_code(addresses, key, value, row) if addresses else value

    def stored_meaning(self, object_name: str, key: str, kind: str, row: dict[str, Any]
                       ) -> tuple[Any, str] | None:
        """Salesforce's readings [specs/salesforce/NOTES.md]: a ``dateTime`` is ISO with its
        offset (stored in UTC, read back ``+0000``; one without an offset is UTC), a ``date``
        the day; a Currency field is in the record's ``CurrencyIsoCode`` when the row holds it
        (a multi-currency org), else in the org's one currency (not read)."""
        from ferry.connectors import meaning

        return meaning.reading(row.get(key), kind, currency=row.get("CurrencyIsoCode"),
                               amount_as="the amount in its CurrencyIsoCode",
                               instant_as="an ISO dateTime (UTC)")

    def iter_ids(self, object_name: str) -> Any:
        for row in self.client.query(f"SELECT Id FROM {object_name}"):
            yield row["Id"]

    def _tagged_files(self, parent_id: str, source_ids: list[str]) -> dict[str, str]:
        """Files carrying ``[ferry-id:<source id>]`` in their Description (one parent's, or all;
        a long Description cannot be filtered in SOQL, so the tag is matched here)."""
        wanted = set(source_ids)
        where = f" WHERE FirstPublishLocationId = {_quote(parent_id)}" if parent_id else ""
        found: dict[str, str] = {}
        for row in self.client.query(f"SELECT Id, Description FROM ContentVersion{where}"):
            m = FILE_TAG.search(str(row.get("Description") or ""))
            if m and m.group(1) in wanted:
                found.setdefault(m.group(1), row["Id"])
        return found

    def file_rename(self, object_name: str, file_name: str) -> dict[str, Any] | None:
        """A ContentVersion's ``Title`` (the name Salesforce shows) is updateable;
        ``PathOnClient`` is not."""
        return {"Title": file_title(file_name)}

    def find_upload(self, object_name: str, parent_object: str, parent_id: str,
                    source_id: str, file_name: str | None, size: int | None) -> str | None:
        return self._tagged_files(parent_id, [source_id]).get(source_id)

    def upload(self, parent_object: str, parent_id: str, path: Path | PlainView, file_name: str,
               mime_type: str | None, extra: dict[str, Any] | None = None) -> WriteResult:
        """``path``: a file, or (``upload_reads_view``) a stored file's ``PlainView``, decrypted
        as the request body is written: no plain copy written to disk and read back (the
        engine wrote one for every file)."""
        ref = f"{SYSTEM}:{parent_object}:{parent_id}:file"
        size = path.stat().st_size
        if size > self.settings.max_file_bytes:
            return WriteResult.failure(RecordError(ref, "VersionData", "file larger than the"
                                                   f" {self.settings.max_file_bytes}-byte"
                                                   " limit", system=SYSTEM))
        entity = {"Title": file_title(file_name), "PathOnClient": file_name,
                  "FirstPublishLocationId": parent_id,
                  **{k: to_json(v) for k, v in (extra or {}).items() if not k.startswith("_")}}
        sid = (extra or {}).get("_source_id")
        if sid:  # tagged in the same call: a resume finds the file (find_upload), never re-sends
            text = str(entity.get("Description") or "")
            entity["Description"] = f"{text}\n[ferry-id:{sid}]".strip()[-1000:]
        handles: list[IO[bytes]] = []

        def files() -> dict[str, Any]:
            fh = path.open("rb")
            handles.append(fh)
            return {"entity_content": (None, json.dumps(entity), "application/json"),
                    "VersionData": (file_name, fh, mime_type or "application/octet-stream")}

        try:
            for _ in range(self.settings.retries):
                try:
                    # an insert: sent again blindly only when there is no tag to find it by
                    res = self.client.request("POST", "sobjects/ContentVersion", files=files,
                                              resend=not sid).json()
                    return WriteResult.success(str(res["id"]), created=True)
                except Ambiguous:
                    found = look_twice(
                        lambda: self._tagged_files(parent_id, [str(sid)]).get(str(sid)),
                        absent, self.settings.ambiguous_settle_s, self.settings.time_scale)
                    if found is not None:
                        return WriteResult.success(found, created=True)
                finally:
                    for fh in handles:
                        fh.close()
                    handles.clear()
        except ApiError as e:
            return WriteResult.failure(record_error(ref, e.code, e.fields))
        raise FatalError(f"{ref}: the upload's answer was lost {self.settings.retries} times",
                         system=SYSTEM)

    # -- budget ----------------------------------------------------------------------------
    def cost(self, op: str, object_name: str, n: int) -> Cost:
        if n <= 0:
            return Cost(0)
        if op in {"create", "update", "delete"} and n >= self.settings.bulk_threshold:
            jobs = -(-n // self.settings.bulk_max_rows)
            return Cost(jobs * BULK_JOB_CALLS)
        if op == "upload":
            return Cost(n)
        per = {"read": ID_CHUNK, "find": ID_CHUNK, "iter_ids": 2000}.get(op, COLLECTION)
        return Cost(-(-n // per))

    def ping(self) -> None:
        """The cheapest authenticated call (``/limits``): ``ferry estimate`` times it."""
        self.client.limits()

    def budget(self) -> Budget:
        if self.client.usage is None:
            self.client.limits()
        used, limit = self.client.usage or (0, 0)
        return Budget(remaining=max(0, limit - used), limit=limit or None)

    def rate(self) -> RateInfo:
        limit = self.client.usage[1] if self.client.usage else None
        return RateInfo(daily_budget=limit, page_size=2000, batch_size=COLLECTION,
                        notes=f"Bulk API 2.0 from {self.settings.bulk_threshold} rows;"
                              " daily request allocation is org-wide (rolling 24 h)")

    def close(self) -> None:
        self.client.close()
