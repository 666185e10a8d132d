"""One proposer for every column of a clinic export (issue 16), on the user's path:
``ferry init --source clinic_csv`` then ``ferry map``. Exact synonyms get a confidence and a
reason like any guess and go to a person when the values or the vocabulary disagree; ids,
geocodes and audit columns are not migrated, with a reason; every decision is written."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.settings import load_settings
from ferry.sources.clinic_csv import create
from ferry.sources.clinic_csv.columns import SKIP

ENV = {"FERRY_PIPEDRIVE_TOKEN": "t", "FERRY_TEST_KEY":
       base64.urlsafe_b64encode(b"k" * 32).decode()}


def ferry_map(tmp_path: Path, files: dict[str, str]) -> tuple[str, dict, Path]:
    export, project = tmp_path / "export", tmp_path / "project"
    export.mkdir()
    for name, text in files.items():
        (export / name).write_text(text)
    r = CliRunner().invoke(app, ["init", str(project), "--source", "clinic_csv",
                                 "--destination", "pipedrive", "--set",
                                 f"source.path={export}", "--set",
                                 "options.encryption_key_env=FERRY_TEST_KEY"], env=ENV)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["map", "-p", str(project), "--no-describe"], env=ENV)
    assert r.exit_code == 0, r.output
    return r.output, load_settings(project / "ferry.yaml").source.options(), project


def records(options: dict, workdir: Path, obj: str) -> list:
    src = create({k: v for k, v in options.items() if k != "kind"}, workdir)

    async def go() -> list:
        return [r async for p in src.read(obj) for r in p.records]

    return asyncio.run(go())


PATIENTS = ("id,first_name,last_name,email,dob,created_by,latitude,longitude,guid,"
            "legacy_id\n"
            "1,Ann,Lee,0412 555 019,1980-02-03,u7,-33.86,151.20,"
            "3f2b8c1e-4a5d-4e7f-9a0b-1c2d3e4f5a6b,17\n"
            "2,Bo,Ng,0413 555 020,1975-06-07,u7,-33.87,151.21,"
            "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d,4\n"
            "3,Cy,Ho,0414 555 021,1990-10-11,u9,-33.88,151.22,"
            "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e,17\n")


def test_an_exact_synonym_whose_values_disagree_goes_to_a_person(tmp_path: Path) -> None:
    # ``email`` is the field's own name, but the column holds phone numbers: before, the
    # source's matcher placed it silently; now it is scored like any guess and left for review
    out, opts, _ = ferry_map(tmp_path, {"patients.csv": PATIENTS})
    cols = opts["columns"]["patient"]
    assert cols["email"] is None
    assert "review column: patient: 'email'" in out and "values" in out
    assert cols["dob"] == "date_of_birth" and cols["first_name"] == "first_name"


def test_ids_geocodes_and_audit_columns_are_not_migrated(tmp_path: Path) -> None:
    out, opts, project = ferry_map(tmp_path, {"patients.csv": PATIENTS})
    cols = opts["columns"]["patient"]
    for col in ("created_by", "latitude", "longitude", "guid", "legacy_id"):
        assert cols[col] == SKIP, col
    assert "patients.csv → patient: 4 standard, 0 custom, 5 not migrated, 1 to review" in out
    (rec, *_) = records(opts, project, "patient")
    assert not set(rec.custom) & {"created_by", "latitude", "longitude", "guid", "legacy_id"}
    assert "email" in rec.custom  # left for review: kept whole, never dropped


def test_every_column_of_every_file_is_decided(tmp_path: Path) -> None:
    _, opts, _ = ferry_map(tmp_path, {
        "patients.csv": PATIENTS,
        "appointments.csv": "id,patient_id,start,room\n1,1,2024-03-01 09:00,R1\n"})
    cols = opts["columns"]
    assert set(cols["patient"]) == set(PATIENTS.split("\n")[0].split(","))
    assert cols["appointment"] == {"id": "source_id", "patient_id": "patient_id",
                                   "start": "start", "room": None}


def test_mapping_yaml_lists_every_column_before_anything_is_staged(tmp_path: Path) -> None:
    _, _, project = ferry_map(tmp_path, {
        "patients.csv": PATIENTS,
        "insurance.csv": "id,patient_id,carrier,member_id,plan_colour\n1,1,Acme,M1,blue\n",
        "practitioners.csv": "id,first_name,last_name,email,pager\n3,Jo,Ra,jo@x.org,55\n"})
    text = (project / "mapping.yaml").read_text()
    # a custom column of the patients file, one of a folded file, one of a users-only file,
    # and every not-migrated column with its reason
    for key in ("custom.plan_colour", "custom.pager", "custom.created_by", "custom.latitude",
                "custom.guid", "custom.legacy_id", "custom.email"):
        assert f"source: {key}" in text, key
    assert "geocode (latitude / longitude)" in text and "audit column" in text


def test_two_columns_for_one_field_the_values_decide(tmp_path: Path) -> None:
    # ``race`` is the field's own name but holds a code list; ``race_name`` reads as the
    # field too and holds the words: the better column wins, not the first name
    _, opts, _ = ferry_map(tmp_path, {"patients.csv":
                                      "id,first_name,last_name,race,race_name\n"
                                      "1,Ann,Lee,2106-3,White\n2,Bo,Ng,2054-5,Black\n"
                                      "3,Cy,Ho,2028-9,Asian\n"})
    cols = opts["columns"]["patient"]
    assert cols["race_name"] == "race" and cols["race"] != "race"
