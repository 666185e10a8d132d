"""Rules from the failure classes of the exports first measured as held-out-4 (Healthie,
IntakeQ; 7 Dec night): a name ending in how a record is shown is not its reference, a group
word is kept when what it leaves is a word every record has, an organisation that is the same
in every row may be the account, and a name is read without a format word (``iso``, ``short``),
without ``primary`` where the record keeps one value, and in the trade's words for a unit and
for additional information. Examples here are made up."""

from __future__ import annotations

import pytest

from ferry.mapping.columns import propose_export_columns
from ferry.sources.clinic_csv.reader import RawColumn

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")


def placed(cols: list[RawColumn], obj: str = "patient", embedder: object = None
           ) -> dict[str, tuple[str | None, str]]:
    return {p.column: (p.target, p.status)
            for p in propose_export_columns({obj: cols}, {}, embedder=embedder)}  # type: ignore[arg-type]


class Agrees:
    """An embedder whose meanings always agree (MiniLM rates "practitioner name" 0.90 against
    "practitioner"): the name and the values must decide."""

    def similarity(self, a: str, b: str) -> float:
        return 0.95


NAMES = [RawColumn("first_name", ["Ann", "Bo", "Cy", "Di"], "first_name", "pt.csv", "own name"),
         RawColumn("last_name", ["Lee", "Ng", "Ho", "Kim"], "last_name", "pt.csv", "own name")]
START = RawColumn("start", ["2026-11-03T09:00:00", "2026-11-03T10:30:00", "2026-11-04T14:15:00",
                            "2026-11-05T08:30:00"], "start", "ap.csv", "own name")


def test_a_name_of_a_person_is_not_a_reference_to_them() -> None:
    # the provider's name beside the appointment: how the practitioner is shown, not the id
    # the appointment links by (a person's name in a reference field links to nobody)
    name = RawColumn("provider_name", ["Dana Reyes", "Sam Ortiz", "Dana Reyes", "Li Wong"], None,
                     "ap.csv")
    assert placed([START, name], "appointment", Agrees())["provider_name"][1] != "proposed"
    # the reference itself still links
    ref = name._replace(column="provider", samples=["4411", "4412", "4411", "4413"])
    assert placed([START, ref], "appointment", Agrees())["provider"] == ("practitioner_id",
                                                                          "proposed")


def test_a_group_word_before_a_word_every_record_has_is_what_the_column_says() -> None:
    # "contact type" is how the contact is made (video, phone, in person), not the
    # appointment's type
    how = RawColumn("contact_type", ["Video Call", "In Person", "Phone Call", "In Person"], None,
                    "ap.csv")
    assert placed([START, how], "appointment")["contact_type"][1] != "proposed"
    # the group word before a field of its own still drops ("contact email" is the email)
    mail = RawColumn("contact_email", ["a@x.org", "b@y.org", "c@z.org", "d@x.org"], None,
                     "pt.csv")
    assert placed([*NAMES, mail])["contact_email"] == ("email", "proposed")


def test_an_organisation_that_is_the_same_in_every_row_goes_to_a_person() -> None:
    # one organisation on every provider: the account the export came from, or their clinic
    org = RawColumn("organization_id", ["30121", "30121", "30121", "30121"], None, "pr.csv")
    got = placed([*NAMES, org], "practitioner")["organization_id"]
    assert got == ("clinic_id", "review")
    varied = org._replace(samples=["30121", "30122", "30121", "30125"])
    assert placed([*NAMES, varied], "practitioner")["organization_id"] == ("clinic_id",
                                                                           "proposed")


def test_a_format_word_says_how_the_value_is_written_not_what_it_is() -> None:
    end = RawColumn("EndDateIso", ["2026-11-03T09:50:00", "2026-11-03T11:00:00",
                                   "2026-11-04T14:45:00", "2026-11-05T09:30:00"], None, "ap.csv")
    start = end._replace(column="StartDateIso", samples=list(START.samples))
    cur = RawColumn("CurrencyIso", ["USD", "USD", "USD", "USD"], None, "ap.csv")
    got = placed([start, end, cur], "appointment")
    assert got["StartDateIso"] == ("start", "proposed")
    assert got["EndDateIso"] == ("end", "proposed")
    assert got["CurrencyIso"] == ("currency", "proposed")
    state = RawColumn("StateShort", ["MT", "OK", "MA", "IA"], None, "pt.csv")
    assert placed([*NAMES, state])["StateShort"] == ("region", "proposed")


def test_the_primary_one_of_a_value_the_record_keeps_once_is_that_value() -> None:
    race = RawColumn("primary_race", ["White", "Asian", "White", "Black or African American"],
                     None, "pt.csv")
    assert placed([*NAMES, race])["primary_race"] == ("race", "proposed")
    # the primary insurer is the insurance policy's, which the patient has no field for
    payer = RawColumn("PrimaryInsuranceCompany", ["Aetna", "", "Cigna", "Aetna"], None, "pt.csv")
    assert placed([*NAMES, payer])["PrimaryInsuranceCompany"][1] != "proposed"


def test_a_unit_number_and_additional_information_are_the_trades_words() -> None:
    unit = RawColumn("UnitNumber", ["", "Apt 4", "", "Suite 210"], None, "pt.csv")
    info = RawColumn("AdditionalInformation", ["Prefers evenings.", "", "Referred by school.",
                                               ""], None, "pt.csv")
    got = placed([*NAMES, unit, info])
    assert got["UnitNumber"] == ("street2", "proposed")
    assert got["AdditionalInformation"] == ("notes", "proposed")
