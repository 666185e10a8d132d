"""A custom field's value in the shape Pipedrive's v2 API takes (``custom_to_api``)."""

from __future__ import annotations

import datetime as dt

import pytest

from ferry.destinations.pipedrive.values import BadValue, custom_to_api


@pytest.mark.parametrize("ftype", ["varchar", "text"])
def test_a_date_into_a_text_field_goes_as_its_iso_text(ftype: str) -> None:
    # a column mapped as text and later read as dates (a Pulse delta once did) was refused
    # "must be text", and an update then emptied the field the first run had filled
    field = {"field_type": ftype}
    assert custom_to_api(field, "date", dt.date(2018, 7, 2), "GBP") == "2018-07-02"
    assert custom_to_api(field, "text", "2018-07-02", "GBP") == "2018-07-02"
    with pytest.raises(BadValue):
        custom_to_api(field, "text", {"a": 1}, "GBP")
