"""Concepts the recipes leave until seen (middle name, race …, issue 16): `ferry map` turns the
ones the export fills into custom fields, and leaves the rest ignored with the reason."""

from __future__ import annotations

from ferry.mapping.cookbook.common import CONCEPT_REASON
from ferry.mapping.draft import draft_mapping
from ferry.mapping.validate import FieldProfile


def test_a_filled_concept_becomes_a_custom_field_and_an_empty_one_stays_ignored() -> None:
    profile = {"patient": {"middle_name": FieldProfile(values=["Maria"], samples=["Maria"],
                                                       filled=1, total=1)}}
    doc = draft_mapping("clinic_csv", "pipedrive", profile)
    person = next(om for om in doc.objects if om.name == "patient_person")
    (mid,) = [fm for fm in person.fields if fm.source == "middle_name"]
    assert mid.status == "mapped" and mid.target.startswith("custom:")
    assert doc.custom_field("person", mid.target[7:]) is not None
    (race,) = [fm for fm in person.fields if fm.source == "race"]
    assert race.status == "ignored" and race.reason == CONCEPT_REASON
