from __future__ import annotations

import datetime as dt

import pytest
from tests.mapping.test_transforms import FakeLookup

from ferry.errors import MappingError
from ferry.mapping.compile import compile_mapping
from ferry.mapping.model import (
    Attach,
    Condition,
    CustomField,
    FieldMap,
    Fold,
    MappingDoc,
    ObjectMap,
    Parent,
    Transform,
)
from ferry.model.entities import Appointment, InsurancePolicy, Patient, Prescription
from ferry.model.fields import Kind

UTC = dt.UTC


def T(name, **args):
    return Transform(name=name, args=args)


def doc(**over):
    person = ObjectMap(
        name="patient_person", source="patient", target="person",
        id_field="custom:ferry_source_id",
        fields=[
            FieldMap(source="last_name", target="last_name", required=True),
            FieldMap(source=["first_name", "last_name"], target="name",
                     transform=[T("join")]),
            FieldMap(source="email", target="emails", transform=[T("email")]),
            FieldMap(source="phone", target="phones", transform=[T("phone_e164", region="GB")]),
            FieldMap(source="mrn", target="custom:mrn", transform=[T("truncate", max=4)]),
            FieldMap(source="blood_group", target="custom:blood_group",
                     value_map={"A+": "A+", "A pos": "A+"}),
            FieldMap(source="clinic_id", target="org_id", transform=[T("ref", object="clinic")]),
            FieldMap(source="primary_practitioner_id", target="owner_id", transform=[T("owner")]),
            FieldMap(source=None, target="custom:industry", default="Healthcare"),
            FieldMap(source="national_id", target="custom:nid", status="review"),
        ])
    cfs = {"person": [CustomField(name=n, label=n, kind=Kind.TEXT, key=f"h_{n}")
                      for n in ("ferry_source_id", "mrn", "blood_group", "industry")]}
    d = dict(source="practicehub", destination="pipedrive", objects=[person], custom_fields=cfs)
    d.update(over)
    return MappingDoc(**d)


def patient(**kw):
    base = dict(source_id="p1", first_name="Jane", last_name="Doe", email="JANE@EXAMPLE.com",
                phone="07911 123456", mrn="MRN123456", blood_group="A pos", clinic_id="c1",
                primary_practitioner_id="pr1")
    base.update(kw)
    return Patient(**base)


LK = FakeLookup(ids={("clinic", "c1"): "500"}, owners={"pr1": "9", None: "1"})


def test_build_person():
    (cm,) = compile_mapping(doc())
    assert cm.id_key == "h_ferry_source_id"
    b = cm.build(patient(), LK)
    assert b.error is None and not b.field_errors and not b.unresolved
    assert b.payload == {
        "h_ferry_source_id": "p1", "last_name": "Doe", "name": "Jane Doe",
        "emails": "JANE@example.com", "phones": "+447911123456", "h_mrn": "MRN1",
        "h_blood_group": "A+", "org_id": "500", "owner_id": "9", "h_industry": "Healthcare"}
    assert b.trace["h_mrn"] == ["truncate", "truncated"]
    assert b.trace["h_blood_group"] == ["value_map"]
    assert "h_nid" not in b.payload  # status review: not migrated until decided


def test_optional_failure_is_field_error_without_value():
    (cm,) = compile_mapping(doc())
    b = cm.build(patient(email="not-an-email", blood_group="Bombay"), LK)
    assert b.error is None
    assert {e.field for e in b.field_errors} == {"emails", "custom:blood_group"}
    assert all("not-an-email" not in str(e) and "Bombay" not in str(e) for e in b.field_errors)
    assert "emails" not in b.payload
    assert all(e.ref == "source:patient:p1" for e in b.field_errors)


def test_required_failure_is_record_error():
    (cm,) = compile_mapping(doc())
    b = cm.build(patient(last_name=None), LK)
    assert b.error is not None and b.error.field == "last_name"


def test_build_only_some_keys_gives_what_the_whole_build_does():
    """Reconcile builds only the amounts: the keys asked for hold what the whole payload
    holds, including after a required field that fails (the build stops there)."""
    (cm,) = compile_mapping(doc())
    only = frozenset({"h_mrn", "org_id", "h_industry"})
    for rec in (patient(), patient(clinic_id="c2"), patient(last_name=None),
                patient(mrn=None)):
        whole, part = cm.build(rec, LK), cm.build(rec, LK, only)
        assert {k: part.payload[k] for k in only if k in part.payload} == \
            {k: whole.payload[k] for k in only if k in whole.payload}
        assert (part.error is None) == (whole.error is None)
    part = cm.build(patient(), LK, only)
    assert set(part.payload) == {"h_ferry_source_id", "last_name", *only}  # no other fields


