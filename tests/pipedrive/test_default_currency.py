"""``destination.settings.default_currency`` is what its help says: the currency of a deal whose
source names none. hout2 (7 December) set EUR for an Irish clinic and every such deal landed in
USD, the setting sent nowhere. Unset, nothing is assumed: the deal is sent without a currency,
Pipedrive gives it its user's default, and each such deal is listed, never silently USD."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from ferry.destinations.pipedrive import Settings


def _currency(state: dict, deal_id: str) -> str:
    [deal] = [r for r in state["records"]["deal"] if str(r["id"]) == deal_id]
    return deal["currency"]


def test_a_deal_without_a_currency_is_sent_in_the_default_currency(pd) -> None:
    h = pd()
    d = h.dest(default_currency="eur")
    plain, cleared, gbp = d.create("deal", [
        {"title": "Invoice INV-1", "value": Decimal("60")},
        {"title": "Invoice INV-2", "value": Decimal("45"), "currency": None},
        {"title": "Invoice INV-3", "value": Decimal("80"), "currency": "GBP"}])
    assert plain.ok and cleared.ok and gbp.ok
    state = h.state()
    assert [_currency(state, r.dest_id) for r in (plain, cleared, gbp)] == ["EUR", "EUR", "GBP"]
    assert not plain.field_errors and not gbp.field_errors  # named: nothing to say
    said = {i.name: i for i in d.check()}["deal currency"]
    assert "sent in EUR" in said.detail
    # the sample: the map sent no currency, the deal holds EUR by the setting, not a fault
    assert "default_currency" in str(d.design_rule("deal", "currency", None, "EUR"))
    assert d.design_rule("deal", "currency", None, "USD") is None


def test_unset_the_deal_gets_pipedrives_default_and_is_listed(pd) -> None:
    h = pd()
    d = h.dest()
    plain, gbp = d.create("deal", [{"title": "Invoice INV-1", "value": Decimal("60"),
                                    "currency": None},
                                   {"title": "Invoice INV-3", "value": Decimal("80"),
                                    "currency": "GBP"}])
    assert plain.ok and gbp.ok
    state = h.state()
    assert _currency(state, plain.dest_id) == "USD"  # the sandbox user's default, as today
    [err] = plain.field_errors
    assert err.field == "currency" and "default_currency is unset" in err.reason
    assert "(USD)" in err.reason
    assert not gbp.field_errors
    said = {i.name: i for i in d.check()}["deal currency"]
    assert "unset" in said.detail and "(USD)" in said.detail
    # the sample names Pipedrive's rule for the user's default, and only for it
    assert "user's default" in str(d.design_rule("deal", "currency", None, "USD"))
    assert d.design_rule("deal", "currency", None, "EUR") is None


def test_a_default_currency_that_is_no_iso_code_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(default_currency="Euro")
