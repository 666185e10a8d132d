"""Dedup: patients sharing an email are merged; likely duplicates are only listed.

The survivor of a group is its most complete record (most non-empty fields; then the earliest
created; then the lowest id). Its empty fields are filled from the others, and the provenance of
every filled field is kept. Merged ids are written to the ``merges`` table for reconciliation and
their references resolve to the survivor's destination record. Patients with different emails
but the same name, date of birth and phone are *probable* duplicates for a human to review; they
are never merged automatically.

The grouping runs in SQLite, so memory stays flat however many patients there are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ferry.model.entities import Patient, Record
from ferry.model.staging import PayloadCodec, StagingStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS dedup_keys (source_id TEXT PRIMARY KEY, email TEXT, person TEXT,
    filled INTEGER, created TEXT, phones TEXT);
CREATE INDEX IF NOT EXISTS dedup_email ON dedup_keys (email);
CREATE INDEX IF NOT EXISTS dedup_person ON dedup_keys (person);
CREATE TABLE IF NOT EXISTS merges (object TEXT NOT NULL, source_id TEXT NOT NULL,
    survivor_id TEXT NOT NULL, rule TEXT NOT NULL, PRIMARY KEY (object, source_id));
CREATE TABLE IF NOT EXISTS merge_fields (object TEXT NOT NULL, survivor_id TEXT NOT NULL,
    field TEXT NOT NULL, from_id TEXT NOT NULL, PRIMARY KEY (object, survivor_id, field));
"""
SKIP_FIELDS = {"source_id", "created_at", "updated_at", "custom"}
#: patients decoded at a time: a decoded patient weighs a few kB, and two batches are alive
#: while the next is read, so this bounds the peak (not the total) whatever the practice size
BATCH = 500


def _filled(rec: Record) -> int:
    """How complete a record is: its number of non-empty fields."""
    return sum(1 for k, v in rec.model_dump().items()
               if k not in SKIP_FIELDS and v not in (None, "", [], {}, False))


def _phones(p: Patient, codec: PayloadCodec) -> str:
    """Last nine digits of every number the patient has: formats differ, the line does not."""
    return ",".join(sorted({_digest(codec, re.sub(r"\D", "", n)[-9:])
                            for n in (p.phone, p.mobile)
                            if n and len(re.sub(r"\D", "", n)) >= 6}))


def _digest(codec: PayloadCodec, text: str) -> str:
    """Keys are compared, never read: store a digest so no name or email sits in plain text,
    keyed (HMAC) with the project's key when it encrypts, so no dictionary reverses it."""
    return codec.digest(b"match\0" + text.encode())[:32]


def _person_key(p: Patient, codec: PayloadCodec) -> str | None:
    if not (p.first_name and p.last_name and p.date_of_birth):
        return None
    return _digest(codec, f"{p.first_name.strip().lower()}|{p.last_name.strip().lower()}|"
                          f"{p.date_of_birth}")


@dataclass
class DedupResult:
    groups: int
    merged: int
    probable: int


def analyse(store: StagingStore) -> DedupResult:
    """(Re)compute merges of patients by email and the probable-duplicate list."""
    with store.write_lock:
        store.conn.executescript(SCHEMA)
    with store.tx() as c:
        c.execute("DELETE FROM dedup_keys")
        c.execute("DELETE FROM merges WHERE object='patient'")
        c.execute("DELETE FROM merge_fields WHERE object='patient'")
    for batch in store.iter_batches("patient", BATCH):
        rows = []
        for s in batch:
            p = s.record
            assert isinstance(p, Patient)
            email = _digest(store.codec, p.email.strip().lower()) \
                if p.email and p.email.strip() else None
            rows.append((p.source_id, email, _person_key(p, store.codec), _filled(p),
                         p.created_at.isoformat() if p.created_at else "",
                         _phones(p, store.codec)))
        with store.tx() as c:
            c.executemany("INSERT INTO dedup_keys VALUES (?,?,?,?,?,?)", rows)
    groups = merged = 0
    merges: list[tuple[str, str]] = []
    provenance: list[tuple[str, str, str, str]] = []
    for _email, ids in _groups(store, "email"):
        groups += 1
        survivor, others = ids[0], ids[1:]
        merged += len(others)
        merges += [(oid, survivor) for oid in others]
        provenance += _fills(store, survivor, others)
        if len(merges) >= BATCH:
            _write_merges(store, merges, provenance)
            merges, provenance = [], []
    _write_merges(store, merges, provenance)
    probable = sum(1 for _ in probable_duplicates(store))
    return DedupResult(groups, merged, probable)


