"""Estimate arithmetic, the rebuild guide and the source audit on a staged synthetic practice."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ferry.connectors.base import FieldSpec, ObjectInfo
from ferry.engine.audit_source import audit
from ferry.engine.estimate import DAY_S, counts_for, estimate, limits_for, with_plan
from ferry.engine.guide import TOOLS, guide
from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap
from ferry.model.fields import Kind
from ferry.model.staging import StagingStore
from ferry.sandbox.synth import Practice
from ferry.sandbox.synth.dirt import DirtRates


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> tuple[StagingStore, Practice]:
    practice = Practice(seed=9, patients=120, dirt=replace(DirtRates(), long_note=0.05))
    store = StagingStore(tmp_path_factory.mktemp("audit") / "staging.db")
    for obj in practice.objects():
        store.put_records(obj, list(practice.iter(obj)))
    return store, practice


def test_pipedrive_daily_budget_binds_and_keys_do_not_lift_it() -> None:
    s, d = limits_for("practicehub", "pipedrive")
    est = estimate(counts_for(20_000), source=s, destination=d, source_keys=2, dest_keys=2)
    assert est["binding_limit"] == "daily token budget" and est["budget_days"] > 1
    load = next(x for x in est["steps"] if x["step"] == "load")
    assert load["tokens"] > d.daily_budget
    assert load["seconds"] >= (est["budget_days"] - 1) * DAY_S
    # a bigger plan with more seats shrinks the day count proportionally
    big = with_plan(d, "ultimate", 5)
    est2 = estimate(counts_for(20_000), source=s, destination=big)
    assert big.daily_budget == 30_000 * 7 * 5 and est2["budget_days"] < est["budget_days"]
    # PracticeHub's limit is per account: the extract takes as long with 4 keys as with 1
    assert est["by_keys"][0]["extract_s"] == est["by_keys"][3]["extract_s"]


def test_small_practice_fits_in_a_day_and_extract_is_1_rps() -> None:
    s, d = limits_for("practicehub", "odoo")
    counts = counts_for(500)
    est = estimate(counts, source=s, destination=d)
    assert est["budget_days"] == 1
    extract = next(x for x in est["steps"] if x["step"] == "extract")
    # pages go at 1 request/s (the client paces 2 % under it, the first goes at once);
    # the document downloads (pre-signed links) are calls but not paced
    pages = extract["calls"] - counts["document"]
    assert extract["paced_seconds"] == pytest.approx((pages - 1) * 1.02, abs=0.1)
    assert extract["seconds"] >= extract["paced_seconds"]
    assert est["migration_seconds"] < extract["seconds"] + 3600


def test_references_to_an_object_not_extracted_are_one_finding_not_orphans(
        tmp_path) -> None:
    practice = Practice(seed=9, patients=20)
    store = StagingStore(tmp_path / "staging.db")
    for obj in practice.objects():
        if obj != "clinic":  # an export without its clinics file
            store.put_records(obj, list(practice.iter(obj)))
    found = {(f["object"], f["field"], f["check"]): f
             for f in audit(store, today=dt.date(2026, 1, 1))["findings"]}
    with_clinic = sum(1 for a in practice.iter("appointment") if a.clinic_id)
    assert with_clinic and found[("appointment", "clinic_id", "not_exported")]["count"] \
        == with_clinic
    assert "none were extracted" in found[("appointment", "clinic_id", "not_exported")]["detail"]
    assert not [k for k in found if k[1] == "clinic_id" and k[2] == "orphan"]
    # the planted orphans (their patient missing among patients that were extracted) stay orphans
    assert found[("appointment", "patient_id", "orphan")]["count"] == len(
        practice.ledger.ids("orphan_appointment"))


def test_guide_covers_every_workflow_reminder_and_policy(staged) -> None:
    store, practice = staged
    doc = MappingDoc(source="practicehub", destination="salesforce", objects=[
        ObjectMap(name="wf", source="workflow", target="-", mode="none", note="rebuild")])
    g = guide(store, "salesforce", doc)
    assert len(g["workflows"]) == practice.count("workflow")
    assert len(g["compliance_policies"]) == practice.count("compliance_policy")
    assert sum(r["reminders_seen"] for r in g["reminder_rules"]) == practice.count(
        "appointment_reminder")
    assert g["not_migrated"] == [{"map": "wf", "source": "workflow",
                                  "records": practice.count("workflow"), "why": "rebuild"}]
    for w in g["workflows"]:
        assert w["trigger"] and w["rebuild_trigger"] and len(w["rebuild_actions"]) == len(
            w["actions"])
    assert all("Flow" in w["rebuild_trigger"] for w in g["workflows"])
    texts = {k: guide(store, k)["workflows"][0]["rebuild_trigger"] for k in TOOLS}
    assert len(set(texts.values())) == 3  # per-destination guidance, not one text


def test_audit_finds_the_planted_dirt(staged) -> None:
    store, practice = staged
    ledger = practice.ledger
    dest = [ObjectInfo("note", fields=[FieldSpec("content", Kind.LONG_TEXT, max_length=2000)])]
    doc = MappingDoc(source="practicehub", destination="pipedrive", objects=[
        ObjectMap(name="n", source="clinical_note", target="note",
                  fields=[FieldMap(source="body", target="content")])])
    data = audit(store, dest_info=dest, doc=doc, today=dt.date(2026, 1, 1))
    found = {(f["object"], f["field"], f["check"]): f for f in data["findings"]}
    assert found[("appointment", "patient_id", "orphan")]["count"] == len(
        ledger.ids("orphan_appointment"))
    assert found[("clinical_note", "patient_id", "orphan")]["count"] == len(
        ledger.ids("orphan_note"))
    assert found[("patient", "email", "invalid_email")]["count"] >= len(
        ledger.ids("invalid_email")) > 0
    long_notes = ledger.ids("long_note")
    assert long_notes
    too_long = found[("clinical_note", "body", "too_long")]
    assert too_long["count"] == len(long_notes)
    assert set(too_long["refs"]) <= {f"source:clinical_note:{i}" for i in long_notes}
    assert data["duplicates"]["would_merge"] >= len(ledger.ids("duplicate_email"))
    patient = next(o for o in data["objects"] if o["object"] == "patient")
    assert patient["count"] == practice.count("patient")
    fields = {f["field"]: f for f in patient["fields"]}
    assert fields["last_name"]["phi"] == "demographic"
    # PHI examples are shapes only; non-PHI enumerations list their values
    assert all(set(e) <= set("Xx-' ") for e in fields["last_name"]["examples"])
    assert fields["status"]["values"] and fields["blood_group"]["kind"] == "enum"
    assert 0 < fields["email"]["fill_rate"] <= 1
