"""PHI end to end (PracticeHub sandbox → Odoo sandbox): no BAA → no clinical field is written;
with a BAA, a redacted note lands redacted, an excluded file never reaches the destination;
the staging database holds no plaintext patient name."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.engine import pipeline as P
from ferry.engine.prepare import apply_keys
from ferry.engine.project import Project
from ferry.model.crypto import FILE_MAGIC
from ferry.model.entities import Patient
from ferry.phi import queue
from ferry.sandbox.harness import Pair
from ferry.settings import save_settings


@pytest.fixture
def pair(tmp_path: Path, prepared_pair: Any) -> Iterator[Pair]:
    with prepared_pair(tmp_path / "proj", "FERRY_PHI_") as p:
        yield p


def _state(p: Pair) -> dict[str, Any]:
    return httpx.get(f"{p.dest_info['base_url']}/_sandbox/state", timeout=30).json()["models"]


def _confirm_baa(p: Pair) -> Project:
    settings = p.project.settings
    settings.baa.confirmed, settings.baa.by, settings.baa.reference = True, "DPO", "BAA-2026-7"
    settings.baa.at = "2026-11-21T00:00:00+00:00"
    save_settings(settings, p.project.settings_path)
    return Project.at(p.project.root)


def test_without_baa_no_clinical_field_is_written(pair: Pair) -> None:
    report = P.load(pair.project)
    assert report.withheld, "the report lists the clinical fields it withheld"
    doc = apply_keys(P.confirmed_mapping(pair.project), pair.project.store)
    state = _state(pair)
    checked = 0
    for w in report.withheld:
        om = doc.object_map(w["map"])
        if om.mode != "record":
            continue
        target = w["target"]
        key = doc.custom_field(om.target, target[7:]).key if target.startswith("custom:") \
            else target
        for m in pair.project.store.iter_idmap(src_object=om.source):
            if m.dest_object == om.target:
                row = state[om.target][m.dest_id]
                checked += 1
                assert row.get(key) in (None, False, "", []), (om.name, key)
    assert checked > 0
    notes = [r for r in state.get("mail.message", {}).values()
             if str(r.get("x_ferry_source_id") or "").startswith("clinical_note")]
    assert not notes
    held = [s for s in pair.project.store.skips(report.run_id) if s.stage == "hold"]
    assert held and all("BAA" in s.reason for s in held)


def test_redacted_note_lands_redacted_and_excluded_file_never_arrives(pair: Pair) -> None:
    proj = _confirm_baa(pair)
    store = proj.store
    queue.scan(store)
    pending = list(queue.items(store, "pending", "clinical_note"))
    assert pending
    target = pending[0]
    queue.decide(store, "clinical_note", target.source_id, "redact", "nurse")
    docs = [r for r in store.iter_records("document")]
    excluded = docs[0]
    # an image the detector cannot read can still be excluded by the reviewer
    assert queue.decide(store, "document", excluded.source_id, "exclude", "nurse") == 1
    queue.decide_rule(store, "approve", "nurse")
    report = P.load(proj)
    assert report.totals()["held"] == 0
    dest_note = store.dest_id("clinical_note", target.source_id)
    assert dest_note is not None
    note = _state(pair)["mail.message"][dest_note]
    patient = store.get("patient", store.get("clinical_note", target.source_id).record.patient_id)
    assert isinstance(patient.record, Patient)
    body = str(note.get("body"))
    assert "[NAME]" in body or "[PERSON]" in body
    assert patient.record.last_name not in body
    assert store.dest_id("document", excluded.source_id) is None
    skipped = [s for s in store.skips(report.run_id) if s.ref.endswith(f":{excluded.source_id}")
               and "document" in s.ref]
    assert skipped and all(s.stage == "excluded" for s in skipped)


def test_staging_database_holds_no_plaintext_patient_name(pair: Pair) -> None:
    P.load(pair.project)
    blob = b"".join(Path(f).read_bytes()
                    for f in glob.glob(str(pair.project.state_dir / "staging.db*")))
    names = {p.last_name for p in pair.practice.iter("patient") if p.last_name
             and len(p.last_name) >= 5}
    assert names
    leaked = [n for n in names if n.encode() in blob]
    assert not leaked
    for f in pair.project.files_dir.iterdir():  # downloaded files are encrypted too
        assert f.read_bytes().startswith(FILE_MAGIC)
