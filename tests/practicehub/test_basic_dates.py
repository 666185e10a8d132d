"""PracticeHub dates in ISO 8601's basic form (``YYYYMMDD``) read year-month-day in a day-first
account: dateutil's ``dayfirst`` read ``19860608`` as 6 August, and ``ferry demo --seed 7``
put two patients' birthdays into Pipedrive with day and month swapped while sample and
reconcile said PASS (hpairs, 7 December)."""

from __future__ import annotations

import datetime as dt

import pytest

from ferry.sandbox.synth import Practice
from ferry.sources.practicehub.wire import Decoder, NotISO


@pytest.mark.parametrize("dayfirst", [True, False])
def test_basic_form_reads_year_month_day(dayfirst: bool) -> None:
    d = Decoder("Europe/Amsterdam", dayfirst)
    assert d.date("19860608") == dt.date(1986, 6, 8)
    assert d.date("20160209") == dt.date(2016, 2, 9)
    at = d.datetime("19860608093000")
    assert (at.date(), at.hour, at.minute) == (dt.date(1986, 6, 8), 9, 30)
    assert at.utcoffset() == dt.timedelta(hours=2)  # zone-less: the account's zone


def test_other_forms_are_read_only_in_a_stated_order() -> None:
    assert Decoder("UTC", True).date("08/06/1986") == dt.date(1986, 6, 8)
    assert Decoder("UTC", False).date("08/06/1986") == dt.date(1986, 8, 6)
    assert Decoder("UTC", True).date("13-Feb-1948") == dt.date(1948, 2, 13)
    with pytest.raises(NotISO):  # no order stated: not guessed (test_api_dates.py)
        Decoder("UTC").date("08/06/1986")
    # unless no order could change it: a month named, a number over 12, day equal to month
    d = Decoder("UTC")
    assert d.date("13-Feb-1948") == d.date("02/13/1948") == d.date("13.02.1948") \
        == dt.date(1948, 2, 13)
    assert d.date("05/05/1990") == dt.date(1990, 5, 5)
    assert d.datetime("02/28/2020 02:30 PM") == dt.datetime(2020, 2, 28, 14, 30, tzinfo=d.tz)
    for ambiguous in ("03/04/1990", "4-3-1990", "31/31/1990", "Mayfair 1990"):
        with pytest.raises(NotISO):
            d.date(ambiguous)


def test_every_basic_form_birthday_of_a_practice_reads_back() -> None:
    """The generator's mixed-format dirt renders some birthdays ``%Y%m%d``: each reads back as
    the date it was (seed 7: two of them have a day of 12 or less)."""
    p = Practice(seed=7, patients=500)
    d = Decoder("UTC")
    seen = 0
    for rec in p.iter("patient"):
        if rec.date_of_birth and p.date_format("patient", rec.source_id,  # type: ignore[attr-defined]
                                               "date_of_birth") == "%Y%m%d":
            text = rec.date_of_birth.strftime("%Y%m%d")  # type: ignore[attr-defined]
            assert d.date(text) == rec.date_of_birth, rec.source_id  # type: ignore[attr-defined]
            seen += rec.date_of_birth.day <= 12  # type: ignore[attr-defined]
    assert seen >= 2
