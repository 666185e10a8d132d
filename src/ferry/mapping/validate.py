"""``ferry map --confirm``: validate a mapping against the data and the destination, then stamp it.

``validate(doc, profile, schema)`` returns every problem as one line that says what to change:
unknown source fields, unknown targets, type clashes, value maps that miss values present in the
data (values are named only for non-PHI fields), required destination fields unmapped, custom
field names duplicated, fields still in review, ignored fields without a reason, broken
transforms, transform arguments that do not fit their schema (``transform_args``). ``confirm``
raises one MappingError listing them all, or records ``confirmed: {hash, by, at}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.connectors.base import ObjectInfo
from ferry.errors import MappingError
from ferry.mapping.compile import CompiledMap
from ferry.mapping.cookbook.common import fields_used
from ferry.mapping.mapping_file import content_hash, load_rt, parse_doc, write_rt
from ferry.mapping.model import Confirmation, FieldMap, MappingDoc, ObjectMap
from ferry.mapping.transform_args import check_args
from ferry.mapping.value_maps import KEEP, missing_values
from ferry.model.entities import ENTITIES, Record
from ferry.model.fields import FieldInfo, Kind, PhiClass, field_info

# Required fields per destination object when no live schema is at hand (describe() adds more).
REQUIRED: dict[str, dict[str, set[str]]] = {
    "pipedrive": {"person": {"name"}, "organization": {"name"}, "deal": {"title"},
                  "note": {"content"}},
    "salesforce": {"Account": {"Name"}, "Contact": {"LastName"}, "Task": {"Status", "Priority"},
                   "Event": {"StartDateTime"}},
    "odoo": {"res.partner": {"name"}, "crm.lead": {"name"},
             "mail.activity": {"res_model", "res_id", "date_deadline"},
             "mail.message": {"model", "res_id"}, "account.move": {"partner_id"}},
}

#: source fields whose one-letter values mean different things by language (M: male, or mujer)
LETTER_FIELDS = {"sex"}

# a required field the connector fills from another mapped field
SATISFIES: dict[str, dict[str, str]] = {"odoo": {"res_model_id": "res_model",
                                                 "subtype_id": "subtype_xmlid"}}
HINTS = {("odoo", "account.move"): " (Accounting is not installed: run `ferry map --force "
                                   "--variant no_accounting` to fold billing into partner "
                                   "fields)"}

TEXTUAL = {Kind.TEXT, Kind.LONG_TEXT, Kind.EMAIL, Kind.PHONE, Kind.ENUM, Kind.ADDRESS,
           Kind.INT, Kind.DECIMAL, Kind.MONEY, Kind.BOOL, Kind.DATE, Kind.DATETIME}
COMPAT: dict[Kind, set[Kind]] = {
    Kind.TEXT: TEXTUAL, Kind.LONG_TEXT: TEXTUAL | {Kind.SET},
    Kind.EMAIL: {Kind.EMAIL, Kind.TEXT}, Kind.PHONE: {Kind.PHONE, Kind.TEXT},
    Kind.DATE: {Kind.DATE}, Kind.DATETIME: {Kind.DATETIME},
    Kind.INT: {Kind.INT}, Kind.DECIMAL: {Kind.INT, Kind.DECIMAL, Kind.MONEY},
    Kind.MONEY: {Kind.INT, Kind.DECIMAL, Kind.MONEY}, Kind.BOOL: {Kind.BOOL},
    Kind.ENUM: {Kind.ENUM, Kind.TEXT, Kind.BOOL}, Kind.SET: {Kind.SET, Kind.ENUM},
    Kind.REF: {Kind.REF}, Kind.ADDRESS: {Kind.ADDRESS, Kind.TEXT}, Kind.JSON: {Kind.JSON},
}
FIX = {Kind.DATE: "date", Kind.DATETIME: "datetime", Kind.INT: "int", Kind.MONEY: "money",
       Kind.DECIMAL: "money", Kind.BOOL: "bool", Kind.LONG_TEXT: "json_text", Kind.TEXT: "text"}


@dataclass
class FieldProfile:
    """What the data holds in one field: distinct values (capped), samples, fill rate."""

    values: list[Any] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    filled: int = 0
    total: int = 0
    kind: Kind | None = None  # for custom fields: their declared type


DataProfile = dict[str, dict[str, FieldProfile]]  # object → field path → profile


def profile_records(records: Iterable[Record], max_distinct: int = 50) -> dict[str, FieldProfile]:
    """Profile canonical and custom fields of one object's records."""
    out: dict[str, FieldProfile] = {}

    def note(path: str, v: Any) -> None:
        p = out.setdefault(path, FieldProfile())
        p.total += 1
        if v in (None, "", []):
            return
        p.filled += 1
        items = v if isinstance(v, list) else [v]
        for item in items:
            if not isinstance(item, str | int | float | bool):
                item = str(item)
            if item not in p.values and len(p.values) < max_distinct:
                p.values.append(item)
        if len(p.samples) < 2 and str(v) not in p.samples:
            p.samples.append(str(v))

    for rec in records:
        for name in type(rec).model_fields:
            if name != "custom":
                note(name, getattr(rec, name))
        for key, cv in rec.custom.items():
            note(f"custom.{key}", cv.value)
            out[f"custom.{key}"].kind = Kind(cv.type)
    return out


