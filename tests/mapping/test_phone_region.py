"""Phone numbers are read in the record's country, else the practice's, else by their own prefix;
a number that is not valid is never turned into a (wrong) E.164 and never explained."""

from __future__ import annotations

import datetime as dt

import pytest

from ferry.engine.audit_source import audit, practice_region
from ferry.engine.diff import classify
from ferry.mapping.compile import compile_mapping
from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap, Transform
from ferry.mapping.recipes import RECIPES_DIR
from ferry.mapping.transforms import TRANSFORMS, Ctx
from ferry.mapping.value_maps import InvalidValueError
from ferry.model.entities import Clinic, Patient, Practitioner
from ferry.model.staging import StagingStore


class NoLookup:
    def dest_id(self, src_object, source_id, dest_object=None):
        return None

    def owner(self, practitioner_source_id):
        return None


DOC = MappingDoc(source="x", destination="y", objects=[])


def patient(**kw):
    base = dict(source_id="p1", first_name="A", last_name="B", date_of_birth=dt.date(1980, 1, 2))
    base.update(kw)
    return Patient(**base)


def phone(value, record, region=None, clinics=None, **args):
    ctx = Ctx(record=record, lookup=NoLookup(), doc=DOC, key="phone", region=region,
              clinics=clinics)
    return TRANSFORMS["phone_e164"].fn(value, args, ctx), ctx.flags


def test_record_country_decides_before_the_practice() -> None:
    # issue 21: '0412 345 678' became '+10412345678' (a US default) and '(02) 9124 0249'
    # '+44291240249' (GB per source); an Australian address reads them in the AU plan
    au = patient(country="Australia")
    assert phone("0412 345 678", au, region="GB")[0] == "+61412345678"
    assert phone("(02) 9124 0249", au, region="US")[0] == "+61291240249"
    one_line = patient(address="4 Quay Rd, Sydney NSW 2000, Australia")
    assert phone("(02) 9124 0249", one_line, region="GB")[0] == "+61291240249"


def test_a_record_without_a_country_has_its_clinics() -> None:
    # hpairs: a Spanish practice's British clinic: its staff's '07728 214068' read in the ES
    # plan is no number, and the field was left empty
    clinics = {"c2": "GB"}
    staff = Practitioner(source_id="pr1", first_name="A", last_name="B", clinic_id="c2")
    assert phone("07728 214068", staff, region="ES", clinics=clinics)[0] == "+447728214068"
    assert phone("07728 214068", patient(clinic_id="c2"), "ES", clinics)[0] == "+447728214068"
    # the record's own address still comes first, and an unknown clinic falls to the practice
    assert phone("612 345 678", patient(clinic_id="c2", country="ES"), "GB", clinics)[0] \
        == "+34612345678"
    assert phone("612 345 678", patient(clinic_id="c9"), "ES", clinics)[0] == "+34612345678"


def test_a_clinic_without_an_address_has_its_patients_country() -> None:
    # Pulse's API exports no clinics: a practitioner's clinic country comes from where most of
    # its patients live (hpairs: 2 of 3 practitioners' valid GB/NL phones left empty)
    from ferry.mapping.phones import clinic_countries

    members = [patient(source_id=str(i), clinic_id="c2", country=c)
               for i, c in enumerate(["GB"] * 7 + ["IE"] * 2 + [None] * 5)]
    members += [patient(source_id="x", clinic_id="c3", country="GB"),
                patient(source_id="y", clinic_id="c3", country="NL")]  # no majority: unknown
    got = clinic_countries([Clinic(source_id="c1", name="Soho", country="United Kingdom")],
                           members)
    assert got == {"c1": "GB", "c2": "GB"}


def test_a_whole_address_in_the_street_line_names_the_country() -> None:
    # hpairs: an export's "Address 1" held some patients' whole address; their country was
    # unknown, so an Australian mobile read in the Dutch clinic's plan became a valid +31
    whole = patient(street="4 Quay Rd, Sydney NSW 2000, Australia", clinic_id="c1")
    assert phone("0412 345 678", whole, "NL", {"c1": "NL"})[0] == "+61412345678"
    plain = patient(street="4 Quay Rd", clinic_id="c1")  # a street line names no country
    assert phone("06 12345678", plain, "US", {"c1": "NL"})[0] == "+31612345678"


