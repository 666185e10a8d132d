"""Word pools for the synthetic practice: names and addresses per locale, medical vocabulary.

Faker is slow per call (tens of microseconds) and its output for a given seed depends on call
order, so it is used only once per locale to fill fixed-size pools from a fixed seed; every record
then picks from these pools with its own RNG. That keeps a record a pure function of
(seed, object, index) and lets a million patients stream at tens of thousands per second.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from random import Random
from typing import TypeVar

from faker import Faker

LOCALES = ("en_GB", "en_AU", "nl_NL", "es_ES", "en_US")
T = TypeVar("T")
POOL = 400  # entries per pool; large enough for variety, small enough to build in well under 1 s


@dataclass(frozen=True)
class LocalePool:
    locale: str
    country: str  # ISO 3166 alpha-2
    currency: str
    first_female: tuple[str, ...]
    first_male: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    regions: tuple[str, ...]
    postcodes: tuple[str, ...]
    mail_domains: tuple[str, ...]
    tld: str


_META = {
    "en_GB": ("GB", "GBP", ("gmail.com", "outlook.com", "hotmail.co.uk", "btinternet.com",
                            "yahoo.co.uk"), "co.uk"),
    "en_AU": ("AU", "AUD", ("gmail.com", "outlook.com", "bigpond.com", "optusnet.com.au",
                            "icloud.com"), "com.au"),
    "nl_NL": ("NL", "EUR", ("gmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl"),
              "nl"),
    "es_ES": ("ES", "EUR", ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es",
                            "telefonica.net"), "es"),
    "en_US": ("US", "USD", ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"),
              "com"),
}


def _region(f: Faker, locale: str) -> str:
    if locale == "en_GB":
        return str(f.county())
    if locale in ("en_US", "en_AU"):
        return str(f.state_abbr())
    if locale == "es_ES":
        return str(f.autonomous_community())
    return str(f.administrative_unit())


@cache
def pool(locale: str) -> LocalePool:
    """The pool of one locale, built once per process from a fixed Faker seed."""
    f = Faker(locale)
    f.seed_instance(20240601)
    country, currency, domains, tld = _META[locale]
    uniq = lambda fn: tuple(dict.fromkeys(fn() for _ in range(POOL)))  # noqa: E731
    return LocalePool(
        locale=locale, country=country, currency=currency,
        first_female=uniq(f.first_name_female), first_male=uniq(f.first_name_male),
        last=uniq(f.last_name), streets=uniq(f.street_address), cities=uniq(f.city),
        regions=uniq(lambda: _region(f, locale)), postcodes=uniq(f.postcode),
        mail_domains=domains, tld=tld)


def pick(r: Random, seq: Sequence[T]) -> T:
    """``r.choice`` at a third of the cost (one float draw; fine for pools far below 2**53)."""
    return seq[int(r.random() * len(seq))]


@lru_cache(maxsize=65536)
def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: what a name becomes in an email address."""
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm.lower() if c.isascii() and c.isalnum())


def below(r: Random, n: int) -> int:
    """``r.randrange(n)`` at a fraction of the cost (n far below 2**53)."""
    return int(r.random() * n)


def _digits(r: Random, n: int) -> str:
    return f"{int(r.random() * 10**n):0{n}d}"


_MOBILE = {  # country: (candidate prefixes, national prefix, international prefix)
    "GB": ([f"7{d:03d}" for d in range(400, 1000)], "0", "+44 "),
    "AU": ([f"4{d:02d}" for d in range(100)], "0", "+61 "),
    "NL": ([f"6{d}" for d in range(10)], "0", "+31 "),
    "ES": ([f"6{d:02d}" for d in range(100)], "", "+34 "),
}


@cache
def _prefixes(country: str) -> tuple[str, ...]:
    """Mobile prefixes every number of which phonenumbers accepts: numbering plans have holes,
    and a clean record must be valid so that the invalid ones are exactly the dirty ones."""
    import phonenumbers

    cands, national, _ = _MOBILE[country]
    r = Random(7)
    ok = []
    for pre in cands:
        rest = (10 if country == "GB" else 9) - len(pre)  # national significant number length
        samples = [national + pre + f"{r.randrange(10**rest):0{rest}d}" for _ in range(6)]
        if all(phonenumbers.is_valid_number(phonenumbers.parse(x, country)) for x in samples):
            ok.append(pre)
    return tuple(ok)