def _info(obj: str, path: str) -> FieldInfo | None:
    model = ENTITIES.get(obj)
    head = path.split(".")[0]
    if model is None or head not in model.model_fields or head == "custom":
        return None
    return field_info(model, head)


def _source_ok(obj: str, path: str, profile: DataProfile | None) -> bool:
    if path.startswith("custom."):
        return profile is None or obj not in profile or path in profile[obj]
    return _info(obj, path) is not None


def _target_kind(doc: MappingDoc, om: ObjectMap, fm: FieldMap, info: ObjectInfo | None
                 ) -> Kind | None:
    if fm.target.startswith("custom:"):
        cf = doc.custom_field(om.target, fm.target[7:])
        return cf.kind if cf else None
    spec = info.field(fm.target) if info else None
    return spec.kind if spec else None


def _check_field(doc: MappingDoc, om: ObjectMap, fm: FieldMap, profile: DataProfile | None,
                 info: ObjectInfo | None, out: list[str]) -> None:
    where = f"{om.name}: field {fm.source!r} → {fm.target!r}"
    if fm.status == "review":
        out.append(f"{where} is still in review: give it a target and set status: mapped, or "
                   f"set status: ignored with a reason")
        return
    if fm.status == "ignored":
        if not fm.reason.strip():
            out.append(f"{where} is ignored without a reason: add reason: …")
        return
    used = fields_used(fm, om.source)
    for path in sorted(used - {"value"}):
        if path.endswith("_name") and not _info(om.source, path) and \
                path[:-5] + "_id" in used:
            continue  # a referenced record's name; its _id is checked itself
        if not _source_ok(om.source, path, profile):
            out.append(f"{where}: unknown source field {path!r} on {om.source}; use one of the "
                       f"canonical fields or custom.<key> seen in the data")
    if fm.target.startswith("custom:"):
        if doc.custom_field(om.target, fm.target[7:]) is None:
            out.append(f"{where}: custom field {fm.target[7:]!r} is not declared under "
                       f"custom_fields.{om.target}: declare it (name, label, kind)")
    elif info is not None and om.mode in ("record", "fold"):
        spec = info.field(fm.target)
        if spec is None:
            out.append(f"{where}: {om.target} has no field {fm.target!r}; pick an existing "
                       f"field or use custom:<name> to create one")
        elif not spec.writable:
            out.append(f"{where}: {om.target}.{fm.target} is read-only in the destination; "
                       f"map the value elsewhere or set status: ignored with a reason")
    src = fm.source if isinstance(fm.source, str) else None
    s_info = _info(om.source, src) if src else None
    t_kind = _target_kind(doc, om, fm, info)
    if s_info and t_kind and not fm.transform and fm.value_map is None:
        if s_info.kind not in COMPAT.get(t_kind, {t_kind}) or \
                (s_info.kind is Kind.REF and t_kind is Kind.REF):
            if s_info.kind is Kind.REF:
                out.append(f"{where}: a source id cannot go into a {t_kind.value} field as is: "
                           f"add transform: [ref] (its destination id) or pick a text target")
            else:
                out.append(f"{where}: type clash: {s_info.kind.value} into {t_kind.value}; add "
                           f"transform: [{FIX.get(t_kind, 'text')}] or pick a "
                           f"{s_info.kind.value} target")
    if fm.value_map is not None and src and profile and om.source in profile:
        prof = profile[om.source].get(src)
        # a sex letter the map lacks is in some export's language (V: vrouw or varón): kept
        # as written it becomes an option of its own, so keep does not excuse it
        letters = src.rsplit(".", 1)[-1] in LETTER_FIELDS and fm.value_map_default == KEEP
        miss = missing_values(prof.values if prof else [], fm.value_map,
                              None if letters else fm.value_map_default)
        if miss:
            phi = s_info is not None and s_info.phi is not PhiClass.NONE
            coded = letters and all(len(m) <= 3 for m in miss)  # codes, which name no one
            shown = f"{len(miss)} value(s) (PHI field: see the audit report)" if phi and \
                not coded else \
                ", ".join(repr(m) for m in miss[:8]) + (" …" if len(miss) > 8 else "")
            out.append(f"{where}: the value map misses {shown} present in the data; add rows "
                       f"for them" + (" (each would be kept as written, an option of its own)"
                                      if letters else
                                      " or set value_map_default (keep, or a constant)"))


