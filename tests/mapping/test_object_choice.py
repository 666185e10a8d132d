"""Which object a whole file holds (clinic_csv, objects not given). A file placed as the wrong
object makes every one of its columns wrong, applied without anyone asked (a staff file read
as patients: 18 columns on patient records). So a file whose evidence does not settle its
object is held for a person (ferry.yaml ``source.files``) and none of its columns is placed:
its name names one object and its columns fit another better, its best object barely beats
the next, or its name names none and most of its columns fit the next object as well. A
person's address parts (State, Zip) are the same words for a practitioner as for a patient.
Examples are made up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ferry.sources.clinic_csv import create
from ferry.sources.clinic_csv.columns import choose_object, match_columns

from .test_export_proposer import ferry_map

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")


# a staff list whose columns are a person's: a patient has every one of them (and a mobile
# and a work phone), a practitioner all but those two
STAFF = ("Id,First Name,Last Name,Email,Mobile Phone,Work Phone,Address,City,State,Zip\n"
         "11,Ann,Lee,ann@example.com,0412 555 019,02 5550 1000,1 Main St,Springfield,NSW,2000\n"
         "12,Bo,Ng,bo@example.com,0413 555 020,02 5550 1001,2 High St,Springfield,NSW,2000\n")
CLIENTS = ("Id,First Name,Last Name,Date of Birth,Sex,Email,Mobile,Address,City,Zip\n"
           "1,Cy,Ho,1980-02-03,F,cy@example.com,0414 555 021,3 Low St,Springfield,2000\n"
           "2,Di,Wu,1975-06-07,M,di@example.com,0415 555 022,4 Mid St,Springfield,2000\n")


def source(tmp_path: Path, tables: dict[str, str], **settings: object):  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    export.mkdir(exist_ok=True)
    for name, text in tables.items():
        (export / name).write_text(text)
    return create({"path": str(export), **settings}, tmp_path)


def test_a_file_whose_columns_barely_choose_its_object_is_held_not_read(tmp_path: Path) -> None:
    # before: a staff list was read as patients (its columns fit patient 10 to 8.5), every
    # column applied to patient records without review. Named ``staff.csv`` its name now
    # decides (tests/mapping/test_booking_exports.py); named for no object it is held
    src = source(tmp_path, {"export.csv": STAFF, "clients.csv": CLIENTS})
    assert {p.table.name: p.object for p in src.plans()} == {"clients.csv": "patient"}
    (file, why), = src.held()
    assert file == "export.csv" and "source.files: {export.csv: patient}" in why
    assert "(or practitioner)" in why
    check = {c.name: c for c in src.check()}
    assert not check["export.csv → ?"].ok
    assert any("export.csv: held for review" in v.reason for v in src.verdicts())


def test_a_held_file_is_read_once_a_person_names_its_object(tmp_path: Path) -> None:
    src = source(tmp_path, {"staff.csv": STAFF}, files={"staff.csv": "practitioner"})
    assert src.held() == []
    plan, = src.plans()
    assert plan.object == "practitioner"
    assert plan.columns["State"] == "region" and plan.columns["Zip"] == "postcode"

    async def read() -> list:
        return [r async for p in src.read("practitioner") for r in p.records]

    assert len(asyncio.run(read())) == 2


def test_the_name_and_the_columns_disagreeing_is_a_doubt() -> None:
    # patients.csv whose columns are a practitioner's (NPI, specialty, licence)
    c = choose_object("patients", ["Id", "First Name", "Last Name", "NPI", "Specialty",
                                   "License Number", "Credentials", "Email"])
    assert c.object == "practitioner" and c.runner_up == "patient"
    assert c.doubt.startswith("its name says patient")


def test_a_nameless_file_whose_columns_fit_two_objects_is_a_doubt() -> None:
    person = ["Id", "First Name", "Last Name", "Email", "Phone", "Mobile", "Address", "City",
              "State", "Zip"]
    c = choose_object("export_2", person)
    assert c.object == "patient" and c.runner_up == "practitioner" and c.doubt
    # a patient's own columns (birth date, sex, allergies) settle it, name or no name
    c = choose_object("export_1", ["Id", "First Name", "Last Name", "Date of Birth", "Sex",
                                   "Email", "Mobile", "Address", "City", "Zip", "Allergies"])
    assert (c.object, c.doubt) == ("patient", "")


def test_a_practitioners_state_and_zip_are_its_region_and_postcode() -> None:
    cols = match_columns("practitioner", ["Id", "Name", "State", "Postal Code", "Province"])
    assert cols["State"] == "region" and cols["Postal Code"] == "postcode"


def test_ferry_map_says_which_file_is_held_and_places_none_of_its_columns(
        tmp_path: Path) -> None:
    output, options, _ = ferry_map(tmp_path, {"export.csv": STAFF, "clients.csv": CLIENTS})
    assert "review file: export.csv" in output
    columns = options.get("columns") or {}
    placed = {c for cols in columns.values() for c in cols}
    assert "Work Phone" not in placed and "Date of Birth" in placed
