"""Clinics, practitioners, appointment types and patients.

Every record is a pure function of (seed, object, index) through ``Ctx.rng``; the patient's
"core" (name, DOB, contact, clinic, practitioner) is split out because every per-patient child
record needs it, and it is cheap to rebuild instead of keeping patients in memory.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from random import Random
from typing import Any

from ferry.model.entities import (
    AppointmentType,
    Clinic,
    EmergencyContact,
    Patient,
    Practitioner,
)
from ferry.sandbox.synth import pools as P
from ferry.sandbox.synth.dirt import Dirt, DirtRates, code, mix, picked

UTC = dt.UTC
REF_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=UTC)  # "today" of every generated practice
PATIENT_BASE = 10_000  # patient i has source id PATIENT_BASE + i; children derive from it
PRACTITIONER_BASE = 200
ORPHAN_BASE = 10**12  # patient ids at or above this never exist
BRANDS = ("Harbour", "Riverside", "Northgate", "Oakwood", "Meridian", "Parkside", "Lakeview",
          "Kingsway", "Seaview", "Elmwood")
KINDS_OF_CLINIC = ("Health", "Physio", "Family Practice", "Dental Care", "Medical Centre")
TYPES = (("New Patient", "initial", 45, "120.00"), ("Follow-up", "follow_up", 20, "65.00"),
         ("Consultation", "consultation", 30, "90.00"), ("Procedure", "procedure", 60, "250.00"))
ROLES = (("physician", "General practice", "MBBS", "Dr"), ("physiotherapist", "Musculoskeletal",
         "DPT", "Ms"), ("nurse practitioner", "Chronic disease", "RN", "Mr"),
         ("psychologist", "Mental health", "PsyD", "Dr"), ("dentist", "General dentistry", "DDS",
                                                           "Dr"))


class Ctx:
    """What every generator needs: seed, sizes, dirt rates and the practice-wide constants."""

    def __init__(self, seed: int, patients: int, dirt: DirtRates,
                 doc_size_scale: float = 1.0) -> None:
        self.seed, self.n, self.dirt = seed, patients, dirt
        self.doc_size_scale = doc_size_scale
        #: the zone the practice's own system is set to (``Practice`` sets it before anything is
        #: generated): visits are drawn in its opening hours, not UTC's
        self.tz: dt.tzinfo = UTC
        self.n_practitioners = max(3, round(patients / 40))
        self.n_clinics = min(2 + mix(seed, 1) % 4, self.n_practitioners)
        self.home = P.LOCALES[seed % len(P.LOCALES)]
        self.brand = BRANDS[mix(seed, 2) % len(BRANDS)]
        self.domain = f"{self.brand.lower()}health.{P.pool(self.home).tld}"
        self.clinic_locales = [self.home if c == 0 or mix(seed, 3, c) % 10 < 6
                               else P.LOCALES[mix(seed, 4, c) % len(P.LOCALES)]
                               for c in range(self.n_clinics)]
        self._dirt = Dirt(seed, dirt)
        self.core = lru_cache(maxsize=2048)(self._core)

    def rng(self, obj: str, i: int) -> Random:
        return Random(mix(self.seed, code(obj), i))

    def flags(self, i: int) -> frozenset[str]:
        return self._dirt.flags(i)

    def _core(self, i: int) -> Core:
        return patient_core(self, i)


def ts_between(r: Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    span = max(1, int((end - start).total_seconds()))
    at = start + dt.timedelta(seconds=int(r.random() * span))
    return at.replace(microsecond=0) if at.microsecond else at


# -- clinics, practitioners, appointment types ---------------------------------------------------
def clinic(ctx: Ctx, c: int) -> Clinic:
    r = ctx.rng("clinic", c)
    pl = P.pool(ctx.clinic_locales[c])
    city = P.pick(r, pl.cities)
    kind = KINDS_OF_CLINIC[mix(ctx.seed, 5) % len(KINDS_OF_CLINIC)]
    created = ts_between(r, REF_NOW - dt.timedelta(days=3650), REF_NOW - dt.timedelta(days=2900))
    return Clinic(
        source_id=str(c + 1), created_at=created,
        updated_at=ts_between(r, created, REF_NOW), name=f"{ctx.brand} {kind} {city}",
        street=P.pick(r, pl.streets), city=city, region=P.pick(r, pl.regions),
        postcode=P.pick(r, pl.postcodes), country=pl.country,
        phone=P.landline(r, pl.country), email=f"{P.ascii_slug(city)}@{ctx.domain}",
        website=f"https://www.{ctx.domain}/{P.ascii_slug(city)}",
        billing_contact=f"{P.pick(r, pl.first_female)} {P.pick(r, pl.last)}")


@lru_cache(maxsize=4096)
def _practitioner(seed: int, j: int, n_clinics: int, clinic_locale: str, domain: str,
                  no_user: bool) -> Practitioner:
    r = Random(mix(seed, code("practitioner"), j))
    pl = P.pool(clinic_locale)
    female = r.random() < 0.55
    first = P.pick(r, pl.first_female if female else pl.first_male)
    last = P.pick(r, pl.last)
    role, specialty, cred, title = ROLES[P.below(r, len(ROLES))]
    created = ts_between(r, REF_NOW - dt.timedelta(days=2900), REF_NOW - dt.timedelta(days=30))
    local = f"{P.ascii_slug(first)}.{P.ascii_slug(last)}.{PRACTITIONER_BASE + j}"
    return Practitioner(
        source_id=str(PRACTITIONER_BASE + j), created_at=created,
        updated_at=ts_between(r, created, REF_NOW), first_name=first, last_name=last,
        title=title if role in ("physician", "psychologist", "dentist") else (
            "Ms" if female else "Mr"),
        email=f"{local}@{domain}" if not no_user or r.random() < 0.8 else None,
        phone=P.mobile(r, pl.country), role=role, specialty=specialty, credentials=cred,
        license_number=f"LIC-{mix(seed, 6, j) % 10**7:07d}",
        npi=f"1{mix(seed, 7, j) % 10**9:09d}" if pl.country == "US" else None,
        clinic_id=str(j % n_clinics + 1), active=r.random() < 0.92, is_patient=False)


def practitioner_ro(ctx: Ctx, j: int) -> Practitioner:
    """The cached practitioner record, shared: read it, never change it."""
    no_user = picked(ctx.seed, "no_crm_user", ctx.dirt.no_crm_user, j)
    return _practitioner(ctx.seed, j, ctx.n_clinics, ctx.clinic_locales[j % ctx.n_clinics],
                         ctx.domain, no_user)


def practitioner(ctx: Ctx, j: int) -> Practitioner:
    """A practitioner record of the caller's own (records are mutable; the cache is not)."""
    return practitioner_ro(ctx, j).model_copy()


