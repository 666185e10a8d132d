"""A money custom field on a person (an Australian desk's ``Balance`` of ``$0.50``) is written
in a currency Pipedrive keeps beside the amount. hout3 (8 December): with the source naming
none and ``default_currency`` unset, every balance landed as USD, unlisted, while deals in the
same state were listed. Now each such field is listed (record and field, not the amount);
with ``default_currency`` set, or a currency in the row, there is nothing to say."""

from __future__ import annotations

from decimal import Decimal

from ferry.connectors.base import SchemaItem
from ferry.model.fields import Kind


def _balance(state: dict, person_id: str, key: str) -> dict:
    [person] = [r for r in state["records"]["person"] if str(r["id"]) == person_id]
    return person["custom_fields"][key]


def test_a_persons_money_field_without_a_currency_is_listed(pd) -> None:
    h = pd()
    d = h.dest()  # the sandbox user's default currency: USD
    [key] = [p.key for p in d.ensure([SchemaItem("custom_field", "person", "balance",
                                                 "Balance", Kind.MONEY)])]
    owed, empty = d.create("person", [{"name": "Ann Example", key: Decimal("0.50")},
                                      {"name": "Bob Sample", key: None}])
    assert owed.ok and empty.ok
    assert _balance(h.state(), owed.dest_id, key) == {"value": 0.5, "currency": "USD"}
    [err] = owed.field_errors
    assert err.field == key and "default_currency is unset" in err.reason
    assert "(USD)" in err.reason and "0.5" not in err.reason
    assert not empty.field_errors


def test_with_default_currency_nothing_is_listed(pd) -> None:
    h = pd()
    d = h.dest(default_currency="AUD")
    [key] = [p.key for p in d.ensure([SchemaItem("custom_field", "person", "balance",
                                                 "Balance", Kind.MONEY)])]
    [owed] = d.create("person", [{"name": "Ann Example", key: Decimal("0.50")}])
    assert owed.ok and not owed.field_errors
    assert _balance(h.state(), owed.dest_id, key) == {"value": 0.5, "currency": "AUD"}
