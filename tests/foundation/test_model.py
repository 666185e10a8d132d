"""The canonical model validates strictly, and its errors name record and field, never value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ferry.errors import RecordError
from ferry.model.entities import ENTITIES, Appointment, CustomValue, Patient, parse_record
from ferry.model.fields import Kind, PhiClass, field_info, fields_of

SECRET = "Zebulon-Quartermain-1961"


def _err(obj: str, data: dict) -> RecordError:
    with pytest.raises(RecordError) as ei:
        parse_record(obj, data, system="practicehub")
    return ei.value


def test_unknown_field_is_refused_by_name() -> None:
    e = _err("patient", {"source_id": "7", "favourite_colour": SECRET})
    assert e.ref == "practicehub:patient:7" and e.field == "favourite_colour"
    assert SECRET not in str(e) and SECRET not in repr(e.args)


@pytest.mark.parametrize(("obj", "data", "field"), [
    ("patient", {"date_of_birth": SECRET}, "date_of_birth"),
    ("patient", {"consent_email": SECRET}, "consent_email"),
    ("patient", {"emergency_contact": {"name": "x", "secret": SECRET}}, "emergency_contact.secret"),
    ("patient", {"created_at": "2024-01-01T10:00:00"}, "created_at"),  # naive: no time zone
    ("appointment", {"status": "completed", "start": SECRET}, "start"),
    ("invoice", {"status": "paid", "amount": SECRET}, "amount"),
    ("patient", {"custom": {"x": {"type": SECRET}}}, "custom.x.type"),
])
def test_bad_values_name_the_field_not_the_value(obj: str, data: dict, field: str) -> None:
    e = _err(obj, {"source_id": "42", **data})
    assert e.field == field and e.ref.endswith(":42")
    assert SECRET not in str(e)
    assert "2024-01-01T10:00:00" not in str(e)


def test_required_fields_are_required() -> None:
    for obj, model in ENTITIES.items():
        req = {f.name for f in fields_of(model) if f.required}
        assert "source_id" in req, obj
        for name in req - {"source_id"}:
            assert field_info(model, name).required
    e = _err("appointment", {"source_id": "1", "status": "completed"})
    assert e.field == "start"
    e = _err("clinic", {"source_id": "1"})
    assert e.field == "name"
    e = _err("patient", {"source_id": ""})
    assert e.field == "source_id"


def test_ids_as_text_and_defaults() -> None:
    p = parse_record("patient", {"source_id": 12})
    assert p.source_id == "12" and p.archived is False and p.custom == {}
    a = Appointment(source_id="1", status="completed",
                    start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert a.procedure_codes == [] and a.no_show is False
    with pytest.raises(ValueError):  # assignment is validated too
        a.start = dt.datetime(2024, 1, 1)  # noqa: DTZ001


def test_field_metadata() -> None:
    dob = field_info(Patient, "date_of_birth")
    assert dob.kind == Kind.DATE and dob.phi == PhiClass.DEMOGRAPHIC
    assert field_info(Patient, "clinic_id").ref == "clinic"
    assert field_info(Patient, "blood_group").options
    assert "custom" not in {f.name for f in fields_of(Patient)}


def test_custom_values_keep_their_declared_type_through_json() -> None:
    vals = {
        "d": CustomValue(type="date", value=dt.date(2021, 5, 4)),
        "t": CustomValue(type="datetime", value=dt.datetime(2021, 5, 4, 3, tzinfo=dt.UTC)),
        "m": CustomValue(type="decimal", value=Decimal("10.50")),
        "s": CustomValue(type="set", value=("a", "b")),
        "free": CustomValue(type="text", value="2021-05-04"),  # text stays text
        "odd": CustomValue(type="date", value="04/05/2021"),  # non-ISO text is left for sources
    }
    p = Patient(source_id="1", custom=vals)
    back = Patient.model_validate_json(p.model_dump_json())
    assert back == p
    assert back.custom["free"].value == "2021-05-04"
    assert back.custom["odd"].value == "04/05/2021"


def test_every_timestamp_field_refuses_naive_datetimes() -> None:
    naive = "2024-03-01T09:30:00"
    for obj, model in ENTITIES.items():
        for f in fields_of(model):
            if f.kind == Kind.DATETIME:
                with pytest.raises(ValidationError) as ei:
                    model.model_validate({"source_id": "1", f.name: naive})
                assert any(e["loc"] == (f.name,) and "time zone" in e["msg"]
                           for e in ei.value.errors()), (obj, f.name)
