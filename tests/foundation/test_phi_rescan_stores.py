"""``phi.queue.unscreened`` and the rescan of what changed are SQL over the staging store:
the same on SQLite and PostgreSQL."""

from __future__ import annotations

from ferry.phi import queue
from ferry.sandbox.synth import Practice


def test_what_is_due_for_screening_on_either_store(backend) -> None:  # type: ignore[no-untyped-def]
    practice = Practice(seed=5, patients=12)
    notes = list(practice.iter("clinical_note"))
    store = backend.open()
    store.put_records("patient", practice.iter("patient"))
    store.put_records("clinical_note", notes)
    assert queue.unscreened(store, ["clinical_note"]) == {"clinical_note": len(notes)}
    queue.scan(store, ["clinical_note"], workers=0)
    assert queue.unscreened(store, ["clinical_note"]) == {"clinical_note": 0}
    store.put_records("clinical_note", [notes[2].model_copy(
        update={"body": notes[2].body + " Seen with Dr Anna Berg."})])
    assert queue.unscreened(store, ["clinical_note"]) == {"clinical_note": 1}
    queue.scan(store, ["clinical_note"], workers=0)
    assert queue.unscreened(store, ["clinical_note"]) == {"clinical_note": 0}
    spans = {it.source_id: it.spans for it in queue.items(store, object_name="clinical_note")}
    assert any(s.type == "person" for s in spans[notes[2].source_id])
