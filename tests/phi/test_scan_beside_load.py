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


def test_a_note_staged_after_its_objects_scan_is_screened_before_it_is_written(
        tmp_path: Path) -> None:
    """``migrate`` loads while extraction goes on: a note staged after the scan of notes
    finished must still be screened, not written as if clean."""
    practice = Practice(seed=5, patients=20)
    store = StagingStore(tmp_path / "s.db")
    store.put_records("patient", practice.iter("patient"))
    notes = list(practice.iter("clinical_note"))
    store.put_records("clinical_note", notes[:1])
    gate = Gate(store, baa_confirmed=True, files_dir=tmp_path, order=["patient", "clinical_note"])
    gate.wait()
    store.put_records("clinical_note", notes[1:])  # extraction goes on
    om = SimpleNamespace(name="notes", source="clinical_note")
    held = [gate(om, n) for n in notes[1:]]  # type: ignore[arg-type]
    waiting = {n.source_id for n, h in zip(notes[1:], held, strict=True)
               if h == "awaiting PHI review (ferry review)"}
    assert waiting  # later notes carry PHI too
    flagged = {it.source_id for it in queue.items(store, "pending", "clinical_note")}
    assert waiting == flagged - {notes[0].source_id}


GATE_AFTER_REVIEW = """
import sys
from pathlib import Path
from ferry.model.staging import StagingStore
from ferry.phi.gate import Gate
store = StagingStore(Path(sys.argv[1]))
Gate(store, baa_confirmed=True, files_dir=Path(sys.argv[2])).wait()
from ferry.phi import lexicon
print("warmed" if lexicon.given_names.cache_info().currsize else "idle")
"""


def test_a_load_after_the_review_forks_no_scan_pool(tmp_path: Path) -> None:
    """The review screened everything: the load's gate finds nothing to scan, so it neither
    warms the detector (its name lists read) nor forks the pool of scan workers. Both were
    done up front for a pool sized by the practice, 8 % of a 200-patient Pipedrive load."""
    import os
    import subprocess
    import sys

    practice = Practice(seed=5, patients=20)
    store = StagingStore(tmp_path / "s.db")
    store.put_records("patient", practice.iter("patient"))
    store.put_records("clinical_note", practice.iter("clinical_note"))
    queue.scan(store, workers=0)
    store.close()
    env = {**os.environ, "FERRY_PHI_WORKERS": "2"}  # a pool, as a large practice gets
    run = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-c", GATE_AFTER_REVIEW, str(tmp_path / "s.db"), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120)
    out = run()
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "idle"
    # something changed since the review: it is screened (the pool made then)
    store = StagingStore(tmp_path / "s.db")
    note = next(iter(practice.iter("clinical_note")))
    store.put_records("clinical_note", [note.model_copy(update={"body": "Call Jane Smith"})])
    store.close()
    out = run()
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "warmed"
