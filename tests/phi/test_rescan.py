"""A scan screens what changed since the last one, and decodes only that: the run after a
review (``Gate``'s scan) found every record screened, yet decoded the whole practice again
beside the load and started its worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.model.entities import Patient
from ferry.model.staging import PlainCodec, StagingStore
from ferry.phi import queue
from ferry.sandbox.synth import Practice


class CountingCodec(PlainCodec):
    """The store's plain codec, counting the payloads it decodes."""

    def __init__(self) -> None:
        self.decoded = 0

    def decode(self, data: bytes) -> bytes:
        self.decoded += 1
        return data


def _rows(store: StagingStore, obj: str | None = None) -> list[tuple[object, ...]]:
    return store.conn.execute("SELECT object, source_id, field, spans, types, status,"
                              " content_hash FROM phi_queue WHERE ? IS NULL OR object=?"
                              " ORDER BY 1, 2, 3", (obj, obj)).fetchall()


def test_a_rescan_of_an_unchanged_store_decodes_nothing(tmp_path: Path) -> None:
    practice = Practice(seed=5, patients=30)
    codec = CountingCodec()
    store = StagingStore(tmp_path / "s.db", codec)
    for obj in ("patient", "clinical_note", "message"):
        store.put_records(obj, practice.iter(obj))
    queue.scan(store, workers=0)
    first = _rows(store)
    assert queue.unscreened(store, ["patient", "clinical_note", "message"]) == {
        "patient": 0, "clinical_note": 0, "message": 0}
    codec.decoded = 0
    queue.scan(store, workers=0)
    assert codec.decoded == 0
    assert _rows(store) == first


def test_a_rescan_screens_the_changed_records_as_a_full_scan_would(tmp_path: Path) -> None:
    practice = Practice(seed=5, patients=30)
    notes = list(practice.iter("clinical_note"))
    codec = CountingCodec()
    store = StagingStore(tmp_path / "s.db", codec)
    store.put_records("patient", practice.iter("patient"))
    store.put_records("clinical_note", notes)
    queue.scan(store, workers=0)
    changed = [notes[3].model_copy(update={"body": notes[3].body + " Call 020 7946 0321."}),
               notes[7].model_copy(update={"title": "Seen with Dr Anna Berg"})]
    store.put_records("clinical_note", changed)
    assert queue.unscreened(store, ["clinical_note"]) == {"clinical_note": 2}
    codec.decoded = 0
    queue.scan(store, ["clinical_note"], workers=0)
    assert codec.decoded <= 2 + len(changed)  # the two notes and their patients
    # the same queue as a scan from scratch of the same staged notes
    fresh = StagingStore(tmp_path / "f.db")
    fresh.put_records("patient", practice.iter("patient"))
    fresh.put_records("clinical_note", [*notes[:3], changed[0], *notes[4:7], changed[1],
                                        *notes[8:]])
    queue.scan(fresh, ["clinical_note"], workers=0)
    assert _rows(store, "clinical_note") == _rows(fresh, "clinical_note")


def test_records_read_from_their_stored_json_screen_as_validated_models(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # notes, messages, appointments, treatment records and patients are read from their
    # stored JSON, not validated: the rows (spans, types, statuses) are those of models,
    # in one process, with two workers (texts routed by patient), and for a changed record
    practice = Practice(seed=7, patients=40)
    objects = ("patient", "clinical_note", "message", "appointment", "treatment_record")

    def scanned(name: str, json_read: frozenset[str], workers: int) -> list[tuple[object, ...]]:
        monkeypatch.setattr(queue, "_JSON_READ", json_read)
        store = StagingStore(tmp_path / f"{name}.db")
        for obj in objects:
            store.put_records(obj, practice.iter(obj))
        queue.scan(store, workers=workers)
        note = next(iter(practice.iter("clinical_note")))
        patient = store.get("patient", note.patient_id)
        assert patient is not None
        p = patient.record
        assert isinstance(p, Patient) and p.date_of_birth and p.emergency_contact
        store.put_records("clinical_note", [note.model_copy(update={"body": (
            f"{note.body} Seen with Dr Anna Berg, call 020 7946 0321 on"
            f" {p.date_of_birth:%d.%m.%Y}, with {p.emergency_contact.name}.")})])
        queue.scan(store, workers=workers)
        return _rows(store)

    store = StagingStore(tmp_path / "patients.db")
    store.put_records("patient", practice.iter("patient"))
    assert len(store.get_many_json("patient", [p.source_id for p in practice.iter("patient")])) == 40
    ids = [p.source_id for p in practice.iter("patient")]
    for sid, (_, data) in store.get_many_json("patient", ids).items():
        staged = store.get("patient", sid)
        assert staged is not None
        assert queue._known_of(data) == queue.known_for(store, staged.record), sid
    models = scanned("models", frozenset(), 0)
    assert {r[0] for r in models} >= {"patient", "clinical_note", "message"}
    assert any(r[5] == "pending" for r in models)
    assert scanned("json", queue._JSON_READ, 0) == models
    assert scanned("pool", queue._JSON_READ, 2) == models
