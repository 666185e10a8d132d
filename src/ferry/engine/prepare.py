"""Prepare: create in the destination the schema the mapping needs, idempotently.

Custom fields, custom objects, pipelines, stages and activity types are derived from the
confirmed mapping and ensured one by one; each ensure is audited (intent → outcome, with the
item and whether it was *created*), so rollback removes exactly what Ferry created. The physical
keys (Pipedrive hash keys, ``__c`` names, ``x_`` names, stage ids) are kept in the staging store
and written to ``reports/prepare/schema.json`` as the mapping workbook.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from ferry.connectors import killpoint
from ferry.connectors.base import Destination, Provisioned, SchemaItem
from ferry.errors import ConfigError, MappingError
from ferry.mapping.model import MappingDoc
from ferry.mapping.transforms import get_value
from ferry.mapping.value_maps import apply_value_map
from ferry.model.audit import AuditLog
from ferry.model.fields import Kind
from ferry.model.staging import StagingStore

KEYS = "schema_keys"


MAX_OPTIONS = 200


def derive_options(doc: MappingDoc, store: StagingStore) -> MappingDoc:
    """Fill the options of enum/set custom fields the map left open from the staged data.

    A pick-list must be created with its labels (Pipedrive and Odoo refuse an empty one); the
    labels are the distinct source values after the field's value map, so every value the run
    will write is an option. One pass over each source object serves all its pick-lists.
    """
    doc = doc.model_copy(deep=True)
    open_lists = [(obj, cf) for obj, fields in doc.custom_fields.items() for cf in fields
                  if cf.kind in (Kind.ENUM, Kind.SET) and not cf.options]
    # source object → [(pick-list, field map filling it)]
    feeds: dict[str, list[tuple[Any, Any]]] = {}
    for obj, cf in open_lists:
        for om in doc.objects:
            if om.target != obj:
                continue
            for fm in om.fields:
                if fm.target == f"custom:{cf.name}" and isinstance(fm.source, str):
                    feeds.setdefault(om.source, []).append((cf, fm))
    # After a finished extract, an object without a closed checkpoint is one the source does
    # not produce (a Pulse export has no payments): its pick-lists get no labels, not an error.
    extracted = any(r.status == "done" for r in store.runs("extract"))
    unread = set() if extracted else {
        src for src in feeds if store.get_checkpoint(f"extract:{src}") != "done"}
    for obj, cf in open_lists:
        waiting = sorted(src for src, pairs in feeds.items() if src in unread
                         and any(c is cf for c, _ in pairs))
        if waiting:  # an option list made now would hold none of the values the run writes
            raise MappingError(f"the pick-list {obj}.{cf.name} takes its options from the"
                               f" staged {', '.join(waiting)} records: run `ferry extract`"
                               " before `ferry prepare` (or list its options in the map)")
    labels: dict[int, list[str]] = {id(cf): [] for _, cf in open_lists}
    for src, pairs in feeds.items():
        for rec in store.iter_records(src):
            live = [(cf, fm) for cf, fm in pairs if len(labels[id(cf)]) < MAX_OPTIONS]
            if not live:
                break
            for cf, fm in live:
                _collect(labels[id(cf)], rec, fm)
    for _, cf in open_lists:
        cf.options = sorted(labels[id(cf)]) or ["(none)"]
    return doc


def _collect(labels: list[str], rec: Any, fm: Any) -> None:
    value = get_value(rec, fm.source)
    try:
        if fm.value_map is not None:
            value = apply_value_map(value, fm.value_map, fm.value_map_default)
    except ValueError:
        return
    for v in value if isinstance(value, list) else [value]:
        if v not in (None, "") and str(v) not in labels and len(labels) < MAX_OPTIONS:
            labels.append(str(v))


def schema_items(doc: MappingDoc) -> list[SchemaItem]:
    items: list[SchemaItem] = []
    for om in doc.objects:
        if om.custom_object and not any(i.kind == "custom_object" and i.object == om.target
                                        for i in items):
            items.append(SchemaItem("custom_object", om.target, om.target,
                                    om.target.removesuffix("__c").replace("_", " ")))
    for obj, fields in doc.custom_fields.items():
        for cf in fields:
            items.append(SchemaItem("custom_field", obj, cf.name, cf.label, cf.kind,
                                    tuple(cf.options), ref=cf.ref, external_id=cf.external_id))
    for p in doc.pipelines:
        items.append(SchemaItem("pipeline", "deal", p.name, p.name))
        for i, s in enumerate(p.stages):
            items.append(SchemaItem("stage", "deal", s.name, s.name, parent=p.name, order=i))
    for name in doc.activity_types:
        items.append(SchemaItem("activity_type", "activity", name, name))
    return items


def schema_term(destination: str, kind: str, obj: str) -> tuple[str, str]:
    """(what, object) of a schema item in the destination's own words: its package's
    ``SCHEMA_TERMS`` by item kind (Odoo: a pipeline is a ``crm.team``), else the item's kind
    and object as the map names them (``custom field``, ``res.partner``)."""
    from ferry.connectors.registry import destination_module

    try:
        terms = getattr(destination_module(destination), "SCHEMA_TERMS", {})
    except ConfigError:  # a kind no package answers for
        terms = {}
    return terms.get(kind, (kind.replace("_", " "), obj))


def item_key(item: SchemaItem) -> str:
    parent = f"{item.parent}/" if item.parent else ""
    return f"{item.kind}:{item.object}:{parent}{item.name}"


def _item_dict(item: SchemaItem) -> dict[str, Any]:
    d = dataclasses.asdict(item)
    d["field_kind"] = item.field_kind.value if item.field_kind else None
    d["options"] = list(item.options)
    return d


def item_from_dict(d: dict[str, Any]) -> SchemaItem:
    d = dict(d)
    d["field_kind"] = Kind(d["field_kind"]) if d.get("field_kind") else None
    d["options"] = tuple(d.get("options") or ())
    return SchemaItem(**d)


def prepare(doc: MappingDoc, store: StagingStore, audit: AuditLog, dest: Destination,
            run_id: str) -> list[Provisioned]:
    keys: dict[str, Any] = store.get_value(KEYS) or {}
    out: list[Provisioned] = []
    doc = derive_options(doc, store)
    # An ensure sent by an attempt that was killed before logging its outcome: if the item did
    # not exist when that attempt began, whatever exists now is ours (rollback must remove it).
    interrupted: dict[str, list[int]] = {}
    for e in audit.open_intents():
        if e.op == "provision" and "item" in e.detail:
            k = item_key(item_from_dict(e.detail["item"]))
            interrupted.setdefault(k, []).append(e.seq)
            if e.detail.get("existed") is False:
                interrupted[k].append(-1)
    items = schema_items(doc)
    for item, existed in zip(items, dest.existing_schema(items), strict=True):
        detail = {"item": _item_dict(item), "existed": existed}
        [seq] = audit.append_many(run_id, [{"kind": "intent", "op": "provision",
                                            "dest_object": item.object, "detail": detail}])
        killpoint.reached("after-intent", "provision", item.kind)
        [prov] = dest.ensure([item])
        killpoint.reached("after-call", "provision", item.kind)
        earlier = interrupted.get(item_key(item), [])
        created = prov.created or -1 in earlier
        audit.append_many(run_id, [{"kind": "done", "op": "provision", "dest_object": item.object,
                                    "dest_id": prov.key, "intent_seq": seq,
                                    "detail": {**detail, "created": created,
                                               "option_ids": prov.option_ids,
                                               "also_made": prov.also_made}}] + [
            {"kind": "failed", "op": "provision", "dest_object": item.object, "intent_seq": old,
             "detail": {"recovered": True, "reason": "interrupted; redone"}}
            for old in earlier if old >= 0])
        keys[item_key(item)] = {"key": prov.key, "option_ids": prov.option_ids}
        store.set_value(KEYS, keys)
        out.append(prov)
    return out


def apply_keys(doc: MappingDoc, store: StagingStore) -> MappingDoc:
    """A copy of ``doc`` with every physical key ``prepare`` recorded filled in.

    Only what it fills in (custom fields, pipelines and their stages) is copied: the maps are
    shared with ``doc``, which every caller has just loaded (a deep copy of the whole map was
    ~3 ms of each verb's start, after the load's own)."""
    keys: dict[str, Any] = store.get_value(KEYS) or {}
    doc = doc.model_copy(update={"custom_fields": copy.deepcopy(doc.custom_fields),
                                 "pipelines": copy.deepcopy(doc.pipelines)})
    for obj, fields in doc.custom_fields.items():
        for cf in fields:
            k = keys.get(item_key(SchemaItem("custom_field", obj, cf.name, cf.label)))
            if k:
                cf.key = k["key"]
    for p in doc.pipelines:
        k = keys.get(item_key(SchemaItem("pipeline", "deal", p.name, p.name)))
        if k:
            p.key = k["key"]
        for s in p.stages:
            k = keys.get(item_key(SchemaItem("stage", "deal", s.name, s.name, parent=p.name)))
            if k:
                s.key = k["key"]
    return doc


def prepared(doc: MappingDoc, store: StagingStore) -> bool:
    keys: dict[str, Any] = store.get_value(KEYS) or {}
    return all(item_key(i) in keys for i in schema_items(doc))
