"""An export whose address has State and ZIP (or postcode) columns and no Country: its
national-format phones (``(312) 555-0142``) were all left empty, the audit saying no country was
known. The state and postcode name the country when they agree (``ferry.model.postal``); a
record whose two name different countries is left out and listed (id and field, never the
value); an explicit country and a configured ``options.phone_region`` are never overridden."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from tests.sources.test_phone_region_source import export_project

from ferry.engine.audit_source import audit
from ferry.engine.pipeline import open_source
from ferry.engine.project import Project
from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap, Transform
from ferry.mapping.phones import practice_region, record_country
from ferry.model.entities import Clinic, Patient
from ferry.model.postal import postal_country
from ferry.model.staging import StagingStore


@pytest.mark.parametrize(("state", "postcode", "country"), [
    ("IL", "60601", "US"), ("Illinois", "60601-1234", "US"), ("CA", "94110", "US"),
    ("NSW", "2000", "AU"), ("VIC", "3000", "AU"), ("QLD", "4000", "AU"), ("TAS", "7000", "AU"),
    ("ACT", "2600", "AU"), ("N.S.W.", "2000", "AU"),
    # one code, two countries: the postcode's shape (or the state's own range) decides
    ("WA", "6000", "AU"), ("WA", "98101", "US"), ("SA", "5000", "AU"), ("NT", "0800", "AU"),
    ("NT", "X1A 2B3", "CA"), ("ON", "K1A 0B1", "CA"), ("Ontario", "M5V 2T6", "CA"),
    ("", "K1A 0B1", "CA"), ("Greater London", "SW1A 1AA", "GB"), (None, "EC1Y 8SY", "GB"),
    ("Queensland", None, "AU"),  # a state alone that only one country has
])
def test_state_and_postcode_name_the_country(state, postcode, country) -> None:
    got = postal_country(state, postcode)
    assert (got.country, got.conflict) == (country, False)


@pytest.mark.parametrize(("state", "postcode"), [
    (None, "60601"), ("", "2000"),  # 5 or 4 digits alone fit dozens of countries
    ("CA", None),  # California, Cagliari, Cádiz...
    ("Springfield", "60601"), (None, None), ("UNKNOWN", "UNKNOWN"), (None, "N/A"),
])
def test_no_country_without_agreeing_evidence(state, postcode) -> None:
    got = postal_country(state, postcode)
    assert (got.country, got.conflict) == (None, False)


@pytest.mark.parametrize(("state", "postcode"), [
    ("NSW", "94110"), ("IL", "2000"), ("CA", "SW1A 1AA"), ("CA", "2000")])
def test_state_and_postcode_of_different_countries_conflict(state, postcode) -> None:
    got = postal_country(state, postcode)
    assert (got.country, got.conflict) == (None, True)


def patient(sid: str, **kw) -> Patient:
    return Patient(source_id=sid, first_name="A", last_name="B",
                   date_of_birth=dt.date(1980, 1, 2), **kw)


def test_an_explicit_country_is_never_overridden() -> None:
    rec = patient("p1", country="Australia", region="CA", postcode="94110")
    assert record_country(rec, infer=True) == "AU"
    rec = patient("p2", address="4 Quay Rd, Sydney NSW 2000, Australia", region="IL",
                  postcode="60601")
    assert record_country(rec, infer=True) == "AU"
    # without ``infer`` (the practice's country configured) nothing is read from them
    assert record_country(patient("p3", region="IL", postcode="60601")) is None


def test_the_practice_country_needs_overwhelming_evidence(tmp_path: Path) -> None:
    store = StagingStore(tmp_path / "s.db")
    us = [patient(str(i), region="IL", postcode=f"606{i:02d}") for i in range(17)]
    store.put_records("patient", [*us, patient("a1", region="NSW", postcode="2000"),
                                  patient("x1", region="NSW", postcode="60601"),
                                  patient("n1", region="", postcode="60601")])  # says nothing
    assert practice_region(store) is None  # 17 of 19 (the conflict counts against) < 90 %
    store.put_records("patient", [patient("a1", region="IL", postcode="60601")])
    assert practice_region(store) == "US"  # 18 of 19
    # a clinic's own state and postcode come first; an explicit country anywhere wins
    store.put_records("clinic", [Clinic(source_id="c1", name="Loop", region="NSW",
                                        postcode="2000")])
    assert practice_region(store) == "AU"
    store.put_records("patient", [patient("g1", country="GB")])
    assert practice_region(store) == "GB"


PATIENTS = """Patient ID,First Name,Last Name,Cell Phone,Home Phone,City,State,ZIP
1001,Ann,Example,(312) 555-0142,,Chicago,IL,60601
1002,Bob,Sample,(212) 736-5000,,New York,NY,10001
1003,Cy,Test,650.253.0000,,Palo Alto,CA,94301
1004,Di,Walker,0412 345 678,(02) 9124 0249,Sydney,NSW,2000
1005,Ed,Mixed,(415) 823-4567,,San Francisco,NSW,94110
1006,Flo,Nozip,(415) 823-4568,,San Francisco,,
""" + "".join(f"{2000 + i},G{i},Other,(773) 555-{100 + i:04d},,Chicago,IL,606{i:02d}\n"
              for i in range(15))

DOC = MappingDoc(source="clinic_csv", destination="odoo", objects=[ObjectMap(
    name="patients", source="patient", target="res.partner", fields=[
        FieldMap(source="mobile", target="mobile", transform=[Transform(name="phone_e164")]),
        FieldMap(source="phone", target="phone", transform=[Transform(name="phone_e164")])])])


def _project(tmp_path: Path, region: str | None) -> Project:
    """A front desk's export (State and ZIP, no Country) extracted into a ``ferry init``
    project, with ``options.phone_region`` set to ``region`` when given."""
    project = export_project(tmp_path, PATIENTS, region)

    async def read() -> list[Patient]:
        return [r async for page in open_source(project).read("patient") for r in page.records]

    project.store.put_records("patient", asyncio.run(read()))
    return project


def _built(project: Project) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """Per patient: the phones the map sends, and its field errors (field → reason)."""
    (cm,) = project.compile(DOC, need_keys=False)

    class NoLookup:
        def dest_id(self, *a, **k):
            return None

        def owner(self, *a):
            return None

    out = {}
    for rec in project.store.iter_records("patient"):
        b = cm.build(rec, NoLookup())
        out[rec.source_id] = ({k: v for k, v in b.payload.items() if k in ("mobile", "phone")},
                              {e.field: e.reason for e in b.field_errors})
    return out


def test_a_state_and_zip_export_has_its_phones(tmp_path: Path) -> None:
    project = _project(tmp_path, None)
    assert project.phone_region == "US"  # 18 of the 20 with state and ZIP agree on the US
    built = _built(project)
    assert built["1001"][0] == {"mobile": "+13125550142"}  # before: left empty
    assert built["1002"][0] == {"mobile": "+12127365000"}
    assert built["1003"][0] == {"mobile": "+16502530000"}
    # an Australian patient of the same file: her own state and postcode, not the practice's
    assert built["1004"][0] == {"mobile": "+61412345678", "phone": "+61291240249"}
    # no state or ZIP: the practice's country, which the file's evidence names
    assert built["1006"][0] == {"mobile": "+14158234568"}
    # NSW with a Californian ZIP: not read in any plan, the field listed, its value never
    assert built["1005"][0] == {}
    (reason,) = built["1005"][1].values()
    assert "state and postcode" in reason and "823" not in reason
    data = audit(project.store, region=project.phone_region, infer=project.infers_countries)
    assert data["phone_region"] == "US"
    (conflict,) = [f for f in data["findings"] if f["check"] == "phone_country_conflict"]
    assert (conflict["field"], conflict["refs"]) == ("mobile", ["source:patient:1005"])
    assert "4567" not in str(data["findings"])
    assert not [f for f in data["findings"] if f["check"] == "invalid_phone"]


def test_a_configured_region_is_never_overridden(tmp_path: Path) -> None:
    project = _project(tmp_path, "AU")
    assert project.phone_region == "AU" and not project.infers_countries
    built = _built(project)
    # every record without a country column is read in the configured plan, as before
    assert built["1004"][0] == {"mobile": "+61412345678", "phone": "+61291240249"}
    assert built["1001"][0] == {} and "AU numbering plan" in built["1001"][1]["mobile"]
    assert built["1005"][0] == {} and "AU numbering plan" in built["1005"][1]["mobile"]


def test_any_country_written_by_its_english_name() -> None:
    """A country column of ``Norway`` was not recognised (only eleven names were), and a
    Norwegian patient's ``412 34 567`` was read in the practice's plan (left empty)."""
    from ferry.mapping.phones import country_code, read_phone

    assert [country_code(n) for n in ("Norway", "south korea", "Viet Nam", "South Africa")] \
        == ["NO", "KR", "VN", "ZA"]
    assert [country_code(n) for n in ("n/a", "Unknown", "")] == [None, None, None]
    rec = patient("p9", country="Norway")
    assert read_phone("412 34 567", country=record_country(rec), practice="GB").e164 \
        == "+4741234567"
