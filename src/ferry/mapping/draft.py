"""Draft a project's mapping.yaml: the pair's recipe, plus the proposer's lines for the fields
the recipe cannot know (the account's own custom fields), plus samples and pick-list options
read from the data.

* Source custom fields (``custom.<key>`` in the data profile) get ranked destination targets:
  at ``ACCEPT`` or above they are mapped, between ``REVIEW`` and ``ACCEPT`` proposed with
  ``status: review``, below that a custom field of the right type is proposed, so nothing is
  dropped by default.
* Samples: two per field, masked when the field is PHI (custom fields count as PHI).
* Options: enum/set custom fields get every label the data will produce.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ferry.connectors.base import ObjectInfo
from ferry.mapping.cookbook.common import CONCEPT_REASON, CONCEPTS
from ferry.mapping.cookbook.shared import title_case
from ferry.mapping.model import CustomField, FieldMap, MappingDoc, ObjectMap, Transform
from ferry.mapping.profile import sniff
from ferry.mapping.propose import ACCEPT, REVIEW, Target, dest_targets, rank
from ferry.mapping.recipes import load_recipe
from ferry.mapping.validate import DataProfile, FieldProfile
from ferry.mapping.value_maps import TransformError, apply_value_map
from ferry.model.entities import ENTITIES
from ferry.model.fields import Kind, PhiClass, field_info

KIND_TRANSFORM = {Kind.DATE: "date", Kind.DATETIME: "datetime", Kind.MONEY: "money",
                  Kind.DECIMAL: "money", Kind.INT: "int", Kind.BOOL: "bool"}


def mask(value: str) -> str:
    """Show the shape, not the value: first character, then dots, and the length."""
    s = str(value)
    if len(s) <= 1:
        return "•"
    return f"{s[0]}{'•' * min(len(s) - 1, 6)} ({len(s)} chars)"


def _phi(obj: str, path: str) -> bool:
    model = ENTITIES.get(obj)
    head = path.split(".")[0]
    if path.startswith("custom.") or model is None or head not in model.model_fields:
        return True
    return field_info(model, head).phi is not PhiClass.NONE


def _primary_map(doc: MappingDoc, obj: str) -> ObjectMap | None:
    maps = [om for om in doc.objects if om.source == obj and om.mode == "record"]
    return next((om for om in maps if om.when is None), maps[0] if maps else None)


def _cf_name(doc: MappingDoc, key: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")[:40] or "field"
    name = f"src_{slug}"
    return title_case(name) if doc.destination == "salesforce" else name


def add_source_custom_fields(doc: MappingDoc, profile: DataProfile,
                             schema: list[ObjectInfo] | None = None) -> None:
    infos = {o.name: o for o in schema or []}
    for obj, fields in profile.items():
        om = _primary_map(doc, obj) or next((m for m in doc.objects if m.source == obj), None)
        if om is None:
            continue
        if om.mode in ("users", "none", "attach"):  # no record of its own to carry a field
            have = {str(fm.source) for fm in om.fields}
            om.fields += [FieldMap(source=path, target="-", status="ignored", confidence=1.0,
                                   reason=NO_FIELDS[om.mode]) for path in sorted(fields)
                          if path.startswith("custom.") and path not in have]
            continue
        used_sources = {str(fm.source) for fm in om.fields}
        used_targets = {fm.target for fm in om.fields} | _folded_onto(doc, om)
        info = infos.get(om.target)
        pool: list[Target] = []
        if info:
            pool += dest_targets([f for f in info.fields if f.writable and not f.external_id
                                  and f.key not in used_targets and f.name not in used_targets])
        free_cfs = [cf for cf in doc.custom_fields.get(om.target, [])
                    if f"custom:{cf.name}" not in used_targets]
        pool += [Target(f"custom:{t.name}", t.label, t.kind, t.phrases)
                 for t in dest_targets([_NamedCF(cf) for cf in free_cfs])]
        for path, prof in sorted(fields.items()):
            if path.startswith("custom.") and path not in used_sources:
                om.fields.append(_propose_one(doc, om, path, prof, pool))
            elif path in CONCEPTS.get(obj, ()) and prof.values:
                _propose_concept(doc, om, path, prof, pool)


def _folded_onto(doc: MappingDoc, om: ObjectMap) -> set[str]:
    """The fields folds write on ``om``'s records: a column guessed onto one would fight the
    fold for it (confirm refuses two maps writing one field of a record)."""
    return {fm.target for f in doc.folds_onto(om) for fm in f.fields if fm.status == "mapped"}


NO_FIELDS = {"users": "matched to a destination user, never written: not migrated",
             "none": "this object is not migrated (see the rebuild guide)",
             "attach": "the record is attached as a rendered document, which has no field "
                       "for this column: not migrated"}


def _propose_concept(doc: MappingDoc, om: ObjectMap, path: str, prof: FieldProfile,
                     pool: list[Target]) -> None:
    """A concept the recipe leaves until seen (``CONCEPT_REASON``) that the export fills: its
    ignored line becomes a proposal (a destination field or a new custom field)."""
    kind = field_info(ENTITIES[om.source], path).kind
    kind = kind if kind in (Kind.DATE, Kind.DATETIME, Kind.MONEY, Kind.LONG_TEXT) else Kind.TEXT
    for i, fm in enumerate(om.fields):
        if fm.source == path and fm.status == "ignored" and fm.reason == CONCEPT_REASON:
            om.fields[i] = _propose_one(doc, om, path, replace(prof, kind=kind), pool)
            return


class _NamedCF:
    def __init__(self, cf: CustomField) -> None:
        self.name, self.label, self.kind, self.key = cf.name, cf.label, cf.kind, cf.name


#: field kinds a money value can fill (a tax id, a reference or a name never takes "£0.00")
NUMERIC_KINDS = frozenset({Kind.MONEY, Kind.DECIMAL})


def money_values(values: list[Any]) -> bool:
    """Every non-empty value is an amount (``£0.00``, ``45.00``)."""
    sn = sniff(values)
    return bool(sn.get("_values")) and sn.get("money", 0) >= 0.9


def _propose_one(doc: MappingDoc, om: ObjectMap, path: str, prof: FieldProfile,
                 pool: list[Target]) -> FieldMap:
    key = path.removeprefix("custom.")
    kind = prof.kind or Kind.TEXT
    if kind is Kind.ADDRESS:
        kind = Kind.TEXT
    money = money_values(prof.values[:20])
    if money and kind is Kind.TEXT:  # an amount kept as text would reach a float field as text
        kind = Kind.MONEY
    kinds = {t.name: t.kind for t in pool}
    cands = rank(key, prof.values[:20], pool, om.source, top=6)
    if money:  # money values never fill an identifier or text field, whatever its name
        cands = [c for c in cands if kinds.get(c.target) in NUMERIC_KINDS]
    cands = cands[:3]
    best = cands[0] if cands else None
    tf = [Transform(name=KIND_TRANSFORM[kind])] if kind in KIND_TRANSFORM else []
    if best and best.confidence >= REVIEW:
        status = "mapped" if best.confidence >= ACCEPT else "review"
        alt = "; other candidates: " + ", ".join(f"{c.target} {c.confidence:.2f}"
                                                 for c in cands[1:]) if len(cands) > 1 else ""
        reason = best.reason + alt
        if om.mode == "fold" and om.parent is not None and status == "mapped":
            # a fold writes on another object's record (an invoice's column on the patient's
            # partner): a field there is that record's, so a person decides
            status = "review"
            reason = (f"{reason}; the {om.source.replace('_', ' ')}'s column would be written "
                      f"on the {om.parent.object.replace('_', ' ')}'s record: check that the "
                      "field is the " + om.source.replace("_", " ") + "'s")
        return FieldMap(source=path, target=best.target, transform=tf, status=status,  # type: ignore[arg-type]
                        confidence=best.confidence, reason=reason)
    name = _cf_name(doc, key)
    opts = [str(v) for v in prof.values] if kind in (Kind.ENUM, Kind.SET) else []
    doc.custom_fields.setdefault(om.target, [])
    if doc.custom_field(om.target, name) is None:
        label = key.replace("_", " ").strip().capitalize()
        taken = {cf.label.lower() for cf in doc.custom_fields[om.target]}
        if label.lower() in taken:  # a recipe field already carries this label
            label = f"{label} (source custom field)"
        doc.custom_fields[om.target].append(CustomField(name=name, label=label, kind=kind,
                                                        options=opts))
    conf = best.confidence if best else 0.0
    why = f"no destination field matches (best {best.target} at {conf:.2f})" if best else \
        "no destination field matches"
    return FieldMap(source=path, target=f"custom:{name}", transform=tf, confidence=1.0,
                    reason=f"{why}: a custom {kind.value} field will be created")


def add_not_migrated(doc: MappingDoc, ignored: dict[str, list[tuple[str, str]]]) -> None:
    """The export's columns left out (an internal id, a geocode, an audit column), each as an
    ignored line with its reason on its object's primary map: every column is in the map."""
    for obj, cols in ignored.items():
        om = _primary_map(doc, obj) or next((m for m in doc.objects if m.source == obj), None)
        if om is None:
            continue
        have = {str(fm.source) for fm in om.fields}
        om.fields += [FieldMap(source=key, target="-", status="ignored", reason=why,
                               confidence=1.0) for key, why in cols if key not in have]


