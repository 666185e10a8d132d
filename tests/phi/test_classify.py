"""PHI class of a field map built by a template: from the fields the template reads."""

from __future__ import annotations

from ferry.mapping.model import FieldMap, Transform
from ferry.model.fields import PhiClass
from ferry.phi.classify import effective, template_fields


def templated(text: str, name: str = "template") -> FieldMap:
    key = "template" if name == "template" else "fmt"
    return FieldMap(source=None, target="content", transform=[Transform(name=name,
                                                                      args={key: text})])


def test_a_patients_name_in_a_template_is_phi_a_clinics_is_not() -> None:
    related = templated("Related patient ({relationship}): {related_patient_name}")
    assert template_fields(related) == ["relationship", "related_patient_name"]
    assert effective("patient_relationship", related) != PhiClass.NONE
    assert effective("patient", templated("{clinic_name}")) == PhiClass.NONE
    assert effective("patient", templated("{primary_practitioner_name}")) == PhiClass.NONE


def test_template_of_clinical_fields_is_clinical_and_overrides_still_win() -> None:
    fm = templated("Notes: {notes} at {start:%Y-%m-%d}", name="format")
    assert effective("appointment", fm) == PhiClass.CLINICAL
    assert effective("appointment", fm.model_copy(update={"phi": PhiClass.NONE})) == \
        PhiClass.NONE
    assert effective("appointment", templated("{type_name}")) == PhiClass.NONE
    assert effective("appointment", templated("broken {")) == PhiClass.NONE
