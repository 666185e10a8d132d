"""Rollback: revert every write of one or more runs, reading only the audit log and id map.

Entries are undone newest first: created records and uploads are deleted, updated records get
their before-image back, records a delta deleted are re-created from their before-image, and
schema ``prepare`` created is removed. Each undo is itself audited with the sequence numbers it
undoes, so a rollback killed midway resumes where it stopped. It ends by verifying the
destination: record counts equal the snapshot taken before the run, and every restored record
reads back equal to its before-image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.connectors import killpoint
from ferry.connectors.base import Destination, Provisioned
from ferry.engine.prepare import KEYS, item_from_dict, item_key
from ferry.engine.writes import Item, Writer
from ferry.model.audit import AuditEntry, AuditLog
from ferry.model.crypto import PlainView, plain_file
from ferry.model.entities import Document
from ferry.model.refs import RecordRef
from ferry.model.staging import StagingStore, canonical_json

UNDOABLE = ("create", "upload", "update", "delete", "provision")
ROLLED_BACK = "rolled_back"


@dataclass
class RollbackResult:
    runs: list[str]
    deleted: int = 0
    restored: int = 0
    recreated: int = 0
    schema_removed: int = 0
    failures: list[str] = field(default_factory=list)
    counts_before: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)
    restored_hash_ok: bool = True

    @property
    def verified(self) -> bool:
        return (not self.failures and self.restored_hash_ok
                and all(self.counts_after.get(k) == v for k, v in self.counts_before.items()))


def target_runs(store: StagingStore, run_id: str | None) -> list[str]:
    """The runs to undo, newest first: one named run, or every run not yet rolled back."""
    runs = [r for r in store.runs() if r.kind in ("prepare", "run", "sample", "delta")]
    if run_id:
        return [r.run_id for r in runs if r.run_id == run_id]
    return [r.run_id for r in reversed(runs) if r.status != ROLLED_BACK]


def _already_undone(audit: AuditLog) -> set[int]:
    undone: set[int] = set()
    for e in audit.entries():
        if e.kind == "done" and "undoes" in e.detail:
            undone.update(int(s) for s in e.detail["undoes"])
    return undone


def _todo(audit: AuditLog, runs: list[str]) -> Iterator[AuditEntry]:
    undone = _already_undone(audit)
    wanted = set(runs)
    # Records these runs created are deleted outright; restoring their updates first is waste.
    created = {(e.dest_object, e.dest_id) for e in audit.entries()
               if e.run_id in wanted and e.kind == "done" and e.op in ("create", "upload")}
    for e in audit.entries(reverse=True):
        if e.run_id not in wanted or e.kind != "done" or e.op not in UNDOABLE \
                or e.seq in undone or "undoes" in e.detail:
            continue
        if e.op in ("update", "delete") and (e.dest_object, e.dest_id) in created:
            continue  # the record is deleted below; restoring or re-creating it first is waste
        yield e


UNDO_WORD = {"create": "delete", "upload": "delete file", "update": "restore",
             "delete": "re-create", "provision": "remove schema"}


def _removes_schema(e: AuditEntry) -> bool:
    """Whether undoing a ``provision`` entry removes anything: what prepare created, or the
    options it added to a pick-list that existed."""
    return bool(e.detail.get("created") or e.detail.get("also_made"))


def preview(audit: AuditLog, runs: list[str], destination: str = ""
            ) -> dict[tuple[str, str], int]:
    """What a rollback of ``runs`` will do, before it starts: (action, object) -> count. Schema
    is named by what ``prepare`` made, in the ``destination``'s words (``schema_term``)."""
    from ferry.engine.prepare import schema_term

    out: dict[tuple[str, str], int] = {}
    for e in _todo(audit, runs):
        if e.op == "provision" and not _removes_schema(e):
            continue  # it existed before prepare and gained nothing: the rollback leaves it
        key = (UNDO_WORD.get(e.op, e.op), e.dest_object)
        kind = (e.detail.get("item") or {}).get("kind") if e.op == "provision" else None
        if kind:
            what, obj = schema_term(destination, kind, e.dest_object)
            # one that was there before prepare stays: what prepare added to it goes
            key = (f"remove {what}" if e.detail.get("created") else
                   f"remove what prepare added to an existing {what}", obj)
        out[key] = out.get(key, 0) + 1
    return out


