"""What sample values look like: the value-profile half of the proposer's evidence.

``sniff(values)`` returns the kinds the values fit (email, phone, date, datetime, money, int,
bool, ICD-10, CPT, NPI, blood group, small enumeration, long text, id-like) with the share of
non-empty values that fit each. Pure pattern checks, deterministic, no value leaves the machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from dateutil import parser as dateparser

from ferry.mapping.address import COUNTRIES
from ferry.mapping.value_maps import blood_group_map, norm_key
from ferry.model.countries import country_code
from ferry.model.fields import Kind

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[\d\s().\-]{7,20}$")
ICD10 = re.compile(r"^[A-TV-Z]\d{2}(\.[0-9A-Z]{1,4})?$", re.I)
CPT = re.compile(r"^\d{4}[0-9FTU]$")
NPI = re.compile(r"^\d{10}$")
MONEY = re.compile(r"^[$£€₹]?\s?-?\d{1,3}(,?\d{3})*(\.\d{2})$")
INT = re.compile(r"^-?\d+$")
DECIMAL = re.compile(r"^-?\d+\.\d+$")
BOOL = {"true", "false", "yes", "no", "y", "n", "0", "1", "t", "f"}
DATE_ISH = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$|^\d{1,2}[- ][A-Za-z]{3}[- ]\d{2,4}$"
                      r"|^\d{8}$")
DATETIME_ISH = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4} "
                          r"\d{1,2}:\d{2}")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?(\s?[AaPp]\.?[Mm]\.?)?$")
_BLOOD = {norm_key(k) for k in blood_group_map()}
MARITAL = {"married", "single", "divorced", "widowed", "separated", "domestic partner",
           "m", "s", "d", "w", "never married"}
#: what a country's name can look like (letters, spaces, dots, hyphens, apostrophes)
COUNTRY_WORDS = re.compile(r"^[^\W\d_]+(?:[ .'’-]+[^\W\d_]+)*\.?$")
STREET_LINE = re.compile(r"^\d+[A-Za-z]?\s+\S+.*$")
CODED = re.compile(r"^\d{3,}(-\d{1,2})?$")  # a code list's value (race 2106-3, a concept id)
# fields that hold a word a person reads: a column of bare codes is not one of them
NAMED = {"race", "ethnicity", "preferred_language", "marital_status", "title", "type_name",
         "medication", "specialty", "role", "occupation", "city", "country", "reason",
         "cancellation_reason", "referral_source", "status", "name"}


def npi_ok(s: str) -> bool:
    """NPI check digit (Luhn over "80840" + the first nine digits)."""
    digits = [int(c) for c in "80840" + s[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(s[9])


def _is_date(s: str) -> bool:
    if not DATE_ISH.match(s):
        return False
    try:
        dateparser.parse(s)
    except (ValueError, OverflowError):
        return False
    return True


def _is_country(s: str) -> bool:
    """A country as a practice writes it: a code in capitals (DE, USA), or a name in English or
    in another language (Deutschland, Países Bajos, Royaume-Uni: ``model.countries``, from
    pycountry's ISO 3166 names and their translations). Before only a short list of English
    names counted, so a French or Spanish export's Pays / País column did not look like one."""
    if s.lower().rstrip(".") in COUNTRIES:
        return True
    if len(s) in (2, 3) and s.isalpha():
        return s.isupper()  # lower-case, two letters are words (no, es, in), not codes
    return bool(COUNTRY_WORDS.match(s)) and country_code(s) is not None


def sniff(values: Iterable[Any]) -> dict[str, float]:
    """Share of non-empty values fitting each pattern name."""
    vals = [str(v).strip() for v in values if v not in (None, "") and str(v).strip()]
    if not vals:
        return {}
    checks = {
        "email": lambda s: bool(EMAIL.match(s)),
        "datetime": lambda s: bool(DATETIME_ISH.match(s)),
        "date": _is_date,
        "time": lambda s: bool(TIME_OF_DAY.match(s)),
        "npi": lambda s: bool(NPI.match(s)) and npi_ok(s),
        "icd10": lambda s: bool(ICD10.match(s)) and not INT.match(s),
        "cpt": lambda s: bool(CPT.match(s)),
        "money": lambda s: bool(MONEY.match(s)),
        "bool": lambda s: s.lower() in BOOL,
        "int": lambda s: bool(INT.match(s)),
        "decimal": lambda s: bool(DECIMAL.match(s)),
        "phone": lambda s: bool(PHONE.match(s)) and sum(c.isdigit() for c in s) >= 7
        and not DATE_ISH.match(s),
        "blood_group": lambda s: norm_key(s) in _BLOOD,
        "uuid": lambda s: bool(UUID.match(s)),
        "long_text": lambda s: len(s) > 120 or "\n" in s,
        "marital": lambda s: s.lower() in MARITAL,
        "marital_word": lambda s: len(s) > 1 and s.lower() in MARITAL,
        "coded": lambda s: bool(CODED.match(s)),
        "street_line": lambda s: bool(STREET_LINE.match(s)) and "," not in s,
        "full_address": lambda s: s.count(",") >= 1 and any(c.isdigit() for c in s),
        "country": _is_country,
    }
    out = {name: sum(1 for v in vals if f(v)) / len(vals) for name, f in checks.items()}
    distinct = len({v.lower() for v in vals})
    if distinct <= max(3, min(12, len(vals) // 3)) and len(vals) >= 4:
        out["enum"] = 1.0
    found = {k: v for k, v in out.items() if v > 0}
    found["_values"] = float(len(vals))
    return found


# which sniffed pattern supports which field kind (and how strongly: 1 = specific)
SUPPORT: dict[Kind, dict[str, float]] = {
    Kind.EMAIL: {"email": 1.0},
    Kind.PHONE: {"phone": 0.8},
    Kind.DATE: {"date": 0.8, "datetime": 0.6},  # a date written with a midnight time
    Kind.DATETIME: {"datetime": 0.9, "date": 0.4},
    Kind.MONEY: {"money": 0.9, "decimal": 0.6, "int": 0.3},
    Kind.DECIMAL: {"decimal": 0.8, "int": 0.4, "money": 0.5},
    Kind.INT: {"int": 0.8},
    Kind.BOOL: {"bool": 0.9},
    Kind.ENUM: {"enum": 0.6, "blood_group": 1.0, "bool": 0.2},
    Kind.SET: {"icd10": 1.0, "cpt": 0.9, "enum": 0.3},
    Kind.LONG_TEXT: {"long_text": 0.8},
    Kind.ADDRESS: {"full_address": 0.8},
    Kind.REF: {"int": 0.5, "uuid": 0.6},
}
# patterns that rule a kind out when nearly every value has them
EXCLUDES: dict[str, set[Kind]] = {
    "email": {Kind.PHONE, Kind.DATE, Kind.DATETIME, Kind.MONEY, Kind.INT, Kind.BOOL, Kind.REF},
    "date": {Kind.EMAIL, Kind.PHONE, Kind.MONEY, Kind.BOOL},
    "datetime": {Kind.EMAIL, Kind.PHONE, Kind.MONEY, Kind.BOOL, Kind.INT},
    "long_text": {Kind.EMAIL, Kind.PHONE, Kind.DATE, Kind.DATETIME, Kind.MONEY, Kind.INT,
                  Kind.BOOL, Kind.ENUM, Kind.REF},
    "decimal": {Kind.TEXT, Kind.EMAIL, Kind.PHONE, Kind.DATE, Kind.DATETIME, Kind.BOOL,
                Kind.ENUM},
    "street_line": {Kind.ADDRESS},  # a street line is not a whole one-line address
    # a time of day with no date is no date and no moment (its date is in another column)
    "time": {Kind.DATE, Kind.DATETIME},
}


def kind_fit(kind: Kind, sniffed: dict[str, float]) -> tuple[float, str]:
    """(-1..1, reason): how well values fit a field kind; 0 when the values say nothing."""
    if not sniffed.get("_values"):
        return 0.0, ""
    for pattern, kinds in EXCLUDES.items():
        if sniffed.get(pattern, 0) >= 0.9 and kind in kinds:
            return -1.0, f"values look like {pattern}, not {kind.value}"
    best, why = 0.0, ""
    for pattern, weight in SUPPORT.get(kind, {}).items():
        share = sniffed.get(pattern, 0)
        if share >= 0.8 and weight * share > best:
            best, why = weight * share, f"values look like {pattern.replace('_', ' ')}"
    if best == 0 and kind in (Kind.EMAIL, Kind.DATE, Kind.DATETIME, Kind.BOOL):
        return -0.5, f"values do not look like {kind.value}"
    return best, why


# canonical fields whose values have a shape of their own: values without it veto the field
FIELD_PATTERN = {"country": "country", "blood_group": "blood_group", "email": "email",
                 "npi": "npi"}


def field_fit(field_name: str, sniffed: dict[str, float]) -> bool:
    """False when the values clearly are not what the named field holds (marital words are
    marital status, whatever the column is called)."""
    if sniffed.get("marital", 0) >= 0.9 and sniffed.get("marital_word") \
            and field_name != "marital_status":
        return False
    if field_name in NAMED and sniffed.get("coded", 0) >= 0.9:
        return False
    pattern = FIELD_PATTERN.get(field_name)
    return not (pattern and sniffed.get("_values") and sniffed.get(pattern, 0) < 0.5)