def mobile(r: Random, country: str, intl: bool | None = None) -> str:
    """A mobile number valid for ``country`` (checked by phonenumbers in the tests), in one of
    the national or international styles people actually type."""
    intl = r.random() < 0.3 if intl is None else intl
    if country == "US":
        area = pick(r, ("212", "415", "617", "312", "206", "303", "512", "713", "404", "305"))
        body = f"({area}) {2 + int(r.random() * 8)}{_digits(r, 2)}-{_digits(r, 4)}"
        return f"+1 {body}" if intl else body
    _, national, international = _MOBILE[country]
    pre = pick(r, _prefixes(country))
    if country == "GB":  # 07xxx xxxxxx
        body = f"{pre} {_digits(r, 6)}"
    elif country == "AU":  # 04xx xxx xxx
        body = f"{pre} {_digits(r, 3)} {_digits(r, 3)}"
    elif country == "NL":  # 06-xxxxxxxx
        body = pre + _digits(r, 7)
        return f"+31 6 {body[1:]}" if intl else f"0{pre[0]}-{body[1:]}"
    else:  # ES: 6xx xx xx xx
        body = f"{pre} {_digits(r, 2)} {_digits(r, 2)} {_digits(r, 2)}"
    return f"{international}{body}" if intl else f"{national}{body}"


def landline(r: Random, country: str) -> str:
    if country == "GB":
        return f"020 7{_digits(r, 3)} {_digits(r, 4)}"
    if country == "AU":
        return f"(02) 9{_digits(r, 3)} {_digits(r, 4)}"
    if country == "NL":
        return f"020-{r.randrange(2, 10)}{_digits(r, 6)}"
    if country == "ES":
        return f"91{r.randrange(2, 8)} {_digits(r, 2)} {_digits(r, 2)} {_digits(r, 2)}"
    return mobile(r, "US")


BAD_PHONES = ("12345", "n/a", "000000", "call after 5pm", "+44 0000", "CALL-ME", "0",
              "07911", "ask reception", "++31 6 1234")

BLOOD_GROUPS = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
BLOOD_WEIGHTS = (34, 6, 9, 2, 3, 1, 38, 7)
BAD_BLOOD_GROUPS = ("A positive", "unknown", "O pos", "AB", "?", "B Rh+", "not tested", "0+")

