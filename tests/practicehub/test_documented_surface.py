"""The documented surface: only what public code shows answers; the connector carries on.

The sandbox's default serves the resources third-party code reads from the live API; the eleven
assumed resources, ``/{resource}/deleted`` and ``/{resource}/{id}`` answer 404. Extraction and
deltas must still work: absent objects are reported, deletions found by comparing id sets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import httpx

from ferry.engine.extract import aextract, watermark
from ferry.model.staging import StagingStore
from ferry.sandbox.practicehub.rules import EXTENDED_ONLY
from ferry.sandbox.synth import Practice
from ferry.sources.practicehub.wire import OPTIONAL

from .conftest import read_all


def _get(box, path: str) -> httpx.Response:
    return httpx.get(f"{box.running.base_url}/api/{path}", timeout=30, headers={
        "host": "demo.neptune.practicehub.io", "x-practicehub-key": box.creds["api_key"],
        "x-app-details": box.creds["app_details"]})


def test_sandbox_serves_only_the_public_resources_by_default(make_box):
    box = make_box(patients=30, time_scale=1e6)
    assert len(EXTENDED_ONLY) == 11
    for resource in sorted(EXTENDED_ONLY):
        assert _get(box, resource).status_code == 404, resource
    assert _get(box, "patients/deleted").status_code == 404
    assert _get(box, "patients/10000").status_code == 404
    methods = _get(box, "payment_methods").json()["data"]
    assert methods and all(set(m) == {"id", "name"} for m in methods)
    payments = _get(box, "payments").json()["data"]
    assert all("payment_method" not in p for p in payments)
    names = {str(m["id"]) for m in methods}
    assert {p["payment_type_id"] for p in payments if p["payment_type_id"]} <= names
    ids = [a["id"] for a in _get(box, "appointments").json()["data"]]
    assert len(ids) > len(set(ids))  # [code] an appointment id may repeat in one list
    ext = make_box(patients=30, time_scale=1e6, surface="extended")
    assert _get(ext, "clinical_notes").status_code == 200
    assert _get(ext, "patients/deleted").status_code == 200


def test_engine_extracts_everything_reachable_and_names_what_is_not(make_box, tmp_path):
    box = make_box(patients=40, seed=3)
    src = box.source()
    store = StagingStore(tmp_path / "s.db")
    asyncio.run(aextract(src, store, run_id="full"))
    assert src.absent == set(OPTIONAL)
    p = Practice(3, 40)
    for obj in ("patient", "practitioner", "appointment", "invoice", "payment", "message"):
        assert store.count(obj) == p.count(obj), obj
    for obj in OPTIONAL:
        assert store.count(obj) == 0
    want = {r.source_id: r.method for r in p.iter("payment")}  # type: ignore[attr-defined]
    got = {r.source_id: r.method for r in store.iter_records("payment")}  # type: ignore[attr-defined]
    assert got == want and any(got.values())  # names come from /payment_methods
    # the repeated appointment rows were staged once each
    again = box.source()
    appts, pages = read_all(again, "appointment")
    asyncio.run(again.aclose())
    assert len(appts) == len({a.source_id for a in appts}) == p.count("appointment")
    infos = {o.name: o for o in box.source().describe()}
    assert {o for o, i in infos.items() if not i.reachable} == set(OPTIONAL)
    assert "clinic_csv" in infos["clinical_note"].note
    checks = {i.name: i for i in box.source().check()}
    unreachable = checks["objects not reachable by API"]
    assert "clinical_note" in unreachable.detail and "clinic_csv" in unreachable.fix


def test_delta_without_deleted_lists_finds_deletions_by_id_set(make_box, tmp_path):
    box = make_box(patients=120, seed=5)
    store = StagingStore(tmp_path / "s.db")
    objects = ["patient", "appointment", "clinical_note"]
    asyncio.run(aextract(box.source(), store, run_id="full", objects=objects))
    wm = watermark(store, "patient")
    assert wm is not None and store.count("patient") == 120
    time.sleep(1.1)
    out = box.admin("POST", "mutate", json={"resources": {
        "patients": {"updates": 4, "creates": 2, "deletes": 3, "seed": 8},
        "appointments": {"deletes": 2, "seed": 2}}})
    before = len(box.pages())
    since = {o: dt.datetime.fromisoformat(wm) for o in objects}
    stats = asyncio.run(aextract(box.source(), store, run_id="delta", objects=objects,
                                 since_by_object=since))
    p = out["patients"]
    assert store.count("patient") == 120 + 2 - 3
    assert stats.deleted == {"patient": 3, "appointment": 2}
    gone = {s.source_id for s in
            (store.get("patient", str(i)) for i in p["deleted"]) if s and s.deleted}
    assert gone == {str(i) for i in p["deleted"]}
    for rid in p["updated"] + p["created"]:
        rec = store.get("patient", str(rid))
        assert rec and not rec.deleted
        assert rec.record.occupation.startswith(("changed", "created"))  # type: ignore[attr-defined]
    # cost: per object one probe of /deleted, then one request per page of the listing
    delta_log = box.pages()[before:]
    patient_pages = [e for e in delta_log if e["resource"] == "patients"]
    assert len(patient_pages) == 2 and all(e["updated"] is None for e in patient_pages)


def test_appointment_start_is_practice_local_time_stored_with_its_offset(make_box, tmp_path):
    box = make_box(patients=10, seed=2, region="sydney")
    assert box.creds["timezone"] == "Australia/Sydney"
    p = Practice(2, 10, timezone="Australia/Sydney")  # the account's zone (region sydney)
    want = {a.source_id: a.start for a in p.iter("appointment")}  # type: ignore[attr-defined]
    row = json.loads(next(iter(box.sandbox.state.tables["appointments"].rows.values())))
    local = want[str(row["id"])].astimezone(dt.timezone(dt.timedelta(0)))
    assert row["start"] != local.strftime("%Y-%m-%d %H:%M:%S")  # not UTC wall time
    store = StagingStore(tmp_path / "s.db")
    asyncio.run(aextract(box.source(), store, run_id="full", objects=["appointment"]))
    for rec in store.iter_records("appointment"):
        assert rec.start == want[rec.source_id]  # type: ignore[attr-defined]
        assert rec.start.utcoffset() in (dt.timedelta(hours=10), dt.timedelta(hours=11))  # type: ignore[attr-defined]
    assert store.count("appointment") == len(want)
    # no zone configured: check says so; a zone at odds with the region is ambiguous
    checks = {i.name: i for i in box.source(timezone=None).check()}
    assert not checks["practice time zone"].ok and "timezone" in checks["practice time zone"].fix
    checks = {i.name: i for i in box.source(timezone="Europe/London").check()}
    assert not checks["practice time zone"].ok
    assert "ambiguous" in checks["practice time zone"].detail
    assert {i.name: i for i in box.source().check()}["practice time zone"].ok


def test_estimate_prices_a_delta_that_lists_every_id():
    from ferry.engine.estimate import estimate, limits_for

    counts = {"patient": 20_000, "appointment": 82_000, "clinical_note": 0}
    s, d = limits_for("practicehub", "pipedrive")
    e = estimate(counts, source=s, destination=d)
    # per object: a probe of the missing /deleted list, then every page of 100 rows
    assert e["delta_pass_calls"] == (1 + 200) + (1 + 820)
    assert e["delta_pass_seconds"] >= 1000 and "id-set" in e["delta_deletions"]
    s, d = limits_for("fhir_bulk", "pipedrive")
    assert estimate(counts, source=s, destination=d)["delta_pass_calls"] == 2
