"""The sample diff explains an owner the map left empty (the practitioner has no destination
user, no fallback owner) that the destination filled with its default owner (Odoo: the API
user), the same way on a create and an update: it compares the built payload with what is
stored, whichever write put it there."""

from __future__ import annotations

import datetime as dt


class NoLookup:
    def dest_id(self, src_object: str, source_id: str, dest_object: str | None = None) -> None:
        return None

    def owner(self, practitioner_source_id: str | None) -> None:
        return None  # the practitioner has no user, and no fallback owner is set


def test_an_owner_left_empty_and_filled_by_the_destination_is_explained() -> None:
    from ferry.engine.diff import diff_record
    from ferry.mapping.compile import compile_mapping
    from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap, Transform
    from ferry.model.entities import Appointment

    doc = MappingDoc(source="clinic_csv", destination="odoo", objects=[ObjectMap(
        name="appointment_lead", source="appointment", target="crm.lead", fields=[
            FieldMap(source="practitioner_id", target="user_id",
                     transform=[Transform(name="owner")]),
            FieldMap(source="notes", target="description")])])
    (cm,) = compile_mapping(doc, need_keys=False)
    rec = Appointment(source_id="a1", practitioner_id="s9", status="scheduled",
                      start=dt.datetime(2020, 5, 3, 9, tzinfo=dt.UTC))
    # Odoo gives a lead the API user as its owner when none is sent; read on create or update
    diffs = {f.key: f for f in diff_record(cm, rec, NoLookup(), {"user_id": 2,
                                                                 "description": "x"},
                                           dest="crm.lead:1")}
    owner = diffs["user_id"]
    assert owner.category == "unexpected" and owner.explained, owner.note
    assert "no destination user" in owner.note and "fallback_owner_email" in owner.note
    # any other field the map did not send and the destination holds still fails
    assert diffs["description"].category == "unexpected"
    assert not diffs["description"].explained
