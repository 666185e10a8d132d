"""PracticeHub's dates are ISO 8601, year first (every date the public sources show: ``created``
and ``start`` as ``YYYY-MM-DD HH:MM:SS``, the ``start`` filter the same; seed 001 moves the
birthday to Pipedrive "with no data transformation"). A birthday the API sends in a local shape
(``03/04/1990``: the generator's mixed-format dirt) is bad input: left out, the record kept, and
a line naming the record and the field, never the value. Before, the reader read it day-first
whatever the account wrote: a US-style ``03/04/1990`` (4 March) was staged as 3 April."""

from __future__ import annotations

import datetime as dt

from ferry.errors import RecordError

from .conftest import read_all

#: seed 7: patient 10005's dates are rendered ``%m/%d/%Y``, 10041's ``%d.%m.%Y``, 10035's
#: ``%Y%m%d`` (ISO 8601's basic form)
US_STYLE, DOTTED, BASIC = "10005", "10041", "10035"


def test_a_birthday_not_in_iso_is_left_out_and_listed_never_guessed(make_box) -> None:
    box = make_box(patients=60, seed=7)
    box.admin("POST", "set", json={"resource": "patients", "id": US_STYLE,
                                   "fields": {"date_of_birth": "1990-03-04"}})
    shown = box.admin("GET", f"rendered/patients/{US_STYLE}")["date_of_birth"]
    assert shown == "03/04/1990"  # the API sends it month-first
    records, pages = read_all(box.source(), "patient")
    got = {r.source_id: r for r in records}
    errors = [e for p in pages for e in p.errors]
    truth = {r["source_id"]: r for r in box.admin("GET", "records/patients")["records"]}
    assert got[US_STYLE].date_of_birth is None  # before: 1990-04-03, day-first
    # not the API's shape either, but only one order reads it (its day is over 12): read
    assert got[DOTTED].date_of_birth == dt.date.fromisoformat(
        truth[DOTTED]["date_of_birth"]) and got[DOTTED].date_of_birth.day > 12
    assert got[BASIC].date_of_birth == dt.date.fromisoformat(truth[BASIC]["date_of_birth"])
    listed = {(e.ref, e.field) for e in errors if getattr(e, "kept", False)}
    assert (f"practicehub:patient:{US_STYLE}", "date_of_birth") in listed
    assert (f"practicehub:patient:{DOTTED}", "date_of_birth") not in listed
    assert all(isinstance(e, RecordError) and "03/04" not in str(e) and "1990" not in str(e)
               for e in errors)
    # every other birthday reads as the sandbox holds it, or is listed and left out
    for sid, rec in got.items():
        if not truth[sid]["date_of_birth"]:
            continue
        if (f"practicehub:patient:{sid}", "date_of_birth") in listed:
            assert rec.date_of_birth is None, sid
        else:
            assert rec.date_of_birth == dt.date.fromisoformat(truth[sid]["date_of_birth"]), sid


def test_a_stated_order_reads_them(make_box) -> None:
    """``source.dayfirst: false`` states the account writes month-first: then it is read so."""
    box = make_box(patients=60, seed=7)
    box.admin("POST", "set", json={"resource": "patients", "id": US_STYLE,
                                   "fields": {"date_of_birth": "1990-03-04"}})
    records, pages = read_all(box.source(dayfirst=False), "patient")
    got = {r.source_id: r for r in records}
    assert got[US_STYLE].date_of_birth == dt.date(1990, 3, 4)
    assert not [e for p in pages for e in p.errors if e.ref.endswith(f":{US_STYLE}")]
