"""Rules from the failure classes of the booking systems first measured as held-out-6 (Square,
Microsoft Bookings; examined 8 Dec): files named in a booking system's own words (customers,
bookings, team members, staff members) hold patients, appointments and practitioners; between
two objects the columns fit about as well, the file's name decides unless the columns that
tell the two apart say otherwise; a flattened list's item, a nested value that repeats its
parent and a list of ids read as the field they name; a note of the patient's beside the
practice's, a catch-all name beside a column named for notes, a permission that is no
clinical role and a status that is the record's flag. Examples here are made up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ferry.mapping.columns import propose_export_columns
from ferry.sources.clinic_csv import create
from ferry.sources.clinic_csv.columns import choose_object, match_columns
from ferry.sources.clinic_csv.reader import RawColumn

from .test_export_proposer import ferry_map
from .test_object_choice import STAFF

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")

CUSTOMERS = ("id,given_name,family_name,email_address,phone_number,birthday,note\n"
             "C1,Ann,Lee,ann@example.com,+15550100101,1980-02-03,Prefers mornings\n"
             "C2,Bo,Ng,bo@example.com,+15550100102,1975-06-07,\n"
             "C3,Cy,Ho,cy@example.com,+15550100103,1990-10-11,Knee rehab\n")
BOOKINGS = ("id,status,start_at,customer_id,team_member_id,location_id,customer_note,"
            "seller_note\n"
            "B1,ACCEPTED,2026-11-03T09:00:00Z,C1,T1,L1,Running late,Check range of motion\n"
            "B2,NO_SHOW,2026-11-03T10:30:00Z,C2,T2,L1,,Follow-up\n"
            "B3,ACCEPTED,2026-11-04T14:15:00Z,C3,T1,L1,Parking?,Reassess\n")
TEAM = ("id,status,given_name,family_name,email_address,phone_number\n"
        "T1,ACTIVE,Dana,Reyes,dana@example.com,+15550100201\n"
        "T2,INACTIVE,Sam,Ortiz,sam@example.com,+15550100202\n"
        "T3,ACTIVE,Li,Wong,li@example.com,+15550100203\n")


def read(options: dict, workdir: Path, obj: str) -> list:
    src = create({k: v for k, v in options.items() if k != "kind"}, workdir)

    async def go() -> list:
        return [r async for p in src.read(obj) for r in p.records]

    return asyncio.run(go())


def test_ferry_map_reads_a_booking_systems_files_named_in_its_own_words(
        tmp_path: Path) -> None:
    # before: team_members.csv named no object and its columns (a person's) fit a patient as
    # well as a practitioner: held, nothing of it read; the bookings' customer_id and
    # team_member_id linked to no one
    out, opts, _ = ferry_map(tmp_path, {"customers.csv": CUSTOMERS, "bookings.csv": BOOKINGS,
                                        "team_members.csv": TEAM})
    assert "review file:" not in out
    # nothing was extracted yet, so no row was refused (the note said every row was)
    assert "nothing staged from" not in out and "nothing staged yet" in out
    src = create({k: v for k, v in opts.items() if k != "kind"}, tmp_path)
    assert {p.table.name: p.object for p in src.plans()} == {
        "customers.csv": "patient", "bookings.csv": "appointment",
        "team_members.csv": "practitioner"}
    visits = {r.source_id: r for r in read(opts, tmp_path, "appointment")}
    assert visits["B1"].patient_id == "C1" and visits["B1"].practitioner_id == "T1"
    # the practice's note is the appointment's; the customer's own note is kept apart
    assert visits["B1"].notes == "Check range of motion"
    staff = {r.source_id: r for r in read(opts, tmp_path, "practitioner")}
    assert staff["T1"].active is True and staff["T2"].active is False
    patients = {r.source_id: r for r in read(opts, tmp_path, "patient")}
    assert patients["C3"].notes == "Knee rehab"


def test_a_staff_list_is_read_as_its_name_says() -> None:
    # a staff list's columns are a person's: a patient has every one of them (and a mobile
    # and a work phone); they do not tell the two apart, so the name decides
    headers = STAFF.splitlines()[0].split(",")
    assert (choose_object("staff", headers).object, choose_object("staff", headers).doubt) == (
        "practitioner", "")
    # columns only a patient has still contradict the name: held for a person
    c = choose_object("staff", [*headers, "Date of Birth", "Allergies", "Medical History"])
    assert c.doubt and {c.object, c.runner_up} == {"patient", "practitioner"}


def test_an_invoice_file_whose_generic_columns_an_appointment_shares_is_an_invoice() -> None:
    # a status, a title, a description, an amount fit an appointment too; the due date and
    # the invoice number only an invoice
    c = choose_object("invoices", ["id", "status", "title", "description", "scheduled_at",
                                   "location_id", "invoice_number", "due_date", "amount",
                                   "currency"])
    assert (c.object, c.doubt) == ("invoice", "")


def test_flattened_lists_nested_values_and_lists_of_ids_read_as_their_fields() -> None:
    person = match_columns("patient", ["id", "phones.0.number", "addresses.0.countryOrRegion",
                                       "address.administrative_district_level_1"])
    assert person["phones.0.number"] == "phone"
    assert person["addresses.0.countryOrRegion"] == "country"
    assert person["address.administrative_district_level_1"] == "region"
    visit = match_columns("appointment", ["id", "startDateTime.dateTime",
                                          "endDateTime.dateTime", "staffMemberIds",
                                          "customers.0.customerId"])
    assert visit["startDateTime.dateTime"] == "start"
    assert visit["endDateTime.dateTime"] == "end"
    assert visit["staffMemberIds"] == "practitioner_id"
    assert visit["customers.0.customerId"] == "patient_id"


def placed(cols: list[RawColumn], obj: str) -> dict[str, tuple[str | None, str]]:
    return {p.column: (p.target, p.status)
            for p in propose_export_columns({obj: cols}, {}, embedder=None)}  # type: ignore[arg-type]


START = RawColumn("start", ["2026-11-03T09:00:00", "2026-11-03T10:30:00", "2026-11-04T14:15:00",
                            "2026-11-05T08:30:00"], "start", "ap.csv", "own name")


def test_a_column_named_for_notes_beats_a_catch_all_name() -> None:
    # before: "additional information" (what is sent to the customer) took the notes at 1.0
    # and the staff's "service notes" went to review as a service code
    staff = RawColumn("serviceNotes", ["Reviewed home exercises", "", "Knee taped"], None,
                      "ap.csv")
    extra = RawColumn("additionalInformation", ["Please arrive 10 minutes early", "",
                                                "Bring your referral"], None, "ap.csv")
    got = placed([START, staff, extra], "appointment")
    assert got["serviceNotes"] == ("notes", "proposed")
    assert got["additionalInformation"][0] != "notes"


def test_the_patients_note_on_an_appointment_is_not_its_notes() -> None:
    theirs = RawColumn("customer_note", ["Running late", "", "Parking?"], None, "ap.csv")
    ours = RawColumn("seller_note", ["Check range of motion", "", "Reassess"], None, "ap.csv")
    got = placed([START, theirs, ours], "appointment")
    assert got["seller_note"] == ("notes", "proposed")
    assert got["customer_note"][1] != "proposed"


def test_a_permission_is_not_a_clinical_role() -> None:
    perm = RawColumn("role", ["administrator", "teamMember", "scheduler", "viewer"], None,
                     "st.csv")
    name = RawColumn("email", ["a@x.org", "b@y.org", "c@z.org", "d@x.org"], "email", "st.csv",
                     "own name")
    assert placed([name, perm], "practitioner")["role"][1] != "proposed"
    job = perm._replace(samples=["Physiotherapist", "Receptionist", "Massage therapist",
                                 "Physiotherapist"])
    assert placed([name, job], "practitioner")["role"] == ("role", "proposed")


def test_a_list_of_several_ids_in_one_cell_is_not_one_reference() -> None:
    one = RawColumn("staffMemberIds", ["T1", "T2", "T1"], "practitioner_id", "ap.csv",
                    "a list of ids read as one")
    assert placed([START, one], "appointment")["staffMemberIds"] == ("practitioner_id",
                                                                     "proposed")
    many = one._replace(samples=["T1,T2", "T2", "T1;T3"])
    assert placed([START, many], "appointment")["staffMemberIds"][1] != "proposed"
