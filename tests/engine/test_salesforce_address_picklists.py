"""A clinic's export with patients in six countries, loaded into Salesforce orgs with State and
Country/Territory Picklists on and off (``ferry.destinations.salesforce.addresses``).

With the picklists on, the org takes a text country only as its picklist's label or integration
value: the map's ``South Korea`` (the org says ``Korea, Republic of``) was refused with
FIELD_INTEGRITY_EXCEPTION and the patient not written. Now the destination writes ISO codes to
``MailingCountryCode``/``MailingStateCode`` (a state by its code or its name within its
country); a state the org's picklist lacks (a German Bundesland: Salesforce lists no German
states) is left empty and listed for that record and field, the rest of the record written.
With the picklists off the text is written as before. Either way the sample passes with
nothing hidden and every patient lands."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ferry.destinations.salesforce.addresses import NO_STATE_COUNTRY
from ferry.engine import pipeline as P
from ferry.engine.readback import run_sample
from ferry.engine.reconcile import run_reconcile
from ferry.mapping.transforms_lib import INFERRED

from .setup_pair import approve_phi, make_pair

#: (Country, City, State, Zip) as exported → (country code, state code, English name)
PATIENTS = [
    (("USA", "Chicago", "IL", "60601"), ("US", "IL", "United States")),
    (("Canada", "Toronto", "Ontario", "M5V 2T6"), ("CA", "ON", "Canada")),
    (("Australia", "Sydney", "NSW", "2000"), ("AU", "NSW", "Australia")),
    (("Ireland", "Dublin", "Dublin", "D02 X285"), ("IE", "D", "Ireland")),
    (("Deutschland", "München", "Bayern", "80331"), ("DE", None, "Germany")),
    (("South Korea", "Seoul", "", "04524"), ("KR", None, "South Korea")),
    # no country: the one state and postcode name together (assumed, listed); when they
    # conflict, none, and a picklist org's state is left empty and listed as such
    (("", "Seattle", "WA", "98101"), ("US", "WA", "United States")),
    (("", "Sydney", "NSW", "94110"), (None, None, None)),
]


def _rewrite_export(export: Path) -> dict[str, tuple[str, str | None, str]]:
    path = export / "patients.csv"
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    head = rows[0]
    col = {name: head.index(name) for name in ("Patient ID", "Country", "City", "State", "Zip")}
    phones = [i for i, name in enumerate(head) if "phone" in name.lower()
              or "mobile" in name.lower()]
    whole = [r for r in rows[1:] if len(r) == len(head) and r[col["Patient ID"]].isdigit()]
    want = {}
    for row, (cells, expect) in zip(whole, PATIENTS, strict=False):
        for name, value in zip(("Country", "City", "State", "Zip"), cells, strict=True):
            row[col[name]] = value
        for i in phones:  # the generated US numbers mean nothing abroad: not this test's
            row[i] = ""
        want[row[col["Patient ID"]]] = expect
    assert len(want) == len(PATIENTS)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    return want


@pytest.mark.parametrize("picklists", [True, False], ids=["picklists-on", "picklists-off"])
def test_patients_of_six_countries_land_in_either_kind_of_org(picklists: bool,
                                                              tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="salesforce", source="clinic_csv",
                   patients=12, seed=5, env_prefix="FERRY_SFADDR_",
                   dest_extra={"address_picklists": picklists}) as pair:
        proj = pair.project
        want = _rewrite_export(Path(pair.source_info["base_url"]))
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        _, diff, _ = run_sample(proj, 40)
        assert diff.passed, [(f.map, f.field, f.category, f.note) for f in diff.unexplained]
        # every country the sample wrote landed, compared as the same country
        for f in diff.fields:
            sid = f.ref.rsplit(":", 1)[-1]
            if f.key == "MailingCountry" and sid in want:
                assert f.category != "missing" and f.explained, (f.ref, f.category, f.note)
        P.load(proj)
        rec = run_reconcile(proj)
        assert rec.balanced, rec.as_dict()

        ids = {sid: proj.store.dest_id("patient", sid, "Contact") for sid in want}
        assert all(ids.values()), ids  # before: the picklist org refused South Korea
        dest = P.open_destination(proj)
        try:
            fields = ["MailingCountry", "MailingState"] + (
                ["MailingCountryCode", "MailingStateCode"] if picklists else [])
            rows = dest.read("Contact", list(ids.values()), fields)
        finally:
            dest.close()
        for sid, (code, state, name) in want.items():
            got = rows[ids[sid]]
            if picklists:
                assert (got["MailingCountryCode"], got["MailingStateCode"]) == (code, state)
                # the text fields read as the codes, whatever the org labels them
                assert (got["MailingCountry"], got["MailingState"]) == (code, state)
            else:
                assert got["MailingCountry"] == name, sid

        listed = proj.store.conn.execute(
            "SELECT ref, field, reason FROM skips WHERE stage='load-field'").fetchall()
        if picklists:  # the Bundesland: left empty and listed, record and field
            (bayern,) = [sid for sid, w in want.items() if w[0] == "DE"]
            assert [f for r, f, _ in listed if r.endswith(":" + bayern)] == ["MailingState"] \
                or {f for r, f, _ in listed if r.endswith(":" + bayern)} == {"MailingState"}
            assert "Bayern" not in str(listed)  # never the value
            (odd,) = [sid for sid, w in want.items() if w == (None, None, None)]
            assert {(f, r) for ref, f, r in listed if ref.endswith(":" + odd)} == \
                {("MailingState", f"field left empty: {NO_STATE_COUNTRY}")}
        else:
            assert not listed
        (seattle,) = [sid for sid, w in want.items() if w[1] == "WA"]
        assumed = proj.store.conn.execute(
            "SELECT ref, field, reason FROM skips WHERE stage='transform-assumed'").fetchall()
        assert {(f, r) for ref, f, r in assumed if ref.endswith(":" + seattle)} == \
            {("MailingCountry", INFERRED)}  # the country it was given, listed as assumed


@pytest.mark.parametrize("source", ["practicehub", "pulse"])
def test_every_recipe_lands_its_addresses_in_a_picklist_org(source: str, tmp_path: Path) -> None:
    """Each source's recipe to Salesforce writes its countries and states as text; a picklist
    org takes them as codes: the sample passes, every patient lands, reconcile balances, every
    country is written, and a state is left empty (and listed) only where the org's picklist
    has no states for its country (these sandboxes' Dutch provinces: Salesforce's standard
    list has none for the Netherlands in the sandbox's subset)."""
    with make_pair(tmp_path / "proj", destination="salesforce", source=source, patients=10,
                   seed=7, env_prefix="FERRY_SFADDR2_",
                   dest_extra={"address_picklists": True}) as pair:
        proj = pair.project
        P.run_extract(proj)
        P.run_prepare(proj)
        approve_phi(proj)
        _, diff, _ = run_sample(proj, 40)
        assert diff.passed, [(f.map, f.field, f.category, f.note) for f in diff.unexplained]
        P.load(proj)
        assert run_reconcile(proj).balanced
        listed = proj.store.conn.execute(
            "SELECT field, reason FROM skips WHERE stage='load-field'").fetchall()
        assert not [f for f, _ in listed if f and "Country" in f], listed
        assert all("not a state of the record's country" in r for f, r in listed
                   if f and "State" in f)
        sids = [r.source_id for r in proj.store.iter_records("patient")]
        ids = [d for d in (proj.store.dest_id("patient", s, "Contact") for s in sids) if d]
        assert ids and len(ids) == len(sids)
        dest = P.open_destination(proj)
        try:
            rows = dest.read("Contact", ids, ["MailingCountryCode", "MailingStateCode"])
        finally:
            dest.close()
        from ferry.sandbox.salesforce.addresses import states

        for r in rows.values():  # a state lost only where the org lists none for its country
            assert r["MailingStateCode"] or r["MailingCountryCode"] not in states(), r
