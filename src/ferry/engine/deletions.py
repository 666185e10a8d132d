"""Deletions in a delta pass, by each object map's declared policy (``ObjectMap.on_delete``).

A source record deleted since the pass began is handled by its map's policy:

* ``delete_dependants``: the destination record goes, and so do the records of other maps that
  cannot exist without it, depth first, so nothing is left pointing at a deleted record. A
  dependant goes when it hangs on the record (a folded value, a file attached to it) or its
  map writes a link to it that is required (by the map: a deal's person; or by the canonical
  model: a reminder's appointment). One whose map writes an optional link to it (an invoice's
  visit) is kept with that link emptied, as a fresh migration of the source keeps it
  (``load._prepare``: a link to a record not at the source is left out, the record written);
  each emptied link gets a ``link-emptied`` line naming the record and the field. A record
  deleted *as a dependant* is still at the source (an appointment of a deleted patient), so a
  written link to it, optional or not, takes its dependant too: a fresh migration skips a
  record linking to a record the source has but the destination does not. With several
  links, all count: one that takes the record wins over one that is emptied. A dependant
  whose map does not write the reference stands untouched (a Salesforce reminder Task of a
  deleted visit);
* ``unlink``: the destination record goes; dependants stay with their reference emptied (one
  deleted in the same pass, with a record another map's policy deletes, is not updated first);
* ``keep_and_flag``: nothing is deleted; the record is flagged in the delta report.

Every deletion and every emptying is audited (rollback re-creates or restores it) and every
record it touches gets a line in the skip table with the policy as its reason, so reconcile
explains why it is not in the destination and the delta report accounts for it. A link emptied
because its record was deleted at the source is filled again by a later pass once the source
has the record again (``relinkable``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ferry.engine.plan import load_order
from ferry.engine.writes import Item, Writer
from ferry.mapping.compile import required_refs, resolve_target
from ferry.mapping.model import MappingDoc, ObjectMap
from ferry.model.entities import entity
from ferry.model.fields import Kind, fields_of
from ferry.model.staging import StagingStore

#: the skip line of a record kept with a link emptied because the record it named is not at
#: the source (deleted there): a field-level note, the record itself is written
LINK_EMPTIED = "link-emptied"
_EMPTIED_PREFIX = "the record it links to ("


def emptied_reason(src_object: str, source_id: str) -> str:
    """The reason of a ``LINK_EMPTIED`` line: names the record, never a value."""
    return (f"{_EMPTIED_PREFIX}source:{src_object}:{source_id}) is not at the source (deleted"
            " there): the record is kept with this link empty")


def relinkable(store: StagingStore) -> dict[str, set[str]]:
    """Records kept with a link emptied whose linked record the source has again (restored
    there): a delta pass loads them again, so the link is filled (source object → ids)."""
    out: dict[str, set[str]] = {}
    for ref, reason in store.conn.execute(
            "SELECT DISTINCT ref, reason FROM skips WHERE stage=?", (LINK_EMPTIED,)):
        target = str(reason).removeprefix(_EMPTIED_PREFIX).split(")", 1)[0]
        t_parts, parts = target.split(":", 2), str(ref).split(":", 2)
        if len(t_parts) != 3 or len(parts) != 3:
            continue
        staged = store.get(t_parts[1], t_parts[2])
        if staged is not None and not staged.deleted:
            out.setdefault(parts[1], set()).add(parts[2])
    return out


@dataclass
class DeletionReport:
    deleted: int = 0
    dependants_deleted: int = 0
    unlinked: int = 0
    #: dependants kept with a link emptied (the record it named was deleted at the source)
    links_emptied: int = 0
    #: which: the record, the field (the map's target) and the record it linked to, by
    #: reference (never a value)
    emptied: list[dict[str, str]] = field(default_factory=list)
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


def _needs(om: ObjectMap, field_name: str) -> bool:
    """Whether a record of ``om`` cannot exist without the record its ``field_name`` names:
    the map hangs the record on it (a fold or attach map's parent) or writes a link from it
    that is required, by the map or by the canonical model (``required_refs``). A reference
    the canonical model requires but the map does not write is not enough: a fresh migration
    of the source keeps such a record (a Salesforce reminder Task of a deleted visit: its map
    writes no link to the visit), so the delta keeps it too."""
    if om.parent is not None and om.parent.via == field_name:
        return True
    canonical = required_refs(om.source)
    return any(fm.source == field_name and fm.writes
               and (fm.required or field_name in canonical) for fm in om.fields)


def _written_from(om: ObjectMap, field_name: str) -> str | None:
    """The destination field ``om`` writes from ``field_name`` (None: not written)."""
    if om.mode != "record":
        return None
    return next((fm.target for fm in om.fields if fm.source == field_name and fm.writes),
                None)


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
    #: records deleted at the source (not as dependants: those the source still has)
    at_source = {(obj, sid) for obj, ids in deleting.items() for sid in ids}
    dependants: dict[str, dict[str, tuple[str, str]]] = {}  # map → {sid: (dest id, why)}
    links: dict[tuple[str, str], str] = {}  # (map, sid) → the written link it went for
    seen: set[tuple[str, str]] = {(by.target, did) for by in maps for sid, did in
                                  gone.get(by.name, [])}  # (dest object, id) once only
    unlinks: dict[str, dict[str, tuple[str, str, str]]] = {}  # map → {sid: (did, field, why)}
    #: map → {sid: (did, {written field: linked source ref})}: dependants kept with the links
    #: to records deleted at the source emptied (unless another link takes them)
    emptying: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}
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
                    takes, empties = None, {}
                    for f in hits:
                        pid = str(getattr(rec, f))
                        target = _written_from(om, f)
                        if _needs(om, f) or (target is not None
                                             and (parent_obj, pid) not in at_source):
                            takes = takes or (f, target)
                        elif target is not None:  # optional, to a record deleted at the source
                            empties[target] = f"source:{parent_obj}:{pid}"
                    if takes is None:  # stands without it (its link emptied, if written)
                        if empties:
                            row = emptying.setdefault(om.name, {}).setdefault(
                                rec.source_id, (did, {}))
                            row[1].update(empties)
                        continue
                    f, target = takes
                    seen.add((om.target, did))
                    parent = f"source:{parent_obj}:{getattr(rec, f)}"
                    if _needs(om, f):
                        why = (f"deleted with {parent}, deleted at the source (delete policy:"
                               " delete_dependants)")
                    else:  # a written optional link to a record deleted as a dependant
                        links[(om.name, rec.source_id)] = str(target)
                        why = (f"deleted with {parent}, deleted as it depends on a record"
                               f" deleted at the source: its map writes the link to it"
                               f" ({target}), and a fresh migration skips a record whose link"
                               " names a record the source has but the destination does not"
                               " (delete policy: delete_dependants)")
                    dependants.setdefault(om.name, {})[rec.source_id] = (did, why)
                    nxt.setdefault(om.source, set()).add(rec.source_id)
        frontier = nxt
    emptied: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
        name: {sid: row for sid, row in rows.items()
               if sid not in dependants.get(name, {}) and row[1]}
        for name, rows in emptying.items()}
    for parent_obj, parent_ids in unlinking.items():
        for om in maps:
            if om.mode != "record":
                continue
            for f in _refs(om.source, parent_obj):
                target = next((fm.target for fm in om.fields if fm.source == f and fm.writes),
                              None)
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
    # A record the unlink policy empties too is left linking to nothing when every record
    # link its map writes goes: it goes instead, as before links were emptied (a Pipedrive
    # note must keep one link; a fresh migration skips it: its required patient is gone)
    for name, rows in emptied.items():
        om = by_name[name]
        for sid in [x for x in rows if x in unlinks.get(name, {})]:
            staged = store.get(om.source, sid)
            links_of = {fm.target for fm in om.fields
                        if isinstance(fm.source, str) and fm.writes
                        and any(t.name == "ref" for t in fm.transform)
                        and staged is not None and getattr(staged.record, fm.source, None)}
            did, targets = rows[sid]
            _, unlinked, _ = unlinks[name][sid]
            if links_of <= set(targets) | {unlinked}:
                del rows[sid]
                del unlinks[name][sid]
                dependants.setdefault(name, {})[sid] = (did, (
                    f"deleted: every link it has goes ({', '.join(sorted(links_of))}), to"
                    " records deleted at the source (delete policies: delete_dependants,"
                    " unlink)"))
    run_id = writer.run_id
    # dependants first, newest maps first, so nothing ever points at a deleted record
    for om in reversed(maps):
        for sid, (did, why) in (dependants.get(om.name) or {}).items():
            n_ok = _delete(writer, store, om, [(sid, did)], why, field=links.get((om.name, sid)))
            out.dependants_deleted += n_ok
            out.failed += 1 - n_ok
    for name, rows in emptied.items():  # kept, their links to records deleted at the source
        om = by_name[name]  # emptied (those the unlink policy empties below are left to it)
        items, lines = [], []
        for sid, (did, targets) in rows.items():
            mine = {t: r for t, r in targets.items()
                    if (unlinks.get(name, {}).get(sid) or ("", ""))[1] != t}
            if not mine:
                continue
            items.append(Item(om.source, sid, {resolve_target(doc, om.target, t): None
                                               for t in mine}, dest_id=did))
            lines.append((f"source:{om.source}:{sid}", mine))
        if not items:
            continue
        for res, (r, mine) in zip(writer.update(om.target, items, {"map": name, "delta": True}),
                                  lines, strict=True):
            out.links_emptied += int(res.ok)
            out.failed += int(not res.ok)
            if res.ok:
                for t, linked in mine.items():
                    _, obj, lid = linked.split(":", 2)
                    store.skip(run_id, r, t, emptied_reason(obj, lid), LINK_EMPTIED)
                    out.emptied.append({"ref": r, "field": t, "linked_to": linked})
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