def appointment_type(ctx: Ctx, t: int) -> AppointmentType:
    name, cat, minutes, fee = TYPES[t]
    at = REF_NOW - dt.timedelta(days=3000 - t)
    return AppointmentType(source_id=str(t + 1), created_at=at, updated_at=at, name=name,
                           category=cat, duration_minutes=minutes, default_fee=Decimal(fee))


# -- patients ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Core:
    i: int
    id: str
    pool: P.LocalePool
    sex: str
    first: str
    last: str
    dob: dt.date
    mobile: str
    email: str
    mrn: str
    clinic: int
    practitioner: int
    created_at: dt.datetime
    flags: frozenset[str]


TAGS = ("recall", "sport", "chronic", "paediatric")


def _email(r: Random, first: str, last: str, key: int, pl: P.LocalePool) -> str:
    f, ln = P.ascii_slug(first) or "x", P.ascii_slug(last) or "x"
    local = (f"{f}.{ln}{key}", f"{f[0]}{ln}{key}", f"{ln}.{f}{key}", f"{f}_{key}")[P.below(r, 4)]
    return f"{local}@{P.pick(r, pl.mail_domains)}"


def patient_core(ctx: Ctx, i: int) -> Core:
    r = ctx.rng("patient", i)
    flags = ctx.flags(i)
    c = P.below(r, ctx.n_clinics)
    per_clinic = -(-(ctx.n_practitioners - c) // ctx.n_clinics)
    prac = c + ctx.n_clinics * P.below(r, per_clinic)
    loc = ctx.clinic_locales[c] if r.random() < 0.85 else P.LOCALES[P.below(r, 5)]
    pl = P.pool(loc)
    sex = "female" if r.random() < 0.52 else ("male" if r.random() < 0.98 else "other")
    first = P.pick(r, pl.first_female if sex == "female" else pl.first_male)
    last = P.pick(r, pl.last)
    dob = (REF_NOW - dt.timedelta(days=365 + P.below(r, 94 * 365))).date()
    key = PATIENT_BASE + i
    mobile = P.mobile(r, pl.country)
    email = _email(r, first, last, key, pl)
    created = ts_between(r, REF_NOW - dt.timedelta(days=2800), REF_NOW - dt.timedelta(days=1))
    if flags & {"duplicate_email", "duplicate_person"}:
        o = ctx.core(ctx._dirt.original_of(i))
        pl, sex, first, last, dob = o.pool, o.sex, o.first, o.last, o.dob
        if "duplicate_email" in flags:
            email, mobile = o.email, P.mobile(r, pl.country)  # same person, new number
        else:
            mobile = o.mobile
            email = f"{P.ascii_slug(first)[:1]}.{P.ascii_slug(last)}{key}@work-mail.{pl.tld}"
        created = max(created, o.created_at + dt.timedelta(days=1))
    if "invalid_email" in flags:
        email = (email.replace("@", "@@"), email.split("@")[0], email.replace("@", " at "),
                 email.replace(".", " ", 1).replace("@", "@ "), email.rsplit(".", 1)[0] + ".")[
            P.below(r, 5)]
    if "invalid_phone" in flags:
        mobile = P.pick(r, P.BAD_PHONES)
    return Core(i, str(key), pl, sex, first, last, dob, mobile, email, f"MRN{key:08d}", c, prac,
                created, flags)


def _allergies(r: Random, as_json: bool) -> str | None:
    picks = r.sample(P.ALLERGENS, r.randrange(1, 3)) if as_json or r.random() < 0.3 else []
    if as_json:
        return json.dumps([{"substance": s, "reaction": x,
                            "severity": P.pick(r, ("mild", "moderate", "severe"))}
                           for s, x in picks])
    return ", ".join(f"{s} ({x})" for s, x in picks) if picks else P.pick(r, ("NKDA", None, None))


def _custom(r: Random, created: dt.datetime) -> dict[str, dict[str, Any]]:
    """A few custom fields with declared types (as plain dicts: Patient validates them once)."""
    out: dict[str, dict[str, Any]] = {
        "preferred_language": {"type": "enum", "value": P.pick(r, P.LANGUAGES),
                               "label": "Preferred language", "options": list(P.LANGUAGES)},
        "vip": {"type": "bool", "value": r.random() < 0.05, "label": "VIP"},
    }
    if r.random() < 0.6:
        out["loyalty_points"] = {"type": "int", "value": int(r.random() * 5000),
                                 "label": "Loyalty points"}
    if r.random() < 0.5:
        out["last_recall"] = {"type": "date", "label": "Last recall date", "value": (
            created + dt.timedelta(days=int(r.random() * 400))).date()}
    if r.random() < 0.4:
        out["account_balance"] = {"type": "decimal", "label": "Account balance",
                                  "value": Decimal(int(r.random() * 50000)) / 100}
    if r.random() < 0.3:
        out["tags"] = {"type": "set", "label": "Tags", "options": list(TAGS),
                       "value": r.sample(TAGS, 2)}
    return out


def patient(ctx: Ctx, i: int) -> Patient:
    c = ctx.core(i)
    r = ctx.rng("patient+", i)
    pl, flags = c.pool, c.flags
    street, city = P.pick(r, pl.streets), P.pick(r, pl.cities)
    region, postcode = P.pick(r, pl.regions), P.pick(r, pl.postcodes)
    one_line = "address_one_string" in flags
    blood: str | None = r.choices(P.BLOOD_GROUPS, P.BLOOD_WEIGHTS)[0] if r.random() < 0.7 else None
    if "unknown_blood_group" in flags:
        blood = P.pick(r, P.BAD_BLOOD_GROUPS)
    ec_pl = P.pool(P.LOCALES[P.below(r, 5)]) if r.random() < 0.1 else pl
    ec_name, ec_rel = P.person(r, ec_pl, c.last)
    status = P.pick(r, P.PATIENT_STATUSES)
    ref_doc = r.random() < 0.3
    return Patient(
        source_id=c.id, created_at=c.created_at,
        updated_at=ts_between(r, c.created_at, REF_NOW), custom=_custom(r, c.created_at),
        first_name=c.first, last_name=c.last,
        preferred_name=c.first.split()[0] if r.random() < 0.1 else None,
        title=(("Ms", "Mrs", "Miss", "Dr") if c.sex == "female" else ("Mr", "Dr", "Mx"))[
            P.below(r, 3) if r.random() < 0.3 else 0],
        date_of_birth=c.dob, sex=c.sex, email=c.email,
        phone=P.landline(r, pl.country) if r.random() < 0.25 else None, mobile=c.mobile,
        address=f"{street}, {postcode} {city}, {region}, {pl.country}" if one_line else None,
        street=None if one_line else street, city=None if one_line else city,
        region=None if one_line else region, postcode=None if one_line else postcode,
        country=None if one_line else pl.country, mrn=c.mrn, patient_number=f"P-{c.id}",
        national_id=f"{mix(ctx.seed, 8, c.i) % 10**9:09d}" if r.random() < 0.4 else None,
        blood_group=blood, allergies=_allergies(r, "json_allergies" in flags),
        medical_history="; ".join(dict.fromkeys(P.pick(r, P.ICD10)[1]
                                                for _ in range(P.below(r, 3)))) or None,
        emergency_contact=EmergencyContact(name=ec_name, phone=P.mobile(
            r, ec_pl.country, True if ec_pl is not pl else None), relationship=ec_rel)
        if r.random() < 0.7 else None,
        referral_source=P.pick(r, P.REFERRAL_SOURCES),
        referring_doctor=f"Dr {P.any_first(r, pl)} {P.pick(r, pl.last)}"
        if ref_doc else None,
        referring_doctor_email=f"referrals{r.randrange(1, 99)}@gp-{P.ascii_slug(city)}.{pl.tld}"
        if ref_doc and r.random() < 0.5 else None,
        status=status, clinic_id=str(c.clinic + 1),
        primary_practitioner_id=str(PRACTITIONER_BASE + c.practitioner),
        occupation=P.pick(r, P.OCCUPATIONS) if r.random() < 0.6 else None,
        consent_email=r.random() < 0.7, consent_sms=r.random() < 0.6,
        archived=status == "archived")
