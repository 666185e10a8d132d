"""A small confirmed PracticeHub → Pipedrive map for the end-to-end verification tests.

Hand-written rather than taken from the recipe so the tests pin exactly which fields move and
how (a value map, a truncate, refs, owners, a text field the Pipedrive sandbox can be told to
truncate silently).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.mapping.mapping_file import content_hash, save
from ferry.mapping.model import (
    Attach,
    Confirmation,
    CustomField,
    FieldMap,
    Fold,
    MappingDoc,
    ObjectMap,
    Parent,
    Transform,
)
from ferry.model.fields import Kind


def T(name: str, **args: object) -> Transform:
    return Transform(name=name, args=args)


def sid_field() -> CustomField:
    return CustomField(name="ferry_source_id", label="Ferry source id", kind=Kind.TEXT,
                       external_id=True)


def doc() -> MappingDoc:
    return MappingDoc(
        source="practicehub", destination="pipedrive",
        objects=[
            ObjectMap(name="clinic_org", source="clinic", target="organization",
                      id_field="custom:ferry_source_id", fields=[
                          FieldMap(source="name", target="name", required=True),
                          FieldMap(source="website", target="website")]),
            ObjectMap(name="practitioner_user", source="practitioner", target="user",
                      mode="users"),
            ObjectMap(name="patient_person", source="patient", target="person",
                      id_field="custom:ferry_source_id", fields=[
                          FieldMap(source=["first_name", "last_name"], target="name",
                                   transform=[T("join")], required=True,
                                   default="Unnamed patient"),
                          FieldMap(source="email", target="emails", transform=[T("email")]),
                          FieldMap(source="date_of_birth", target="birthday"),
                          FieldMap(source="clinic_id", target="org_id",
                                   transform=[T("ref", object="clinic")]),
                          FieldMap(source="primary_practitioner_id", target="owner_id",
                                   transform=[T("owner")]),
                          FieldMap(source="mrn", target="custom:mrn",
                                   transform=[T("truncate", max=6)]),
                          FieldMap(source="occupation", target="custom:occupation"),
                          FieldMap(source="status", target="custom:patient_status",
                                   value_map={"active": "Active", "inactive": "Inactive",
                                              "archived": "Archived"},
                                   value_map_default="keep")]),
            ObjectMap(name="appointment_deal", source="appointment", target="deal",
                      id_field="custom:ferry_source_id", fields=[
                          FieldMap(source="type_name", target="title", default="Appointment",
                                   required=True),
                          FieldMap(source="fee", target="value", transform=[T("money")]),
                          FieldMap(source="currency", target="currency"),
                          FieldMap(source="patient_id", target="person_id",
                                   transform=[T("ref", object="patient")]),
                          FieldMap(source="clinic_id", target="org_id",
                                   transform=[T("ref", object="clinic")]),
                          FieldMap(source="practitioner_id", target="owner_id",
                                   transform=[T("owner")]),
                          FieldMap(source="start", target="expected_close_date",
                                   transform=[T("date")])]),
            ObjectMap(name="note_note", source="clinical_note", target="note", id_field="~id",
                      fields=[
                          FieldMap(source="body", target="content", required=True),
                          FieldMap(source="patient_id", target="person_id",
                                   transform=[T("ref", object="patient")], required=True)]),
            ObjectMap(name="insurance_fold", source="insurance_policy", target="person",
                      mode="fold", parent=Parent(object="patient", via="patient_id"),
                      fold=Fold(strategy="join", separator="; ", order_by="source_id"),
                      fields=[FieldMap(source="carrier", target="custom:insurance_carrier")]),
            ObjectMap(name="insurance_dates", source="insurance_policy", target="person",
                      mode="fold", parent=Parent(object="patient", via="patient_id"),
                      fold=Fold(strategy="latest", order_by="effective_date"),
                      fields=[FieldMap(source="effective_date",
                                       target="custom:insurance_effective")]),
            ObjectMap(name="document_file", source="document", target="file", mode="attach",
                      parent=Parent(object="patient", via="patient_id"),
                      attach=Attach(content="file", file_name="{file_name}")),
            ObjectMap(name="workflow_none", source="workflow", target="none", mode="none",
                      note="no Pipedrive equivalent: rebuild as Automations"),
        ],
        custom_fields={
            "organization": [sid_field()],
            "person": [sid_field(),
                       CustomField(name="mrn", label="MRN", kind=Kind.TEXT),
                       CustomField(name="occupation", label="Occupation", kind=Kind.TEXT),
                       CustomField(name="patient_status", label="Patient status",
                                   kind=Kind.TEXT),
                       CustomField(name="insurance_carrier", label="Insurance carrier",
                                   kind=Kind.TEXT),
                       CustomField(name="insurance_effective", label="Insurance effective",
                                   kind=Kind.DATE)],
            "deal": [sid_field()],
        })


def write_confirmed(path: Path, d: MappingDoc | None = None) -> MappingDoc:
    d = d or doc()
    d.confirmed = Confirmation(hash=content_hash(d), by="tests",
                               at=dt.datetime.now(dt.UTC).isoformat())
    save(d, path)
    return d
