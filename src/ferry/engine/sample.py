"""Sample selection: a representative slice, not the first N rows.

Appointments are stratified over (type, status, practitioner, clinic) and picked round-robin
across strata; patients over clinic. Then the slice is closed over references: each chosen
record brings the parents it points at (patient, practitioner, clinic, appointment type), and
each chosen patient brings a few of its children of every other object, so every object type
of the map is exercised and every reference can resolve. Records merged by dedup bring their
survivor (run ``dedup.analyse`` first so the merges are current).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ferry.engine.dedup import survivor_of
from ferry.model.entities import ENTITIES
from ferry.model.fields import Kind, fields_of
from ferry.model.staging import StagingStore

STRATA = {
    "appointment": ("type_name", "status", "practitioner_id", "clinic_id"),
    "patient": ("clinic_id", "status"),
    "treatment_record": ("status",),
    "invoice": ("status",),
}


def _round_robin(groups: dict[tuple[object, ...], list[str]], n: int) -> list[str]:
    out: list[str] = []
    keys = sorted(groups, key=str)
    i = 0
    while len(out) < n and any(groups[k] for k in keys):
        k = keys[i % len(keys)]
        if groups[k]:
            out.append(groups[k].pop(0))
        i += 1
    return out


def _stratified(store: StagingStore, obj: str, n: int, per_stratum_cap: int = 50) -> list[str]:
    fields = STRATA.get(obj, ())
    groups: dict[tuple[object, ...], list[str]] = defaultdict(list)
    for rec in store.iter_records(obj):
        key = tuple(getattr(rec, f, None) for f in fields)
        if len(groups[key]) < per_stratum_cap:
            groups[key].append(rec.source_id)
    return _round_robin(groups, n)


def _refs(obj: str) -> list[tuple[str, str]]:
    return [(f.name, f.ref) for f in fields_of(ENTITIES[obj]) if f.kind == Kind.REF and f.ref]


def select_sample(store: StagingStore, size: int, objects: Iterable[str]) -> set[tuple[str, str]]:
    objects = [o for o in ENTITIES if o in set(objects)]
    chosen: set[tuple[str, str]] = set()
    share = max(1, size // max(len(objects), 1))
    for obj in objects:
        for sid in _stratified(store, obj, share):
            chosen.add((obj, sid))
    patients = {sid for o, sid in chosen if o == "patient"}
    # Children of chosen patients, a few per object, so each patient's record is complete-ish.
    for obj in objects:
        via = next((f for f, target in _refs(obj) if target == "patient"), None)
        if via is None:
            continue
        taken = 0
        for rec in store.iter_records(obj):
            if getattr(rec, via, None) in patients and taken < share:
                chosen.add((obj, rec.source_id))
                taken += 1
    # Close over parents until nothing new is added (appointment → patient → clinic …); a
    # parent merged by dedup brings its survivor, which is where its children will point.
    frontier = set(chosen)
    while frontier:
        new: set[tuple[str, str]] = set()
        for obj, sid in frontier:
            staged = store.get(obj, sid)
            if staged is None:
                continue
            survivor = survivor_of(store, obj, sid)
            if survivor and (obj, survivor) not in chosen:
                new.add((obj, survivor))
            for field_name, target in _refs(obj):
                pid = getattr(staged.record, field_name, None)
                if pid and (target, str(pid)) not in chosen and store.get(target, str(pid)):
                    new.add((target, str(pid)))
        chosen |= new
        frontier = new
    return chosen
