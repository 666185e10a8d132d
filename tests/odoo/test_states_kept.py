"""A state Odoo does not list is kept as written, never lost and never guessed.

Odoo's GB ``res.country.state`` rows are Royal Mail's former postal counties (odoo's base data,
as the sandbox loads it). seed 0 of the last session: 131 of 330 GB patients' counties were left
empty (listed): abbreviations of counties Odoo has (``Glos``, ``Lancs``, ``Herts``), and
counties that are no row (``Greater Manchester``, ``Bristol``). The first are the same row
(``model.regions``); the second keep their text in the contact's notes and are listed as kept.
Real connector code over HTTP against the Odoo sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.odoo.test_values_roundtrip import connect

from ferry.connectors.base import KeptAsText, SchemaItem
from ferry.destinations.odoo.writer import OdooDestination
from ferry.model.fields import Kind


def _connect(odoo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> OdooDestination:
    dest = connect(odoo, monkeypatch, tmp_path)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    return dest


def _raw(dest: OdooDestination, ids: list[str], field: str) -> list[Any]:
    rows = dest.rpc.execute("res.partner", "read", [int(i) for i in ids], fields=[field])
    return [r[field] for r in sorted(rows, key=lambda r: [int(i) for i in ids].index(r["id"]))]


def test_a_county_written_another_way_is_that_row(odoo_factory, monkeypatch, tmp_path) -> None:
    dest = _connect(odoo_factory(17), monkeypatch, tmp_path)
    given = [("GB", "Glos", "Gloucestershire"), ("GB", "Lancs", "Lancashire"),
             ("GB", "Herts", "Hertfordshire"), ("GB", "N Yorks", "North Yorkshire"),
             ("GB", "W. Sussex", "West Sussex"), ("GB", "Co. Durham", "County Durham"),
             ("GB", "Co Durham", "County Durham"), ("GB", "Devonshire", "Devon"),
             ("GB", "Salop", "Shropshire"), ("GB", "County Derry", "County Londonderry"),
             ("GB", "Inverness-shire", "Inverness-Shire"), ("GB", "Mid Glam", "Mid Glamorgan"),
             ("GB", "Tyne & Wear", "Tyne and Wear"), ("ES", "Avila", "Ávila"),
             ("ES", "Alava", "Araba/Álava"), ("NZ", "Hawkes Bay", "Hawke's Bay"),
             ("IN", "Odisha", "Orissa"), ("CA", "Québec", "QC")]
    rows = [{"name": f"Patient {i}", "x_ferry_source_id": f"al{i}", "country_id": country,
             "state_id": state} for i, (country, state, _) in enumerate(given)]
    results = dest.create("res.partner", rows)
    assert all(r.ok and not r.field_errors for r in results), \
        [(g[1], r.field_errors) for g, r in zip(given, results, strict=True) if r.field_errors]
    got = dest.read("res.partner", [str(r.dest_id) for r in results], ["state_id", "comment"])
    assert [got[str(r.dest_id)]["state_id"] for r in results] == [w for *_, w in given]
    assert not any(got[str(r.dest_id)]["comment"] for r in results)  # nothing kept: all found


def test_a_county_odoo_does_not_list_is_kept_in_the_notes(odoo_factory, monkeypatch,
                                                          tmp_path) -> None:
    dest = _connect(odoo_factory(17), monkeypatch, tmp_path)
    # modern areas a postal county overlaps are never replaced by it; nor is Yorkshire by one
    # of its three parts
    given = ["Greater Manchester", "Bristol", "Pembrokeshire", "Yorkshire", "Bath & NE Somerset"]
    rows = [{"name": f"Patient {i}", "x_ferry_source_id": f"k{i}", "country_id": "GB",
             "state_id": county} for i, county in enumerate(given)]
    rows.append({"name": "Mapped notes", "x_ferry_source_id": "k-notes", "country_id": "GB",
                 "state_id": "Highland", "comment": "Prefers mornings"})
    results = dest.create("res.partner", rows)
    assert all(r.ok for r in results)
    for r in results:
        (err,) = r.field_errors
        assert isinstance(err, KeptAsText) and err.field == "state_id"
        assert err.kept_in == "comment" and "notes" in err.reason
        assert "Manchester" not in err.reason and "Highland" not in err.reason  # never the value
    ids = [str(r.dest_id) for r in results]
    got = dest.read("res.partner", ids, ["state_id", "comment"])
    assert all(got[i]["state_id"] is None for i in ids)
    notes = _raw(dest, ids, "comment")
    for county, note in zip([*given, "Highland"], notes, strict=True):
        assert "State or county as exported (Odoo lists no such state): " in note
        assert county.replace("&", "&amp;") in note
    assert notes[-1].startswith("<p>Prefers mornings</p>")  # the map's notes first
    assert dest.kept_as_text("res.partner", "state_id") == "comment"
    assert dest.kept_as_text("res.partner", "email") is None
    # the map's notes plus Ferry's paragraph: Odoo's design, named, not a fault
    assert dest.design_rule("res.partner", "comment", "Prefers mornings",
                            got[ids[-1]]["comment"])


def test_an_update_replaces_only_ferrys_paragraph(odoo_factory, monkeypatch, tmp_path) -> None:
    dest = _connect(odoo_factory(17), monkeypatch, tmp_path)
    (made,) = dest.create("res.partner", [{"name": "P", "x_ferry_source_id": "u1",
                                            "country_id": "GB",
                                            "state_id": "Greater Manchester"}])
    pid = str(made.dest_id)
    # staff add their own note in Odoo after the migration
    (now,) = _raw(dest, [pid], "comment")
    dest.rpc.execute("res.partner", "write", [int(pid)],
                     {"comment": f"<p>Called on Monday</p>{now}"})
    (moved,) = dest.update("res.partner", [(pid, {"state_id": "Highland"})])
    assert moved.ok and [type(e) for e in moved.field_errors] == [KeptAsText]
    (note,) = _raw(dest, [pid], "comment")
    assert "Called on Monday" in note and "Highland" in note and "Manchester" not in note
    (found,) = dest.update("res.partner", [(pid, {"state_id": "Lancs"})])
    assert found.ok and not found.field_errors
    (note,) = _raw(dest, [pid], "comment")
    assert note == "<p>Called on Monday</p>"  # the state resolves: Ferry's paragraph goes
    assert dest.read("res.partner", [pid], ["state_id"])[pid]["state_id"] == "Lancashire"
