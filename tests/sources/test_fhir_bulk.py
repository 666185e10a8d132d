"""FHIR R4 Bulk Data: the client against the sandbox server, the reader, delta, bad NDJSON."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
from pathlib import Path

import httpx
import pytest

from ferry.connectors.http import retry_after_seconds as retry_after
from ferry.errors import FatalError
from ferry.sandbox.registry import SandboxOptions, serve
from ferry.sandbox.synth import Practice
from ferry.sources.fhir_bulk import create
from ferry.sources.fhir_bulk.client import BulkClient, Manifest

SEED, PATIENTS = 4, 40
SCALE = 50.0


@pytest.fixture(scope="module")
def server():  # noqa: ANN201
    running, info = serve("fhir", SandboxOptions(seed=SEED, patients=PATIENTS, time_scale=SCALE,
                                                 extra={"file_lines": 60}))
    yield info
    running.stop()


@pytest.fixture
def env(server, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("FHIR_TOKEN", server["credentials"]["token"])
    httpx.post(server["base_url"] + "/_sandbox/reset", timeout=60)
    return server


def server_source(info: dict, workdir: Path, **kw: object):  # noqa: ANN201
    return create({"mode": "server", "base_url": info["base_url"], "token_env": "FHIR_TOKEN",
                   "time_scale": SCALE, "page_size": 100, **kw}, workdir)


def test_export_reads_every_object(h, env, tmp_path: Path) -> None:
    src = server_source(env, tmp_path)
    practice = Practice(SEED, PATIENTS)
    for obj in src.objects:
        recs, errs, pages = h.read_all(src, obj)
        assert errs == [], obj
        want = {r.source_id for r in practice.iter(obj)}
        got = {r.source_id for r in recs}
        if obj == "clinical_note":
            got = {g.removeprefix("note-") for g in got}
        if obj == "practitioner_patient":  # ids are the (patient, practitioner) pairs in FHIR
            pairs = {(r.patient_id, r.practitioner_id) for r in practice.iter(obj) if r.primary}
            assert {(r.patient_id, r.practitioner_id) for r in recs} == pairs
            continue
        assert got == want, obj
        assert pages[-1].done and pages[-1].watermark
    polls = httpx.get(env["base_url"] + "/_sandbox/requests", timeout=60).json()["requests"]
    statuses = [(r["path"].split("/")[1], r["status"]) for r in polls]
    assert ("$export", 202) in statuses and ("_jobs", 202) in statuses  # waited on X-Progress
    assert ("_jobs", 200) in statuses


def test_patient_fields_round_trip(h, env, tmp_path: Path) -> None:
    src = server_source(env, tmp_path)
    got = {r.source_id: r for r in h.read_all(src, "patient")[0]}
    for p in Practice(SEED, PATIENTS).iter("patient"):
        g = got[p.source_id]
        for f in ("first_name", "last_name", "date_of_birth", "email", "mobile", "mrn",
                  "patient_number", "blood_group", "allergies", "clinic_id",
                  "primary_practitioner_id", "city", "postcode", "address", "updated_at"):
            assert getattr(g, f) == getattr(p, f), (p.source_id, f)
        if p.medical_history:
            assert g.medical_history == "; ".join(x.strip() for x in p.medical_history.split(";"))
        if p.emergency_contact and p.emergency_contact.name:
            assert g.emergency_contact.phone == p.emergency_contact.phone
        assert g.created_at == p.created_at
    appts = {r.source_id: r for r in h.read_all(src, "appointment")[0]}
    for a in Practice(SEED, PATIENTS).iter("appointment"):
        g = appts[a.source_id]
        assert (g.status, g.start, g.patient_id, g.clinic_id) == (a.status, a.start,
                                                                  a.patient_id, a.clinic_id)


def test_resources_validate_as_r4(env, tmp_path: Path) -> None:
    """Every exported resource parses with a maintained FHIR model package (R4B ≈ R4)."""
    src = server_source(env, tmp_path)
    folder = asyncio.run(src.folder())
    seen = set()
    for path in sorted(folder.glob("*.ndjson")):
        rtype = path.name.split(".")[0]
        module = importlib.import_module(f"fhir.resources.R4B.{rtype.lower()}")
        model = getattr(module, rtype)
        with path.open() as f:
            for n, line in enumerate(f):
                if n >= 25:
                    break
                model.model_validate(json.loads(line))
        seen.add(rtype)
    assert {"Patient", "Appointment", "DocumentReference", "Coverage", "Invoice", "CarePlan",
            "MedicationRequest", "Observation", "AllergyIntolerance", "RelatedPerson",
            "PractitionerRole", "Encounter", "Organization", "Location", "Condition"} <= seen


def test_delta_since_picks_up_changes_and_deletions(h, env, tmp_path: Path) -> None:
    src = server_source(env, tmp_path)
    _, _, pages = h.read_all(src, "patient")
    mark = dt.datetime.fromisoformat(pages[-1].watermark.replace("Z", "+00:00"))
    base = env["base_url"]
    httpx.post(base + "/_sandbox/touch", json={"object": "patient", "id": "10003"}, timeout=60)
    httpx.post(base + "/_sandbox/delete", json={"object": "patient", "id": "10007"}, timeout=60)
    httpx.post(base + "/_sandbox/delete", json={"object": "appointment", "id": "160000"},
               timeout=60)
    delta = server_source(env, tmp_path)
    recs, errs, pages = h.read_all(delta, "patient", since=mark)
    assert [r.source_id for r in recs] == ["10003"] and errs == []
    assert pages[0].deleted_ids == ["10007"]
    _, _, apages = h.read_all(delta, "appointment", since=mark)
    assert [i for p in apages for i in p.deleted_ids] == ["160000"]
    kick = [r for r in httpx.get(base + "/_sandbox/requests", timeout=60).json()["requests"]
            if r["path"] == "/$export"]
    assert len(kick) >= 1


def test_client_rules_against_server() -> None:
    # Its own server whose exports last long enough (2 s real) that the second kick-off
    # always meets the first still running, however loaded the machine.
    running, env = serve("fhir", SandboxOptions(seed=SEED, patients=PATIENTS, time_scale=SCALE,
                                                extra={"export_seconds": 100}))

    async def go() -> None:
        c = BulkClient(env["base_url"], token=env["credentials"]["token"], time_scale=SCALE)
        url = await c.kickoff(types=["Patient"])
        with pytest.raises(Exception) as busy:  # one export at a time: 429 + Retry-After
            await c.kickoff(types=["Patient"])
        assert getattr(busy.value, "status", None) == 429
        manifest = await c.wait(url)
        assert [o.type for o in manifest.output] == ["Patient"] and manifest.requires_access_token
        with pytest.raises(FatalError):
            await c.kickoff(types=["NoSuchType"])
        bad = BulkClient(env["base_url"], token="wrong")
        with pytest.raises(FatalError):
            await bad.kickoff()
        await bad.aclose()
        await c.aclose()

    try:
        asyncio.run(go())
    finally:
        running.stop()


def test_manifest_outcome_key_and_http_date_retry_after() -> None:
    m = Manifest.parse({"transactionTime": "2025-01-01T00:00:00Z", "output": [],
                        "outcome": [{"type": "OperationOutcome", "url": "https://x/err.ndjson"}]})
    assert [e.url for e in m.error] == ["https://x/err.ndjson"]
    now = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    r = httpx.Response(202, headers={"Retry-After": "Wed, 01 Jan 2025 12:00:30 GMT"})
    assert retry_after(r, now) == 30
    assert retry_after(httpx.Response(202, headers={"Retry-After": "120"})) == 120


def test_folder_with_malformed_lines(h, tmp_path: Path) -> None:
    good = [{"resourceType": "Patient", "id": str(i), "name": [{"family": f"F{i}"}],
             "birthDate": "1980-01-02"} for i in range(1, 6)]
    lines = [json.dumps(good[0]), json.dumps(good[1]),
             '{"resourceType": "Patient", "id": "x", "name": [',  # not JSON (line 3)
             json.dumps({"resourceType": "Spaceship", "id": "s1"}),  # unknown type (line 4)
             json.dumps(good[2]),
             json.dumps({"resourceType": "Observation", "id": "o1"}),  # wrong type (line 6)
             json.dumps({"resourceType": "Patient", "id": "b", "birthDate": 7}),
             json.dumps(good[3]), "", json.dumps(good[4]),
             '{"resourceType":"Patient","id":"cut","name":[{"fam']  # truncated (line 11)
    (tmp_path / "Patient.000.ndjson").write_text("\n".join(lines))
    (tmp_path / "Basic.000.ndjson").write_text('{"resourceType":"Basic","id":"1"}\n')
    (tmp_path / "error.000.ndjson").write_text('{"resourceType":"OperationOutcome"}\n')
    src = create({"mode": "folder", "path": str(tmp_path)}, tmp_path / "work")
    recs, errs, _ = h.read_all(src, "clinic")  # file-level problems come with the first read
    assert recs == []
    assert ("Basic.000.ndjson", 1, 2) in h.where(errs)
    assert any(e.file == "error.000.ndjson" for e in errs)
    recs, errs, _ = h.read_all(src, "patient")
    assert sorted(r.source_id for r in recs) == ["1", "2", "3", "4", "5"]
    got = h.where(errs)
    assert {(f, n) for f, n, _ in got} == {("Patient.000.ndjson", n) for n in (3, 4, 6, 7, 11)}
    assert ("Patient.000.ndjson", 4, 2) in got  # column of "resourceType"
    assert all(e.column for e in errs if e.line != 7)
    h.assert_no_values(errs, "Spaceship", "cut", "fam")


def test_faults_are_retried_and_files_fetched(h, tmp_path: Path, monkeypatch) -> None:
    running, info = serve("fhir", SandboxOptions(seed=SEED, patients=12, time_scale=SCALE,
                                                 faults="429=0.15,500=0.1,drop=0.05"))
    try:
        monkeypatch.setenv("FHIR_TOKEN", info["credentials"]["token"])
        src = server_source(info, tmp_path)
        practice = Practice(SEED, 12)
        recs, errs, _ = h.read_all(src, "document")
        assert errs == [] and {r.source_id for r in recs} == {
            d.source_id for d in practice.iter("document")}
        injected = httpx.get(info["base_url"] + "/_sandbox/faults", timeout=60).json()["injected"]
        assert sum(injected.values()) > 0
        small = min((r for r in recs), key=lambda r: r.size or 0)
        want = next(d for d in practice.iter("document") if d.source_id == small.source_id)
        httpx.post(info["base_url"] + "/_sandbox/faults", json={"spec": ""}, timeout=60)
        got = asyncio.run(src.fetch_file(small, tmp_path / "doc.bin"))
        assert (tmp_path / "doc.bin").read_bytes() == practice.file_bytes(want)
        assert got.size == want.size
        notes, _, _ = h.read_all(src, "clinical_note")
        assert notes and all(n.body for n in notes)  # inline text attachments decoded
    finally:
        running.stop()


def test_resume_from_checkpoint_reads_the_rest(h, env, tmp_path: Path) -> None:
    src = server_source(env, tmp_path, page_size=7)
    recs, _, pages = h.read_all(src, "appointment")
    assert len(pages) > 4
    cp = json.loads(pages[3].checkpoint)
    assert cp["offset"] > 0 and cp["file"].startswith("Appointment")
    again = server_source(env, tmp_path, page_size=7)  # a new process after a kill
    rest, _, _ = h.read_all(again, "appointment", checkpoint=pages[3].checkpoint)
    first = [r.source_id for p in pages[:4] for r in p.records]
    assert first + [r.source_id for r in rest] == [r.source_id for r in recs]


def test_check_reaches_the_server(env, tmp_path: Path) -> None:
    """``ferry check`` on a FHIR server source: a sync ``httpx.get`` cannot take the async
    transport, so the check itself used to fail with TypeError (issue 15)."""
    items = server_source(env, tmp_path).check()
    assert [(i.name, i.ok, i.detail) for i in items] == [
        ("FHIR server reachable", True, "status 200")]


def test_folder_export_fetches_attachments_from_the_server(h, env, tmp_path: Path) -> None:
    """A Bulk export downloaded into a folder names each document's content by its Binary URL
    on the EHR's server. Folder mode fetched only files inside the folder, so every document
    was skipped ("not found in the export folder": 42 of 42, truth.py fhir_folder, seed
    31337); with base_url and token_env set it fetches them, and without it says so."""
    src = server_source(env, tmp_path / "server")
    h.read_all(src, "patient")  # runs the export into the work folder, as a clinic keeps it
    folder = next((tmp_path / "server" / "fhir_bulk").glob("export-*"))
    practice = Practice(SEED, PATIENTS)
    plain = create({"mode": "folder", "path": str(folder)}, tmp_path / "plain")
    docs, errs, _ = h.read_all(plain, "document")
    assert errs == [] and docs
    doc = min(docs, key=lambda d: d.size or 0)
    assert doc.url and doc.url.startswith("http")
    with pytest.raises(Exception) as refused:
        asyncio.run(plain.fetch_file(doc, tmp_path / "a.bin"))
    assert "base_url" in str(refused.value)
    linked = create({"mode": "folder", "path": str(folder), "base_url": env["base_url"],
                     "token_env": "FHIR_TOKEN"}, tmp_path / "linked")
    got = asyncio.run(linked.fetch_file(doc, tmp_path / "b.bin"))
    want = next(d for d in practice.iter("document") if d.source_id == doc.source_id)
    assert (tmp_path / "b.bin").read_bytes() == practice.file_bytes(want)
    assert got.size == want.size