ICD10 = (
    ("J06.9", "acute upper respiratory infection"), ("M54.5", "low back pain"),
    ("I10", "essential hypertension"), ("E11.9", "type 2 diabetes mellitus"),
    ("F41.1", "generalised anxiety disorder"), ("F32.1", "moderate depressive episode"),
    ("M25.511", "pain in right shoulder"), ("S93.401A", "sprain of left ankle"),
    ("K21.9", "gastro-oesophageal reflux disease"), ("J45.909", "asthma, uncomplicated"),
    ("M17.11", "primary osteoarthritis, right knee"), ("G43.909", "migraine"),
    ("L20.9", "atopic dermatitis"), ("N39.0", "urinary tract infection"),
    ("E78.5", "hyperlipidaemia"), ("M79.1", "myalgia"), ("R51", "headache"),
    ("K02.9", "dental caries"), ("H10.9", "conjunctivitis"), ("Z00.00", "general examination"),
    ("M62.830", "muscle spasm of back"), ("E03.9", "hypothyroidism"),
)
CPT = (
    ("99203", "new patient visit"), ("99213", "established patient visit"),
    ("99214", "established patient visit, moderate"), ("97110", "therapeutic exercise"),
    ("97140", "manual therapy"), ("97161", "physical therapy evaluation"),
    ("90834", "psychotherapy, 45 minutes"), ("93000", "electrocardiogram"),
    ("36415", "venipuncture"), ("81002", "urinalysis"), ("20610", "joint injection"),
    ("11102", "skin biopsy"), ("D1110", "prophylaxis, adult"), ("D0150", "oral evaluation"),
    ("90471", "immunisation administration"), ("96372", "injection"),
)
MEDICATIONS = (
    ("Amoxicillin", "500 mg", "three times daily", "oral"),
    ("Ibuprofen", "400 mg", "every 8 hours as needed", "oral"),
    ("Paracetamol", "1 g", "every 6 hours as needed", "oral"),
    ("Metformin", "500 mg", "twice daily", "oral"), ("Lisinopril", "10 mg", "once daily", "oral"),
    ("Atorvastatin", "20 mg", "once daily at night", "oral"),
    ("Sertraline", "50 mg", "once daily", "oral"), ("Salbutamol", "100 mcg", "2 puffs as needed",
                                                     "inhaled"),
    ("Omeprazole", "20 mg", "once daily", "oral"), ("Levothyroxine", "75 mcg", "once daily",
                                                     "oral"),
    ("Amlodipine", "5 mg", "once daily", "oral"), ("Naproxen", "250 mg", "twice daily", "oral"),
    ("Hydrocortisone cream", "1%", "apply twice daily", "topical"),
    ("Diclofenac gel", "1%", "apply three times daily", "topical"),
    ("Sumatriptan", "50 mg", "at onset of migraine", "oral"),
    ("Cetirizine", "10 mg", "once daily", "oral"), ("Prednisolone", "5 mg", "once daily",
                                                     "oral"),
    ("Methotrexate", "7.5 mg", "once weekly", "oral"),
)
ALLERGENS = (
    ("Penicillin", "rash"), ("Peanuts", "anaphylaxis"), ("Latex", "contact dermatitis"),
    ("Shellfish", "hives"), ("Sulfa drugs", "rash"), ("Aspirin", "bronchospasm"),
    ("Bee stings", "swelling"), ("Codeine", "nausea"), ("Iodine contrast", "hives"),
    ("Pollen", "rhinitis"), ("Eggs", "vomiting"), ("NSAIDs", "wheeze"),
)
COMPLAINTS = (
    "lower back pain after lifting", "persistent cough for two weeks", "right shoulder stiffness",
    "recurring headaches", "poor sleep and low mood", "left ankle swelling after a fall",
    "routine review of blood pressure", "knee pain on stairs", "itchy rash on both forearms",
    "heartburn after meals", "follow-up of blood results", "tooth sensitivity", "neck pain",
)
RELATIONS_F = ("mother", "wife", "partner", "daughter", "sister", "carer", "grandmother")
RELATIONS_M = ("father", "husband", "partner", "son", "brother", "carer", "grandfather")
RELATIONS = RELATIONS_F + RELATIONS_M


def person(r: Random, pl: LocalePool, family_name: str | None = None) -> tuple[str, str]:
    """(full name, relation) of someone close to a patient, gender and relation agreeing; a
    relative often shares the family name."""
    female = r.random() < 0.5
    first = pick(r, pl.first_female if female else pl.first_male)
    relation = pick(r, RELATIONS_F if female else RELATIONS_M)
    same = family_name and relation not in ("carer", "partner") and r.random() < 0.7
    return f"{first} {family_name if same else pick(r, pl.last)}", relation


def any_first(r: Random, pl: LocalePool) -> str:
    return pick(r, pl.first_female if r.random() < 0.5 else pl.first_male)
OCCUPATIONS = ("teacher", "nurse", "engineer", "retired", "student", "accountant", "chef",
               "electrician", "software developer", "shop assistant", "driver", "lawyer",
               "farmer", "police officer", "architect", "unemployed", "self-employed")
REFERRAL_SOURCES = ("GP referral", "Google search", "Friend or family", "Insurance directory",
                    "Social media", "Walk-in", "Returning patient", "Employer scheme")
PATIENT_STATUSES = ("active", "active", "active", "active", "inactive", "archived", "deceased")
CARRIERS = {
    "GB": ("Bupa", "AXA Health", "Aviva", "Vitality", "WPA"),
    "AU": ("Medibank", "Bupa Australia", "HCF", "nib", "HBF"),
    "NL": ("Zilveren Kruis", "CZ", "VGZ", "Menzis", "DSW"),
    "ES": ("Sanitas", "Adeslas", "DKV", "Asisa", "Mapfre Salud"),
    "US": ("Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Humana", "Kaiser"),
}
LANGUAGES = ("English", "Dutch", "Spanish", "French", "Arabic", "Mandarin", "Polish")
