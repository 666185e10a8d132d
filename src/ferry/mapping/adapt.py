"""Fit a pair's recipe to what the source actually produces.

A recipe is written for the richest export of its source; a real source may lack whole objects
(a Pulse export has no clinics and no payments, a FHIR export no campaigns). Left as they are,
those lines make every patient wait for a clinic that will never be written, and a pick-list
wait for payments that will never be staged. ``fit_to_source`` drops the maps of objects the
source does not have, the custom fields only they fed, and marks each reference to such an object
``ignored`` with its reason, so the reviewer sees what was left out and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from ferry.mapping.model import MappingDoc, ObjectMap

__all__ = ["fit_to_source"]


def _ref_objects(fm: object) -> list[str]:
    return [str(t.args.get("object")) for t in getattr(fm, "transform", [])
            if t.name == "ref" and t.args.get("object")]


def _fed(maps: list[ObjectMap]) -> set[tuple[str, str]]:
    """(destination object, custom field name) pairs these maps write or key on."""
    out = {(om.target, fm.target.removeprefix("custom:")) for om in maps for fm in om.fields
           if fm.target.startswith("custom:") and fm.status != "ignored"}
    return out | {(om.target, om.id_field.removeprefix("custom:")) for om in maps
                  if om.id_field and om.id_field.startswith("custom:")}


def fit_to_source(doc: MappingDoc, objects: Iterable[str]) -> list[str]:
    """Adapt ``doc`` in place to a source producing ``objects``; returns what changed (one
    line each, no values)."""
    have = set(objects)
    notes: list[str] = []
    kept = []
    for om in doc.objects:
        lacking = om.source if om.source not in have else \
            om.parent.object if om.parent and om.parent.object not in have else None
        if lacking is None or om.mode == "none":
            kept.append(om)
        else:
            notes.append(f"map {om.name}: the source has no {lacking} records")
    kept_ids = {id(om) for om in kept}
    fed_by_dropped = _fed([om for om in doc.objects if id(om) not in kept_ids])
    doc.objects = kept
    for om in doc.objects:
        for fm in om.fields:
            missing = [o for o in _ref_objects(fm) if o not in have]
            if missing and fm.status != "ignored":
                if fm.target.startswith("custom:"):
                    fed_by_dropped.add((om.target, fm.target.removeprefix("custom:")))
                fm.status = "ignored"
                fm.reason = (f"the source has no {missing[0]} records: left empty"
                             + (f" (was: {fm.reason})" if fm.reason else ""))
                notes.append(f"{om.name}.{fm.target}: the source has no {missing[0]} records")
    fed_by_kept = _fed(doc.objects)
    for obj, fields in list(doc.custom_fields.items()):
        keep = [cf for cf in fields if (obj, cf.name) not in fed_by_dropped
                or (obj, cf.name) in fed_by_kept]
        if len(keep) != len(fields):
            notes.append(f"{obj}: {len(fields) - len(keep)} custom field(s) only the dropped"
                         " maps fed are not created")
        if keep:
            doc.custom_fields[obj] = keep
        else:
            del doc.custom_fields[obj]
    return notes
