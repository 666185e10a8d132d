"""The PHI scan reads phone numbers in the practice's own country too, not only in its eleven
default regions: a Norwegian or Singaporean practice (``options.phone_region: NO``, or clinics
whose addresses say so) writes a relative's number in its national format (``412 34 567``,
``8123 4567``), which none of the eleven reads, and the note went unflagged (its number would
reach the CRM unreviewed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.project import Project
from ferry.model.entities import Clinic, ClinicalNote, Patient
from ferry.model.staging import StagingStore
from ferry.phi import queue
from ferry.phi.detect import DEFAULT_REGIONS, Known, detect, regions_for

NOTES = {"n1": "Daughter asked us to ring her on 412 34 567 about the results.",  # NO mobile
         "n2": "Son will call back; his number is 8123 4567, leave a message."}  # SG mobile


def _stage(store: StagingStore, clinic_country: str | None = None) -> None:
    store.put_records("patient", [Patient(source_id="p1", first_name="Kari", last_name="Dahl",
                                          date_of_birth=dt.date(1970, 5, 6))])
    if clinic_country:
        store.put_records("clinic", [Clinic(source_id="c1", name="Fjord Clinic",
                                            country=clinic_country)])
    store.put_records("clinical_note", [
        ClinicalNote(source_id=sid, patient_id="p1", body=body,
                     created_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
        for sid, body in NOTES.items()])


def _phone_flagged(store: StagingStore) -> dict[str, bool]:
    rows = store.conn.execute("SELECT source_id, types FROM phi_queue"
                              " WHERE object='clinical_note' AND field='body'").fetchall()
    return {sid: "phone" in (types or "") for sid, types in rows}


def test_the_eleven_regions_miss_these_numbers() -> None:
    for text in NOTES.values():
        assert not [s for s in detect(text, Known()) if s.type == "phone"]
    assert regions_for("no", None, "XX", "GB") == (*DEFAULT_REGIONS, "NO")


def _project(tmp_path: Path, region: str | None) -> Project:
    root = tmp_path / "proj"
    r = CliRunner().invoke(app, ["init", str(root), "--source", "clinic_csv", "--destination",
                                 "odoo", "--no-encrypt", "--set", f"source.path={tmp_path}",
                                 "--set", "destination.url=http://127.0.0.1:9", "--set",
                                 "destination.db=x", "--set", "destination.login=admin"])
    assert r.exit_code == 0, r.output
    if region:
        yaml = root / "ferry.yaml"
        yaml.write_text(yaml.read_text().replace("  # phone_region: null",
                                                 f"  phone_region: {region}"))
    return Project.at(root)


def test_a_configured_region_is_scanned(tmp_path: Path) -> None:
    project = _project(tmp_path, "SG")
    _stage(project.store)
    assert project.scan_regions == (*DEFAULT_REGIONS, "SG")
    queue.scan(project.store, workers=0, regions=project.scan_regions)
    assert _phone_flagged(project.store) == {"n1": False, "n2": True}  # before: n2 not flagged


def test_the_practice_country_from_its_clinics_is_scanned(tmp_path: Path) -> None:
    project = _project(tmp_path, None)
    _stage(project.store, clinic_country="Norway")  # unset: the country the addresses name
    assert project.scan_regions == (*DEFAULT_REGIONS, "NO")
    queue.scan(project.store, workers=0, regions=project.scan_regions)
    assert _phone_flagged(project.store)["n1"]  # before: not flagged
