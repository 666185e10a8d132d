"""Bulk CSV cells as Salesforce reads them: date-times in UTC to the millisecond, ``Z``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ferry.destinations.salesforce.shape import to_csv, to_json


@pytest.mark.parametrize(("value", "text"), [
    (dt.datetime(2024, 3, 5, 14, 7, 9, 123999, tzinfo=dt.UTC), "2024-03-05T14:07:09.123Z"),
    (dt.datetime(2024, 3, 5, 14, 7, 9, tzinfo=dt.UTC), "2024-03-05T14:07:09.000Z"),
    (dt.datetime(2024, 3, 5, 14, 7, 9, 999), "2024-03-05T14:07:09.000Z"),  # naive: UTC
    (dt.datetime(2024, 3, 5, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
     "2024-03-06T04:30:00.000Z"),
    (dt.datetime(2024, 7, 1, 9, 0, 0, 5000, tzinfo=ZoneInfo("Australia/Sydney")),
     "2024-06-30T23:00:00.005Z"),
    (dt.datetime(1000, 1, 1, 0, 0, 1, tzinfo=dt.UTC), "1000-01-01T00:00:01.000Z"),
    (dt.datetime(999, 12, 31, 23, 59, 59, 1000, tzinfo=dt.UTC), "999-12-31T23:59:59.001Z"),
    (dt.date(2024, 3, 5), "2024-03-05"),
    (Decimal("12.50"), "12.5"),
    (Decimal("12"), "12"),
    (None, "#N/A"),
    (True, "true"),
    (7, "7"),
    (["a", "b"], "a;b"),
])
def test_bulk_cells(value: object, text: str) -> None:
    assert to_csv(value) == text
    if isinstance(value, dt.datetime):
        assert to_json(value) == text  # REST bodies carry the same text
