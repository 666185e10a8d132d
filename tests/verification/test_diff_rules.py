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
