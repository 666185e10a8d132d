"""Resume after a crash: settle every write whose outcome the log does not know.

An open intent is a write that was sent (or about to be) when the process died. Creates are
looked up by source id: found → recorded as done (and mapped), not found → recorded as failed
so the run creates it again. Updates, deletes and schema changes are idempotent to repeat, so
they are closed as failed and redone. Nothing is re-created before this has run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferry.connectors.base import Destination
from ferry.model.audit import AuditLog
from ferry.model.refs import RecordRef
from ferry.model.staging import StagingStore


@dataclass
class Recovery:
    found: int = 0
    not_applied: int = 0
    redo: int = 0
    uncertain: int = 0


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
            if key:
                found = dest.find(intent.dest_object, key, [r.id])
            elif intent.op == "upload":
                try:
                    found = dest.find(intent.dest_object, "", [r.id])
                except NotImplementedError:
                    found = {}
            if r.id in found:
                with store.tx() as c:
                    store.map_id(r.object, r.id, intent.dest_object, found[r.id],
                                 intent.run_id, created=True, conn=c)
                    audit.append_many(intent.run_id, [{**entry, "kind": "done",
                                                       "dest_id": found[r.id],
                                                       "detail": {"recovered": True}}], conn=c)
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