def _groups(store: StagingStore, column: str) -> Iterator[tuple[str, list[str]]]:
    """Keys shared by more than one patient, with their ids (survivor first).

    The rows are read in full before the first group is handed out: only duplicated keys come
    back (a small share of the patients), and a read cursor left open while the caller writes
    pins a snapshot that an overlapped extract's commit makes stale — the next BEGIN IMMEDIATE
    on this connection then fails at once with ``database is locked``.
    """
    rows = store.conn.execute(
        f"SELECT {column}, source_id FROM dedup_keys WHERE {column} IN (SELECT {column} FROM"  # noqa: S608
        f" dedup_keys WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*)>1)"
        f" ORDER BY {column}, filled DESC, created, CAST(source_id AS INTEGER), source_id"
    ).fetchall()
    current: str | None = None
    ids: list[str] = []
    for key, sid in rows:
        if key != current and ids:
            yield current or "", ids
            ids = []
        current = key
        ids.append(sid)
    if ids:
        yield current or "", ids


def _fills(store: StagingStore, survivor: str, others: list[str]
           ) -> list[tuple[str, str, str, str]]:
    """(object, survivor, field, from id) for each empty field of the survivor another fills."""
    base = store.get("patient", survivor)
    assert base is not None
    have = {k for k, v in base.record.model_dump().items() if v not in (None, "", [], {})}
    provenance: list[tuple[str, str, str, str]] = []
    for oid in others:
        other = store.get("patient", oid)
        if other is None:
            continue
        for k, v in other.record.model_dump().items():
            if k in SKIP_FIELDS or k in have or v in (None, "", [], {}):
                continue
            have.add(k)
            provenance.append(("patient", survivor, k, oid))
    return provenance


def _write_merges(store: StagingStore, merges: list[tuple[str, str]],
                  provenance: list[tuple[str, str, str, str]]) -> None:
    """One write transaction for many groups (it was one per group)."""
    if not merges:
        return
    with store.tx() as c:
        c.executemany("INSERT OR REPLACE INTO merges VALUES ('patient', ?, ?, 'same email')",
                      merges)
        c.executemany("INSERT OR REPLACE INTO merge_fields VALUES (?,?,?,?)", provenance)


def survivor_of(store: StagingStore, object_name: str, source_id: str) -> str | None:
    """The id a merged record was folded into, or None when it was not merged."""
    try:
        row = store.conn.execute("SELECT survivor_id FROM merges WHERE object=? AND source_id=?",
                                 (object_name, source_id)).fetchone()
    except Exception:  # noqa: BLE001 - no dedup has run: nothing is merged
        return None
    return None if row is None else str(row[0])


def merge_state(store: StagingStore, object_name: str, source_ids: list[str]
                ) -> tuple[dict[str, str], set[str]]:
    """For a batch: the survivor of each merged id, and the ids that are survivors with fields
    filled from others (two queries a batch instead of two a record)."""
    survivors: dict[str, str] = {}
    filled: set[str] = set()
    marks = ",".join("?" * len(source_ids))
    try:
        survivors = {a: b for a, b in store.conn.execute(
            f"SELECT source_id, survivor_id FROM merges WHERE object=? AND source_id IN ({marks})",  # noqa: S608
            (object_name, *source_ids)).fetchall()}
        filled = {r[0] for r in store.conn.execute(
            f"SELECT DISTINCT survivor_id FROM merge_fields WHERE object=? AND survivor_id IN"  # noqa: S608
            f" ({marks})", (object_name, *source_ids)).fetchall()}
    except Exception:  # noqa: BLE001 - no dedup has run: nothing is merged
        pass
    return survivors, filled


def merged_record(store: StagingStore, object_name: str, rec: Record) -> Record:
    """The survivor with the fields filled from the records merged into it."""
    try:
        rows = store.conn.execute("SELECT field, from_id FROM merge_fields WHERE object=? AND"
                                  " survivor_id=?", (object_name, rec.source_id)).fetchall()
    except Exception:  # noqa: BLE001 - no dedup has run
        return rec
    if not rows:
        return rec
    update: dict[str, Any] = {}
    for field_name, from_id in rows:
        other = store.get(object_name, from_id)
        if other is not None:
            update[field_name] = getattr(other.record, field_name)
    return rec.model_copy(update=update)


def merge_map(store: StagingStore, object_name: str = "patient") -> dict[str, str]:
    """Every merged id with the survivor it was folded into (empty before any dedup)."""
    try:
        rows = store.conn.execute("SELECT source_id, survivor_id FROM merges WHERE object=?",
                                  (object_name,)).fetchall()
    except Exception:  # noqa: BLE001 - no dedup has run: nothing is merged
        return {}
    return {str(a): str(b) for a, b in rows}


