"""Building blocks for the recipe generator (``python -m ferry.mapping.cookbook``).

The recipes in ``ferry/mapping/recipes/*.yaml`` are written by this package so that the twelve
source × destination pairs follow one logic: the seed pages' object tables per destination, with
a few per-source switches (seed-specific object choices; phone numbers are read per record
in the country of its address or the practice's, never a region per source). Edit here, regenerate,
and review the YAML diff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ferry.mapping.model import (
    Attach,
    Condition,
    CustomField,
    FieldMap,
    Fold,
    MappingDoc,
    ObjectMap,
    Parent,
    Pipeline,
    Stage,
    Transform,
)
from ferry.model.entities import ENTITIES
from ferry.model.fields import Kind, fields_of

SOURCES = ("practicehub", "pulse", "clinic_csv", "fhir_bulk")
DESTINATIONS = ("pipedrive", "salesforce", "odoo")

SEED = {
    ("clinic_csv", "pipedrive"): "000", ("fhir_bulk", "pipedrive"): "000",
    ("pulse", "pipedrive"): "000 (by the same logic)", ("practicehub", "pipedrive"): "001",
    ("practicehub", "salesforce"): "002", ("pulse", "odoo"): "003", ("practicehub", "odoo"): "004",
}


def T(name: str, **args: Any) -> Transform:
    return Transform(name=name, args=args)


def F(source: str | list[str] | None, target: str, *transforms: Transform,
      vm: dict[str, Any] | None = None, vmd: Any = None, default: Any = None,
      required: bool = False, reason: str = "") -> FieldMap:
    return FieldMap(source=source, target=target, transform=list(transforms), value_map=vm,
                    value_map_default=vmd, default=default, required=required,
                    reason=reason or "recipe", confidence=1.0)


def IGN(source: str, reason: str) -> FieldMap:
    """A field deliberately not migrated, with the reason shown in mapping.yaml."""
    return FieldMap(source=source, target="-", status="ignored", reason=reason, confidence=1.0)


def when_in(fld: str, values: list[Any]) -> Condition:
    return Condition.model_validate({"field": fld, "in": values})


def when_not_in(fld: str, values: list[Any]) -> Condition:
    return Condition(field=fld, not_in=values)


@dataclass
class Book:
    """Collects object maps, custom fields, pipelines and activity types for one recipe."""

    source: str
    destination: str
    variant: str | None = None
    objects: list[ObjectMap] = field(default_factory=list)
    custom: dict[str, list[CustomField]] = field(default_factory=dict)
    pipelines: list[Pipeline] = field(default_factory=list)
    activity_types: list[str] = field(default_factory=list)
    _owner: dict[str, str] = field(default_factory=dict)

    def cf(self, obj: str, name: str, label: str, kind: Kind, options: list[str] | None = None,
           *, ref: str | None = None, external_id: bool = False) -> str:
        """Declare a custom field on ``obj`` (once) and return its ``custom:<name>`` target."""
        items = self.custom.setdefault(obj, [])
        if not any(c.name == name for c in items):
            items.append(CustomField(name=name, label=label, kind=kind, options=options or [],
                                     ref=ref, external_id=external_id))
        return f"custom:{name}"

    def id_field(self, obj: str, name: str = "ferry_source_id") -> str:
        label = "Ferry source ID" if name == "ferry_source_id" else \
            f"Ferry source ID ({name[6:-3].replace('_', ' ')})"
        return self.cf(obj, name, label, Kind.TEXT, external_id=True)

    def add(self, name: str, source: str, target: str, fields: list[FieldMap], *,
            mode: str = "record", note: str = "", when: Condition | None = None,
            parent: tuple[str, str] | None = None, fold: Fold | None = None,
            attach: Attach | None = None, custom_object: bool = False,
            id_name: str = "ferry_source_id") -> ObjectMap:
        if mode == "record":
            # Source ids are unique per object, not across objects: when a second source object
            # lands on the same destination object, it gets its own id field, so a lookup by
            # source id never finds another object's record.
            first = self._owner.setdefault(target, source)
            if first != source and id_name == "ferry_source_id":
                id_name = f"ferry_{source}_id"
        om = ObjectMap(
            name=name, source=source, target=target, mode=mode, note=note, when=when,  # type: ignore[arg-type]
            parent=Parent(object=parent[0], via=parent[1]) if parent else None,
            id_field=self.id_field(target, id_name) if mode == "record" else None,
            fields=fields, fold=fold, attach=attach, custom_object=custom_object)
        self.objects.append(om)
        return om

    def pipeline(self, name: str, stages: list[str]) -> None:
        if not any(p.name == name for p in self.pipelines):
            self.pipelines.append(Pipeline(name=name, stages=[Stage(name=s) for s in stages]))

    def cover_concepts(self) -> None:
        """Concepts real exports carry that the seed pages never named (middle name, race,
        date of death, a visit's reason, a medication's code …, issue 16). A recipe cannot know
        whether a practice has them, and a custom field made for every one of them would crowd
        the destination's limits, so the recipe lists each as ignored-until-seen and
        ``ferry map`` proposes a custom field for the ones the export actually fills
        (``ferry.mapping.draft``)."""
        for obj, names in CONCEPTS.items():
            maps = [om for om in self.objects if om.source == obj]
            used = set().union(*[{u for fm in om.fields for u in fields_used(fm, obj)}
                                 for om in maps]) if maps else set()
            for name in names:
                if maps and name not in used:
                    maps[0].fields.append(IGN(name, CONCEPT_REASON))

    def doc(self) -> MappingDoc:
        self.cover_concepts()
        # A pick-list fed with source labels as they are (value map default "keep") takes its
        # options from the data (`ferry map` profiles them, `prepare` derives them), never a
        # fixed list the practice may not use.
        for om in self.objects:
            for fm in om.fields:
                if fm.value_map_default == "keep" and fm.target.startswith("custom:"):
                    for cf in self.custom.get(om.target, []):
                        if cf.name == fm.target[7:] and cf.kind in (Kind.ENUM, Kind.SET):
                            cf.options = []
        recipe = f"{self.source}__{self.destination}" + (f"@{self.variant}" if self.variant else "")
        return MappingDoc(source=self.source, destination=self.destination, recipe=recipe,
                          objects=self.objects, custom_fields=self.custom,
                          pipelines=self.pipelines, activity_types=self.activity_types)


# Concepts added to the model after the seed pages (issue 16), per object.
CONCEPTS: dict[str, list[str]] = {
    "patient": ["middle_name", "name_suffix", "marital_status", "race", "ethnicity",
                "preferred_language", "deceased_date", "guardian_name", "work_phone", "notes"],
    "practitioner": ["gender", "address", "city", "region", "postcode"],
    "appointment": ["title", "reason", "cancelled_at"],
    "prescription": ["medication_code", "stop_date", "cost"],
}
CONCEPT_REASON = "not in the seed pages: `ferry map` proposes a custom field when the export has it"


# ---------------------------------------------------------------------------------------------
# coverage: every canonical field is mapped, folded, rendered or ignored with a reason

_TPL = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)")


def _ref_of(name: str, obj: str | None) -> set[str]:
    """``<x>_name`` in a template names the record ``<x>_id`` points at, unless the object has a
    real field called ``<x>_name`` (appointment.type_name)."""
    model = ENTITIES.get(obj or "")
    if not name.endswith("_name") or (model is not None and name in model.model_fields):
        return set()
    return {name[:-5] + "_id"}


def fields_used(fm: FieldMap, obj: str | None = None) -> set[str]:
    """Source fields a field map reads: its sources, template names, pipeline_by fields."""
    used: set[str] = set()
    srcs = fm.source if isinstance(fm.source, list) else [fm.source] if fm.source else []
    used.update(s if s.startswith("custom.") else s.split(".")[0] for s in srcs)
    for t in fm.transform:
        for key in ("template", "fmt"):
            if key in t.args:
                for n in _TPL.findall(str(t.args[key])):
                    used.add(n)
                    used.update(_ref_of(n, obj))
        if t.name == "record_json":
            for n in t.args.get("fields", []):
                used.add(str(n))
                used.update(_ref_of(str(n), obj))
        if t.name in ("pipeline", "stage") and isinstance(t.args.get("pipeline_by"), dict):
            used.add(str(t.args["pipeline_by"].get("field")))
    return used


def uncovered(doc: MappingDoc) -> dict[str, list[str]]:
    """Canonical fields no map of their object mentions (objects with no map at all: every
    field). ``source_id`` is covered by ``id_field``; ``custom`` by the proposer's custom fields."""
    covered: dict[str, set[str]] = {o: set() for o in ENTITIES}
    for om in doc.objects:
        c = covered.setdefault(om.source, set())
        c.add("source_id")
        if om.mode == "none" or (om.attach and om.attach.content == "render"):
            c.update(f.name for f in fields_of(ENTITIES[om.source]))
        if om.when:
            c.add(om.when.field)
        if om.parent:
            c.add(om.parent.via)
        if om.attach:
            for key in (om.attach.file_name, om.attach.template or ""):
                for n in _TPL.findall(key):
                    c.add(n)
                    c.update(_ref_of(n, om.source))
        for fm in om.fields:
            c.update(fields_used(fm, om.source))
    out: dict[str, list[str]] = {}
    for obj, model in ENTITIES.items():
        missing = [f.name for f in fields_of(model) if f.name not in covered[obj]]
        if missing:
            out[obj] = missing
    return out
