"""Every resource, read by the real connector over HTTP, equals what the sandbox holds."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ferry.errors import RecordError
from ferry.model.entities import entity
from ferry.model.fields import Kind
from ferry.sandbox.synth import Practice
from ferry.sources.practicehub.wire import RESOURCES, _kinds

from .conftest import read_all

VOLATILE: dict[str, set[str]] = {}  # fields that may differ between reads (none)


def expected(p: Practice, obj: str) -> dict[str, dict[str, Any]]:
    """The generator's records as JSON, with one documented exception: a date the API sends in
    a local format (the mixed-format dirt) that more than one order could read (``03/04/1990``)
    is not PracticeHub's ISO 8601 and is left out, never guessed (``test_api_dates.py``). ISO 8601's basic form (``19860608``) is
    year-month-day: it reads as it was written."""
    out = {}
    dates = [n for n, f in entity(obj).model_fields.items()
             if n in _kinds(obj) and _kinds(obj)[n] == Kind.DATE]
    for rec in p.iter(obj):
        data = rec.model_dump(mode="json")
        for name in VOLATILE.get(obj, ()):
            data.pop(name)
        for name in dates:
            fmt = p.date_format(obj, rec.source_id, name)  # type: ignore[attr-defined]
            value = getattr(rec, name)
            if fmt and fmt != "%Y%m%d" and "%b" not in fmt and value is not None \
                    and value.day <= 12 and value.day != value.month:
                data[name] = None  # ambiguous: no month named, day and month both 1-12
        out[rec.source_id] = data
    return out


def test_every_resource_field_for_field(make_box):
    # every assumed resource too; a UTC practice, so records compare as JSON
    box = make_box(patients=60, seed=11, surface="extended", timezone="UTC")
    src = box.source()
    p = Practice(11, 60, timezone="UTC")  # the account's zone: its visits are in its hours
    assert set(src.objects) == set(p.objects())
    for obj in src.objects:
        records, pages = read_all(src, obj)
        # only local-format dates, each listed with its record kept
        assert all(getattr(e, "kept", False) for pg in pages for e in pg.errors), obj
        got = {r.source_id: r.model_dump(mode="json") for r in records}
        for name in VOLATILE.get(obj, ()):
            for g in got.values():
                g.pop(name)
        want = expected(p, obj)
        assert len(got) == len(records), f"{obj}: a record was yielded twice"
        assert got == want, obj
        assert pages[-1].done and pages[-1].checkpoint == ""
    # the quirks the real API has were served, and read back
    rows = [json.loads(r) for r in box.sandbox.state.tables["appointments"].rows.values()]
    kinds = {type(r["patient_id"]) for r in rows if r["patient_id"] is not None}
    assert kinds == {int, str}
    assert all(isinstance(r["price"], str) for r in rows if r["price"] is not None)
    assert all(" " in r["start"] and "T" not in r["start"] for r in rows)
    mixed = p.ledger.ids("mixed_date_format")
    assert mixed, "the practice should carry mixed-format dates"


def test_a_bad_row_is_a_record_error_and_the_page_still_loads(make_box):
    box = make_box(patients=20)
    table = box.sandbox.state.tables["invoices"]
    ids = table.ids(None)
    bad = json.loads(table.rows[ids[1]])
    bad["total"] = "twelve pounds"
    table.rows[ids[1]] = json.dumps(bad).encode()
    worse = json.loads(table.rows[ids[2]])
    worse["issue_date"] = "the 45th of Smarch"
    table.rows[ids[2]] = json.dumps(worse).encode()
    records, pages = read_all(box.source(), "invoice")
    errors = [e for p in pages for e in p.errors]
    assert len(records) == len(ids) - 1  # a date not in ISO 8601: left out, the record kept
    assert next(r for r in records if r.source_id == str(ids[2])).issue_date is None  # type: ignore[attr-defined]
    assert {(e.field, e.ref) for e in errors} == {
        ("amount", f"practicehub:invoice:{ids[1]}"),
        ("issue_date", f"practicehub:invoice:{ids[2]}")}
    for e in errors:
        assert isinstance(e, RecordError)
        assert "twelve" not in str(e) and "Smarch" not in str(e)  # no values in messages


def test_ids_and_money_tolerate_the_api_mixture(make_box):
    box = make_box(patients=10)
    table = box.sandbox.state.tables["payments"]
    rid = table.ids(None)[0]
    row = json.loads(table.rows[rid])
    row["patient_id"] = str(row["patient_id"])
    row["amount"] = 12  # a number where a string is usual
    table.rows[rid] = json.dumps(row).encode()
    records, _ = read_all(box.source(), "payment")
    rec = next(r for r in records if r.source_id == str(rid))
    assert rec.patient_id == str(row["patient_id"]) and str(rec.amount) == "12"  # type: ignore[attr-defined]


def test_watermark_is_the_server_clock_when_the_read_began(make_box):
    box = make_box(patients=5)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3)
    _, pages = read_all(box.source(), "patient")
    wm = dt.datetime.fromisoformat(pages[0].watermark)
    assert before <= wm <= dt.datetime.now(dt.UTC)
    assert {p.watermark for p in pages} == {pages[0].watermark}
    assert set(RESOURCES) == set(box.source().objects)