@dataclass
class Regroup:
    """What a delta pass must do because same-email groups changed since the last pass."""

    #: patients to write again (a new survivor, a survivor that lost or gained members)
    rewrite: set[str] = field(default_factory=set)
    #: object → records referring to those patients: written again so references re-resolve
    children: dict[str, set[str]] = field(default_factory=dict)
    #: patients deleted at the source that own no destination record (merged into another):
    #: their dependants go by the deletion policy all the same
    gone: set[str] = field(default_factory=set)
    #: destination records handed from a deleted or merged-away survivor to the new one
    moved: int = 0


def regroup(store: StagingStore, before: dict[str, str], targets: list[str],
            objects: Iterable[str]) -> Regroup:
    """Follow changed same-email groups after ``analyse`` in a delta pass.

    ``before``: ``merge_map`` as the last pass left it. A group's destination record belongs to
    its survivor; when the survivor is deleted at the source (the duplicate registration staff
    remove during cutover) or another member becomes the survivor, the record is handed to the
    new survivor (id map moved, record rewritten with its values), as a fresh run would have
    written it, instead of being deleted with the old survivor and leaving the remaining
    patient out of the CRM and its visits pointing at nothing. A member whose email changed
    leaves the group: it is written as a patient of its own and its records re-point to it.
    ``targets``: the destination objects the patient record maps write; ``objects``: the source
    objects of the other maps (their references to patients are followed)."""
    out = Regroup()
    after = merge_map(store)
    ids = set(before) | set(after) | set(before.values()) | set(after.values())
    affected = {x for x in ids if before.get(x, x) != after.get(x, x)}
    affected |= {before.get(x, x) for x in affected} | {after.get(x, x) for x in affected}
    if not affected:
        return out
    staged = store.get_many("patient", affected)
    live = {sid for sid, s in staged.items() if not s.deleted}
    for n in sorted(live):
        if after.get(n):
            continue  # merged: the survivor's record holds it
        for target in targets:
            if store.dest_id("patient", n, target) is not None:
                continue
            donor = next((d for d in sorted(affected) if d != n
                          and (before.get(n) == d or after.get(d) == n)
                          and (d not in live or after.get(d) == n)
                          and store.dest_id("patient", d, target) is not None), None)
            if donor is not None:
                with store.tx() as c:
                    c.execute("UPDATE idmap SET source_id=? WHERE src_object='patient' AND"
                              " source_id=? AND dest_object=?", (n, donor, target))
                out.moved += 1
    out.rewrite = live
    out.gone = {d for d in affected - live
                if not any(store.dest_id("patient", d, t) is not None for t in targets)}
    for obj in sorted(set(objects) - {"patient"}):
        refs = _patient_refs(obj)
        if not refs:
            continue
        for rec in store.iter_records(obj):  # a deleted one's too: folds drop its children
            if any(str(getattr(rec, f, "") or "") in affected for f in refs):
                out.children.setdefault(obj, set()).add(rec.source_id)
    return out


def _patient_refs(object_name: str) -> list[str]:
    from ferry.model.entities import entity
    from ferry.model.fields import Kind, fields_of

    try:
        model = entity(object_name)
    except KeyError:
        return []
    return [f.name for f in fields_of(model) if f.kind == Kind.REF and f.ref == "patient"]


def merges(store: StagingStore, object_name: str = "patient") -> list[dict[str, Any]]:
    try:
        rows = store.conn.execute("SELECT source_id, survivor_id, rule FROM merges WHERE object=?"
                                  " ORDER BY survivor_id, source_id", (object_name,)).fetchall()
    except Exception:  # noqa: BLE001
        return []
    return [{"merged": f"source:{object_name}:{a}", "into": f"source:{object_name}:{b}",
             "rule": r} for a, b, r in rows]


def probable_duplicates(store: StagingStore) -> Iterator[dict[str, Any]]:
    """Same name + DOB sharing a phone number, with different emails (never merged)."""
    for key, ids in _groups(store, "person"):
        del key
        rows = store.conn.execute(
            f"SELECT email, phones FROM dedup_keys WHERE source_id IN ({','.join('?' * len(ids))})",  # noqa: S608
            ids).fetchall()
        emails = {r[0] for r in rows}
        phone_sets = [set(filter(None, (r[1] or "").split(","))) for r in rows]
        shared = any(a & b for i, a in enumerate(phone_sets) for b in phone_sets[i + 1:])
        if len(emails) > 1 and shared:
            yield {"patients": [f"source:patient:{i}" for i in ids], "rule": "name+dob+phone",
                   "review": "emails differ"}
