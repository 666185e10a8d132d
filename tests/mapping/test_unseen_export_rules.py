"""Rules from the failure classes of the exports first measured as held out (Elation,
Metriport, DrChrono, Nookal, Tebra; 7 Dec evening): a name that only looks like a field's, a
record's metadata, a column named for more than the emergency contact, a time of day, a
practice that is the same in every row and values that name kinds of record each send the
column to a person instead of applying it; the part of the contact a column's last word
names, one word written apart and an office are read as themselves. Examples here are made up."""

from __future__ import annotations

import pytest

from ferry.mapping.columns import propose_export_columns
from ferry.mapping.profile import kind_fit, sniff
from ferry.mapping.propose import ACCEPT, canonical_targets, rank
from ferry.model.fields import Kind
from ferry.sources.clinic_csv.reader import RawColumn

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")


def placed(cols: list[RawColumn], obj: str = "patient") -> dict[str, tuple[str | None, str]]:
    return {p.column: (p.target, p.status) for p in propose_export_columns({obj: cols}, {})}


NAMES = [RawColumn("first_name", ["Ann", "Bo", "Cy", "Di"], "first_name", "pt.csv", "own name"),
         RawColumn("last_name", ["Lee", "Ng", "Ho", "Kim"], "last_name", "pt.csv", "own name")]
DATES = ["2024-02-01T10:00:00", "2025-07-19T08:30:00", "2023-11-02T16:45:00",
         "2026-01-05T09:15:00"]


def test_a_name_that_only_looks_like_the_fields_goes_to_a_person() -> None:
    # "deleted date" is spelt like "deceased date": when the record was deleted, not when
    # the person died
    got = placed([*NAMES, RawColumn("deleted_date", DATES, None, "pt.csv")])
    assert got["deleted_date"][1] != "proposed"
    # a word's own stem still reads as it ("referring source" is the referral source)
    got = placed([*NAMES, RawColumn("referring_source", ["Google", "Friend", "Google", "GP"],
                                    None, "pt.csv")])
    assert got["referring_source"] == ("referral_source", "proposed")


def test_a_records_metadata_is_not_a_field_of_the_record() -> None:
    # FHIR's meta.source flattened: the system that wrote the record, not how the patient
    # heard of the clinic
    got = placed([*NAMES, RawColumn("meta_source", ["hie", "hie", "ehr", "hie"], None,
                                    "pt.csv")])
    assert got["meta_source"][1] != "proposed"
    got = placed([*NAMES, RawColumn("lead_source", ["hie", "hie", "ehr", "hie"], None,
                                    "pt.csv")])
    assert got["lead_source"] == ("referral_source", "proposed")


class Agrees:
    """An embedder whose meanings always agree (MiniLM rates "emergency contact relation"
    0.92 against "emergency contact"): the name and the values must decide."""

    def similarity(self, a: str, b: str) -> float:
        return 0.95


def agreed(cols: list[RawColumn]) -> dict[str, tuple[str | None, str]]:
    return {p.column: (p.target, p.status)
            for p in propose_export_columns({"patient": cols}, {}, embedder=Agrees())}


def test_a_column_named_for_part_of_the_emergency_contact_is_not_the_contact() -> None:
    # the word after the contact names the part it holds: its relationship
    rel = RawColumn("emergency_contact_relation", ["Spouse", "Mother", "Friend", "Son"], None,
                    "pt.csv")
    assert agreed([*NAMES, rel])["emergency_contact_relation"] == ("_ec_relationship",
                                                                   "proposed")
    # a word that names no part: a person decides what it holds
    more = rel._replace(column="emergency_contact_details",
                        samples=["Jo Lee 0412", "Al Ng 0413", "Bo Ho 0414", "Cy Wu 0415"])
    assert agreed([*NAMES, more])["emergency_contact_details"][1] != "proposed"
    # the contact itself, plural or not, is the contact
    whole = rel._replace(column="emergency_contacts", samples=["Jo Lee", "Al Ng", "Bo Ho"])
    assert agreed([*NAMES, whole])["emergency_contacts"] == ("emergency_contact", "proposed")


def test_a_time_of_day_is_no_date_and_no_moment() -> None:
    times = ["09:45:00", "11:00:00", "14:45:00", "08:30:00"]
    assert kind_fit(Kind.DATETIME, sniff(times))[0] == -1
    assert kind_fit(Kind.DATE, sniff(["9:45 AM", "11:00 AM", "2:45 PM"]))[0] == -1
    # the source's matcher reads "appointmentEndTime" as the end: its values say otherwise
    when = RawColumn("appointmentDate", ["2026-11-03", "2026-11-03", "2026-11-04",
                                         "2026-11-06"], "start", "ap.csv", "own name")
    end = RawColumn("appointmentEndTime", times, "end", "ap.csv", "name without the file's name")
    assert placed([when, end], "appointment")["appointmentEndTime"][1] != "proposed"


def test_a_practice_that_is_the_same_in_every_row_goes_to_a_person() -> None:
    # Kareo's PracticeID: the account every row belongs to, or each record's clinic
    same = RawColumn("PracticeID", ["1", "1", "1", "1"], "clinic_id", "pt.csv", "synonym")
    assert placed([*NAMES, same])["PracticeID"] == ("clinic_id", "review")
    varied = same._replace(samples=["1", "2", "1", "3"])
    assert placed([*NAMES, varied])["PracticeID"] == ("clinic_id", "proposed")
    # a branch is a place whatever its count: one clinic's export keeps its link
    branch = same._replace(column="Branch ID")
    assert placed([*NAMES, branch])["Branch ID"] == ("clinic_id", "proposed")


def test_values_that_name_kinds_of_record_are_not_the_appointments_type() -> None:
    start = RawColumn("StartDate", ["11/03/2026 9:00:00 AM", "11/03/2026 10:30:00 AM",
                                    "11/04/2026 2:15:00 PM", "11/05/2026 8:30:00 AM"], "start",
                      "ap.csv", "own name")
    kind = RawColumn("Type", ["Patient", "Patient", "Other", "Patient"], "type_name", "ap.csv",
                     "synonym")
    assert placed([start, kind], "appointment")["Type"] == ("type_name", "review")
    visit = kind._replace(samples=["New Patient", "Follow-up", "Physical", "Follow-up"])
    assert placed([start, visit], "appointment")["Type"] == ("type_name", "proposed")


def top(header: str, samples: list[str], obj: str = "patient") -> tuple[str, float]:
    c = rank(header, samples, canonical_targets(obj), obj, top=1)[0]
    return c.target, c.confidence


def test_one_word_written_apart_is_the_word() -> None:
    target, conf = top("nick_name", ["Jav", "Bea", "Ted"])
    assert target == "preferred_name" and conf >= ACCEPT


def test_an_appointments_office_is_its_clinic() -> None:
    target, conf = top("office", ["318455", "318455", "318461"], "appointment")
    assert target == "clinic_id" and conf >= ACCEPT
    # the office's phone stays a phone of the person
    assert top("office_phone", ["(206) 555-0101", "(312) 555-0144"])[0] == "work_phone"
