"""Resume after a crash: settle every write whose outcome the log does not know.

An open intent is a write that was sent (or about to be) when the process died. Creates are
looked up by source id, uploads by the tag the destination stores with the file (or, where the
tag is a second call, by parent, name and size): found → recorded as done (and mapped), not
found → recorded as failed so the run creates it again. Updates, deletes and schema changes are idempotent to repeat, so
they are closed as failed and redone. Nothing is re-created before this has run.

"Not found" is only decided after a second look. The killed process may have left requests in
the server's hands, and a server finishes a request it has received whether or not its client
is still there: a create or an upload can land a moment after the first look. (Beside two CPU
hogs the Pipedrive emulator stored upload lanes' 1.3-1.8 MB files up to 1.1 s after their client
was killed; one landed after the resume had looked, and the resume uploaded it again.) What the
first look does not find is looked up again once ``settle_s`` has passed since recovery began
(the killed process was dead by then, so each request it sent had that long to land); only what
is still missing is redone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ferry.connectors.base import Destination
from ferry.model.audit import AuditEntry, AuditLog
from ferry.model.refs import RecordRef
from ferry.model.staging import StagingStore

#: how long a request the killed process had sent may take to land: the wait before the second
#: look (``Options.resume_settle_s``). ASSUMED: no destination documents how long it goes on
#: with a request whose client is gone; the emulator beside two hogs took up to 1.1 s.
SETTLE_S = 5.0


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


def _entry(intent: AuditEntry) -> dict[str, object]:
    return {"op": intent.op, "dest_object": intent.dest_object, "dest_id": intent.dest_id,
            "src_ref": intent.src_ref, "intent_seq": intent.seq}


def _failed(audit: AuditLog, intent: AuditEntry) -> None:
    audit.append_many(intent.run_id, [{**_entry(intent), "kind": "failed",
                                       "detail": {"recovered": True,
                                                  "reason": "interrupted; redone"}}])


def recover(store: StagingStore, audit: AuditLog, dest: Destination,
            id_keys: dict[str, str] | dict[tuple[str, str], str], *,
            settle_s: float = SETTLE_S) -> Recovery:
    """``id_keys``: (source object, destination object) → physical key of the source-id field
    (one destination object may hold several source objects, each with its own id field; a
    plain destination-object key is accepted as the fallback). ``settle_s``: the wait before
    the second look at creates and uploads the first did not find (0: one look)."""
    began = time.monotonic()
    out = Recovery()
    missing: list[tuple[AuditEntry, RecordRef, str | None]] = []

    def look(intent: AuditEntry, r: RecordRef, key: str | None) -> bool:
        """Adopt what the interrupted write made, if it is there."""
        found: dict[str, str] = {}
        if intent.op == "upload":
            found = _find_upload(dest, intent, r.id)
        elif key:
            found = dest.find(intent.dest_object, key, [r.id])
        if r.id not in found:
            return False
        with store.tx() as c:
            store.map_id(r.object, r.id, intent.dest_object, found[r.id],
                         intent.run_id, created=True, conn=c)
            audit.append_many(intent.run_id, [{**_entry(intent), "kind": "done",
                                               "dest_id": found[r.id],
                                               "detail": _recovered(intent)}], conn=c)
        out.found += 1
        return True

    for intent in audit.open_intents():
        if intent.op in ("create", "upload") and intent.src_ref:
            r = RecordRef.parse(intent.src_ref)
            key = (id_keys.get((r.object, intent.dest_object))  # type: ignore[call-overload]
                   or id_keys.get(intent.dest_object))  # type: ignore[call-overload]
            if intent.op == "upload" or key:
                if not look(intent, r, key):
                    missing.append((intent, r, key))
                continue
            out.uncertain += 1  # a create with no source-id field: nothing to look it up by
            out.not_applied += 1
        else:
            out.redo += 1
        _failed(audit, intent)
    if missing and settle_s > 0:
        time.sleep(max(0.0, began + settle_s - time.monotonic()))
        dest.forget_lookups()  # what was read in the first look is stale now
        missing = [m for m in missing if not look(*m)]
    for intent, _, _ in missing:
        out.not_applied += 1
        _failed(audit, intent)
    return out
