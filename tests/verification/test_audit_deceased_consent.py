"""A deceased patient's records keep email/SMS consent = True as exported (no rule of the brief
or the seeds turns a consent off): ``ferry audit`` names them as a finding, by reference."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.engine.audit_source import audit
from ferry.model.entities import Patient
from ferry.model.staging import StagingStore


def test_a_deceased_patient_with_consent_is_a_finding(tmp_path: Path) -> None:
    store = StagingStore(tmp_path / "staging.db")
    try:
        store.put_records("patient", [
            Patient(source_id="1", first_name="A", last_name="X", status="deceased",
                    consent_email=True, consent_sms=False),
            Patient(source_id="2", first_name="B", last_name="X",
                    deceased_date=dt.date(2024, 3, 1), consent_email=True, consent_sms=True),
            Patient(source_id="3", first_name="C", last_name="X", status="active",
                    consent_email=True),
            Patient(source_id="4", first_name="D", last_name="X", status="Deceased",
                    consent_email=False)])
        found = {(f["field"], f["check"]): f for f in audit(store, today=dt.date(2026, 1, 1))
                 ["findings"] if f["check"] == "deceased_consent"}
    finally:
        store.close()
    assert found[("consent_email", "deceased_consent")]["refs"] == ["source:patient:1",
                                                                    "source:patient:2"]
    assert found[("consent_sms", "deceased_consent")]["refs"] == ["source:patient:2"]
    assert "migrated as exported" in found[("consent_email", "deceased_consent")]["detail"]
