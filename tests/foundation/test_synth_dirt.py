"""Dirt: every kind at its rate, and the ledger names exactly the records that carry it."""

from __future__ import annotations

import json
from collections import defaultdict

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email

from ferry.sandbox.synth import DirtRates, Practice

N = 3000
GROUPS = {"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", None}


@pytest.fixture(scope="module")
def practice() -> Practice:
    return Practice(seed=5, patients=N)


@pytest.fixture(scope="module")
def patients(practice: Practice) -> list:
    return list(practice.iter("patient"))


def _email_ok(e: str | None) -> bool:
    try:
        validate_email(e or "", check_deliverability=False)
        return True
    except EmailNotValidError:
        return False


def _phone_ok(p: str | None, country: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(p or "", country or "GB"))
    except phonenumbers.NumberParseException:
        return False


def test_rates_within_tolerance(practice: Practice) -> None:
    rates = practice.dirt
    led = practice.ledger
    for kind in led.kinds():
        field = {"orphan_appointment": "orphan_reference", "orphan_note": "orphan_reference"}.get(
            kind, kind)
        rate = getattr(rates, field)
        base = practice.count("practitioner") if kind == "no_crm_user" else N
        expected = rate * base
        got = len(led.ids(kind))
        # stratified picking: exact to one per block, less what conflict resolution removes
        assert expected * 0.85 - 2 <= got <= expected + 2, (kind, got, expected)


def test_ledger_matches_patient_data(practice: Practice, patients: list) -> None:
    led = practice.ledger
    by_id = {p.source_id: p for p in patients}
    # a one-line address has no `country`: it ends the line instead
    country = {p.source_id: p.country or p.address.rsplit(", ", 1)[-1] for p in patients}
    assert {p.source_id for p in patients if not _email_ok(p.email)} == led.ids("invalid_email")
    one_line = led.ids("address_one_string")
    bad_phone = {p.source_id for p in patients if not _phone_ok(p.mobile, country[p.source_id])}
    assert bad_phone == led.ids("invalid_phone")
    assert {p.source_id for p in patients if p.blood_group not in GROUPS} == led.ids(
        "unknown_blood_group")
    assert {p.source_id for p in patients if p.address} == one_line
    assert all(by_id[s].street is None and by_id[s].city is None for s in one_line)

    def is_json(a: str | None) -> bool:
        try:
            return isinstance(json.loads(a or ""), list)
        except ValueError:
            return False
    assert {p.source_id for p in patients if is_json(p.allergies)} == led.ids("json_allergies")
    dated = {p.source_id for p in patients
             if practice.date_format("patient", p.source_id, "date_of_birth")}
    assert dated == led.ids("mixed_date_format")
    some = next(iter(dated))
    assert practice.date_format("patient", some, "created_at") is not None
    assert practice.date_format("patient", some, "email") is None
    assert practice.date_format("appointment", some, "start") is None


def test_duplicates_are_exactly_the_ledgered_pairs(practice: Practice, patients: list) -> None:
    led = practice.ledger
    by_id = {p.source_id: p for p in patients}
    by_email = defaultdict(list)
    for p in patients:
        by_email[p.email.lower()].append(p.source_id)
    same_email = {s for ids in by_email.values() if len(ids) > 1 for s in ids[1:]}
    assert same_email == led.ids("duplicate_email")
    for dup, orig in led.pairs("duplicate_email").items():
        a, b = by_id[dup], by_id[orig]
        assert (a.email, a.first_name, a.last_name, a.date_of_birth) == (
            b.email, b.first_name, b.last_name, b.date_of_birth)
        assert int(orig) < int(dup)
    person = defaultdict(list)
    for p in patients:
        person[(p.first_name, p.last_name, p.date_of_birth, p.mobile)].append(p.source_id)
    twins = {s for ids in person.values() if len(ids) > 1 for s in ids[1:]}
    assert led.ids("duplicate_person") <= twins
    for dup, orig in led.pairs("duplicate_person").items():
        assert by_id[dup].email != by_id[orig].email
        assert by_id[dup].mobile == by_id[orig].mobile
    assert set(led.pairs("duplicate_person")) == led.ids("duplicate_person")


def test_ledger_matches_child_records(practice: Practice) -> None:
    led = practice.ledger
    long_notes = {n.source_id for n in practice.iter("clinical_note") if len(n.body) > 100_000}
    assert long_notes == led.ids("long_note") and long_notes
    big = {d.source_id for d in practice.iter("document") if d.size > 50 * 1024 * 1024}
    assert big == led.ids("oversize_file") and big
    pracs = list(practice.iter("practitioner"))
    users = set(practice.crm_user_emails())
    without = {p.source_id for p in pracs if p.email not in users}
    assert without == led.ids("no_crm_user")
    assert all(led.object_of(k) for k in led.kinds())


def test_clean_practice_has_no_dirt() -> None:
    p = Practice(seed=5, patients=400, dirt=DirtRates.none())
    assert all(not p.ledger.ids(k) for k in p.ledger.kinds())
    assert len(p.crm_user_emails()) == p.count("practitioner")
    assert all(len(n.body) < 100_000 for n in p.iter("clinical_note"))


def test_small_practice_still_shows_common_dirt() -> None:
    p = Practice(seed=2, patients=60)
    for kind in ("duplicate_email", "invalid_email", "address_one_string", "json_allergies"):
        assert p.ledger.ids(kind), kind


def test_rates_are_fractions_and_all_or_nothing_works() -> None:
    with pytest.raises(ValueError):
        DirtRates(invalid_email=1.5)
    p = Practice(seed=1, patients=30, dirt=DirtRates(**{**DirtRates.none().__dict__,
                                                        "unknown_blood_group": 1.0}))
    assert p.ledger.ids("unknown_blood_group") == {x.source_id for x in p.iter("patient")}
    assert all(x.blood_group not in GROUPS for x in p.iter("patient"))
