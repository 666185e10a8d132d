"""Two maps writing one field of the same destination record: confirm refuses the map, since
only the last value written would stay (hfix3: a guessed ``custom.cell_no`` sent to the
billing fold's ``custom:last_bill_number``; the Odoo no-accounting recipes folded invoices'
and payments' methods into one "Last payment method")."""

from __future__ import annotations

import pytest

from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap, Parent
from ferry.mapping.recipes import available, load_recipe
from ferry.mapping.validate import validate


def _doc(*objects: ObjectMap) -> MappingDoc:
    return MappingDoc(source="practicehub", destination="odoo", objects=list(objects))


PATIENT = ObjectMap(name="patients", source="patient", target="res.partner",
                    id_field="custom:ferry_source_id",
                    fields=[FieldMap(source="last_name", target="name"),
                            FieldMap(source="custom.cell_no", target="custom:last_bill_number")])
BILLING = ObjectMap(name="billing_on_partner", source="invoice", target="res.partner",
                    mode="fold", parent=Parent(object="patient", via="patient_id"),
                    fields=[FieldMap(source="number", target="custom:last_bill_number")])


def _twice(doc: MappingDoc) -> list[str]:
    return [p for p in validate(doc) if "both write" in p]


def test_a_fold_and_its_parents_map_on_one_field_are_refused() -> None:
    problems = _twice(_doc(PATIENT, BILLING))
    assert problems == ["billing_on_partner and patients both write"
                        " res.partner.custom:last_bill_number on the same patient's record: one"
                        " value would overwrite the other; point one of them at another field"]


def test_two_folds_onto_one_parent_on_one_field_are_refused() -> None:
    other = BILLING.model_copy(update={"name": "payments", "source": "payment"})
    assert len(_twice(_doc(PATIENT.model_copy(update={"fields": PATIENT.fields[:1]}),
                           BILLING, other))) == 1


def test_maps_that_write_different_records_may_share_a_field() -> None:
    # practitioners and patients both land on res.partner's name: different records
    staff = ObjectMap(name="staff", source="practitioner", target="res.partner",
                      id_field="custom:ferry_source_id",
                      fields=[FieldMap(source="last_name", target="name")])
    # a fold onto another map of the same object (parent.map) is not a rival of this one
    elsewhere = BILLING.model_copy(update={"parent": Parent(object="patient", via="patient_id",
                                                            map="patients_as_leads")})
    assert _twice(_doc(PATIENT, staff, elsewhere)) == []


@pytest.mark.parametrize("source,destination,variant", available())
def test_no_recipe_writes_a_field_twice(source: str, destination: str, variant: str) -> None:
    assert _twice(load_recipe(source, destination, variant)) == []


def test_the_proposer_does_not_guess_a_column_onto_a_folds_field() -> None:
    # a patients' export column named like a fold's field: before, the proposer sent it to
    # custom:last_payment_amount (to review), which the payments' fold writes on the same
    # partner; a reviewer accepting the guess made confirm refuse the map
    from ferry.mapping.draft import add_source_custom_fields
    from ferry.mapping.validate import profile_records
    from ferry.model.entities import CustomValue, Patient

    doc = load_recipe("clinic_csv", "odoo", None)
    patients = [Patient(source_id=str(i), first_name="A", last_name="B", custom={
        "last_bill_amount": CustomValue(type="decimal", value=f"{i}2.50",
                                        label="Last bill amount")}) for i in range(1, 6)]
    add_source_custom_fields(doc, {"patient": profile_records(patients)})
    guessed = [fm for om in doc.objects for fm in om.fields
               if fm.source == "custom.last_bill_amount"]
    assert len(guessed) == 1
    guessed[0].status = "mapped"  # the reviewer accepts it
    assert _twice(doc) == []