def _check_options(doc: MappingDoc, om: ObjectMap, fm: FieldMap, profile: DataProfile | None,
                   out: list[str]) -> None:
    if fm.status != "mapped" or not fm.target.startswith("custom:") or not profile:
        return
    cf = doc.custom_field(om.target, fm.target[7:])
    src = fm.source if isinstance(fm.source, str) else None
    if not cf or cf.kind not in (Kind.ENUM, Kind.SET) or not src or fm.transform:
        return
    s_info = _info(om.source, src)
    if s_info is not None and s_info.phi is not PhiClass.NONE:
        return
    prof = profile.get(om.source, {}).get(src)
    produced: set[str] = set()
    for v in prof.values if prof else []:
        if fm.value_map is not None:
            from ferry.mapping.value_maps import apply_value_map
            try:
                v = apply_value_map(v, fm.value_map, fm.value_map_default)
            except ValueError:
                continue
        if v is not None:
            produced.add(str(v))
    missing = sorted(produced - set(cf.options))
    if missing:
        out.append(f"{om.name}: custom field {cf.name!r} ({cf.kind.value}) lacks option(s) "
                   f"{', '.join(repr(m) for m in missing[:8])} the data will produce: add them "
                   f"to its options")


def _written_twice(doc: MappingDoc) -> list[str]:
    """Folds write their parent's record: a field the parent's map (or another fold onto the
    same parent) writes too keeps whichever value was written last, and the other is lost
    without a word (a guessed ``custom.cell_no`` sent to the billing fold's field)."""
    def writes(om: ObjectMap) -> set[str]:
        return {fm.target for fm in om.fields if fm.status == "mapped"}

    out: dict[str, None] = {}  # in order, once (a fold may land on two record maps)
    for record in [om for om in doc.objects if om.mode == "record"]:
        folds = doc.folds_onto(record)
        for i, fold in enumerate(folds):
            for rival in [record, *folds[i + 1:]]:
                for target in sorted(writes(fold) & writes(rival)):
                    out[f"{fold.name} and {rival.name} both write {fold.target}.{target} on the"
                        f" same {record.source}'s record: one value would overwrite the other;"
                        " point one of them at another field"] = None
    return list(out)


