"""Resume after a crash: settle every write whose outcome the log does not know.

An open intent is a write that was sent (or about to be) when the process died. Creates are
looked up by source id, uploads by the tag the destination stores with the file (or, where the
tag is a second call, by parent, name and size): found → recorded as done (and mapped), not
found → recorded as failed so the run creates it again. Updates, deletes and schema changes are idempotent to repeat, so
they are closed as failed and redone. Nothing is re-created before this has run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferry.connectors.base import Destination
from ferry.model.audit import AuditEntry, AuditLog
from ferry.model.refs import RecordRef
from ferry.model.staging import StagingStore


@dataclass
class Recovery:
    found: int = 0
    not_applied: int = 0
    redo: int = 0
    uncertain: int = 0


def _find_upload(dest: Destination, intent: AuditEntry, sid: str) -> dict[str, str]:
    """An upload has no upsert key: ask for the file by its tag, or its parent, name and size."""
    parent = intent.detail.get("parent")
    seen = intent.before or {}
    if not parent:
        return {}
    try:
        fid = dest.find_upload(intent.dest_object, str(intent.detail.get("parent_object")),
                               str(parent), sid, seen.get("file_name"), seen.get("size"))
    except NotImplementedError:
        return {}
    return {sid: fid} if fid else {}


def _recovered(intent: AuditEntry) -> dict[str, object]:
    """The outcome's detail: recovered, and the map it belongs to (the run's totals count it)."""
    out: dict[str, object] = {"recovered": True}
    if "map" in intent.detail:
        out["map"] = intent.detail["map"]
    return out


def recover(store: StagingStore, audit: AuditLog, dest: Destination,
            id_keys: dict[str, str] | dict[tuple[str, str], str]) -> Recovery:
    """``id_keys``: (source object, destination object) → physical key of the source-id field
    (one destination object may hold several source objects, each with its own id field; a
    plain destination-object key is accepted as the fallback)."""
    out = Recovery()
    for intent in audit.open_intents():
        entry = {"op": intent.op, "dest_object": intent.dest_object, "dest_id": intent.dest_id,
                 "src_ref": intent.src_ref, "intent_seq": intent.seq}
        if intent.op in ("create", "upload") and intent.src_ref:
            r = RecordRef.parse(intent.src_ref)
            key = (id_keys.get((r.object, intent.dest_object))  # type: ignore[call-overload]
                   or id_keys.get(intent.dest_object))  # type: ignore[call-overload]
            found: dict[str, str] = {}
            if intent.op == "upload":
                found = _find_upload(dest, intent, r.id)
            elif key:
                found = dest.find(intent.dest_object, key, [r.id])
            if r.id in found:
                with store.tx() as c:
                    store.map_id(r.object, r.id, intent.dest_object, found[r.id],
                                 intent.run_id, created=True, conn=c)
                    audit.append_many(intent.run_id, [{**entry, "kind": "done",
                                                       "dest_id": found[r.id],
                                                       "detail": _recovered(intent)}], conn=c)
                out.found += 1
                continue
            if not key and intent.op == "create":
                out.uncertain += 1
            out.not_applied += 1
        else:
            out.redo += 1
        audit.append_many(intent.run_id, [{**entry, "kind": "failed",
                                           "detail": {"recovered": True,
                                                      "reason": "interrupted; redone"}}])
    return out
