"""One bad *optional* value (a pick-list option the destination lacks) leaves that field empty and
the record loads; the finding (record, field, reason) is in the skip file and the run report. A
bad value in a field the map requires still refuses the record, and reconcile counts it."""

from __future__ import annotations

from typing import Any

from ferry.engine.pipeline import load
from ferry.engine.reconcile import run_reconcile
from ferry.mapping.model import CustomField
from ferry.model.fields import Kind
from ferry.reports.run import run_report_data

from .mapping_pd import doc as pd_doc


def _status_picklist(required: bool) -> Any:
    """Patient status as a pick-list that lacks 'Archived' (the value map still produces it)."""
    d = pd_doc()
    person = d.custom_fields["person"]
    i = next(n for n, cf in enumerate(person) if cf.name == "patient_status")
    person[i] = CustomField(name="patient_status", label="Patient status", kind=Kind.ENUM,
                            options=["Active", "Inactive"])
    om = d.object_map("patient_person")
    fm = next(f for f in om.fields if f.target == "custom:patient_status")
    fm.required = required
    return d


def _archived(pair: Any) -> set[str]:
    """Patients whose status maps to a label the pick-list lacks (archived, or kept as is)."""
    return {r.source_id for r in pair.project.store.iter_records("patient")
            if r.status not in (None, "", "active", "inactive")}


def test_bad_optional_option_loads_the_record_with_the_field_empty(migration: Any) -> None:
    pair = migration(patients=24, seed=5, doc=_status_picklist(required=False),
                     options={"dedup_by_email": False})
    archived = _archived(pair)
    assert archived, "the generated practice has no archived patient: pick another seed"
    report = load(pair.project)
    store = pair.project.store
    st = report.stats["patient_person"]
    assert st.skipped == 0 and st.created == store.count("patient")
    assert all(store.dest_id("patient", sid, "person") for sid in archived)
    findings = {s.ref: s for s in store.skips(report.run_id) if s.stage == "load-field"}
    assert set(findings) == {f"source:patient:{sid}" for sid in archived}
    one = next(iter(findings.values()))
    key = next(cf.key for cf in report_doc_fields(pair) if cf.name == "patient_status")
    assert one.field == key and "not one of the field's options" in one.reason
    data = run_report_data(report, store)
    assert {s["ref"] for s in data["skips"] if s["stage"] == "load-field"} == set(findings)
    assert run_reconcile(pair.project).balanced


def test_bad_required_option_still_refuses_the_record(migration: Any) -> None:
    pair = migration(patients=24, seed=5, doc=_status_picklist(required=True),
                     options={"dedup_by_email": False})
    archived = _archived(pair)
    report = load(pair.project)
    store = pair.project.store
    assert report.stats["patient_person"].skipped == len(archived) > 0
    assert not any(store.dest_id("patient", sid, "person") for sid in archived)
    rec = run_reconcile(pair.project)
    row = next(o for o in rec.objects if o["object"] == "patient")
    assert row["skipped"] >= len(archived) and row["adds_up"]


def report_doc_fields(pair: Any) -> list[CustomField]:
    from ferry.engine.pipeline import confirmed_mapping
    from ferry.engine.prepare import apply_keys

    return apply_keys(confirmed_mapping(pair.project), pair.project.store).custom_fields["person"]