def validate(doc: MappingDoc, profile: DataProfile | None = None,
             schema: list[ObjectInfo] | None = None) -> list[str]:
    out: list[str] = []
    infos = {o.name: o for o in schema or []}
    names = [om.name for om in doc.objects]
    for n in sorted({n for n in names if names.count(n) > 1}):
        out.append(f"object map name {n!r} is used twice: rename one")
    for obj, items in doc.custom_fields.items():
        seen: dict[str, int] = {}
        for cf in items:
            seen[cf.name] = seen.get(cf.name, 0) + 1
        for n, c in seen.items():
            if c > 1:
                out.append(f"custom_fields.{obj}: name {n!r} is declared {c} times: keep one")
        labels = [cf.label.casefold() for cf in items]
        for lab in sorted({x for x in labels if labels.count(x) > 1}):
            out.append(f"custom_fields.{obj}: label {lab!r} is used by several fields: "
                       f"give each a distinct label")
    out.extend(_written_twice(doc))
    required = REQUIRED.get(doc.destination, {})
    for om in doc.objects:
        if om.source not in ENTITIES:
            out.append(f"{om.name}: unknown source object {om.source!r}")
            continue
        if om.mode in ("fold", "attach") and om.parent is None:
            out.append(f"{om.name}: mode {om.mode} needs parent: {{object, via}}")
        if om.when and not _source_ok(om.source, om.when.field, profile):
            out.append(f"{om.name}: `when` names unknown field {om.when.field!r}")
        if om.mode == "record" and not om.id_field:
            out.append(f"{om.name}: record maps need id_field (custom:ferry_source_id) so "
                       f"re-runs never duplicate")
        if om.mode in ("none", "users"):
            continue
        info = infos.get(om.target)
        created = any(o.custom_object and o.target == om.target for o in doc.objects)
        if schema is not None and info is None and not created and \
                om.mode in ("record", "fold"):
            hint = HINTS.get((doc.destination, om.target), "")
            out.append(f"{om.name}: the destination has no object {om.target!r}{hint}")
        try:
            CompiledMap(om, doc, need_keys=False)
        except MappingError as exc:
            out.append(str(exc))
        for fm in om.fields:
            for t in fm.transform if fm.status == "mapped" else []:
                out.extend(f"{om.name}: field {fm.target!r}, transform {t.name}: {p}"
                           for p in check_args(t.name, t.args))
            _check_field(doc, om, fm, profile, info, out)
            _check_options(doc, om, fm, profile, out)
        if om.mode == "record":
            need = set(required.get(om.target, set()))
            if info:
                need |= {f.key for f in info.fields if f.required and f.writable}
            have = {fm.target for fm in om.fields if fm.status == "mapped"}
            have |= {need_ for need_, by in SATISFIES.get(doc.destination, {}).items()
                     if by in have}
            if info:
                have |= {info.field(t).key for t in list(have) if info.field(t)}  # type: ignore[union-attr]
            for r in sorted(need - have - {om.id_field or ""}):
                out.append(f"{om.name}: required destination field {om.target}.{r} is not "
                           f"mapped: map a source field (or a default) to it")
    return out


def confirm(doc: MappingDoc, data_profile: DataProfile | None = None,
            schema: list[ObjectInfo] | None = None, *, by: str = "unknown",
            placement: dict[str, str] | None = None) -> MappingDoc:
    """Validate, then return the doc stamped ``confirmed: {hash, by, at}`` (and, for a file
    source, the column ``placement`` the staged records were read under)."""
    problems = validate(doc, data_profile, schema)
    if problems:
        raise MappingError(f"mapping has {len(problems)} problem(s):\n"
                           + "\n".join(f"  - {p}" for p in problems))
    stamped = doc.model_copy(deep=True)
    stamped.confirmed = Confirmation(hash=content_hash(doc), by=by,
                                     at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                     placement=placement)
    return stamped


def confirm_file(path: Path, data_profile: DataProfile | None = None,
                 schema: list[ObjectInfo] | None = None, *, by: str = "unknown",
                 placement: Callable[[MappingDoc], dict[str, str] | None] | None = None
                 ) -> MappingDoc:
    """Confirm mapping.yaml in place: comments and order survive, only ``confirmed`` changes.
    ``placement(doc)`` gives the column placement to stamp (it may refuse: its error stands)."""
    tree = load_rt(path)
    doc = parse_doc(tree, str(path))
    stamped = confirm(doc, data_profile, schema, by=by,
                      placement=placement(doc) if placement is not None else None)
    assert stamped.confirmed is not None
    from ferry.mapping.mapping_file import _flow

    node = _flow(stamped.confirmed.model_dump(exclude_none=True))
    if "confirmed" in tree:
        tree["confirmed"] = node
    else:
        pos = list(tree.keys()).index("objects") if "objects" in tree else len(tree)
        tree.insert(pos, "confirmed", node)
    write_rt(tree, path)
    return stamped


__all__ = ["KEEP", "DataProfile", "FieldProfile", "confirm", "confirm_file", "profile_records",
           "validate"]