def test_practice_country_then_own_prefix() -> None:
    nowhere = patient()
    assert phone("0412 345 678", nowhere, region="AU")[0] == "+61412345678"
    # no country known: only an international prefix can be read
    assert phone("+61 412 345 678", nowhere)[0] == "+61412345678"
    with pytest.raises(InvalidValueError):
        phone("0412 345 678", nowhere)


def test_invalid_number_is_refused_not_guessed() -> None:
    au = patient(country="AU")
    for bad in ("12345", "call after 5pm", "+44 0000", "0412 345"):
        with pytest.raises(InvalidValueError) as e:
            phone(bad, au, region="AU")
        assert bad not in str(e.value) and "AU" in str(e.value)
    # a list keeps its valid numbers and flags the one it left out
    got, flags = phone(["0412 345 678", "n/a"], au)
    assert got == ["+61412345678"] and flags == ["invalid number left out"]


def test_invalid_number_is_an_unexplained_difference() -> None:
    doc = MappingDoc(source="practicehub", destination="pipedrive", objects=[ObjectMap(
        name="patients", source="patient", target="person", fields=[
            FieldMap(source="mobile", target="phone", transform=[Transform(name="phone_e164")]),
            FieldMap(source="email", target="email", transform=[Transform(name="email")])])])
    (cm,) = compile_mapping(doc, need_keys=False, region="AU")
    built = cm.build(patient(mobile="call after 5pm", email="not-an-email"), NoLookup())
    errors = {e.field: e.reason for e in built.field_errors}
    assert built.unexplained == {"phone"}
    cat, ok, _ = classify("call after 5pm", None, None, [], field_error=errors["phone"],
                          bad_value="phone" in built.unexplained)
    assert (cat, ok) == ("missing", False)
    cat, ok, _ = classify("not-an-email", None, None, [], field_error=errors["email"])
    assert ok  # an email the transform refuses stays "left empty by the map"
    # a phone list stored without the invalid number it left out is not explained either
    cat, ok, _ = classify(["0412 345 678", "n/a"], ["+61412345678"], ["+61412345678"],
                          ["phone_e164", "invalid number left out"])
    assert not ok


def test_no_recipe_pins_a_region_per_source() -> None:
    for path in RECIPES_DIR.glob("*.yaml"):
        text = path.read_text()
        assert "phone_e164, args: {region" not in text, path.name


def test_audit_detects_the_practice_country_and_reads_per_record(tmp_path) -> None:
    store = StagingStore(tmp_path / "s.db")
    store.put_records("clinic", [Clinic(source_id="c1", name="Harbour Clinic",
                                        country="Australia")])
    store.put_records("patient", [
        patient(source_id="p1", mobile="0412 345 678"),  # no country: the practice's (AU)
        patient(source_id="p2", mobile="07911 123456", country="GB"),  # its own address: GB
        patient(source_id="p3", mobile="(02) 9124 0249", country="Australia"),
        patient(source_id="p4", mobile="12345", country="AU")])  # not a number anywhere
    store.put_records("clinic", [Clinic(source_id="c2", name="Soho", country="GB")])
    store.put_records("practitioner", [  # no address: its clinic's plan (GB), not the practice's
        Practitioner(source_id="pr1", first_name="A", last_name="B", clinic_id="c2",
                     phone="07728 214068")])
    assert practice_region(store) == "AU"
    data = audit(store)
    assert data["phone_region"] == "AU"
    bad = [f for f in data["findings"] if f["check"] == "invalid_phone"]
    assert len(bad) == 1 and bad[0]["count"] == 1 and bad[0]["refs"] == ["source:patient:p4"]
    assert bad[0]["field"] == "mobile"


def test_the_regions_written_out_are_phonenumbers_own() -> None:
    """``phones.REGIONS`` is phonenumbers' ``SUPPORTED_REGIONS`` written out (so reading a
    country code does not import phonenumbers): a phonenumbers that knows other regions fails
    here, and the list is written out again from it."""
    import phonenumbers

    from ferry.mapping.phones import REGIONS

    assert frozenset(phonenumbers.SUPPORTED_REGIONS) == REGIONS