class Moved:
    """Records this rollback re-created under a new id (a delta deleted them), so the
    before-images restored after them point at them again: a dependant whose link a delta
    emptied (its patient deleted at the source) is restored with the re-created patient's id,
    not the deleted one's (which the destination refuses). Reference fields, as the
    destination describes them, are re-pointed; so is a text field holding exactly the old id
    of one re-created record when ids are not plain numbers (Salesforce's, unique across
    objects: an invoice's Source_Appointment text). A number in a text field is left as it
    is: it could be anything."""

    def __init__(self, dest: Destination) -> None:
        self.dest = dest
        self.ids: dict[tuple[str, str], str] = {}  # (object, old id) → new id
        self._refs: dict[str, dict[str, str]] | None = None  # object → {ref key: object}

    def add(self, obj: str, old: str | None, new: str | None) -> None:
        if old and new and str(old) != str(new):
            self.ids[(obj, str(old))] = str(new)

    def repoint(self, obj: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.ids or not payload:
            return payload
        if self._refs is None:
            self._refs = {o.name: {f.key: f.ref for f in o.fields if f.ref}
                          for o in self.dest.describe()}
        refs = self._refs.get(obj, {})
        out = dict(payload)
        for key, value in payload.items():
            target = refs.get(key)
            new = self.ids.get((target, str(value))) if target and value is not None else None
            if new is None and target is None and isinstance(value, str) \
                    and not value.isdigit():
                found = [n for (_, old), n in self.ids.items() if old == value]
                new = found[0] if len(found) == 1 else None
            if new is not None:
                out[key] = int(new) if isinstance(value, int) and new.isdigit() else new
        return out


def rollback(store: StagingStore, audit: AuditLog, dest: Destination, runs: list[str],
             rollback_run_id: str, batch_size: int = 100) -> RollbackResult:
    result = RollbackResult(runs)
    writer = Writer(store, audit, dest, rollback_run_id)
    moved = Moved(dest)
    group: list[AuditEntry] = []
    for entry in _todo(audit, runs):
        if group and (entry.op != group[0].op or entry.dest_object != group[0].dest_object
                      or len(group) >= batch_size):
            _undo(group, writer, dest, store, result, moved)
            group = []
        group.append(entry)
    if group:
        _undo(group, writer, dest, store, result, moved)
    if _last_prepare(store, runs):
        _leftovers(writer, dest, result)
    _verify(store, audit, dest, runs, result, moved)
    # Only a verified rollback closes its runs: one that left something behind (counts differ)
    # stays open, so the next ``ferry rollback`` checks again instead of finding 0 runs.
    if result.verified:
        with store.tx() as c:
            for run in runs:
                c.execute("DELETE FROM idmap WHERE run_id=?", (run,))
                c.execute("UPDATE runs SET status=? WHERE run_id=?", (ROLLED_BACK, run))
    return result


def _last_prepare(store: StagingStore, runs: list[str]) -> bool:
    """Whether this rollback undoes every ``prepare`` still in effect (and at least one)."""
    prepares = [r for r in store.runs("prepare") if r.status != ROLLED_BACK]
    return bool(prepares) and all(r.run_id in runs for r in prepares)


def _leftovers(writer: Writer, dest: Destination, result: RollbackResult) -> None:
    """What ``prepare`` made besides its items (the Salesforce permission set and assignment),
    found by name and tag, so a prepare killed before logging it leaves nothing behind."""
    removed = dest.remove_leftovers()
    if removed:
        writer.audit.append(writer.run_id, kind="done", op="unprovision", dest_object="schema",
                            detail={"leftovers": removed})
        result.schema_removed += len(removed)


def _items(group: list[AuditEntry]) -> list[Item]:
    out = []
    for e in group:
        r = RecordRef.parse(e.src_ref) if e.src_ref else RecordRef("dest", e.dest_object, "?")
        out.append(Item(r.object, r.id, dest_id=e.dest_id))
    return out


def _befores(audit: AuditLog, group: list[AuditEntry]) -> dict[int, dict[str, Any]]:
    """Each outcome's before-image, which its intent holds (an outcome entry carries none: a
    restore from the outcome sent an empty update and changed nothing)."""
    images = audit.befores([e.intent_seq for e in group if e.intent_seq is not None])
    return {e.seq: dict(images.get(e.intent_seq) or {}) for e in group
            if e.intent_seq is not None}


def _undo(group: list[AuditEntry], writer: Writer, dest: Destination, store: StagingStore,
          result: RollbackResult, moved: Moved) -> None:
    op, obj = group[0].op, group[0].dest_object
    detail: dict[str, Any] = {"undoes": [e.seq for e in group]}
    if op in ("create", "upload"):
        results = writer.delete(obj, _items(group), detail)
        failed = [e for e, r in zip(group, results, strict=True) if not r.ok]
        gone = _absent(dest, obj, [str(e.dest_id) for e in failed])
        result.deleted += len(group) - len(failed) + len(gone)
        result.failures += [f"{obj}:{e.dest_id} not deleted" for e in failed
                            if str(e.dest_id) not in gone]
        if gone:  # already gone (an earlier, interrupted rollback): record it as undone
            writer.audit.append(writer.run_id, kind="done", op="delete", dest_object=obj,
                                detail={"undoes": [e.seq for e in failed
                                                   if str(e.dest_id) in gone],
                                        "already_absent": True})
    elif op == "update":
        items = _items(group)
        befores = _befores(writer.audit, group)
        for it, e in zip(items, group, strict=True):
            it.payload = moved.repoint(obj, befores.get(e.seq) or {})
        results = writer.update(obj, items, detail, capture_before=False)
        result.restored += sum(1 for r in results if r.ok)
        result.failures += [f"{obj}:{e.dest_id} not restored"
                            for e, r in zip(group, results, strict=True) if not r.ok]
    elif op == "delete" and (files := _uploaded_to(writer.audit, store, group)):
        _reupload([e for e in group if e.seq in files], files, writer, dest, store, result)
        rest = [e for e in group if e.seq not in files]
        if rest:
            _undo(rest, writer, dest, store, result, moved)
    elif op == "delete":
        items = _items(group)
        befores = _befores(writer.audit, group)
        for it, e in zip(items, group, strict=True):
            it.payload = moved.repoint(obj, befores.get(e.seq) or {})
        results = writer.create(obj, items, detail)
        for e, r in zip(group, results, strict=True):
            if r.ok:
                moved.add(obj, e.dest_id, r.dest_id)
        result.recreated += sum(1 for r in results if r.ok)
        result.failures += [f"{obj}:{e.dest_id} not re-created"
                            for e, r in zip(group, results, strict=True) if not r.ok]
    elif op == "provision":
        for e in group:
            created = bool(e.detail.get("created"))
            also = e.detail.get("also_made") or {}
            if _removes_schema(e):
                # what is already gone counts as removed (the destination's ``remove``), so a
                # rollback killed after a removal landed, before this entry, runs again
                item = item_from_dict(e.detail["item"])
                dest.remove(Provisioned(item, str(e.dest_id), created,
                                        e.detail.get("option_ids") or {}, dict(also)))
                killpoint.reached("after-call", "unprovision", item.kind)
            if created:
                keys = store.get_value(KEYS) or {}
                keys.pop(item_key(item), None)
                store.set_value(KEYS, keys)
                result.schema_removed += 1
            writer.audit.append(writer.run_id, kind="done", op="unprovision", dest_object=obj,
                                dest_id=e.dest_id, detail={"undoes": [e.seq],
                                                           "removed": bool(e.detail.get("created"))})


def _document(store: StagingStore, e: AuditEntry) -> Document | None:
    """The staged document of a deleted file's entry, when its stored file is at hand."""
    parts = str(e.src_ref or "").split(":", 2)
    staged = store.get(parts[1], parts[2]) if len(parts) == 3 else None
    rec = staged.record if staged is not None else None
    if isinstance(rec, Document) and rec.local_path and Path(rec.local_path).exists():
        return rec
    return None


def _uploaded_to(audit: AuditLog, store: StagingStore, group: list[AuditEntry]
                 ) -> dict[int, tuple[str, str]]:
    """Deleted files whose staged document is at hand, by entry: (parent object, parent id) of
    the record each was on. A file a delta moved to its patient's own record says it
    (``load._drop_moved``); another deleted file (its document deleted at the source) was on
    the parent its upload went to. Others (a rendered record) are re-created as before."""
    out: dict[int, tuple[str, str]] = {}
    files = [e for e in group if _document(store, e) is not None]
    ask = sorted({str(e.dest_id) for e in files if not e.detail.get("moved")})
    went: dict[str, tuple[str, str]] = {}  # file id → where its upload went (one read a group)
    if ask:
        for _, did, d in audit.uploads(group[0].dest_object, ask):
            if d.get("parent") and d.get("parent_object"):
                went[str(did)] = (str(d["parent_object"]), str(d["parent"]))
    for e in files:
        if e.detail.get("moved"):
            out[e.seq] = (str(e.detail["parent_object"]), str(e.detail["parent"]))
        elif str(e.dest_id) in went:
            out[e.seq] = went[str(e.dest_id)]
    return out


def _reupload(group: list[AuditEntry], parents: dict[int, tuple[str, str]], writer: Writer,
              dest: Destination, store: StagingStore, result: RollbackResult) -> None:
    """A deleted file goes back on the record it was on (``_uploaded_to``): uploaded again from
    the staged document, since no destination re-creates a file from its fields (Pipedrive has
    no 'file' object to create). The name is the before-image's (encrypted in the log)."""
    befores = _befores(writer.audit, group)
    for e in group:
        parts = str(e.src_ref).split(":", 2)
        rec = _document(store, e)
        assert rec is not None and rec.local_path  # ``_uploaded_to`` chose it for that
        before = befores.get(e.seq) or {}
        name = str(before.get("file_name") or before.get("name") or rec.file_name
                   or rec.source_id)
        item = Item(parts[1], parts[2], {"file_name": name})
        detail = {"undoes": [e.seq]}
        parent_object, parent = parents[e.seq]
        if dest.capabilities.upload_reads_view:
            res = writer.upload(e.dest_object, item, parent_object, parent,
                                PlainView.of_file(Path(rec.local_path), store.codec), name,
                                rec.mime_type, detail)
        else:  # a plain copy beside the stored one (the project's private folder)
            with plain_file(Path(rec.local_path), store.codec,
                            Path(rec.local_path).parent) as plain:
                res = writer.upload(e.dest_object, item, parent_object, parent, plain, name,
                                    rec.mime_type, detail)
        if res.ok:
            result.recreated += 1
        else:
            result.failures.append(f"{e.dest_object}:{e.dest_id} not re-created")


def _absent(dest: Destination, obj: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    present = dest.read(obj, ids)
    return {i for i in ids if i not in present}


def _hash(values: dict[str, Any]) -> str:
    """Of the values as the verify compares them: an empty text and none are one value (a
    Pipedrive deal's ``lost_reason`` read back '' once an update had emptied it: v2 takes no
    null for a text field, so a restore cannot give back the None read before)."""
    return hashlib.sha256(canonical_json({k: None if v in ("", [], {}) else v
                                          for k, v in values.items()})).hexdigest()


def _verify(store: StagingStore, audit: AuditLog, dest: Destination, runs: list[str],
            result: RollbackResult, moved: Moved | None = None) -> None:
    for run in reversed(runs):  # oldest first: its snapshot is the state before them all
        info = store.run(run)
        snapshot = (info.params.get("snapshot") if info else None) or {}
        for obj, n in snapshot.items():
            result.counts_before.setdefault(obj, int(n))
    live = {o.name for o in dest.describe()}
    for obj in result.counts_before:
        # An object the rollback itself removed (a custom object prepare made) holds nothing.
        result.counts_after[obj] = sum(1 for _ in dest.iter_ids(obj)) if obj in live else 0
    # Records the runs updated must read back exactly as their before-images.
    restored: dict[tuple[str, str], dict[str, Any]] = {}
    wanted = set(runs)
    for e in audit.entries():
        if e.run_id in wanted and e.kind == "intent" and e.op == "update" and e.before \
                and (e.dest_object, str(e.dest_id)) not in restored:
            restored[(e.dest_object, str(e.dest_id))] = e.before
    by_obj: dict[str, list[str]] = {}
    for (obj, did) in restored:
        by_obj.setdefault(obj, []).append(did)
    for obj, ids in by_obj.items():
        now = dest.read(obj, ids)
        for did in ids:
            before = moved.repoint(obj, restored[(obj, did)]) if moved else restored[(obj, did)]
            if did in now and _hash({k: now[did].get(k) for k in before}) != _hash(before):
                result.restored_hash_ok = False
                result.failures.append(f"{obj}:{did} differs from its before-image")
