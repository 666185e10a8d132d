"""Deletions in a delta pass, by each object map's declared policy (``ObjectMap.on_delete``).

A source record deleted since the pass began is handled by its map's policy:

* ``delete_dependants``: the destination record goes, and so do the records of other maps that
  cannot exist without it, depth first, so nothing is left pointing at a deleted record. A
  dependant goes when its map requires the field written from it (a deal's person) or it
  hangs on the record (a folded value, a file attached to it). A dependant whose map does not
  write the reference stands without the record, as a fresh migration of the source shows
  (even where the canonical model requires it: a Salesforce reminder Task of a deleted visit):
  it is kept (a paid invoice whose appointment was deleted keeps its deal). One
  whose map writes the link goes, with a line naming the record and that field:
  a fresh migration of the source skips a record whose written link names a record with no
  destination record (``load._prepare``), so keeping it with the link emptied would leave the
  CRM unlike a fresh migration (``bench/truth.py``'s reference);
* ``unlink``: the destination record goes; dependants stay with their reference emptied (one
  deleted in the same pass, with a record another map's policy deletes, is not updated first);
* ``keep_and_flag``: nothing is deleted; the record is flagged in the delta report.

Every deletion is audited (rollback re-creates it) and every record it touches gets a line in
the skip table with the policy as its reason, so reconcile explains why it is not in the
destination and the delta report accounts for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ferry.engine.plan import load_order
from ferry.engine.writes import Item, Writer
from ferry.mapping.compile import resolve_target
from ferry.mapping.model import MappingDoc, ObjectMap
from ferry.model.entities import entity
from ferry.model.fields import Kind, fields_of
from ferry.model.staging import StagingStore


@dataclass
class DeletionReport:
    deleted: int = 0
    dependants_deleted: int = 0
    unlinked: int = 0
    flagged: int = 0
    failed: int = 0
    policies: dict[str, str] = field(default_factory=dict)  # map → policy applied

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _refs(src_object: str, parent_object: str) -> list[str]:
    """Fields of ``src_object`` that hold a source id of ``parent_object``."""
    try:
        model = entity(src_object)
    except KeyError:
        return []
    return [f.name for f in fields_of(model) if f.kind == Kind.REF and f.ref == parent_object]


def _needs(om: ObjectMap, src_object: str, field_name: str) -> bool:
    """Whether a record of ``om`` cannot exist without the record its ``field_name`` names:
    the map hangs the record on it (a fold or attach map's parent) or requires the
    destination field it writes from it. A reference the canonical model requires but the map
    does not write is not enough: a fresh migration of the source keeps such a record (a
    Salesforce reminder Task of a deleted visit: its map writes no link to the visit), so the
    delta keeps it too (one whose map writes the link goes: see ``apply_deletions``)."""
    if om.parent is not None and om.parent.via == field_name:
        return True
    return any(fm.source == field_name and fm.required and fm.target not in ("-", "")
               for fm in om.fields)


def _written_from(om: ObjectMap, field_name: str) -> str | None:
    """The destination field ``om`` writes from ``field_name`` (None: not written)."""
    return next((fm.target for fm in om.fields if fm.source == field_name
                 and fm.target not in ("-", "")), None)


def apply_deletions(doc: MappingDoc, store: StagingStore, writer: Writer, since: str,
                    default_option: str, recordless: dict[str, set[str]] | None = None
                    ) -> DeletionReport:
    """``recordless``: source object → records deleted at the source that own no destination
    record but whose dependants were written pointing at another (a patient merged into the
    survivor of its same-email group): the dependants follow their map's policy as well."""
    out = DeletionReport()
    maps = [om for om in load_order(doc) if om.mode in ("record", "attach")]
    # source records deleted in this window that have a destination record, per map
    gone: dict[str, list[tuple[str, str]]] = {}
    once: set[tuple[str, str]] = set()  # two maps of one object to one target (a document's
    for om in maps:  # file on a deal or on a person) name the same record: deleted once
        for batch in store.iter_batches(om.source, 100, include_deleted=True,
                                        changed_since=since):
            for s in batch:
                did = store.dest_id(om.source, s.source_id, om.target) if s.deleted else None
                if did is not None and (om.target, did) not in once:
                    once.add((om.target, did))
                    gone.setdefault(om.name, []).append((s.source_id, did))
    # dependants: records of other maps that point at a record being deleted (transitively)
    deleting: dict[str, set[str]] = {}  # source object → ids whose records are being deleted
    unlinking: dict[str, set[str]] = {}
    for om in maps:
        if om.name not in gone:
            continue
        policy = om.delete_policy(default_option)
        out.policies[om.name] = policy
        ids = {sid for sid, _ in gone[om.name]}
        if policy == "delete_dependants":
            deleting.setdefault(om.source, set()).update(ids)
        elif policy == "unlink":
            unlinking.setdefault(om.source, set()).update(ids)
    for obj, ids in (recordless or {}).items():
        om = next((m for m in maps if m.source == obj and m.mode == "record"), None)
        policy = om.delete_policy(default_option) if om is not None else None
        if policy == "delete_dependants":
            deleting.setdefault(obj, set()).update(ids)
        elif policy == "unlink":
            unlinking.setdefault(obj, set()).update(ids)
    dependants: dict[str, dict[str, tuple[str, str]]] = {}  # map → {sid: (dest id, why)}
    links: dict[tuple[str, str], str] = {}  # (map, sid) → the written link it went for
    seen: set[tuple[str, str]] = {(by.target, did) for by in maps for sid, did in
                                  gone.get(by.name, [])}  # (dest object, id) once only
    unlinks: dict[str, dict[str, tuple[str, str, str]]] = {}  # map → {sid: (did, field, why)}
    #: map → {sid: (did, field, parent ref)}: dependants that stand without the deleted record
    kept: dict[str, dict[str, tuple[str, str, str]]] = {}
    frontier = {obj: set(ids) for obj, ids in deleting.items()}
    while frontier:
        nxt: dict[str, set[str]] = {}
        for parent_obj, parent_ids in frontier.items():
            for om in maps:
                fields = _refs(om.source, parent_obj)
                if not fields or (om.source == parent_obj and om.name in gone):
                    continue
                for rec in store.iter_records(om.source):
                    hits = [f for f in fields if str(getattr(rec, f, "") or "") in parent_ids]
                    if not hits or rec.source_id in dependants.get(om.name, {}):
                        continue
                    did = store.dest_id(om.source, rec.source_id, om.target)
                    if did is None or (om.target, did) in seen:
                        continue
                    hit = next((f for f in hits if _needs(om, om.source, f)), None)
                    if hit is None:  # stands without it: kept, unless its map writes the link (below)
                        for f in hits:
                            kept.setdefault(om.name, {}).setdefault(rec.source_id, (
                                did, f, f"source:{parent_obj}:{getattr(rec, f)}"))
                        continue
                    seen.add((om.target, did))
                    why = (f"deleted with source:{parent_obj}:{getattr(rec, hit)}, deleted at"
                           " the source (delete policy: delete_dependants)")
                    dependants.setdefault(om.name, {})[rec.source_id] = (did, why)
                    nxt.setdefault(om.source, set()).add(rec.source_id)
        frontier = nxt
    for name, rows in kept.items():
        om = next(m for m in maps if m.name == name)
        for sid, (did, f, parent) in rows.items():
            target = _written_from(om, f) if om.mode == "record" else None
            if sid in dependants.get(name, {}) or (om.target, did) in seen or target is None:
                continue  # deleted through another reference, or nothing of it written
            # The map writes the link: a fresh migration of the source would skip the record
            # (its link names a record with no destination record), so it goes, its line
            # naming the field. (Emptying works on every destination since the field's key is
            # the prepared one, not its logical name, which Salesforce refused: INVALID_FIELD.)
            seen.add((om.target, did))
            links[(name, sid)] = target
            dependants.setdefault(name, {})[sid] = (
                did, f"deleted with {parent}, deleted at the source: its map writes the link"
                f" to it ({target}), and a fresh migration skips a record whose link names a"
                " record not in the destination (delete policy: delete_dependants)")
    for parent_obj, parent_ids in unlinking.items():
        for om in maps:
            if om.mode != "record":
                continue
            for f in _refs(om.source, parent_obj):
                target = next((fm.target for fm in om.fields if fm.source == f
                               and fm.target not in ("-", "")), None)
                if target is None:
                    continue
                for rec in store.iter_records(om.source):
                    pid = str(getattr(rec, f, "") or "")
                    did = store.dest_id(om.source, rec.source_id, om.target)
                    # (a record this pass deletes is not emptied first: its update after the
                    # delete failed, and one deleted after it was written for nothing)
                    if pid in parent_ids and did is not None and (om.target, did) not in seen:
                        unlinks.setdefault(om.name, {})[rec.source_id] = (
                            did, target, f"reference to source:{parent_obj}:{pid} emptied: it"
                            " was deleted at the source (delete policy: unlink)")
    by_name = {om.name: om for om in maps}
    run_id = writer.run_id
    # dependants first, newest maps first, so nothing ever points at a deleted record
    for om in reversed(maps):
        for sid, (did, why) in (dependants.get(om.name) or {}).items():
            n_ok = _delete(writer, store, om, [(sid, did)], why, field=links.get((om.name, sid)))
            out.dependants_deleted += n_ok
            out.failed += 1 - n_ok
    for name, rows in unlinks.items():
        om = by_name[name]
        items = []
        for sid, (did, target, why) in rows.items():
            # the field's key in the destination (a custom field's is the one prepare
            # recorded: Salesforce's ``__c`` name, Pipedrive's hash, Odoo's ``x_``), never its
            # logical name (Salesforce refused the before-image read: INVALID_FIELD)
            items.append(Item(om.source, sid, {resolve_target(doc, om.target, target): None},
                              dest_id=did))
            store.skip(run_id, f"source:{om.source}:{sid}", target, why, "delta-unlink")
        for res in writer.update(om.target, items, {"map": name, "delta": True}):
            out.unlinked += int(res.ok)
            out.failed += int(not res.ok)
    for om in reversed(maps):
        rows = gone.get(om.name)
        if not rows:
            continue
        policy = out.policies[om.name]
        if policy == "ignore":  # still said, so the delta report accounts for it
            for sid, _ in rows:
                store.skip(run_id, f"source:{om.source}:{sid}", None, "deleted at the source;"
                           " left in the destination (delete policy: ignore)", "delta")
            continue
        if policy == "keep_and_flag":
            for sid, _ in rows:
                store.skip(run_id, f"source:{om.source}:{sid}", None, "deleted at the source;"
                           " kept in the destination and flagged (delete policy: keep_and_flag)",
                           "delta")
            out.flagged += len(rows)
            continue
        n_ok = _delete(writer, store, om, rows, f"deleted at the source (delete policy:"
                       f" {policy})")
        out.deleted += n_ok
        out.failed += len(rows) - n_ok
    return out


def _delete(writer: Writer, store: StagingStore, om: ObjectMap, rows: list[tuple[str, str]],
            why: str, *, field: str | None = None) -> int:
    items = [Item(om.source, sid, dest_id=did) for sid, did in rows]
    n = 0
    for it, res in zip(items, writer.delete(om.target, items, {"map": om.name, "delta": True},
                                            capture_before=True), strict=True):
        if res.ok:
            store.unmap_id(om.source, it.source_id, om.target)
            store.skip(writer.run_id, f"source:{om.source}:{it.source_id}", field, why,
                       "delta-delete")
            n += 1
    return n
