"""Rules from the 7 Dec failure classes (written on tuning data; examples here are made up):
a name match the values or the sibling columns contradict goes to a person, never applied;
table abbreviations, other tables' keys, group prefixes and a few synonyms are read."""

from __future__ import annotations

import pytest

from ferry.mapping.columns import propose_export_columns
from ferry.mapping.propose import ACCEPT, canonical_targets, rank
from ferry.mapping.vocab import normalise
from ferry.sources.clinic_csv.reader import RawColumn

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")


def placed(cols: list[RawColumn], obj: str = "patient") -> dict[str, tuple[str | None, str]]:
    return {p.column: (p.target, p.status) for p in propose_export_columns({obj: cols}, {})}


NAMES = [RawColumn("LName", ["Lee", "Ng", "Ho", "Kim"], "last_name", "pt.csv", "synonym"),
         RawColumn("FName", ["Ann", "Bo", "Cy", "Di"], "first_name", "pt.csv", "synonym")]


def test_a_row_key_of_unique_whole_numbers_is_never_applied_as_a_human_number() -> None:
    # "PatNum" reads as patient number, but its values are unique integers, it comes first
    # and the file has no other key: the record's own id, so a person decides
    key = RawColumn("PatNum", ["1041", "1042", "1057", "1063"], None, "pt.csv")
    got = placed([key, *NAMES])
    assert got["PatNum"][1] != "proposed"
    # the same name beside a key column is a number a person reads: applied
    ident = RawColumn("id", ["a1", "a2", "a3", "a4"], "source_id", "pt.csv", "own name")
    assert placed([ident, key, *NAMES])["PatNum"] == ("patient_number", "proposed")


def test_an_address_without_the_city_and_postcode_its_siblings_hold_is_a_street_line() -> None:
    city = RawColumn("city", ["Leeds", "York", "Bath", "Hull"], "city", "pt.csv", "own name")
    post = RawColumn("postcode", ["LS1 4AP", "YO1 7HH", "BA1 1LZ", "HU1 2AA"], "postcode",
                     "pt.csv", "own name")
    street = RawColumn("address", ["Flat 2\nMill Yard", "Studio 9\nKing Row", "4 Abbey Green",
                                   "The Old Forge"], "address", "pt.csv", "own name")
    got = placed([*NAMES, street, city, post])
    assert got["address"] == ("street", "review")
    whole = street._replace(samples=["Flat 2, Mill Yard, Leeds LS1 4AP", "9 King Row, York",
                                     "4 Abbey Green, Bath BA1 1LZ", "1 Quay St, Hull HU1 2AA"])
    assert placed([*NAMES, whole, city, post])["address"] == ("address", "proposed")
    # each column's samples are its own first cells, not one row's: whole addresses that name
    # other towns than the city column's samples still carry a postcode's shape (Pulse's
    # Address once went to review as a street line, and the patients lost their country)
    other = street._replace(samples=["Nickweg 750, 8198 VV Hurwenen, Overijssel, NL",
                                     "Kerkstraat 1, 1017 GA Amsterdam, NL",
                                     "Dorpsweg 12, 3411 AB Lopik, NL", "Laan 3, 2511 CV Den Haag"])
    nl_post = post._replace(samples=["6811 KP", "9711 LM", "5611 AZ", "3511 EW"])
    assert placed([*NAMES, other, city, nl_post])["address"] == ("address", "proposed")
    assert placed([*NAMES, street, city, nl_post])["address"] == ("street", "review")
    # a practitioner has no street field: its street line is all the address it has
    assert placed([*NAMES, street, city, post], "practitioner")["address"] == (
        "address", "proposed")


@pytest.mark.parametrize(("header", "obj", "want"), [
    ("MiddleI", "patient", "middle initial"),
    ("DateTStamp", "patient", "date time stamp"),
    ("TxtMsgOk", "patient", "text message consent"),
    ("WirelessPhone", "patient", "mobile phone"),
    ("PriProv", "patient", "primary practitioner"),
    ("AptNum", "patient", "appointment id"),  # another table's key
    ("ClinicNum", "patient", "clinic id"),
    ("ProvNum", "appointment", "practitioner id"),
    ("PatNum", "patient", "patient number"),  # the file's own key: the values decide
    ("address_line1", "patient", "address line 1"),
    ("Address1City__c", "patient", "address 1 city"),  # Salesforce's suffix
    ("HealthCloudGA__MaritalStatusLabel__c", "patient", "marital status label"),
    ("Iris", "patient", "iris"),  # a one-letter reading only beside its context word
])
def test_abbreviations_and_other_tables_keys(header: str, obj: str, want: str) -> None:
    assert normalise(header, obj) == want


def top(header: str, samples: list[str], obj: str = "patient") -> tuple[str, float]:
    c = rank(header, samples, canonical_targets(obj), obj, top=1)[0]
    return c.target, c.confidence


@pytest.mark.parametrize(("header", "samples", "want"), [
    ("address_city", ["Oakland", "Austin"], "city"),
    ("address_zip", ["94610", "78701"], "postcode"),
    ("address_state", ["CA", "TX"], "region"),
    ("Address1PostalCode__c", ["62701", "48126"], "postcode"),
    ("contact_email", ["a@x.com", "b@y.org"], "email"),
])
def test_a_group_prefix_is_dropped(header: str, samples: list[str], want: str) -> None:
    target, conf = top(header, samples)
    assert target == want and conf >= ACCEPT


def test_emergency_contact_columns_keep_their_group() -> None:
    assert top("emergency_contact_phone", ["0412 555 019", "0413 555 020"])[0] != "phone"


def test_synonyms_chosen_name_and_a_providers_letters() -> None:
    assert top("chosen_first_name", ["Jo", "Al"]) >= ("preferred_name", ACCEPT)
    assert top("Suffix", ["DDS", "DMD", "DDS"], "practitioner")[0] == "credentials"
    assert top("StateLicense", ["CA12345", "TX99812"], "practitioner")[0] == "license_number"
    assert top("TxtMsgOk", ["true", "false"])[0] == "consent_sms"
    assert top("MiddleI", ["K", "J"])[0] == "middle_name"
    assert top("WirelessPhone", ["0412 555 019", "0413 555 020"])[0] == "mobile"


def test_the_first_of_a_numbered_set_is_the_field() -> None:
    assert top("GivenName1__c", ["Jane", "Omar"]) >= ("first_name", ACCEPT)
    assert top("FamilyName1__c", ["Appleseed", "Haddad"]) >= ("last_name", ACCEPT)
    assert top("address_line1", ["1 Elm St", "2 Oak Rd"])[0] == "street"
