"""Rules from a UK physio practice's own CSV export (clinic_csv → Odoo, a newcomer's first
migration; the flow is tests/cli/test_own_export.py): money values never fill an identifier
field, and a column is not written on another object's record without a person deciding; a
custom column of amounts gets the money transform and a numeric field; keys and links named
as a reference or an abbreviated number (``Client Ref``, ``Booking Ref``, ``Staff No``,
``Site No``) are placed, another record's number (``Policy No``) is not a number of this one,
and a registration date is when the record was created; the map declares (so ``prepare``
creates) only the custom fields a line that the export fills writes. Examples are made up."""

from __future__ import annotations

import pytest

from ferry.connectors.base import FieldSpec, ObjectInfo
from ferry.engine.prepare import schema_items
from ferry.mapping.columns import propose_export_columns
from ferry.mapping.draft import draft_mapping
from ferry.mapping.validate import FieldProfile
from ferry.model.fields import Kind
from ferry.sources.clinic_csv.reader import RawColumn

# Odoo without Accounting: the invoice folds onto the patient's partner (billing_on_partner)
PARTNER = ObjectInfo("res.partner", fields=[
    FieldSpec("name", Kind.TEXT, required=True), FieldSpec("vat", Kind.TEXT, label="Tax ID"),
    FieldSpec("website", Kind.TEXT, label="Website Link"), FieldSpec("email", Kind.EMAIL)])
SCHEMA = [PARTNER, ObjectInfo("crm.lead", fields=[FieldSpec("name", Kind.TEXT)])]


#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")


def prof(*values: str, kind: Kind | None = None) -> FieldProfile:
    filled = [v for v in values if v]
    return FieldProfile(values=list(dict.fromkeys(filled)), samples=filled[:2],
                        filled=len(filled), total=len(values), kind=kind)


def patient_profile(**extra: FieldProfile) -> dict[str, FieldProfile]:
    return {"first_name": prof("Ann", "Bob"), "last_name": prof("Example", "Example"),
            "email": prof("ann@example.co.uk", "bob@example.co.uk"),
            "blood_group": prof("", ""), "allergies": prof("", ""), "mrn": prof("", ""),
            **extra}


def line(doc, obj: str, source: str):  # type: ignore[no-untyped-def]
    return next(fm for om in doc.objects if om.source == obj for fm in om.fields
                if fm.source == source)


def test_money_values_never_fill_an_identifier_field() -> None:
    # the invoice's VAT (£0.00) is no tax id: res.partner.vat was taken at confidence 1.0
    profile = {"patient": patient_profile(),
               "invoice": {"amount": prof("105.00", "45.00"), "patient_id": prof("1", "2"),
                           "custom.vat": prof("£0.00", "£0.00", "£8.75", kind=Kind.TEXT)}}
    doc = draft_mapping("clinic_csv", "odoo", profile, SCHEMA)
    fm = line(doc, "invoice", "custom.vat")
    assert fm.target != "vat"
    cf = next(c for c in doc.custom_fields["res.partner"] if f"custom:{c.name}" == fm.target)
    assert cf.kind is Kind.MONEY and [t.name for t in fm.transform] == ["money"]


def test_a_column_is_not_written_on_another_objects_record_without_review() -> None:
    # the invoice's own column matches a field of the partner its fold writes on: the field
    # is the patient's, so a person decides whether it is the invoice's too
    profile = {"patient": patient_profile(),
               "invoice": {"amount": prof("105.00", "45.00"), "patient_id": prof("1", "2"),
                           "custom.website": prof("https://pay.example.co.uk/1",
                                                  "https://pay.example.co.uk/2")}}
    fm = line(draft_mapping("clinic_csv", "odoo", profile, SCHEMA), "invoice", "custom.website")
    assert fm.target == "website" and fm.status == "review"
    assert "patient's record" in fm.reason


