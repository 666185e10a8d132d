from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ferry.mapping.address import parse_address
from ferry.mapping.model import MappingDoc, Pipeline, Stage
from ferry.mapping.transforms import TRANSFORMS, Ctx, TransformError, get_value
from ferry.mapping.value_maps import (
    apply_value_map,
    blood_group_fallback_map,
    blood_group_map,
    missing_values,
)
from ferry.model.entities import Appointment, CustomValue, EmergencyContact, Patient

UTC = dt.UTC


class FakeLookup:
    def __init__(self, ids=None, owners=None, labels=None):
        self.ids = ids or {}
        self.owners = owners or {}
        self.labels = labels or {}

    def dest_id(self, src_object, source_id, dest_object=None):
        return self.ids.get((src_object, source_id))

    def owner(self, practitioner_source_id):
        return self.owners.get(practitioner_source_id, self.owners.get(None))

    def label(self, obj, sid):
        return self.labels.get((obj, sid))


def appt(**kw):
    base = dict(source_id="a1", status="completed", type_name="Follow-up",
                start=dt.datetime(2024, 3, 5, 14, 30, tzinfo=UTC), patient_id="p1",
                practitioner_id="pr1")
    base.update(kw)
    return Appointment(**base)


def ctx(record=None, lookup=None, doc=None):
    doc = doc or MappingDoc(source="x", destination="y", objects=[])
    return Ctx(record=record or appt(), lookup=lookup or FakeLookup(), doc=doc, key="k")


def run(name, v, c=None, **args):
    return TRANSFORMS[name].fn(v, args, c or ctx())


def test_text_family():
    assert run("text", ["a", "b"]) == "a, b"
    assert run("strip", "  x ") == "x"
    assert run("lower", "AbC") == "abc"
    assert run("upper", "abc") == "ABC"
    assert run("join", ["Jane", None, "Doe"], sep=" ") == "Jane Doe"
    assert run("list_text", ["I10", "E11.9"], sep="; ") == "I10; E11.9"
    assert run("coalesce", [None, "", "07700 900123"]) == "07700 900123"
    assert run("html", "a < b\nnext") == "a &lt; b<br>next"
    assert run("json", {"b": 1, "a": [1]}) == '{"a": [1], "b": 1}'


def test_truncate_flags():
    c = ctx()
    assert run("truncate", "abcdef", c, max=4) == "abcd"
    assert c.flags == ["truncated"]
    c2 = ctx()
    assert run("truncate", "abc", c2, max=4) == "abc" and c2.flags == []


def test_names():
    assert run("split_name", "Mary Ann Smith", part="first") == "Mary Ann"
    assert run("split_name", "Mary Ann Smith", part="last") == "Smith"
    assert run("split_name", "Smith, Mary", part="first") == "Mary"
    assert run("join_name", ["Mary", "Smith"]) == "Mary Smith"
    with pytest.raises(TransformError):
        run("split_name", "x", part="middle")


@pytest.mark.parametrize("text,expect", [
    ("123 Main St, Springfield, IL 62704, USA",
     dict(street="123 Main St", city="Springfield", region="IL", postcode="62704",
          country="United States")),
    ("123 Main St\nApt 4\nSpringfield, IL 62704",
     dict(street="123 Main St", street2="Apt 4", city="Springfield", region="IL",
          postcode="62704")),
    ("12 High Street, Flat 2, Leeds, LS1 4AB, United Kingdom",
     dict(street="12 High Street", street2="Flat 2", city="Leeds", postcode="LS1 4AB",
          country="United Kingdom")),
    ("4 Quay Rd, Sydney NSW 2000, Australia",
     dict(street="4 Quay Rd", city="Sydney", region="NSW", postcode="2000", country="Australia")),
    ("Calle Mayor 5, 28013 Madrid, Spain",
     dict(street="Calle Mayor 5", city="Madrid", postcode="28013", country="Spain")),
])
def test_address_parse(text, expect):
    a = parse_address(text)
    for k, v in expect.items():
        assert a.part(k) == v, (k, a)
    assert run("address", text, part="city") == expect["city"]


def test_address_bad_part():
    with pytest.raises(TransformError):
        run("address", "1 A St, B, CA 90210", part="planet")
    assert parse_address("").street is None


def test_phone_and_email():
    assert run("phone_e164", "(415) 555-2671", region="US") == "+14155552671"
    assert run("phone_e164", "07911 123456", region="GB") == "+447911123456"
    with pytest.raises(TransformError) as e:
        run("phone_e164", "not a phone")
    assert "not a phone" not in str(e.value.args) or "phone number" in str(e.value)
    assert run("email", " Jane.Doe@Example.COM ") == "Jane.Doe@example.com"
    with pytest.raises(TransformError) as e2:
        run("email", "jane@@x")
    assert "jane" not in str(e2.value)