def fill_samples(doc: MappingDoc, profile: DataProfile) -> None:
    for om in doc.objects:
        fields = profile.get(om.source, {})
        for fm in om.fields:
            src = fm.source if isinstance(fm.source, str) else None
            prof = fields.get(src) if src else None
            if not prof:
                continue
            phi = _phi(om.source, src or "") if fm.phi is None else fm.phi is not PhiClass.NONE
            fm.samples = [mask(s) if phi else s[:60] for s in prof.samples[:2]]


def fill_options(doc: MappingDoc, profile: DataProfile) -> None:
    """Every label the data will produce becomes an option of its enum/set custom field."""
    for om in doc.objects:
        for fm in om.fields:
            if fm.status != "mapped" or not fm.target.startswith("custom:"):
                continue
            cf = doc.custom_field(om.target, fm.target[7:])
            src = fm.source if isinstance(fm.source, str) else None
            if cf is None or cf.kind not in (Kind.ENUM, Kind.SET) or not src or fm.transform:
                continue
            prof = profile.get(om.source, {}).get(src)
            for v in prof.values if prof else []:
                out: Any = v
                if fm.value_map is not None:
                    try:
                        out = apply_value_map(v, fm.value_map, fm.value_map_default)
                    except TransformError:
                        continue
                if out is not None and str(out) not in cf.options:
                    cf.options.append(str(out))


