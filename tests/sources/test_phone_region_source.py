"""``options.phone_region`` reaches the source readers: an export's ambiguous date (``03/04/1990``)
takes the order of the practice's configured country before any guess from the data. A US
practice's own numbers are local (``(202) 555-0143``: no country code), so the only numbers that
name a country were its two foreign patients' UK ones; the reader took the practice for a UK
one and read every ambiguous birthday day-first. Before: ``ferry.yaml``'s ``phone_region: US``
never reached the reader (4 March staged as 3 April)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.pipeline import open_source
from ferry.engine.project import Project

PATIENTS = """Patient ID,First Name,Last Name,DOB,Mobile
1,Ann,Lee,03/04/1990,(202) 555-0143
2,Bo,Ng,05/06/1985,(415) 555-0199
3,Cy,Oh,11/10/1979,+44 7700 900123
4,Di,Pu,,+44 20 7946 0958
"""


def export_project(tmp_path: Path, patients: str, region: str | None) -> Project:
    """A ``ferry init`` project (clinic_csv to Odoo) reading an export folder whose patients.csv
    holds ``patients``, with ``options.phone_region`` set to ``region`` when given (shared with
    tests/mapping/test_postal_country.py)."""
    export = tmp_path / "export"
    export.mkdir(exist_ok=True)
    (export / "patients.csv").write_text(patients, encoding="utf-8")
    root = tmp_path / f"p-{region}"
    r = CliRunner().invoke(app, ["init", str(root), "--source", "clinic_csv", "--destination",
                                 "odoo", "--no-encrypt", "--set", f"source.path={export}",
                                 "--set", "destination.url=http://127.0.0.1:9", "--set",
                                 "destination.db=x", "--set", "destination.login=admin"])
    assert r.exit_code == 0, r.output
    if region:
        yaml = root / "ferry.yaml"
        text = yaml.read_text()
        assert "  # phone_region: null" in text
        yaml.write_text(text.replace("  # phone_region: null", f"  phone_region: {region}"))
    return Project.at(root)


def test_the_configured_country_orders_an_exports_dates(h, tmp_path: Path) -> None:
    src = open_source(export_project(tmp_path, PATIENTS, "US"))
    recs, errs, _ = h.read_all(src, "patient")
    got = {r.source_id: r.date_of_birth for r in recs}
    assert got["1"] == dt.date(1990, 3, 4)  # before: 1990-04-03 (the +44 numbers' UK order)
    assert got["2"] == dt.date(1985, 5, 6)
    assert got["3"] == dt.date(1979, 11, 10)
    assert not errs


def test_unset_the_guess_is_named_where_it_decides(h, tmp_path: Path) -> None:
    """Without it, the numbers' country is the practice's (every +number is a UK one), and
    the reader says so where it is used: the evidence names its origin and the setting."""
    src = open_source(export_project(tmp_path, PATIENTS, None))
    recs, _, _ = h.read_all(src, "patient")
    assert {r.source_id: r.date_of_birth for r in recs}["1"] == dt.date(1990, 4, 3)
    ev = src.date_evidence()  # type: ignore[attr-defined]
    ev.system, ev.system_name = False, "a month-first system"  # evidence against it
    order, why = ev.decide()
    assert order is None
    assert "the practice's country (GB, its phone numbers' country codes; set" \
           " options.phone_region if wrong)" in why