def test_dates_and_times():
    start = dt.datetime(2024, 3, 5, 23, 30, tzinfo=UTC)
    assert run("date", start) == dt.date(2024, 3, 5)
    assert run("date", start, tz="Australia/Sydney") == dt.date(2024, 3, 6)
    assert run("date", "2024-02-01") == dt.date(2024, 2, 1)
    assert run("datetime", "2024-02-01T10:00:00").tzinfo is not None
    assert run("datetime", start, tz="Europe/London").utcoffset() == dt.timedelta(0)
    assert run("time", start) == "23:30"
    assert run("strftime", dt.date(2024, 1, 2), fmt="%d/%m/%Y") == "02/01/2024"
    assert run("minutes_between", [start, start + dt.timedelta(minutes=45)]) == 45
    assert run("hhmm", 90) == "01:30"
    with pytest.raises(TransformError):
        run("date", "not a date at all")
    with pytest.raises(TransformError):
        run("datetime", start, tz="Mars/Base")


def test_numbers_and_bools():
    assert run("money", Decimal("12.345")) == 12.35
    assert run("money", "$1,250.00", **{"as": "decimal"}) == Decimal("1250.00")
    assert run("money", "99.9", **{"as": "int"}) == 99
    assert run("int", "42") == 42
    assert run("bool", "Yes") is True and run("bool", "0") is False
    with pytest.raises(TransformError):
        run("bool", "maybe")
    with pytest.raises(TransformError):
        run("money", "abc")


def test_json_flatten():
    allergies = '[{"substance": "Penicillin", "reaction": "rash"}, {"substance": "Latex"}]'
    assert run("json_text", allergies) == "substance: Penicillin, reaction: rash\nsubstance: Latex"
    assert run("json_text", {"a": {"b": 1}, "c": [1, 2]}) == "a: b: 1\nc: 1\nc: 2"
    assert run("json_text", "plain text") == "plain text"
    ec = EmergencyContact(name="Bob", phone="123", relationship="spouse")
    assert run("json_text", ec) == "name: Bob\nphone: 123\nrelationship: spouse"


def test_constant_default_ref_owner():
    lk = FakeLookup(ids={("patient", "p1"): "42"}, owners={"pr1": "7", None: "1"})
    c = ctx(lookup=lk)
    assert run("constant", None, c, value="Healthcare") == "Healthcare"
    assert run("default", None, c, value=0) == 0
    assert run("ref", "p1", c, object="patient") == "42"
    assert run("ref", "p9", c, object="patient") is None
    assert [(r.object, r.source_id) for r in c.refs] == [("patient", "p9")]
    assert run("ref", ["p1", "p9"], c, object="patient") == ["42"]
    assert run("owner", "pr1", c) == "7"
    assert run("owner", None, c) == "1"
    with pytest.raises(TransformError):
        run("ref", "p1", c)


def test_stage_and_pipeline():
    doc = MappingDoc(source="x", destination="y", objects=[], pipelines=[
        Pipeline(name="Appointments", key="3", stages=[Stage(name="Scheduled", key="11")]),
        Pipeline(name="Follow-up", stages=[Stage(name="Scheduled")])])
    c = ctx(doc=doc)
    assert run("stage", "Scheduled", c, pipeline="Appointments") == "11"
    assert run("pipeline", None, c, pipeline="Appointments") == "3"
    by = {"field": "type_name", "map": {"Follow-up": "Follow-up"}, "default": "Appointments"}
    assert run("pipeline", None, c, pipeline_by=by) == "Follow-up"
    with pytest.raises(TransformError):
        run("stage", "Nope", c, pipeline="Appointments")
    with pytest.raises(TransformError):
        run("pipeline", None, c)


def test_template_is_safe():
    lk = FakeLookup(labels={("practitioner", "pr1"): "Dr Who"})
    c = ctx(lookup=lk)
    assert run("template", None, c, template="{type_name} – {start:%Y-%m-%d}") == \
        "Follow-up – 2024-03-05"
    assert run("template", None, c, template="{practitioner_name}") == "Dr Who"
    for bad in ("{start.__class__}", "{type_name[0]}", "{nope}", "{type_name!r}"):
        with pytest.raises(TransformError):
            run("template", None, c, template=bad)
    assert run("format", "5", c, fmt="{value} mg") == "5 mg"


