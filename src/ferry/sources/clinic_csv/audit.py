"""Cross-file consistency of an export: ids referenced by one file but present in none.

Seed 003's first step audits "cross-file ID consistency (patient_id references in appointment
and billing files)". The check streams each file once: parent ids are collected into sets (ids
only, a few bytes each, so even a million patients fit), then every reference is looked up.
Orphans are reported by record reference and file line, never by value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ferry.model.entities import ENTITIES, Record
from ferry.model.fields import Kind, fields_of
from ferry.sources.clinic_csv.rows import RawRow

EXAMPLES = 20


@dataclass
class RefCheck:
    object: str
    field: str
    target: str
    checked: int = 0
    orphans: int = 0
    examples: list[str] = field(default_factory=list)  # record refs, never values


def ref_fields(obj: str) -> list[tuple[str, str]]:
    return [(f.name, f.ref) for f in fields_of(ENTITIES[obj]) if f.kind is Kind.REF and f.ref]


def audit_references(source: object) -> list[RefCheck]:
    """Every reference field of every object present, checked against its target's ids."""
    from ferry.sources.clinic_csv.reader import ExportSource

    assert isinstance(source, ExportSource)
    present = {p.object for p in source.plans()}
    ids: dict[str, set[str]] = {}
    for obj in present:
        seen: set[str] = set()
        for rec in _records(source, obj):
            seen.add(rec.source_id)
        ids[obj] = seen
    out: list[RefCheck] = []
    for obj in sorted(present):
        checks = [RefCheck(obj, f, t) for f, t in ref_fields(obj) if t in present]
        if not checks:
            continue
        for rec in _records(source, obj):
            for c in checks:
                value = getattr(rec, c.field)
                if not value:
                    continue
                c.checked += 1
                if value not in ids[c.target]:
                    c.orphans += 1
                    if len(c.examples) < EXAMPLES:
                        c.examples.append(f"{source.name}:{obj}:{rec.source_id}")
        out.extend(checks)
    return out


def _records(source: object, obj: str):  # type: ignore[no-untyped-def]
    from ferry.sources.clinic_csv.reader import ExportSource

    assert isinstance(source, ExportSource)
    for p in source.tables_of(obj):
        conv = source.converter(p)
        for _, row in source._rows(p, p.table.start):
            if isinstance(row, RawRow):
                rec = conv.convert(row)
                if isinstance(rec, Record):
                    yield rec
