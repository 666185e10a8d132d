"""A scan screens what changed since the last one, and decodes only that: the run after a
review (``Gate``'s scan) found every record screened, yet decoded the whole practice again
beside the load and started its worker processes."""

from __future__ import annotations

from pathlib import Path

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
