"""Which numbering plan a phone number is read in, and whether it is a valid number.

A national number ("0412 345 678", "(02) 9124 0249") means nothing without a country: read in the
wrong plan it becomes a different, often valid-looking, number (+44 2 9124 0249). So the plan is
decided per record, never per source: the country of the record's own address, else its
clinic's, else the practice's country (detected by ``ferry audit`` from the clinics, or ``options.phone_region`` in
ferry.yaml), else only the number's own ``+``/``00`` prefix. An address with no country (an
export's City, State and ZIP columns) names one by its state and postcode when they agree
(``ferry.model.postal``): unless ``options.phone_region`` is set, that is the record's country,
and the practice's when nearly every record agrees; a record whose state and postcode name
different countries has none, and its phones are left out and listed. A number that does not parse, or
parses to a number that is not valid in its plan, is never turned into E.164: the audit lists it
as a field finding and the map leaves the field empty (the sample diff calls it unexplained).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ferry.mapping.address import parse_address
from ferry.model import countries as _countries
from ferry.model.postal import (
    VOTE_LEAST,
    PostalCountry,
    postal_country,
    postal_vote,
)

if TYPE_CHECKING:
    from ferry.model.staging import StagingStore

#: every region phonenumbers knows a numbering plan for (ISO 3166-1 alpha-2): its
#: ``SUPPORTED_REGIONS``, written out so that reading a country code does not import
#: phonenumbers (~0.01 CPU-s at each verb's start; ``read_phone`` imports it).
#: tests/mapping/test_phone_region.py fails when phonenumbers' set differs from this one.
REGIONS: frozenset[str] = frozenset("""
    AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB
    LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY
    MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS
    RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL
    TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
""".split())

def country_code(text: Any) -> str | None:
    """ISO alpha-2 code of a country with a numbering plan, written any way Ferry reads a
    country (``ferry.model.countries``: a code, ``UK``, an English name, ``Deutschland``);
    ``None`` when it is not recognised."""
    code = _countries.country_code(text)
    return code if code in REGIONS else None


def record_country(record: Any, clinics: Mapping[str, str] | None = None, *,
                   infer: bool = False) -> str | None:
    """The country of a record's own address (``record_plan``'s), else its clinic's."""
    return record_plan(record, clinics, infer=infer).country


def record_plan(record: Any, clinics: Mapping[str, str] | None = None, *,
                infer: bool = False) -> PostalCountry:
    """The country of a record's own address: its ``country`` field, else the country named at
    the end of its one-line ``address`` (or of a ``street`` that holds the whole address, as
    an export's "Address 1" column may for some rows); with ``infer`` (the practice's country
    is not configured), else the country its ``region`` (state) and ``postcode`` name together
    (``ferry.model.postal``; when they name different ones, none, and ``conflict``: the
    record's phones are not read in another country's plan); for a record without one (a
    practitioner, a patient with no address), the country of its clinic in ``clinics``
    (clinic id → country code): a practice can span borders, and a clinic's staff dial in its
    plan."""
    said = _countries.read_country(getattr(record, "country", None),
                                   getattr(record, "region", None),
                                   getattr(record, "postcode", None))
    if said.code in REGIONS:  # (an ambiguous name, Georgia beside a US state, is not read)
        return PostalCountry(said.code)
    for name in ("address", "street"):
        one_line = getattr(record, name, None)
        if isinstance(one_line, str) and "," in one_line:
            code = country_code(parse_address(one_line).country)
            if code:
                return PostalCountry(code)
    if infer:
        got = postal_country(getattr(record, "region", None), getattr(record, "postcode", None))
        if got.country or got.conflict:
            return got
    if not clinics:
        return _UNKNOWN
    clinic = getattr(record, "clinic_id", None)
    return PostalCountry(clinics.get(str(clinic))) if clinic else _UNKNOWN


_UNKNOWN = PostalCountry(None)


