"""Pulse Digital Clinic: the dirty export folder round-trips; REST mode against the sandbox."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ferry.sandbox.pulse import write_folder as export
from ferry.sandbox.registry import SandboxOptions, serve
from ferry.sandbox.synth import Practice
from ferry.sources.pulse import create

SEED, PATIENTS = 7, 100
CORE = {
    "patient": ("first_name", "last_name", "date_of_birth", "email", "mobile", "mrn",
                "patient_number", "national_id", "blood_group", "allergies", "address",
                "clinic_id", "primary_practitioner_id", "archived", "consent_sms", "status"),
    "appointment": ("patient_id", "practitioner_id", "status", "start", "end", "fee",
                    "no_show", "procedure_codes"),
    "invoice": ("patient_id", "amount", "balance", "status", "issue_date", "paid_date"),
    "prescription": ("patient_id", "medication", "dosage", "prescribed_on", "active"),
    "clinical_note": ("patient_id", "appointment_id", "title"),
    "message": ("patient_id", "direction", "sent_at"),
    "practitioner": ("first_name", "last_name", "email", "role", "license_number"),
    "campaign": ("name", "channel", "sent_at"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    d = tmp_path_factory.mktemp("pulse")
    return d, export(d, seed=SEED, patients=PATIENTS)


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


def test_export_round_trips_with_dirt(h, folder) -> None:
    d, report = folder
    practice = Practice(SEED, PATIENTS)
    # the export writes the practice's wall time (no zone), as a clinic's does
    src = create({"path": str(d), "timezone": practice.timezone}, d)
    mixed = practice.ledger.ids("mixed_date_format")
    assert mixed, "the practice should carry mixed date formats"
    for obj in src.objects:
        recs, errs, _ = h.read_all(src, obj)
        twice = [e for e in errs if getattr(e, "duplicate", False)]
        # a clock time in the hour the clocks repeat or skip: read by the stated rule, listed
        unsure = {(e.ref, e.field) for e in errs if getattr(e, "kept", False)
                  and "the clocks went" in e.reason}
        errs = [e for e in errs if not getattr(e, "duplicate", False)
                and (e.ref, getattr(e, "field", None)) not in unsure]
        name = {"patient": "patients.csv", "appointment": "appointments.csv"}.get(obj)
        broken = set(report.broken.get(name, []))
        assert {e.line for e in errs} == broken, obj  # only the planted broken rows fail
        assert all(e.column for e in errs)
        got: dict[str, object] = {}
        for r in recs:
            got.setdefault(r.source_id, r)
        want = {r.source_id: r for r in practice.iter(obj)}
        assert set(got) == set(want), obj
        dupes = report.duplicates.get({"appointment": "appointments.csv",
                                       "invoice": "bills.csv"}.get(obj, ""), [])
        # a row exported twice is staged once and reported, not hidden
        assert len(recs) == len(want) and len(twice) == len(dupes), obj
        for sid, w in want.items():
            g = got[sid]
            for f in CORE[obj]:
                if (f"pulse:{obj}:{sid}", f) not in unsure:
                    assert _same(getattr(g, f), getattr(w, f)), (obj, sid, f)
            if sid not in mixed and (f"pulse:{obj}:{sid}", "updated_at") not in unsure:
                assert g.updated_at == w.updated_at, (obj, sid)  # a local style drops seconds
        h.assert_no_values(errs, "Zqxv", "Qzv", "BROKEN")


def test_export_patient_dirt_and_custom_fields(h, folder) -> None:
    d, _ = folder
    src = create({"path": str(d)}, d)
    plan = next(p for p in src.plans() if p.object == "patient")
    assert plan.table.encoding.bom == 3  # the BOM is detected and skipped
    recs, _, _ = h.read_all(src, "patient")
    got = {r.source_id: r for r in recs}
    practice = Practice(SEED, PATIENTS)
    for p in practice.iter("patient"):
        g = got[p.source_id]
        if p.emergency_contact:
            assert g.emergency_contact.name == p.emergency_contact.name
        for key, cv in p.custom.items():
            if cv.type in ("int", "bool", "decimal"):
                assert g.custom[key].value == cv.value, (p.source_id, key)
    for sid in practice.ledger.ids("json_allergies"):
        assert got[sid].allergies.startswith("[")  # raw JSON kept; flattening is a transform
    info = {o.name: o for o in src.describe()}
    assert PATIENTS + 2 <= info["patient"].count <= PATIENTS + 6  # lines: an upper bound
    assert info["patient"].field("custom.Loyalty points").kind.value == "int"


def test_cli_export_writes_the_folder(tmp_path: Path) -> None:
    from ferry.cli.app import app

    out = CliRunner().invoke(app, ["sandbox", "export", "pulse", str(tmp_path / "x"),
                                   "--seed", "2", "--patients", "12"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output.strip().splitlines()[0])  # the machine line comes first
    assert body["rows"]["patients.csv"] == 12
    assert (tmp_path / "x" / "chat_logs.csv").exists()


def test_rest_mode_is_assumed_so_the_documented_surface_has_none() -> None:
    running, info = serve("pulse", SandboxOptions(seed=SEED, patients=3, time_scale=20))
    try:
        key = info["credentials"]["api_key"]
        r = httpx.get(info["credentials"]["base_url"] + "/patients",
                      headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert r.status_code == 404  # Pulse publishes no API: only the CSV export is documented
    finally:
        running.stop()


def test_rest_mode_reads_pages_and_deltas(h, tmp_path: Path, monkeypatch) -> None:
    running, info = serve("pulse", SandboxOptions(seed=SEED, patients=30, time_scale=20,
                                                  surface="extended"))  # REST is assumed
    try:
        monkeypatch.setenv("PULSE_KEY", info["credentials"]["api_key"])
        cfg = {"mode": "rest", "base_url": info["credentials"]["base_url"],
               "api_key_env": "PULSE_KEY", "page_size": 25, "time_scale": 20}
        src = create(cfg, tmp_path)
        practice = Practice(SEED, 30)
        for obj in ("patient", "appointment", "invoice"):
            recs, errs, pages = h.read_all(src, obj)
            assert errs == []
            assert {r.source_id for r in recs} == {r.source_id for r in practice.iter(obj)}
            assert len(pages) > 1 and pages[-1].done
        info_by = {o.name: o for o in src.describe()}
        assert info_by["invoice"].count == practice.count("invoice")
        assert info_by["patient"].field("email") is not None
        assert src.check()[0].ok
        # the rows' times are the practice's wall time: check asks for its zone until it is set
        zone = {i.name: i for i in src.check()}["practice time zone"]
        assert not zone.ok and "source.timezone" in zone.fix
        zoned = create({**cfg, "timezone": info["credentials"]["timezone"]}, tmp_path)
        assert all(i.ok for i in zoned.check())
        cp = pages[0].checkpoint
        rest, _, _ = h.read_all(create(cfg, tmp_path), "invoice", checkpoint=cp)
        assert len(rest) == len(recs) - len(pages[0].records)
        mark = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        httpx.post(info["base_url"] + "/_sandbox/touch", json={"object": "patient",
                                                                "id": "10004"}, timeout=60)
        delta, _, _ = h.read_all(create(cfg, tmp_path), "patient", since=mark)
        assert [r.source_id for r in delta] == ["10004"]
        monkeypatch.setenv("PULSE_KEY", "wrong")
        with pytest.raises(Exception) as refused:
            h.read_all(create(cfg, tmp_path), "patient")
        assert getattr(refused.value, "status", None) == 401
    finally:
        running.stop()


def test_rest_delta_finds_a_changed_row_whose_modified_on_is_in_a_local_format(
        h, tmp_path: Path, monkeypatch) -> None:
    """A row whose "Modified On" is written in the site's local format (the export's dirt) is
    still a changed row to the server: ``updated_since`` compares the stamp the server keeps.
    Before, the sandbox read that text as 1970, so a change to such a patient never reached a
    delta (bench/truth.py, Pulse REST, seed 31337: a new email and address left as they were)."""
    from ferry.sandbox.clock import Clock
    from ferry.sandbox.faults import Faults, FaultSpec
    from ferry.sandbox.pulse.app import PulseState, make_app
    from ferry.sandbox.server import serve_in_thread

    base = Practice(SEED, 30)
    local = next(p.source_id for p in base.iter("patient")
                 if base.date_format("patient", p.source_id, "updated_at"))
    plain = next(p.source_id for p in base.iter("patient")
                 if not base.date_format("patient", p.source_id, "updated_at"))
    now = dt.datetime.now(dt.UTC)

    class Changed(Practice):
        def iter(self, obj: str):  # type: ignore[no-untyped-def]
            for rec in super().iter(obj):
                if obj == "patient" and rec.source_id in (local, plain):
                    rec = rec.model_copy(update={"email": f"new.{rec.source_id}@example.org",
                                                 "updated_at": now})
                yield rec

    app = make_app(PulseState(Changed(SEED, 30)), keys=["k"], clock=Clock(20),
                   faults=Faults(FaultSpec.parse("", seed=SEED)), surface="extended")
    running = serve_in_thread(app)
    try:
        monkeypatch.setenv("PULSE_KEY", "k")
        cfg = {"mode": "rest", "base_url": running.base_url + "/api/v1",
               "api_key_env": "PULSE_KEY", "page_size": 25, "time_scale": 20}
        delta, errs, _ = h.read_all(create(cfg, tmp_path), "patient",
                                    since=now - dt.timedelta(seconds=5))
        assert sorted(r.source_id for r in delta) == sorted([local, plain])
        assert {r.email for r in delta} == {f"new.{local}@example.org",
                                            f"new.{plain}@example.org"}
    finally:
        running.stop()


def test_rest_delta_and_resume_read_a_row_as_the_full_read_did(h, tmp_path: Path,
                                                                monkeypatch) -> None:
    """Column kinds and the date order are settled on the first page of the full listing, not on
    whatever page a read starts at. Before, a delta built them from its few changed rows: a
    custom "Last recall" column of mixed date formats was text on the full read and a date on
    the delta, and Pipedrive refused the date into the text field the map had made, so the
    delta emptied those patients' Last recall (bench/truth.py --source pulse, seed 101). A read
    resumed at page 2 built them from page 2's rows."""
    seed = 101  # its first 50 rows hold a Last recall that is not a date; rows 1-25 do not
    running, info = serve("pulse", SandboxOptions(seed=seed, patients=50, time_scale=20,
                                                  surface="extended"))
    try:
        monkeypatch.setenv("PULSE_KEY", info["credentials"]["api_key"])
        cfg = {"mode": "rest", "base_url": info["credentials"]["base_url"],
               "api_key_env": "PULSE_KEY", "page_size": 100, "time_scale": 20}

        def shape(rec):  # every value with its kind, custom fields included (a touch
            # moves updated_at only)
            return (rec.model_dump(exclude={"custom", "updated_at"}),
                    {k: (c.type, c.value) for k, c in rec.custom.items()})

        full, _, _ = h.read_all(create(cfg, tmp_path), "patient")
        by_id = {r.source_id: r for r in full}
        touched = ["10001", "10002"]
        assert {by_id[t].custom["last_recall"].type for t in touched} == {"text"}
        mark = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        for sid in touched:
            httpx.post(info["base_url"] + "/_sandbox/touch",
                       json={"object": "patient", "id": sid}, timeout=60)
        delta, _, _ = h.read_all(create(cfg, tmp_path), "patient", since=mark)
        assert sorted(r.source_id for r in delta) == touched
        for r in delta:
            assert shape(r) == shape(by_id[r.source_id]), r.source_id

        paged = {**cfg, "page_size": 25}
        full, _, pages = h.read_all(create(paged, tmp_path), "patient")
        by_id = {r.source_id: r for r in full}
        resumed, _, _ = h.read_all(create(paged, tmp_path), "patient",
                                   checkpoint=pages[0].checkpoint)
        assert len(resumed) == 25
        for r in resumed:
            assert shape(r) == shape(by_id[r.source_id]), r.source_id
    finally:
        running.stop()
