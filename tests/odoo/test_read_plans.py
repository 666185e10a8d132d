"""``OdooDestination.read`` works out once per call, per field, how a stored value comes back
(plain text as it is, anything else through ``_out``) and which cells an empty import cell
would write (``_blank``). Its answer must be what the per-cell formula gives: every field of
res.partner and crm.lead, rows with values and rows left empty, a list kept in one text field
(``Kind.SET``) and a relation to a lookup table among them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ferry.connectors.base import SchemaItem
from ferry.destinations.odoo.checks import MAGIC, SKIP_TYPES
from ferry.destinations.odoo.shape import kind_of
from ferry.destinations.odoo.writer import OdooDestination, _blank
from ferry.model.fields import Kind

from .test_values_roundtrip import connect


def _per_cell(dest: OdooDestination, model: str, ids: list[str]
              ) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
    """What ``read`` gave before its per-field plans: ``_out`` and ``_blank`` for each cell."""
    meta = dest.fields_meta(model)
    names = [n for n, m in meta.items() if n not in MAGIC and m.get("type") not in SKIP_TYPES]
    kinds = {n: kind_of(n, meta[n]) for n in names if n in meta}
    rows = dest.rpc.execute(model, "read", [int(i) for i in ids], fields=names)
    out = {str(r["id"]): {n: dest._out(meta.get(n, {}), r.get(n), kinds.get(n)) for n in names}
           for r in rows}
    blank = {str(r["id"]): {n for n in names if _blank(meta.get(n, {}), r.get(n))}
             for r in rows}
    return out, blank


@pytest.mark.parametrize("version", [17, 19])
def test_read_gives_what_each_cell_gave(odoo_factory, monkeypatch, tmp_path: Path,
                                        version: int) -> None:
    dest = connect(odoo_factory(version), monkeypatch, tmp_path)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True),
                 SchemaItem("custom_field", "res.partner", "ferry_tags", "Tags", Kind.SET),
                 SchemaItem("custom_field", "res.partner", "ferry_balance", "Balance",
                            Kind.MONEY),
                 SchemaItem("custom_field", "res.partner", "ferry_visits", "Visits",
                            Kind.INT)])
    rows = [
        {"name": "Ana Full", "x_ferry_source_id": "p1", "email": "ana@example.org",
         "phone": "+34 600 000 001", "street": "Calle 1", "city": "Madrid",
         "country_id": "Spain", "comment": "two\nlines", "x_ferry_tags": ["a", "b"],
         "x_ferry_balance": 12.5, "x_ferry_visits": 3, "active": True},
        {"name": "Ben Empty", "x_ferry_source_id": "p2", "x_ferry_balance": 0.0,
         "x_ferry_visits": 0},
        {"name": "Cy Partial", "x_ferry_source_id": "p3", "city": "", "country_id": "IN",
         "x_ferry_tags": []},
    ]
    made = dest.create("res.partner", rows)
    assert all(r.ok for r in made), [r.error for r in made]
    ids = [str(r.dest_id) for r in made]
    want, want_blank = _per_cell(dest, "res.partner", ids)
    assert dest.read("res.partner", ids) == want
    assert dest._blank_seen == ("res.partner", want_blank)
    # the rows cover both ways a value comes back, and blank cells of several types
    assert want[ids[0]]["x_ferry_tags"] == ["a", "b"] and want[ids[1]]["email"] is None
    assert {"email", "x_ferry_balance", "x_ferry_visits"} <= want_blank[ids[1]]
    assert not {"email", "x_ferry_balance", "x_ferry_visits"} & want_blank[ids[0]]
    # a few named fields, in the order asked, as ``update`` reads its before-images
    some = ["x_ferry_tags", "comment", "country_id", "x_ferry_balance", "name"]
    assert dest.read("res.partner", ids, some) == {
        i: {n: v[n] for n in some} for i, v in want.items()}

    lead = dest.create("crm.lead", [{"name": "Visit", "partner_id": ids[0],
                                     "date_deadline": dt.date(2026, 1, 5),
                                     "expected_revenue": 0.0, "description": ""}])
    assert lead[0].ok, lead[0].error
    lead_ids = [str(lead[0].dest_id)]
    want, want_blank = _per_cell(dest, "crm.lead", lead_ids)
    assert dest.read("crm.lead", lead_ids) == want
    assert dest._blank_seen == ("crm.lead", want_blank)
