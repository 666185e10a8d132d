"""PHI class of a field: from the model's metadata, a mapping override, or the field's name.

Canonical fields carry their class in ``ferry.model.fields.meta``. Custom fields and unknown
export columns are classed by their name (and a user can override any field in mapping.yaml
with ``phi:``).
"""

from __future__ import annotations

import re
import string

from ferry.mapping.model import FieldMap
from ferry.mapping.transforms import label_of
from ferry.model.entities import ENTITIES
from ferry.model.fields import PhiClass, field_info

NAME_RULES: list[tuple[re.Pattern[str], PhiClass]] = [
    (re.compile(r"diagnos|icd|cpt|procedure|allerg|medic|prescri|symptom|condition|clinical|"
                r"treatment|history|complaint|blood|lab|result|note|vital|dosage|drug", re.I),
     PhiClass.CLINICAL),
    (re.compile(r"mrn|record.?n|ssn|social|national|nhs|bsn|passport|licen[cs]e|member|"
                r"policy.?n|patient.?(id|number|no)", re.I), PhiClass.IDENTIFIER),
    (re.compile(r"e.?mail|phone|mobile|fax|address|street|city|post|zip|contact", re.I),
     PhiClass.CONTACT),
    (re.compile(r"birth|dob|age|gender|sex|name|ethnic|race|language|marital", re.I),
     PhiClass.DEMOGRAPHIC),
    (re.compile(r"balance|amount|invoice|payment|insur|carrier|payer|bill|fee|price", re.I),
     PhiClass.FINANCIAL),
]


def classify_name(name: str) -> PhiClass:
    for rx, cls in NAME_RULES:
        if rx.search(name):
            return cls
    return PhiClass.NONE


def classify_source(object_name: str, path: str) -> PhiClass:
    """Class of a source field path (``field``, ``field.sub`` or ``custom.<key>``)."""
    if path.startswith("custom."):
        return classify_name(path[7:])
    model = ENTITIES.get(object_name)
    head = path.split(".", 1)[0]
    if model is not None and head in model.model_fields and head != "custom":
        return field_info(model, head).phi
    return classify_name(path)


def template_fields(fm: FieldMap) -> list[str]:
    """The record fields a ``template``/``format`` transform of the map reads."""
    out: list[str] = []
    for t in fm.transform:
        text = t.args.get("template") if t.name == "template" else (
            t.args.get("fmt") if t.name == "format" else None)
        if not isinstance(text, str):
            continue
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError:
            continue
        out += [re.split(r"[.\[]", name, maxsplit=1)[0] for _, name, _, _ in parsed if name]
    return [n for n in out if n and n != "value"]


def _template_class(object_name: str, name: str) -> PhiClass:
    """A template's ``<x>_name`` is the display name of the record ``<x>_id`` points to: a
    patient's name is theirs to protect, a clinic's or a practitioner's is not PHI."""
    model = ENTITIES.get(object_name)
    if name.startswith("custom_"):
        return classify_name(name[7:])
    ref_field = label_of(model, name) if model is not None else None
    if ref_field is not None:
        target = field_info(model, ref_field).ref
        return classify_source("patient", "last_name") if target == "patient" else PhiClass.NONE
    return classify_source(object_name, name)


def effective(object_name: str, fm: FieldMap) -> PhiClass:
    """The class that governs a field map: the user's override, else the most sensitive of
    its sources (clinical outranks the rest)."""
    if fm.phi is not None:
        return fm.phi
    sources = fm.source if isinstance(fm.source, list) else [fm.source] if fm.source else []
    classes = {classify_source(object_name, s) for s in sources}
    classes |= {_template_class(object_name, name) for name in template_fields(fm)}
    for cls in (PhiClass.CLINICAL, PhiClass.IDENTIFIER, PhiClass.CONTACT, PhiClass.DEMOGRAPHIC,
                PhiClass.FINANCIAL):
        if cls in classes:
            return cls
    return PhiClass.NONE
