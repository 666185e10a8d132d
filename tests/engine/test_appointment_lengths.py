"""A Salesforce Event needs ``EndDateTime`` or ``DurationInMinutes`` (specs/salesforce/NOTES.md:
"one required unless IsAllDayEvent"). An appointment the source gives with a start but no end
and no length was refused by Salesforce (REQUIRED_FIELD_MISSING) and listed as skipped, so the
visit never reached the CRM. Now it lands with its appointment type's length, else with
``options.default_appointment_minutes``, and the run lists the record and field as assumed
(skip file stage ``transform-assumed``, and the field named in the write's audit entry);
without either it is refused and listed as before.

Pipedrive and Odoo take such an appointment as it is: a Pipedrive activity's ``duration`` is
optional (left empty), Ferry writes an Odoo appointment as a ``mail.activity`` with a deadline
day and no end; neither is given a length the source did not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.engine import pipeline as P
from ferry.engine.diff import classify

from .setup_pair import approve_phi, make_pair


class _Lookup:
    def dest_id(self, *args: Any, **kw: Any) -> str:
        return "1"

    def owner(self, *args: Any) -> None:
        return None

    def label(self, *args: Any) -> str:
        return ""


def test_an_event_with_no_end_or_length_lands_with_an_assumed_length(tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="salesforce", patients=6, seed=3,
                   options={"default_appointment_minutes": 25},
                   env_prefix="FERRY_LEN_") as pair:
        proj = pair.project
        types = {t.source_id: t.duration_minutes  # type: ignore[attr-defined]
                 for t in pair.practice.iter("appointment_type")}
        appts = [a for a in pair.practice.iter("appointment")
                 if a.patient_id and a.status in ("completed", "scheduled")]  # type: ignore[attr-defined]
        typed, untyped, other = appts[0], appts[1], appts[2]
        base = pair.source_info["base_url"]
        for appt, extra in ((typed, {}), (untyped, {"appointment_type_id": None,
                                                    "type_name": "House call"})):
            r = httpx.post(f"{base}/_sandbox/set", timeout=30, json={
                "resource": "appointments", "id": appt.source_id,
                "fields": {"end": None, "duration_minutes": None, **extra}})
            assert r.json()["updated"]
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        report = P.load(proj, hold=lambda om, rec: None)
        want = {typed.source_id: types[typed.appointment_type_id],  # type: ignore[attr-defined]
                untyped.source_id: 25,
                other.source_id: other.duration_minutes}  # type: ignore[attr-defined]
        landed = {sid: proj.store.dest_id("appointment", sid, "Event") for sid in want}
        assert all(landed.values()), landed  # before: the two were refused, not written
        dest = P.open_destination(proj)
        try:
            rows = dest.read("Event", list(landed.values()), ["DurationInMinutes"])
        finally:
            dest.close()
        for sid, did in landed.items():
            assert rows[did]["DurationInMinutes"] == want[sid], sid
        skips = proj.store.skips(report.run_id)
        assumed = {(s.ref, s.field): s.reason for s in skips if s.stage == "transform-assumed"}
        assert set(assumed) == {(f"source:appointment:{typed.source_id}", "DurationInMinutes"),
                                (f"source:appointment:{untyped.source_id}",
                                 "DurationInMinutes")}
        assert "appointment type" in assumed[(f"source:appointment:{typed.source_id}",
                                              "DurationInMinutes")]
        assert "default_appointment_minutes" in assumed[(
            f"source:appointment:{untyped.source_id}", "DurationInMinutes")]
        refused = [s for s in skips if s.stage in ("load", "transform")
                   and s.ref.split(":")[-1] in want]
        assert not refused, refused
        # the audit's entry for each write names the field assumed
        done = {e.src_ref: e.detail.get("assumed") for e in proj.audit.entries(report.run_id)
                if e.kind == "done" and e.dest_object == "Event"}
        assert done[f"source:appointment:{typed.source_id}"] == ["DurationInMinutes"]
        assert done[f"source:appointment:{untyped.source_id}"] == ["DurationInMinutes"]
        assert done[f"source:appointment:{other.source_id}"] is None
        # the sample says so beside the field (its note names the assumption)
        cm = next(c for c in proj.compile(P.confirmed_mapping(proj), need_keys=False)
                  if c.om.name == "appointment_event")
        staged = proj.store.get("appointment", untyped.source_id)
        assert staged is not None
        built = cm.build(staged.record, _Lookup())
        trace = built.trace["DurationInMinutes"]
        _, ok, note = classify([None, staged.record.start, None], 25, 25, trace)  # type: ignore[attr-defined]
        assert ok and "default_appointment_minutes" in note, note


@pytest.mark.parametrize("destination", ["pipedrive", "odoo"])
def test_the_other_crms_take_it_with_no_length(tmp_path: Path, destination: str) -> None:
    """Pipedrive's activity and Odoo's activity need no end: the appointment lands as it is,
    with no length assumed and nothing listed."""
    with make_pair(tmp_path / "proj", destination=destination, patients=4, seed=3,
                   options={"default_appointment_minutes": 25},
                   dest_extra={"plan": "ultimate", "seats": 10}
                   if destination == "pipedrive" else None,
                   env_prefix=f"FERRY_LEN_{destination.upper()}_") as pair:
        proj = pair.project
        appt = next(a for a in pair.practice.iter("appointment")
                    if a.patient_id and a.status in ("completed", "scheduled"))  # type: ignore[attr-defined]
        r = httpx.post(f"{pair.source_info['base_url']}/_sandbox/set", timeout=30, json={
            "resource": "appointments", "id": appt.source_id,
            "fields": {"end": None, "duration_minutes": None}})
        assert r.json()["updated"]
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        report = P.load(proj, hold=lambda om, rec: None)
        assert proj.store.dest_id("appointment", appt.source_id) is not None
        skips = [s for s in proj.store.skips(report.run_id)
                 if s.ref == f"source:appointment:{appt.source_id}"]
        assert not [s for s in skips if s.stage in ("load", "transform", "transform-assumed")]