def test_a_custom_money_column_gets_the_money_transform_and_a_numeric_field() -> None:
    profile = {"patient": patient_profile(**{
        "custom.outstanding_balance": prof("£0.00", "£45.00", "£120.50", kind=Kind.TEXT)})}
    doc = draft_mapping("clinic_csv", "odoo", profile, SCHEMA)
    fm = line(doc, "patient", "custom.outstanding_balance")
    assert fm.target.startswith("custom:") and [t.name for t in fm.transform] == ["money"]
    cf = doc.custom_field("res.partner", fm.target[7:])
    assert cf is not None and cf.kind is Kind.MONEY


def export() -> dict[str, list[RawColumn]]:
    def col(name: str, samples: list[str], file: str) -> RawColumn:
        return RawColumn(name, samples, None, file)
    clients = "Clients.csv"
    bookings = "Bookings.csv"
    staff = "Staff.csv"
    return {
        "patient": [col("Client Ref", ["10000", "10001", "10002", "10003"], clients),
                    RawColumn("Forename", ["Ann", "Bob", "Cat", "Dan"], "first_name", clients,
                              "synonym"),
                    col("Registered", ["12/01/2019", "03/03/2020", "15/07/2021", "28/02/2022"],
                        clients),
                    col("Policy No", ["88231", "1203", "55120", "7781"], clients)],
        "appointment": [col("Booking Ref", ["160000", "160001", "160002", "160003"], bookings),
                        col("Client Ref", ["10000", "10001", "10002", "10000"], bookings),
                        col("Staff No", ["7", "8", "7", "9"], bookings),
                        col("Site No", ["1", "2", "1", "1"], bookings),
                        RawColumn("Date", ["03/05/2020", "04/05/2020", "05/05/2020",
                                           "06/05/2020"], "start", bookings, "synonym")],
        "practitioner": [col("Staff No", ["7", "8", "9"], staff),
                         RawColumn("Surname", ["Green", "Brown", "White"], "last_name", staff,
                                   "synonym")],
    }


def test_references_and_abbreviated_numbers_are_keys_and_links() -> None:
    got = {(p.object, p.column): (p.target, p.status)
           for p in propose_export_columns(export(), {})}
    assert got[("patient", "Client Ref")] == ("source_id", "proposed")
    assert got[("appointment", "Booking Ref")] == ("source_id", "proposed")
    assert got[("practitioner", "Staff No")] == ("source_id", "proposed")
    assert got[("appointment", "Client Ref")] == ("patient_id", "proposed")
    assert got[("appointment", "Staff No")] == ("practitioner_id", "proposed")
    assert got[("appointment", "Site No")] == ("clinic_id", "proposed")


def test_another_records_number_and_a_registration_date() -> None:
    got = {(p.object, p.column): (p.target, p.status)
           for p in propose_export_columns(export(), {})}
    # the insurance policy's number is no patient number (nor any number of the patient's)
    assert got[("patient", "Policy No")] == (None, "custom")
    assert got[("patient", "Registered")] == ("created_at", "proposed")


def test_only_custom_fields_the_export_fills_are_declared() -> None:
    # blood group, allergies and MRN are recipe fields this export has no column for: no
    # line writes them, so prepare must not create them (69 fields were made on res.partner)
    profile = {"patient": patient_profile(**{"custom.policy_no": prof("88231", "1203")})}
    doc = draft_mapping("clinic_csv", "odoo", profile, SCHEMA)
    declared = {cf.name for cf in doc.custom_fields.get("res.partner", [])}
    assert not declared & {"blood_group", "blood_group_other", "allergies", "mrn"}
    assert "src_policy_no" in declared and "ferry_source_id" in declared
    assert line(doc, "patient", "allergies").status == "ignored"
    made = {i.name for i in schema_items(doc) if i.kind == "custom_field"}
    assert "allergies" not in made and "prescription_summary" not in made  # no prescriptions
    # an API source's empty field may fill later: its recipe lines stay
    pulse = draft_mapping("pulse", "odoo", profile, SCHEMA)
    fm = line(pulse, "patient", "allergies")
    assert fm.status != "ignored" and pulse.custom_field("res.partner", fm.target[7:])
