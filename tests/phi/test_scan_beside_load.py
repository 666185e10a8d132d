"""The PHI scan a load starts runs beside it (``Gate``): a record waits for its own object's
scan, not for the whole practice's."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

from ferry.model.staging import StagingStore
from ferry.phi import queue
from ferry.phi.gate import Gate
from ferry.sandbox.synth import Practice


def test_a_patient_is_gated_while_the_notes_are_still_being_scanned(tmp_path: Path) -> None:
    practice = Practice(seed=5, patients=20)
    store = StagingStore(tmp_path / "s.db")
    store.put_records("patient", practice.iter("patient"))
    store.put_records("clinical_note", practice.iter("clinical_note"))
    queue.scan(store, ["patient"], workers=0)  # patients screened; the notes not yet
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the notes' scan cannot write until this ends
    try:
        gate = Gate(store, baa_confirmed=True, files_dir=tmp_path,
                    order=["patient", "clinical_note"])
        patient = next(iter(practice.iter("patient")))
        gate(SimpleNamespace(name="patients", source="patient"), patient)  # type: ignore[arg-type]
        assert not gate._scanned["clinical_note"].is_set()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    gate.wait()
    notes = store.conn.execute("SELECT count(*) FROM phi_queue WHERE object='clinical_note'"
                               ).fetchone()[0]
    assert notes == store.count("clinical_note") * len(queue.TEXT_FIELDS["clinical_note"])
