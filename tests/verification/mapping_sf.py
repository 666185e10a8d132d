"""A small confirmed PracticeHub → Salesforce map (Account, Contact) for the sample tests."""

from __future__ import annotations

from ferry.mapping.model import CustomField, FieldMap, MappingDoc, ObjectMap, Transform
from ferry.model.fields import Kind


def T(name: str, **args: object) -> Transform:
    return Transform(name=name, args=args)


def doc() -> MappingDoc:
    sid = CustomField(name="ferry_source_id", label="Ferry source id", kind=Kind.TEXT,
                      external_id=True)
    return MappingDoc(
        source="practicehub", destination="salesforce",
        objects=[
            ObjectMap(name="clinic_account", source="clinic", target="Account",
                      id_field="custom:ferry_source_id", fields=[
                          FieldMap(source="name", target="Name", required=True),
                          FieldMap(source=None, target="Industry", default="Healthcare")]),
            ObjectMap(name="practitioner_user", source="practitioner", target="User",
                      mode="users"),
            ObjectMap(name="patient_contact", source="patient", target="Contact",
                      id_field="custom:ferry_source_id", fields=[
                          FieldMap(source="last_name", target="LastName", required=True,
                                   default="Unknown"),
                          FieldMap(source="first_name", target="FirstName",
                                   transform=[T("truncate", max=40)]),
                          FieldMap(source="date_of_birth", target="Birthdate"),
                          FieldMap(source="clinic_id", target="AccountId",
                                   transform=[T("ref", object="clinic")]),
                          FieldMap(source="primary_practitioner_id", target="OwnerId",
                                   transform=[T("owner")]),
                          FieldMap(source="occupation", target="custom:occupation")]),
        ],
        custom_fields={"Account": [sid], "Contact": [
            sid, CustomField(name="occupation", label="Occupation", kind=Kind.TEXT)]})