def test_unresolved_ref():
    (cm,) = compile_mapping(doc())
    b = cm.build(patient(clinic_id="c2"), LK)
    assert [(u.field, u.object, u.source_id) for u in b.unresolved] == [("org_id", "clinic", "c2")]
    assert "org_id" not in b.payload and b.error is None


def test_missing_key_and_unknown_names():
    d = doc()
    d.custom_fields["person"][1].key = None
    with pytest.raises(MappingError, match="'mrn'.*ferry prepare"):
        compile_mapping(d)
    assert compile_mapping(d, need_keys=False)[0].fields
    d2 = doc()
    d2.objects[0].fields.append(FieldMap(source="sex", target="custom:undeclared"))
    with pytest.raises(MappingError, match="not declared"):
        compile_mapping(d2)
    d3 = doc()
    d3.objects[0].fields.append(FieldMap(source="sex", target="x", transform=[T("eval")]))
    with pytest.raises(MappingError, match="unknown transform 'eval'"):
        compile_mapping(d3)
    d4 = doc()
    d4.objects[0].fields.append(FieldMap(source="sex", target="y", transform=[T("truncate")]))
    with pytest.raises(MappingError, match="needs argument"):
        compile_mapping(d4)
    d5 = doc()
    d5.objects[0].fields.append(FieldMap(source="sex", target="name"))
    with pytest.raises(MappingError, match="mapped twice"):
        compile_mapping(d5)
    d6 = doc()
    d6.objects.append(d6.objects[0].model_copy())
    with pytest.raises(MappingError, match="used twice"):
        compile_mapping(d6)


def appt(**kw):
    base = dict(source_id="a1", status="completed", type_name="Check-in Call",
                start=dt.datetime(2024, 3, 5, 14, 30, tzinfo=UTC), patient_id="p1")
    base.update(kw)
    return Appointment(**base)


def test_when_conditions():
    admin = ["check-in call", "Billing Discussion"]
    maps = [ObjectMap(name="task", source="appointment", target="Task",
                      when=Condition(field="type_name", **{"in": admin})),
            ObjectMap(name="event", source="appointment", target="Event",
                      when=Condition(field="type_name", not_in=admin)),
            ObjectMap(name="cancelled", source="appointment", target="x",
                      when=Condition(field="cancellation_reason", empty=False))]
    task, event, canc = compile_mapping(MappingDoc(source="s", destination="d", objects=maps))
    a = appt()
    assert task.accepts(a) and not event.accepts(a) and not canc.accepts(a)
    b = appt(type_name="Consultation", cancellation_reason="sick")
    assert not task.accepts(b) and event.accepts(b) and canc.accepts(b)
    # the lists are normalised once per map, and again when the mapping changes them
    maps[0].when.in_.append("consultation")  # type: ignore[union-attr]
    assert task.accepts(b) and task.accepts(a)


def test_fold_merge_and_attach():
    fold = ObjectMap(name="ins", source="insurance_policy", target="person", mode="fold",
                     parent=Parent(object="patient", via="patient_id"),
                     fold=Fold(strategy="join", separator=" | ", order_by="effective_date"),
                     fields=[FieldMap(source="carrier", target="carrier")])
    att = ObjectMap(name="rx", source="prescription", target="file", mode="attach",
                    parent=Parent(object="patient", via="patient_id"),
                    attach=Attach(content="render",
                                  file_name="Prescription {prescribed_on:%Y-%m-%d} {medication}.txt"))
    cf, ca = compile_mapping(MappingDoc(source="s", destination="d", objects=[fold, att]))
    p1 = InsurancePolicy(source_id="i1", patient_id="p", carrier="Aetna",
                         effective_date=dt.date(2023, 1, 1))
    p2 = InsurancePolicy(source_id="i2", patient_id="p", carrier="Cigna",
                         effective_date=dt.date(2022, 1, 1))
    items = [(p, cf.build(p, LK)) for p in (p1, p2)]
    assert cf.merge_folded(items) == {"carrier": "Cigna | Aetna"}
    cf.om.fold.strategy = "latest"
    assert cf.merge_folded(items) == {"carrier": "Aetna"}
    cf.om.fold.strategy = "list"
    assert cf.merge_folded(items) == {"carrier": ["Cigna", "Aetna"]}
    rx = Prescription(source_id="r1", patient_id="p", medication="Amoxicillin",
                      prescribed_on=dt.date(2024, 5, 1), dosage="500mg")
    assert ca.attach_name(rx, LK) == "Prescription 2024-05-01 Amoxicillin.txt"
    text = ca.render_text(rx, LK)
    assert "medication: Amoxicillin" in text and "prescribed_on: 2024-05-01" in text