def clinic_countries(clinics: Iterable[Any], members: Iterable[Any] = (), *,
                     infer: bool = False) -> dict[str, str]:
    """Each clinic's country code by its id: its own address's, else (a clinic the source
    does not export, as Pulse's API) the country most of its ``members`` (patients) live in,
    when at least 60 % of those with an address agree. ``infer``: ``record_plan``'s."""
    out: dict[str, str] = {}
    for clinic in clinics:
        code = record_country(clinic, infer=infer)
        if code:
            out[str(clinic.source_id)] = code
    return out | _voted(members, out, infer=infer)


def staged_clinic_countries(store: StagingStore, *, infer: bool = False) -> dict[str, str]:
    """``clinic_countries`` of a staged practice, the patients read only when a practitioner's
    clinic is left unknown by the clinic records (the map and the audit read phones alike)."""
    known = clinic_countries(store.iter_records("clinic"), infer=infer)
    unknown = {str(p.clinic_id) for p in store.iter_records("practitioner")
               if getattr(p, "clinic_id", None)} - known.keys()
    return known | _voted(store.iter_records("patient"), known, infer=infer) if unknown \
        else known


def _voted(members: Iterable[Any], known: Mapping[str, str], *,
           infer: bool = False) -> dict[str, str]:
    """The clinics not in ``known`` whose members' own countries agree at 60 % or more."""
    out: dict[str, str] = {}
    votes: dict[str, Counter[str]] = {}
    for rec in members:
        clinic_id = getattr(rec, "clinic_id", None)
        if clinic_id and str(clinic_id) not in known:
            code = record_country(rec, infer=infer)
            if code:
                votes.setdefault(str(clinic_id), Counter())[code] += 1
    for clinic_id, seen in votes.items():
        code, n = seen.most_common(1)[0]
        if n * 5 >= sum(seen.values()) * 3:
            out[clinic_id] = code
    return out


def practice_region(store: StagingStore) -> str | None:
    """The practice's country (numbering plan for phones of records without an address
    country): the clinics' most common country, else the patients'; where no address names
    a country, the one the clinics' states and postcodes name, else the patients', when at
    least 90 % of those whose state and postcode say anything agree (and 3 patients at least:
    a US export's City/State/ZIP columns; ``postal.postal_vote``); ``None`` when none of this
    names one (then only numbers with a ``+`` prefix are valid). (Here rather than in
    ``engine/audit_source.py``, which uses it too: a verb's ``Project.phone_region`` no longer
    imports the audit and the PHI classifier with it.)"""
    inferred: list[str] = []
    for obj in ("clinic", "patient"):
        seen: Counter[str] = Counter()
        postal: list[tuple[object, object]] = []
        for i, rec in enumerate(store.iter_records(obj)):
            code = record_country(rec)
            if code:
                seen[code] += 1
            elif not seen:  # (a country an address names wins: no need to infer one)
                postal.append((getattr(rec, "region", None), getattr(rec, "postcode", None)))
            if i >= 2000:
                break
        if seen:
            return seen.most_common(1)[0][0]
        code = postal_vote(postal, least=1 if obj == "clinic" else VOTE_LEAST)
        if code:
            inferred.append(code)
    return inferred[0] if inferred else None


@dataclass(frozen=True)
class PhoneRead:
    e164: str | None  # None: not a valid number
    plan: str | None  # the numbering plan it was read in (None: only an international prefix)
    reason: str = ""  # why it is not valid (never quotes the number)


def read_phone(text: str, *, country: str | None, practice: str | None) -> PhoneRead:
    """Read ``text`` in the plan of ``country`` (the record's), else ``practice``, else by its
    own international prefix only."""
    import phonenumbers

    plan = country or practice
    where = f"{plan} numbering plan" if plan else "no country known, no international prefix"
    try:
        num = phonenumbers.parse(text, plan)
    except phonenumbers.NumberParseException:
        return PhoneRead(None, plan, f"not a phone number ({where})")
    if not phonenumbers.is_valid_number(num):
        return PhoneRead(None, plan, f"not a valid phone number ({where})")
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    # E.164 has no extension: a front desk's "416.555.0101 x22" kept its line and lost the
    # extension, unsaid. It follows the number as phonenumbers reads it back (" ext. 22")
    return PhoneRead(f"{e164} ext. {num.extension}" if num.extension else e164, plan)
