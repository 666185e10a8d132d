"""A country written in the practice's own language, or a common variant, is that country
everywhere Ferry reads one (``ferry.model.countries``).

A German practice's export wrote its country as ``Deutschland``: Odoo knows countries by ISO
code or English name, so ``country_id`` was left empty (listed, but the patient's country lost
in the CRM); ``UK`` and ``USA`` are neither an Odoo code nor a name either; Salesforce's
``MailingCountry`` got the text as typed, and an Austrian patient's ``0664 1234567`` was read in
the practice's numbering plan, not Austria's. Now the map writes each country by its English
name (Odoo resolves it, Salesforce's country picklist lists it) and reads the phones in its
plan; the sample passes with every country landed, none left out. A name that is a country and
also a state (``Georgia`` beside GA 30301) is not guessed: written as exported, and listed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ferry.engine import pipeline as P
from ferry.engine.audit_source import audit
from ferry.engine.readback import run_sample

from .setup_pair import approve_phi, make_pair

#: (Country as exported, City, State, Zip, mobile as the front desk typed it) → (ISO code,
#: English name, E.164 mobile)
PATIENTS = [
    (("Deutschland", "Berlin", "", "10115", "0151 23456789"),
     ("DE", "Germany", "+4915123456789")),
    (("España", "Madrid", "Madrid", "28013", "612 34 56 78"), ("ES", "Spain", "+34612345678")),
    (("UK", "Leeds", "", "LS1 4AB", "07911 123456"), ("GB", "United Kingdom", "+447911123456")),
    (("USA", "Chicago", "IL", "60601", "(312) 555-0142"),
     ("US", "United States", "+13125550142")),
    (("Österreich", "Wien", "", "1010", "0664 1234567"), ("AT", "Austria", "+436641234567")),
]
GEORGIA = ("Georgia", "Atlanta", "GA", "30301", "+1 404 555 0100")


def _rewrite_export(export: Path) -> dict[str, tuple[str, str, str] | None]:
    """Give six patients of the generated export foreign countries (and a local mobile each);
    their id → what must land (None: the ambiguous one)."""
    path = export / "patients.csv"
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    head = rows[0]
    col = {name: head.index(name) for name in (
        "Patient ID", "Country", "City", "State", "Zip", "Mobile Number", "Home Phone",
        "Emergency Contact Phone", "Address 1", "Address 2")}
    whole = [r for r in rows[1:] if len(r) == len(head) and r[col["Patient ID"]].isdigit()]
    want: dict[str, tuple[str, str, str] | None] = {}
    for row, (cells, expect) in zip(whole, [*PATIENTS, (GEORGIA, None)], strict=False):
        country, city, state, zipcode, mobile = cells
        for name, value in (("Country", country), ("City", city), ("State", state),
                            ("Zip", zipcode), ("Mobile Number", mobile), ("Home Phone", ""),
                            ("Emergency Contact Phone", ""), ("Address 1", "Hauptstrasse 1"),
                            ("Address 2", "")):
            row[col[name]] = value
        want[row[col["Patient ID"]]] = expect
    assert len(want) == 6
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    return want


@pytest.mark.parametrize("destination", ["odoo", "salesforce"])
def test_countries_in_other_languages_land_as_the_destination_expects(
        destination: str, tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination=destination, source="clinic_csv",
                   patients=12, seed=11, env_prefix="FERRY_CTRY_") as pair:
        proj = pair.project
        want = _rewrite_export(Path(pair.source_info["base_url"]))
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        data = audit(proj.store, region=proj.phone_region, infer=proj.infers_countries)
        listed = {(f["check"], tuple(f["refs"])) for f in data["findings"]
                  if f["field"] == "country"}
        (georgia,) = [sid for sid, w in want.items() if w is None]
        assert listed == {("ambiguous_country", (f"source:patient:{georgia}",))}
        assert "Georgia" not in str(data["findings"])  # the record, never its value

        _, diff, _ = run_sample(proj, 40)
        assert diff.passed, [(f.map, f.field, f.category, f.note) for f in diff.unexplained]
        P.load(proj)

        target, country_key, mobile_key = {
            "odoo": ("res.partner", "country_id", "mobile"),
            "salesforce": ("Contact", "MailingCountry", "MobilePhone")}[destination]
        ids = {sid: proj.store.dest_id("patient", sid, target) for sid in want}
        assert all(ids.values()), ids
        dest = P.open_destination(proj)
        try:
            rows = dest.read(target, list(ids.values()), [country_key, mobile_key])
        finally:
            dest.close()
        for sid, expect in want.items():
            got = rows[ids[sid]]
            if expect is None:  # written as exported (Salesforce's text), never guessed;
                # Odoo has the country Georgia (as a real database does): left empty,
                # kept as text and listed by the load, never resolved to it
                assert got[country_key] == ("Georgia" if destination == "salesforce" else None)
                assert got[mobile_key] == "+14045550100"
                continue
            code, name, mobile = expect
            # before: Odoo left Deutschland, UK, USA and Österreich empty; Salesforce held them
            # as typed; the Austrian mobile was read in the practice's plan
            assert got[country_key] == (code if destination == "odoo" else name), sid
            assert got[mobile_key] == mobile, sid

        # the sample compared each country it wrote and found it landed: none left out
        countries = [f for f in diff.fields if f.key == country_key
                     and f.ref.rsplit(":", 1)[-1] in want and want[f.ref.rsplit(":", 1)[-1]]]
        assert all(f.category != "missing" and f.explained for f in countries), \
            [(f.ref, f.category, f.note) for f in countries]
