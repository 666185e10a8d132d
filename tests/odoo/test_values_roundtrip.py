"""Country and state values round-trip through Odoo and the sample diff (issues 7 and 9).

Odoo takes a country by name or ISO code and reads it back as the code; it takes a state by
name or code within the row's country and has no record for many regions (no UK counties).
The diff compares what was sent in the form the destination stores it
(``Destination.stored_form``), and a state Odoo cannot resolve is a field-level RecordError on
an otherwise successful write, its text kept in the contact's notes: a ``load-kept`` line in
the skip file and a ``kept_as_text`` field in the diff (read back in the notes) — never a
silent gap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.connectors.base import Destination, SchemaItem
from ferry.connectors.registry import make_destination
from ferry.destinations.odoo.writer import OdooDestination
from ferry.engine.diff import classify
from ferry.errors import RecordError
from ferry.model.fields import Kind
from ferry.sandbox import profiles
from ferry.sandbox.odoo import profile as odoo_profile

profiles.PROFILES.setdefault("odoo", odoo_profile)

PLACES = [("Spain", "Madrid"), ("IN", "Karnataka"), ("United States", "TX"),
          ("Netherlands", "Utrecht"), ("Australia", "NSW"), ("United Kingdom", "Yorkshire")]
UNKNOWN_REGION = "Yorkshire"


def connect(odoo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> OdooDestination:
    c = odoo.creds
    monkeypatch.setenv("ODOO_RT_API_KEY", c["api_key"])
    dest = make_destination("odoo", {"kind": "odoo", "url": odoo.url, "db": c["db"],
                                     "login": c["login"], "api_key_env": "ODOO_RT_API_KEY",
                                     "time_scale": 1000.0}, tmp_path)
    assert isinstance(dest, OdooDestination)
    return dest


def test_connector_country_state_forms_and_unknown_region(odoo_factory, monkeypatch,
                                                          tmp_path) -> None:
    dest = connect(odoo_factory(17), monkeypatch, tmp_path)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    rows = [{"name": f"Patient {i}", "x_ferry_source_id": f"p{i}", "country_id": country,
             "state_id": region} for i, (country, region) in enumerate(PLACES)]
    results = dest.create("res.partner", rows)
    assert all(r.ok for r in results), [r.error for r in results]
    *known, uk = results
    assert all(not r.field_errors for r in known)
    (fe,) = uk.field_errors  # the record is written; the state is reported, not dropped
    assert isinstance(fe, RecordError) and fe.field == "state_id"
    assert "res.country.state" in fe.reason and UNKNOWN_REGION not in str(fe)

    got = dest.read("res.partner", [str(r.dest_id) for r in results], ["country_id", "state_id"])
    for row, res in zip(rows, results, strict=True):
        stored = got[str(res.dest_id)]
        for key in ("country_id", "state_id"):
            sent = row[key]
            if sent == UNKNOWN_REGION:
                assert stored[key] is None
                cat, ok, note = classify(sent, sent, None, [], dest_error=fe.reason,
                                         as_stored=dest.stored_form("res.partner", key, sent,
                                                                    row))
                assert (cat, ok) == ("missing", True) and "left empty by the destination" in note
                continue
            # before: "Spain" sent, "ES" read back — an unexplained difference
            assert classify(sent, sent, stored[key], [])[1] is False or sent == stored[key]
            as_stored = dest.stored_form("res.partner", key, sent, row)
            cat, ok, _ = classify(sent, sent, stored[key], [], as_stored=as_stored)
            assert ok and cat in ("equal", "format_changed"), (key, sent, stored[key], cat)
    assert got[str(results[0].dest_id)]["country_id"] == "ES"
    # the hook never raises and leaves what it cannot resolve alone
    assert dest.stored_form("res.partner", "country_id", "Atlantis", {}) == "Atlantis"
    assert Destination.stored_form(dest, "res.partner", "country_id", "Spain", {}) == "Spain"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Any]:
    from ferry.sandbox.harness import start_pair

    with start_pair(tmp_path / "p", source="practicehub", destination="odoo", patients=12,
                    seed=3, time_scale=1000.0, dest_extra={"version": 17, "accounting": True},
                    env_prefix="FERRY_RT_") as p:
        yield p


def test_sample_diff_passes_for_patients_in_several_countries(pair: Any) -> None:
    from ferry.engine import pipeline
    from ferry.engine.diff import run_sample
    from ferry.mapping.mapping_file import content_hash, save
    from ferry.mapping.model import Confirmation
    from ferry.mapping.recipes import load_recipe
    from ferry.mapping.review import leave_out_invalid

    doc = load_recipe("practicehub", "odoo", None)
    # the reviewer's decision for numbers no numbering plan accepts (moved or dirty patients)
    leave_out_invalid(doc)
    doc.confirmed = Confirmation(hash=content_hash(doc), by="tests",
                                 at=dt.datetime.now(dt.UTC).isoformat())
    save(doc, pair.project.mapping_path)
    pipeline.run_extract(pair.project)
    store = pair.project.store
    moved = [rec.model_copy(update={"country": c, "region": r, "address": None})
             for rec, (c, r) in zip(sorted(store.iter_records("patient"),
                                           key=lambda x: x.source_id),
                                    PLACES * 3, strict=False)]
    store.put_records("patient", moved)
    uk = {f"source:patient:{r.source_id}" for r in moved if r.region == UNKNOWN_REGION}
    pipeline.run_prepare(pair.project)

    _, diff, _ = run_sample(pair.project, 200)
    places = [f for f in diff.fields if f.key in ("country_id", "state_id")]
    assert len({f.ref for f in places}) >= 8  # patients in every country compared
    assert {f.category for f in places if f.key == "country_id"} >= {"format_changed"}
    bad = [(f.ref, f.key, f.category, f.note) for f in places if not f.explained]
    assert not bad, bad
    skipped = [f for f in places if f.key == "state_id" and f.category == "kept_as_text"]
    patients = {f.ref for f in skipped if f.ref.startswith("source:patient:")}
    assert patients and patients == uk & {f.ref for f in places}  # clinics may have some too
    assert all("kept as written in the record's notes" in f.note for f in skipped)
    lines = [s for s in diff.skips if s["stage"] == "load-kept"]
    assert {s["ref"] for s in lines} == {f.ref for f in skipped}
    assert all(s["explained"] and s["field"] == "state_id" for s in lines)
    assert not any(UNKNOWN_REGION in s["reason"] for s in lines)  # reason, never the value
    # the rest of the diff: only what the engine's own JSON wrapping leaves (see e2e test)
    rest = [f for f in diff.unexplained if not isinstance(f.sent, dict)]
    assert not rest, [(f.key, f.category, f.note) for f in rest]


def test_a_country_odoo_has_no_record_of_loses_only_that_field(odoo_factory, monkeypatch,
                                                                tmp_path) -> None:
    """A country text Odoo has no res.country for (one no language names a country) leaves
    that field empty, reported, as an unknown region does; before, the whole patient was
    refused, and with it every visit and bill that refers to it. A German practice's
    ``Deutschland`` is Germany (``ferry.model.countries``): it was such a text until then."""
    dest = connect(odoo_factory(17), monkeypatch, tmp_path)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    rows = [{"name": "Patient x", "x_ferry_source_id": "x1", "country_id": "Atlantis",
             "city": "Berlin", "zip": "10115"},
            {"name": "Patient es", "x_ferry_source_id": "es1", "country_id": "Spain"},
            {"name": "Patient de", "x_ferry_source_id": "de1", "country_id": "Deutschland"}]
    results = dest.create("res.partner", rows)
    assert all(r.ok for r in results), [r.error for r in results]
    (fe,) = results[0].field_errors
    assert fe.field == "country_id" and "res.country" in fe.reason
    assert "Atlantis" not in str(fe)
    assert not results[1].field_errors and not results[2].field_errors
    got = dest.read("res.partner", [str(r.dest_id) for r in results],
                    ["country_id", "city", "zip"])
    assert got[str(results[0].dest_id)] == {**got[str(results[0].dest_id)],
                                            "country_id": None, "city": "Berlin",
                                            "zip": "10115"}
    assert got[str(results[1].dest_id)]["country_id"] == "ES"
    assert got[str(results[2].dest_id)]["country_id"] == "DE"
    assert dest.stored_form("res.partner", "country_id", "Deutschland", {}) == "DE"


def test_an_irish_county_written_co_cork_is_odoos_cork(odoo_factory, monkeypatch,
                                                          tmp_path) -> None:
    """An Irish practice's export writes its patients' counties as Irish addresses do
    ("Co. Cork", "County Kerry"); Odoo names them Cork and Kerry. Before, each was left empty
    (reported, and the sample counted it explained): every Irish patient lost the county."""
    dest = connect(odoo_factory(17), monkeypatch, tmp_path)
    dest.ensure([SchemaItem("custom_field", "res.partner", "ferry_source_id", "Ferry source id",
                            Kind.TEXT, external_id=True)])
    rows = [{"name": f"Patient {i}", "x_ferry_source_id": f"ie{i}", "country_id": "Ireland",
             "state_id": county} for i, county in enumerate(["Co. Cork", "County Kerry",
                                                               "co clare", "Cork"])]
    results = dest.create("res.partner", rows)
    assert all(r.ok and not r.field_errors for r in results), \
        [(r.error, r.field_errors) for r in results]
    got = dest.read("res.partner", [str(r.dest_id) for r in results], ["state_id"])
    assert [got[str(r.dest_id)]["state_id"] for r in results] == ["Cork", "Kerry", "Clare", "Cork"]
