"""A money custom field on a deal is written in the deal's currency, not the account's default:
``ferry demo --seed 7`` (500 patients, PracticeHub -> Pipedrive) wrote every EUR and GBP
invoice's 'Outstanding balance' and 'Amount paid to date' as USD (1,316 values on 1,542
invoice deals) while sample and reconcile said PASS (hpairs, 7 December). The payments' sum is
folded onto the invoice's deal by an update that does not name the deal's currency."""

from __future__ import annotations

from decimal import Decimal

from ferry.connectors.base import SchemaItem
from ferry.model.fields import Kind


def _money(state: dict, deal_id: str, key: str) -> dict:
    [deal] = [r for r in state["records"]["deal"] if str(r["id"]) == deal_id]
    return deal["currency"], deal["custom_fields"][key]


def test_deal_money_fields_carry_the_deals_currency(pd) -> None:
    h = pd()
    d = h.dest()  # the account's default currency: USD
    keys = {p.item.name: p.key for p in d.ensure([
        SchemaItem("custom_field", "deal", "balance", "Outstanding balance", Kind.MONEY),
        SchemaItem("custom_field", "deal", "paid", "Amount paid to date", Kind.MONEY)])}
    [eur] = d.create("deal", [{"title": "Invoice INV-1", "value": Decimal("130"),
                               "currency": "EUR", keys["balance"]: Decimal("30")}])
    [usd] = d.create("deal", [{"title": "Invoice INV-2", "value": Decimal("90"),
                               keys["balance"]: Decimal("0")}])
    assert eur.ok and usd.ok
    # the payments' fold: an update naming only the money field
    assert all(r.ok for r in d.update("deal", [(eur.dest_id, {keys["paid"]: Decimal("100")}),
                                               (usd.dest_id, {keys["paid"]: Decimal("90")})]))
    state = h.state()
    assert _money(state, eur.dest_id, keys["balance"]) == ("EUR", {"value": 30,
                                                                   "currency": "EUR"})
    assert _money(state, eur.dest_id, keys["paid"])[1] == {"value": 100, "currency": "EUR"}
    assert _money(state, usd.dest_id, keys["paid"])[1] == {"value": 90, "currency": "USD"}
    # a later process (delta, a resumed run) that did not create the deal reads its currency
    again = h.dest()
    assert all(r.ok for r in again.update("deal", [(eur.dest_id,
                                                    {keys["paid"]: Decimal("130")})]))
    assert _money(h.state(), eur.dest_id, keys["paid"])[1] == {"value": 130, "currency": "EUR"}
