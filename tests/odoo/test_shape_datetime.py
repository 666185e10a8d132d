"""Odoo datetimes: the text ``to_odoo`` writes is what ``strftime`` wrote, for any datetime."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.destinations.odoo.shape import to_odoo

ZONES = st.none() | st.just(dt.UTC) | st.builds(
    lambda m: dt.timezone(dt.timedelta(minutes=m)), st.integers(-14 * 60, 14 * 60))


@settings(max_examples=300, deadline=None)
@given(value=st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                          timezones=ZONES))
def test_datetime_text_is_strftimes(value: dt.datetime) -> None:
    want = (value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
            ).strftime("%Y-%m-%d %H:%M:%S")
    assert to_odoo("x", {"type": "datetime"}, value, {}, None) == want  # type: ignore[arg-type]
