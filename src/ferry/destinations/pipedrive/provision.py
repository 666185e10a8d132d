"""Schema in Pipedrive: describe, ensure (custom fields, pipelines, stages, activity types), remove.

Idempotency: Pipedrive happily creates two fields with the same name, so ``ensure`` lists the
object's fields first (all pages; the fields endpoints paginate) and reuses a field whose name
matches, adding only the missing options of an enum/set. Pipelines, stages (within their
pipeline) and activity types are matched by name the same way. Activity and note custom fields
cannot be created through the API (``activityFields`` is read-only, notes have none), so those are
*folded* into the record's HTML text (see ``values``); the source-id field becomes ``~id``.

The Ferry kind of every field ``ensure`` touched is kept in ``<workdir>/pipedrive_kinds.json`` so
later runs read values back with the same kind (Pipedrive has no bool/int/datetime custom types).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ferry.connectors.base import FieldSpec, ObjectInfo, Provisioned, SchemaItem
from ferry.destinations.pipedrive.client import Ambiguous, PipedriveClient
from ferry.destinations.pipedrive.values import (
    CONTACT_SYNC,
    ID_KEY,
    READ_ONLY,
    STANDARD,
    TYPE_TO_KIND,
    YES_NO,
    BadValue,
    field_type_for,
    folded_key,
)
from ferry.errors import FatalError, RecordError
from ferry.model.fields import Kind

FIELD_OBJECTS = ("person", "organization", "deal")
#: ``also_made`` key of an option ``ensure`` added to a field that was there: ``option:<label>``
OPTION = "option:"
ICONS = (("meet", "meeting"), ("appoint", "meeting"), ("visit", "meeting"), ("call", "call"),
         ("phone", "call"), ("mail", "email"), ("deadline", "deadline"), ("lunch", "lunch"))


class Schema:
    def __init__(self, client: PipedriveClient, workdir: Path | None) -> None:
        self.client = client
        self.kinds_path = workdir / "pipedrive_kinds.json" if workdir else None
        self.kinds: dict[str, str] = {}
        self.id_keys: dict[str, str] = {}  # object -> key of its source-id field
        #: every source-id field of an object: several source objects can land on one
        #: destination object (appointments and treatments both become deals)
        self.external_keys: dict[str, list[str]] = {}
        if self.kinds_path and self.kinds_path.exists():
            saved = json.loads(self.kinds_path.read_text())
            self.kinds.update(saved.get("kinds", {}))
            self.id_keys.update(saved.get("id_keys", {}))
            self.external_keys.update(saved.get("external_keys", {}))
        self._fields: dict[str, list[dict[str, Any]]] = {}
        #: the writer's lanes (``batch.run_rows``) share this cache: without the lock each lane
        #: that met an object first listed its fields too (4 listings, 40 tokens, for one)
        self._listing = threading.Lock()
        self._custom_index: dict[str, tuple[list[dict[str, Any]], int,
                                            dict[str, dict[str, Any]]]] = {}
        #: objects whose fields were listed fresh in this session (by ``existing``, which a
        #: prepare calls first, or by the first ``ensure``): later items of the same prepare
        #: use that listing, kept current with what we create, instead of listing (10 tokens)
        #: before every create
        self.fresh: set[str] = set()
        self._pipelines: dict[str, int] | None = None  # name -> id, same lifetime
        self._stages: dict[int, dict[str, int]] = {}  # pipeline id -> stage name -> id

    # -- fields cache ----------------------------------------------------------------------------
    def fields(self, obj: str, refresh: bool = False) -> list[dict[str, Any]]:
        if obj in self._fields and not refresh:
            return self._fields[obj]
        with self._listing:
            if obj not in self._fields or refresh:
                rows: list[dict[str, Any]] = []
                for page in self.client.pages_v2(f"/{obj}Fields"):
                    rows.extend(page)
                self._fields[obj] = rows
            return self._fields[obj]

    def custom_index(self, obj: str, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """``obj``'s custom fields by key, from the listing (an index kept with the list it was
        built from and its length: the list is replaced or appended to)."""
        if obj not in FIELD_OBJECTS:
            return {}
        rows = self.fields(obj, refresh=refresh)
        built = self._custom_index.get(obj)
        if built is None or built[0] is not rows or built[1] != len(rows):
            index: dict[str, dict[str, Any]] = {}
            for f in rows:
                if f.get("is_custom_field"):
                    index.setdefault(f["field_code"], f)
            built = self._custom_index[obj] = (rows, len(rows), index)
        return built[2]

    def custom(self, obj: str, key: str) -> dict[str, Any] | None:
        """The custom field ``key`` of ``obj``, listed again once if not known."""
        return self.custom_index(obj).get(key) or self.custom_index(obj, refresh=True).get(key)

    def _system_options(self, obj: str, key: str) -> dict[str, int]:
        for refresh in (False, True):
            for f in self.fields(obj, refresh=refresh):
                if f["field_code"] == key and f.get("options"):
                    return {o["label"]: int(o["id"]) for o in f["options"]}
        return {}

    def option_id(self, obj: str, key: str, value: Any) -> int | None:
        """A system option field's label (or id) -> option id."""
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        options = self._system_options(obj, key)
        if str(value) not in options:
            raise BadValue("is not one of the field's options")
        return options[str(value)]

    def option_label(self, obj: str, key: str, value: Any) -> str | None:
        if value is None:
            return None
        labels = {v: k for k, v in self._system_options(obj, key).items()}
        return labels.get(value, str(value))

    def _remember(self, item: SchemaItem, key: str, kind: Kind | None) -> None:
        if item.external_id:
            self.id_keys.setdefault(item.object, key)
            if item.name == "ferry_source_id":
                self.id_keys[item.object] = key
            keys = self.external_keys.setdefault(item.object, [])
            if key not in keys:
                keys.append(key)
        if kind is not None:
            self.kinds[key] = kind.value
        if self.kinds_path:
            self.kinds_path.parent.mkdir(parents=True, exist_ok=True)
            self.kinds_path.write_text(json.dumps({"kinds": self.kinds, "id_keys": self.id_keys,
                                                   "external_keys": self.external_keys},
                                                  indent=1, sort_keys=True))

    # -- describe --------------------------------------------------------------------------------
    def describe(self) -> list[ObjectInfo]:
        out = []
        for obj, std in STANDARD.items():
            info = ObjectInfo(obj, obj.capitalize())
            listed = self.fields(obj, refresh=True) if obj in FIELD_OBJECTS else []
            codes = {f.get("field_code") for f in listed}
            for name, (shape, kind, required, ref) in std.items():
                if obj == "person" and name in CONTACT_SYNC and codes and name not in codes:
                    continue  # [doc] exists "only if contact sync is enabled": not here
                options = (list(self._system_options(obj, name)) if shape == "option"
                           else _std_options(obj, name))
                info.fields.append(FieldSpec(name, kind, required=required, ref=ref,
                                             writable=(obj, name) not in READ_ONLY,
                                             options=options))
            if obj in FIELD_OBJECTS:
                for f in listed:
                    if f.get("is_custom_field"):
                        info.fields.append(self._spec(f))
            out.append(info)
        activity_type = next(o for o in out if o.name == "activity").field("type")
        if activity_type is not None:  # the enum of activity type keys
            activity_type.options = [t["key_string"] for t in self.activity_types()
                                     if t.get("active_flag", True)]
        pipelines = [p for page in self.client.pages_v2("/pipelines") for p in page]
        stages = [s for page in self.client.pages_v2("/stages") for s in page]
        names = {p["id"]: p["name"] for p in pipelines}
        out.append(ObjectInfo("pipeline", "Pipeline", [FieldSpec("name", Kind.TEXT, options=[
            p["name"] for p in pipelines])], count=len(pipelines)))
        out.append(ObjectInfo("stage", "Stage", [FieldSpec("name", Kind.TEXT, options=[
            f"{names.get(s['pipeline_id'], '?')}/{s['name']}" for s in stages])],
            count=len(stages)))
        out.append(ObjectInfo("file", "File", [
            FieldSpec("file_name", Kind.TEXT), FieldSpec("person_id", Kind.REF, ref="person"),
            FieldSpec("org_id", Kind.REF, ref="organization"),
            FieldSpec("deal_id", Kind.REF, ref="deal")]))
        return out

    def _spec(self, f: dict[str, Any]) -> FieldSpec:
        key = f["field_code"]
        hint = self.kinds.get(key)
        kind = Kind(hint) if hint else TYPE_TO_KIND.get(f["field_type"], Kind.TEXT)
        labels = [o["label"] for o in f.get("options") or []]
        if hint is None and f["field_type"] == "enum" and set(labels) == set(YES_NO):
            kind = Kind.BOOL
        ref = {"people": "person", "org": "organization", "user": "user"}.get(f["field_type"])
        return FieldSpec(f["field_name"], kind, key=key, custom=True,
                         options=labels or None, ref=ref,
                         max_length=255 if f["field_type"] in ("varchar", "phone") else None)

    # -- ensure ----------------------------------------------------------------------------------
    def ensure(self, item: SchemaItem) -> Provisioned:
        if item.kind == "custom_field":
            return self._field(item)
        if item.kind == "pipeline":
            return self._pipeline(item)
        if item.kind == "stage":
            return self._stage(item)
        if item.kind == "activity_type":
            return self._activity_type(item)
        raise FatalError("Pipedrive has no custom objects; map the object onto person,"
                         " organization, deal, activity or note fields", system="pipedrive")

    def _field(self, item: SchemaItem) -> Provisioned:
        kind = item.field_kind or Kind.TEXT
        if item.object not in FIELD_OBJECTS:
            if item.external_id:  # one marker per id field: source ids of objects overlap
                key = ID_KEY if item.name == "ferry_source_id" else f"{ID_KEY}:{item.name}"
            else:
                key = folded_key(kind, item.label or item.name)
            self._remember(item, key, None)
            return Provisioned(item, key, created=False)
        ftype = field_type_for(kind, item.ref)
        labels = list(item.options) or (list(YES_NO) if kind == Kind.BOOL else [])
        refresh = item.object not in self.fresh
        self.fresh.add(item.object)
        for f in self.fields(item.object, refresh=refresh):
            if f.get("is_custom_field") and f["field_name"] == (item.label or item.name):
                if f["field_type"] != ftype:
                    raise FatalError(f"{item.object} field {item.label!r} already exists in"
                                     f" Pipedrive as {f['field_type']}, not {ftype}; rename one",
                                     system="pipedrive")
                added = self._add_options(item.object, f, labels)
                self._remember(item, f["field_code"], kind)
                # the field was there before: a rollback removes only the options added now
                return Provisioned(item, f["field_code"], created=False,
                                   option_ids=_option_ids(f),
                                   also_made={f"{OPTION}{o['label']}": str(o["id"])
                                              for o in added})
        body: dict[str, Any] = {"field_name": item.label or item.name, "field_type": ftype}
        if ftype in ("enum", "set"):
            body["options"] = [{"label": lbl} for lbl in labels]
        f = self._create_field(item.object, body, f"pipedrive:{item.object}Fields:{item.name}")
        cache = self.fields(item.object)
        if all(x.get("field_code") != f.get("field_code") for x in cache):
            cache.append(f)
        self._remember(item, f["field_code"], kind)
        return Provisioned(item, f["field_code"], created=True, option_ids=_option_ids(f))

    def _create_field(self, obj: str, body: dict[str, Any], ref: str) -> dict[str, Any]:
        """Create a field once: a create whose answer was lost is looked up by its name in a
        fresh field list before it is sent again (a blind retry makes a twin field)."""
        for _ in range(self.client.attempts):
            try:
                return dict(self.client.call("v2", "POST", f"/{obj}Fields", json_body=body,
                                             ref=ref, safe_retry=False)["data"])
            except Ambiguous:
                for f in self.fields(obj, refresh=True):
                    if f.get("is_custom_field") and f["field_name"] == body["field_name"]:
                        return f
        raise FatalError(f"{ref}: field creation kept failing on the server side",
                         system="pipedrive")

    def _add_options(self, obj: str, f: dict[str, Any], labels: list[str]
                     ) -> list[dict[str, Any]]:
        """Add the labels a field lacks; returns the options made ({id, label})."""
        have = {o["label"] for o in f.get("options") or []}
        missing = [lbl for lbl in labels if lbl not in have]
        if not missing or f["field_type"] not in ("enum", "set"):
            return []
        added = list(self.client.call("v2", "POST", f"/{obj}Fields/{{field_code}}/options",
                                      json_body=[{"label": lbl} for lbl in missing],
                                      field_code=f["field_code"])["data"])
        f["options"] = (f.get("options") or []) + added
        return added

    def _remove_options(self, p: Provisioned) -> None:
        """Delete the options ``ensure`` added to a field that was there before (``also_made``),
        those still there: the call is atomic and refuses ids that are gone (a retry after a
        kill), so the field is read first."""
        ids = {int(v) for k, v in p.also_made.items() if k.startswith(OPTION)}
        obj = p.item.object
        if not ids or obj not in FIELD_OBJECTS:
            return
        field = next((f for f in self.fields(obj, refresh=True)
                      if f.get("field_code") == p.key), None)
        there = sorted(ids & {int(o["id"]) for o in (field or {}).get("options") or []})
        if not there:
            return  # the field or the options are gone already: the goal is met
        self.client.call("v2", "DELETE", f"/{obj}Fields/{{field_code}}/options",
                         json_body=[{"id": i} for i in there], field_code=p.key)
        self._fields.pop(obj, None)

    def _list_pipelines(self) -> dict[str, int]:
        """Name → id of every pipeline (the first of a name), listed now and kept."""
        found: dict[str, int] = {}
        for page in self.client.pages_v2("/pipelines"):
            for p in page:
                found.setdefault(p["name"], int(p["id"]))
        self._pipelines = found
        return dict(found)

    def _list_stages(self, pid: int) -> dict[str, int]:
        found: dict[str, int] = {}
        for page in self.client.pages_v2("/stages", {"pipeline_id": pid}):
            for s in page:
                found.setdefault(s["name"], int(s["id"]))
        self._stages[pid] = found
        return dict(found)

    def _pipeline(self, item: SchemaItem) -> Provisioned:
        known = self._pipelines if self._pipelines is not None else self._list_pipelines()
        found = known.get(item.name)
        if found is not None:
            return Provisioned(item, str(found), created=False)
        data = self.client.call("v2", "POST", "/pipelines", json_body={"name": item.name})["data"]
        if self._pipelines is not None:
            self._pipelines.setdefault(item.name, int(data["id"]))
        return Provisioned(item, str(data["id"]), created=True)

    def pipeline_id(self, name: str) -> int | None:
        """The pipeline's id: from this session's listing, listed again when it is not there
        (made by someone else meanwhile, or never listed)."""
        if self._pipelines is not None and name in self._pipelines:
            return self._pipelines[name]
        return self._list_pipelines().get(name)

    def _stage(self, item: SchemaItem) -> Provisioned:
        pid = self.pipeline_id(item.parent or "")
        if pid is None:
            raise FatalError(f"stage {item.name!r} needs pipeline {item.parent!r}; ensure the"
                             " pipeline first", system="pipedrive")
        known = self._stages.get(pid)
        sid = (known if known is not None else self._list_stages(pid)).get(item.name)
        if sid is not None:
            return Provisioned(item, str(sid), created=False)
        data = self.client.call("v2", "POST", "/stages",
                                json_body={"name": item.name, "pipeline_id": pid})["data"]
        self._stages.setdefault(pid, {})[item.name] = int(data["id"])
        return Provisioned(item, str(data["id"]), created=True)

    def activity_types(self) -> list[dict[str, Any]]:
        return list(self.client.call("v1", "GET", "/activityTypes")["data"] or [])

    def _activity_type(self, item: SchemaItem) -> Provisioned:
        for t in self.activity_types():
            if t.get("active_flag", True) and t["name"].lower() == item.name.lower():
                return Provisioned(item, t["key_string"], created=False)
        low = item.name.lower()
        icon = next((i for word, i in ICONS if word in low), "task")
        data = self.client.call("v1", "POST", "/activityTypes",
                                json_body={"name": item.name, "icon_key": icon})["data"]
        return Provisioned(item, data["key_string"], created=True)

    def existing(self, items: list[SchemaItem]) -> list[bool | None]:
        """Whether each item is in the account now (fresh lists, nothing cached is trusted)."""
        fields: dict[str, set[str]] = {}
        stages: dict[str, set[str]] = {}
        types: set[str] | None = None
        pipelines: dict[str, int] | None = None
        out: list[bool | None] = []
        for item in items:
            if item.kind == "custom_field":
                if item.object not in FIELD_OBJECTS:
                    out.append(None)  # folded into a text field: nothing of its own is created
                    continue
                if item.object not in fields:
                    fields[item.object] = {f["field_name"] for f in self.fields(
                        item.object, refresh=True) if f.get("is_custom_field")}
                    self.fresh.add(item.object)
                out.append((item.label or item.name) in fields[item.object])
            elif item.kind in ("pipeline", "stage"):
                if pipelines is None:  # one listing for every pipeline and stage parent
                    pipelines = self._list_pipelines()
                if item.kind == "pipeline":
                    out.append(item.name in pipelines)
                    continue
                parent = item.parent or ""
                if parent not in stages:
                    pid = pipelines.get(parent)
                    stages[parent] = set() if pid is None else set(self._list_stages(pid))
                out.append(item.name in stages[parent])
            elif item.kind == "activity_type":
                if types is None:
                    types = {t["name"].lower() for t in self.activity_types()
                             if t.get("active_flag", True)}
                out.append(item.name.lower() in types)
            else:
                out.append(None)
        return out

    # -- remove ----------------------------------------------------------------------------------
    def remove(self, p: Provisioned) -> None:
        if not p.created:
            if p.item.kind == "custom_field":
                self._remove_options(p)
            return
        item = p.item
        try:
            if item.kind == "custom_field" and item.object in FIELD_OBJECTS:
                self._fields.pop(item.object, None)
                self.client.call("v2", "DELETE", f"/{item.object}Fields/{{field_code}}",
                                 field_code=p.key)
            elif item.kind in ("pipeline", "stage"):
                self._pipelines, self._stages = None, {}
                self.client.call("v2", "DELETE", f"/{item.kind}s/{{id}}", id=int(p.key))
        except RecordError as exc:
            if exc.status not in (404, 410):
                raise
            return  # already gone (an earlier, interrupted removal): the goal is met
        if item.kind == "activity_type":
            for t in self.activity_types():
                if t["key_string"] == p.key and t.get("active_flag", True):
                    self.client.call("v1", "DELETE", "/activityTypes/{id}", id=t["id"])


def _option_ids(f: dict[str, Any]) -> dict[str, str]:
    return {o["label"]: str(o["id"]) for o in f.get("options") or []}


def _std_options(obj: str, name: str) -> list[str] | None:
    return {("deal", "status"): ["open", "won", "lost"],
            ("person", "marketing_status"): ["no_consent", "unsubscribed", "subscribed",
                                             "archived"]}.get((obj, name))