#: standard fields a destination account may lack (Pipedrive person fields that exist "only if
#: contact sync is enabled"): when the live schema lacks one, a custom field of that name keeps
#: the value instead
OPTIONAL_STANDARD: dict[tuple[str, str], dict[str, Kind]] = {
    ("pipedrive", "person"): {"birthday": Kind.DATE, "postal_address": Kind.TEXT,
                              "job_title": Kind.TEXT, "notes": Kind.LONG_TEXT, "im": Kind.TEXT}}


def keep_absent_standard(doc: MappingDoc, schema: list[ObjectInfo]) -> None:
    """Retarget recipe fields whose optional standard target this account does not have."""
    live = {o.name: o for o in schema}
    for om in doc.objects:
        optional = OPTIONAL_STANDARD.get((doc.destination, om.target))
        info = live.get(om.target)
        if not optional or info is None:
            continue
        for fm in om.fields:
            kind = optional.get(fm.target)
            if kind is None or info.field(fm.target) is not None:
                continue
            name = fm.target
            fm.reason = (f"the account has no standard '{name}' field (contact sync off):"
                         f" a custom field keeps it")
            fm.target = f"custom:{name}"
            fields = doc.custom_fields.setdefault(om.target, [])
            if not any(cf.name == name for cf in fields):
                fields.append(CustomField(name=name, label=name.replace("_", " ").capitalize(),
                                          kind=kind))


#: sources whose staged records hold exactly the export's columns: a field no column fills is
#: one the export does not have (an API's empty field may fill later; its lines stay)
FILE_SOURCES = frozenset({"clinic_csv"})
UNFILLED = "the export has no values for it (no column holds it): not migrated, and no custom " \
           "field is created for it"
NOT_EXPORTED = "the export has no {obj} records: not migrated, and no custom field is created " \
               "for it"


def leave_out_unfilled(doc: MappingDoc, profile: DataProfile) -> None:
    """A recipe line writing a custom field from a field the export never fills (a blood
    group, allergies, an MRN the practice does not record) is ignored with its reason, and a
    custom field no line writes any more is not declared, so ``prepare`` creates only the
    fields the map uses. Every line of an object the export has no records of is ignored;
    otherwise only lines whose source is one field are judged (a template's fields are not).
    A map's id field is always kept."""
    for om in doc.objects:
        fields = profile.get(om.source)
        for fm in om.fields:
            if fm.status == "ignored" or not fm.target.startswith("custom:"):
                continue
            if fields is None:  # no record of the object: its maps write nothing at all
                fm.status, fm.reason = "ignored", NOT_EXPORTED.format(
                    obj=om.source.replace("_", " "))
                continue
            if not isinstance(fm.source, str) or fm.default is not None:
                continue
            prof = fields.get(fm.source) or fields.get(fm.source.split(".")[0])
            if prof is None or not prof.filled:
                fm.status, fm.reason = "ignored", UNFILLED
    used = {(om.target, fm.target[7:]) for om in doc.objects for fm in om.fields
            if fm.status != "ignored" and fm.target.startswith("custom:")}
    used |= {(om.target, om.id_field[7:]) for om in doc.objects
             if om.id_field and om.id_field.startswith("custom:")}
    for obj, cfs in list(doc.custom_fields.items()):
        keep = [cf for cf in cfs if (obj, cf.name) in used]
        if keep:
            doc.custom_fields[obj] = keep
        else:
            del doc.custom_fields[obj]


def draft_mapping(source: str, destination: str, profile: DataProfile | None = None,
                  schema: list[ObjectInfo] | None = None, variant: str | None = None
                  ) -> MappingDoc:
    if variant is None and destination == "odoo" and schema is not None and \
            not any(o.name == "account.move" for o in schema):
        variant = "no_accounting"  # Odoo without Accounting: billing folds into the partner
    doc = load_recipe(source, destination, variant)
    if schema is not None:
        keep_absent_standard(doc, schema)
    if profile:
        if source in FILE_SOURCES:
            leave_out_unfilled(doc, profile)
        add_source_custom_fields(doc, profile, schema)
        fill_options(doc, profile)
        fill_samples(doc, profile)
    return doc