def test_get_value_paths():
    p = Patient(source_id="p1", emergency_contact=EmergencyContact(name="Bob"),
                custom={"mrn2": CustomValue(type="text", value="X1")})
    assert get_value(p, "emergency_contact.name") == "Bob"
    assert get_value(p, "custom.mrn2") == "X1"
    assert get_value(p, "custom.nope") is None


def test_value_maps():
    bg = blood_group_map()
    assert apply_value_map("A pos", bg) == "A+"
    assert apply_value_map("0-", bg) == "O-"
    assert apply_value_map("ab negative", bg) == "AB-"
    with pytest.raises(TransformError):
        apply_value_map("Bombay", bg)
    assert apply_value_map("Bombay", blood_group_fallback_map(), "keep") == "Bombay"
    assert apply_value_map("A+", blood_group_fallback_map(), "keep") is None
    assert apply_value_map("No-Show", {"no_show": "Lost"}) == "Lost"
    assert apply_value_map("x", {"a": 1}, "Other") == "Other"
    assert apply_value_map(["a", "b"], {"a": 1, "b": None}) == [1]
    assert apply_value_map(True, {"true": "Yes"}) == "Yes"
    assert missing_values(["a", "z", None, ["y"]], {"a": 1}) == ["z", "y"]
    assert missing_values(["z"], {"a": 1}, "keep") == []


@pytest.mark.parametrize("template", [
    "{type_name} – {start:%Y-%m-%d}", "{practitioner_name} {{braces}} {value}", "",
    "plain", "{status!s:>12}|{duration_minutes:05d}", "{notes}", "{start:%Y-{x}}",
    "{start.__class__}", "{type_name[0]}", "{nope}", "{type_name!r}", "{}", "{0}",
    "{type_name", "}", "{duration_minutes:%Y}", "{value:>4}", "x{status}y{status}z",
    "{custom_room} {custom_nope}", "{custom_room}/{patient_name}/{practitioner_id}"])
def test_parsed_templates_format_as_the_formatter_does(template: str) -> None:
    """``format_template`` parses a template once and formats it without string.Formatter:
    the same text, and the same refusal (a TransformError, or the ValueError of a malformed
    template), as ``SafeFormatter`` over the same names."""
    from ferry.mapping.transforms import SafeFormatter, format_template, template_namespace

    c = ctx(lookup=FakeLookup(labels={("practitioner", "pr1"): "Dr Who"}))
    ns = template_namespace(c)

    def outcome(fn):  # type: ignore[no-untyped-def]
        try:
            return "ok", fn()
        except (TransformError, ValueError) as exc:
            return type(exc).__name__, str(exc)

    assert outcome(lambda: format_template(template, ns, "7 mg")) == \
        outcome(lambda: SafeFormatter().format(template, **{**ns, "value": "7 mg"}))
    assert outcome(lambda: format_template(template, ns)) == \
        outcome(lambda: SafeFormatter().format(template, **ns))


@pytest.mark.parametrize("template", [
    "{type_name} – {start:%Y-%m-%d}", "{practitioner_name} {{braces}} {value}", "plain", "",
    "{status!s:>12}|{duration_minutes:05d}", "{start:%Y-{x}}", "{start.__class__}", "{nope}",
    "{custom_room}", "{custom_nope}", "{custom_patient_id}", "{patient_name}", "{value:>4}",
    "{custom_type_name}|{type_name}", "{0}", "{type_name"])
def test_record_templates_format_as_over_the_namespace(template: str) -> None:
    """``format_record`` reads a plain template's names from the record one at a time: the
    same text and the same refusal as ``format_template`` over the record's whole namespace
    (custom fields, labels of references, a custom key named like a field)."""
    from ferry.mapping.transforms import format_record, format_template, template_namespace
    from ferry.model.entities import CustomValue

    rec = appt(custom={"room": CustomValue(type="text", value="R2"),
                       "type_name": CustomValue(type="text", value="custom wins")})
    c = ctx(rec, lookup=FakeLookup(labels={("practitioner", "pr1"): "Dr Who",
                                           ("patient", "p1"): "Jane"}))

    def outcome(fn):  # type: ignore[no-untyped-def]
        try:
            return "ok", fn()
        except (TransformError, ValueError) as exc:
            return type(exc).__name__, str(exc)

    for args in (("7 mg",), ()):
        assert outcome(lambda a=args: format_record(template, c, *a)) == \
            outcome(lambda a=args: format_template(template, template_namespace(c), *a))
    assert outcome(lambda: format_record("{custom_room}", c)) == ("ok", "R2")
