"""Odoo's states as addresses write them. ``bench/demo_values.py`` at seed 97 (a Dutch practice
with Spanish and British patients, clinic CSV -> Odoo): 33 patients' state_id left empty with
'no matching res.country.state record in Odoo' (listed; the sample PASSed). 14 of them name a
state Odoo has under another form: a Spanish region by its own name where Odoo names the
province (Comunidad de Madrid: Madrid; Principado de Asturias: Asturias; Ciudad Autónoma de
Ceuta: Ceuta), Odoo's name in two languages (Illes Balears (Islas Baleares), Navarra
(Nafarroa)) and a Northern Irish county without its word (Armagh: County Armagh). A region of
several provinces (Andalucía) still matches none and is listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry.connectors.base import SchemaItem
from ferry.connectors.registry import make_destination
from ferry.destinations.odoo.writer import OdooDestination
from ferry.model.fields import Kind


def _connect(odoo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> OdooDestination:
    c = odoo.creds
    monkeypatch.setenv("ODOO_SV_API_KEY", c["api_key"])
    dest = make_destination("odoo", {"kind": "odoo", "url": odoo.url, "db": c["db"],
                                     "login": c["login"], "api_key_env": "ODOO_SV_API_KEY",
                                     "time_scale": 1000.0}, tmp_path)
    assert isinstance(dest, OdooDestination)
    return dest


def test_a_state_written_another_way_is_odoos_state(odoo_factory, monkeypatch,
                                                    tmp_path) -> None:
    dest = _connect(odoo_factory(17), monkeypatch, tmp_path)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    given = [("ES", "Comunidad de Madrid", "Madrid"),
             ("ES", "Principado de Asturias", "Asturias"),
             ("ES", "Ciudad Autónoma de Ceuta", "Ceuta"),
             ("ES", "Comunidad Foral de Navarra", "Navarra (Nafarroa)"),
             ("ES", "Illes Balears", "Illes Balears (Islas Baleares)"),
             ("GB", "Armagh", "County Armagh"),
             ("IE", "Armagh", "Armagh"),  # the Irish county of that name stays Irish
             ("GB", "County Armagh", "County Armagh"),
             ("ES", "Madrid", "Madrid")]
    rows = [{"name": f"Patient {i}", "x_ferry_source_id": f"sv{i}", "country_id": country,
             "state_id": state} for i, (country, state, _) in enumerate(given)]
    results = dest.create("res.partner", rows)
    assert all(r.ok and not r.field_errors for r in results), \
        [(r.error, r.field_errors) for r in results]
    got = dest.read("res.partner", [str(r.dest_id) for r in results], ["state_id"])
    assert [got[str(r.dest_id)]["state_id"] for r in results] == [w for *_, w in given]


def test_a_region_of_several_provinces_is_still_left_out(odoo_factory, monkeypatch,
                                                         tmp_path) -> None:
    dest = _connect(odoo_factory(17), monkeypatch, tmp_path)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    results = dest.create("res.partner", [{"name": "Patient", "x_ferry_source_id": "sv-a",
                                           "country_id": "ES", "state_id": "Andalucía"}])
    assert results[0].ok
    assert [e for e in results[0].field_errors if "state_id" in str(e)]
