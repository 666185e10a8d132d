"""The diff's categories and the masking rules, one case each (no sandboxes needed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ferry.engine.diff import FieldDiff, SampleDiff, classify, mask, same
from ferry.model.fields import PhiClass


@pytest.mark.parametrize(("src", "sent", "stored", "trace", "want"), [
    ("Jane", "Jane", "Jane", [], ("equal", True)),
    ("active", "Active", "Active", ["value_map"], ("transformed", True)),
    ("10001", "2", "2", ["ref"], ("transformed", True)),
    ("MRN123456", "MRN1", "MRN1", ["truncate", "truncated"], ("truncated", True)),
    ("Engineer", "Engineer", "Eng", [], ("truncated", False)),
    ("+44 20 7946 0000", "+442079460000", "+44 20 7946 0000", ["phone_e164"],
     ("format_changed", True)),
    ("x", "Hello", None, [], ("missing", False)),
    (None, None, "Surprise", [], ("unexpected", False)),
    ("A", "A", "B", [], ("transformed", False)),
])
def test_classify(src, sent, stored, trace, want) -> None:
    cat, ok, _ = classify(src, sent, stored, trace)
    assert (cat, ok) == want


def test_refused_value_is_missing_but_explained() -> None:
    cat, ok, note = classify("not-an-email", None, None, [], field_error="not a valid email")
    assert (cat, ok) == ("missing", True) and "skip file" in note


def test_a_refused_value_the_destination_defaulted_is_explained() -> None:
    # hfix3: Odoo refused lang 'Spanish'; the record, sent again without it, reads back en_US
    cat, ok, note = classify("Spanish", "Spanish", "en_US", [], dest_error="not a language")
    assert (cat, ok) == ("missing", True) and "its own default" in note
    # without the destination's word for it, the same difference stays unexplained
    assert classify("Spanish", "Spanish", "en_US", [])[1] is False


def test_same_compares_values_not_representations() -> None:
    assert same(Decimal("12.50"), 12.5) and same("12.5", Decimal("12.50"))
    assert same(dt.datetime(2024, 1, 2, 10, tzinfo=dt.UTC), "2024-01-02T11:00:00+01:00")
    assert same(dt.date(2024, 1, 2), "2024-01-02")
    assert same(["b", "a"], ["a", "b"]) and not same(["a"], ["a", "b"])


def test_mask_keeps_shape_not_content() -> None:
    assert mask("Jane O'Neil", PhiClass.DEMOGRAPHIC) == "Xxxx X'Xxxx"
    assert mask(dt.date(1980, 2, 29), PhiClass.DEMOGRAPHIC) == "9999-99-99"
    assert mask("x" * 200, PhiClass.CLINICAL) == "[200 chars masked]"
    assert mask("Jane", PhiClass.DEMOGRAPHIC, show_phi=True) == "Jane"
    assert mask("Growth", PhiClass.NONE) == "Growth"
    assert mask(True, PhiClass.CLINICAL) == "•"


def test_verdict_needs_every_difference_explained() -> None:
    ok = FieldDiff("source:patient:1", "m", "person:1", "name", "name", "transformed", True)
    bad = FieldDiff("source:patient:1", "m", "person:1", "x", "x", "truncated", False)
    d = SampleDiff(fields=[ok], records=1)
    assert d.passed and d.as_dict()["verdict"] == "pass"
    d.fields.append(bad)
    assert not d.passed and d.as_dict()["unexplained"] == 1
    d2 = SampleDiff(fields=[ok], records=1, skips=[{"ref": "r", "field": None,
                                                     "reason": "422", "stage": "load"}])
    assert not d2.passed  # the destination refused a write the map produced
    d3 = SampleDiff(fields=[ok], records=1, skips=[{"ref": "r", "field": None,
                                                     "reason": "no user", "stage": "owners"}])
    assert d3.passed


def test_skip_chains_and_orphans_are_explained(tmp_path) -> None:
    from ferry.engine.readback import _explain_skips
    from ferry.model.entities import Appointment, Patient
    from ferry.model.staging import StagingStore

    store = StagingStore(tmp_path / "s.db")
    store.put_records("patient", [Patient(source_id="1", last_name="A"),
                                  Patient(source_id="2", last_name="B")])
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    store.put_records("appointment", [
        Appointment(source_id=str(i), patient_id=p, status="scheduled", start=when)
        for i, p in ((10, "1"), (11, "2"), (12, "404"))])
    run = store.start_run("sample")
    store.skip(run, "source:patient:1", None, "held: no BAA confirmation", "hold")
    for sid, pid in (("10", "1"), ("11", "2"), ("12", "404")):
        store.skip(run, f"source:appointment:{sid}", "person_id",
                   f"references patient:{pid}, which has no destination record", "reference")
    store.skip(run, "source:patient:2", "name", "422 from the destination", "load")
    got = {s["ref"]: s["explained"] for s in _explain_skips(store, [], run)}
    assert got == {"source:patient:1": True,  # held by the PHI gate
                   "source:appointment:10": True,  # its parent was held
                   "source:appointment:11": False,  # its parent simply was not written
                   "source:appointment:12": True,  # an orphan at the source
                   "source:patient:2": False}  # the destination refused the write
