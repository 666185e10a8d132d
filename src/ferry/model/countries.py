"""A country as a practice writes it, read as one ISO 3166-1 alpha-2 code.

A practice's export writes a country in its own language (``Deutschland``, ``España``,
``Royaume-Uni``), by a code (``DE``, ``DEU``) or by a common variant (``UK``, ``U.S.A.``,
``Great Britain``, ``England``, ``Holland``). Ferry reads every one of them as the same country
wherever it reads a country (a phone's numbering plan, the map's ``address`` country, Odoo's
``country_id``), and writes it as one canonical form: the code, or the country's English name
(``country_name``: ISO 3166's, in its common form where it has one, as Odoo and Salesforce's
country picklist list them).

The names come from ``pycountry``: ISO 3166-1's English names and the Debian iso-codes
project's translations of them into ~160 languages (gettext catalogues shipped in the wheel).
The reverse map (name → code) is built lazily, once, at the first name that is neither a code,
a variant nor an English name (~0.14 CPU-s: the catalogues are parsed then). Never a guess:

* a name that is a different country in another language (``Paraguai``: Paraguay in Catalan,
  Nicaragua in Occitan's catalogue) is no country (``None``): the text is kept as written and
  the audit lists it;
* a country's name that is also a state elsewhere (``Georgia``) is that country only when the
  record's own state and postcode do not say otherwise (``read_country``): with a state or
  postcode that names no country or another, it is **ambiguous**: not read, and listed.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

__all__ = ["CountryRead", "country_code", "country_name", "read_country"]


def _norm(text: str) -> str:
    t = " ".join(text.replace(".", "").casefold().split())
    return t[4:] if t.startswith("the ") else t


def _fold(text: str) -> str:
    """``text`` without its accents (``espana``, ``osterreich``)."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))


#: what people write for a country that no standard names so: the UK's nations and short
#: forms, the US's dotted forms (``U.S.A.`` → ``usa``, an alpha-3 code already), Holland
VARIANTS = {
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "united states of america": "US", "holland": "NL",
}


@dataclass(frozen=True)
class _Names:
    codes: dict[str, str]  # alpha-2 and alpha-3 (lower case) → alpha-2
    english: dict[str, str]  # ISO 3166's English names, their accent-free forms, variants
    display: dict[str, str]  # alpha-2 → the English name written for it


@functools.cache
def _names() -> _Names:
    import pycountry

    codes: dict[str, str] = {}
    english: dict[str, str] = {}
    display: dict[str, str] = {}
    for c in pycountry.countries:
        codes[c.alpha_2.lower()] = codes[c.alpha_3.lower()] = c.alpha_2
        display[c.alpha_2] = getattr(c, "common_name", None) or c.name
        for attr in ("name", "official_name", "common_name"):
            if (name := getattr(c, attr, None)):
                english.setdefault(_norm(name), c.alpha_2)
                english.setdefault(_fold(_norm(name)), c.alpha_2)
    english.update(VARIANTS)
    return _Names(codes, english, display)


@functools.cache
def _translated() -> dict[str, str | None]:
    """Every translated name (and its accent-free form) → its code; ``None`` for a name two
    countries share (in two languages, or one language's name and another's English one)."""
    import gettext
    from pathlib import Path

    import pycountry

    english = {}  # the English msgid → code
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if (name := getattr(c, attr, None)):
                english.setdefault(name, c.alpha_2)
    known = _names().english
    seen: dict[str, str | None] = {}
    for mo in sorted(Path(pycountry.LOCALES_DIR).glob("*/LC_MESSAGES/iso3166-1.mo")):
        with mo.open("rb") as f:
            catalogue = gettext.GNUTranslations(f)
        for msgid, code in english.items():
            said = catalogue.gettext(msgid)
            if said == msgid:
                continue
            for key in {_norm(said), _fold(_norm(said))}:
                other = known.get(key, seen.get(key, code))
                seen[key] = code if other == code else None
    return seen


def country_code(text: object) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country written as a code (``DE``, ``DEU``), a common
    variant (``UK``, ``U.S.A.``, ``England``), its English name (``Germany``, ``South Korea``,
    ``Viet Nam``) or its name in another language (``Deutschland``, ``Países Bajos``,
    ``Österreich``); ``None`` when the text names no country, or names several."""
    if not isinstance(text, str) or not text.strip():
        return None
    key = _norm(text)
    names = _names()
    if (code := names.codes.get(key) or names.english.get(key)):
        return code
    from ferry.model.postal import country_named  # the address metadata's English names

    return country_named(text) or _translated().get(key) or _translated().get(_fold(key))


def country_name(code: str) -> str:
    """The English name Ferry writes for an alpha-2 code (``DE`` → ``Germany``, ``KR`` →
    ``South Korea``); the code itself when ISO 3166 has none."""
    return _names().display.get(code.upper(), code.upper())


@dataclass(frozen=True)
class CountryRead:
    code: str | None  # ISO 3166-1 alpha-2; None: not read (unknown, or ambiguous)
    ambiguous: bool = False  # a country's name that the record's state or postcode contradicts


_UNREAD = CountryRead(None)


def read_country(text: object, region: object = None, postcode: object = None) -> CountryRead:
    """``country_code`` of a record's country ``text``, where ``region`` and ``postcode`` are
    its address's state and postcode: a country's name that is also a state or province of
    another country (``Georgia``: the country, and a US state) is read as the country only
    when the record has neither, or when they name that country; else it is ambiguous."""
    code = country_code(text)
    if code is None:
        return _UNREAD
    if _norm(str(text)) in _names().codes:  # a code is no state's name (DE, not Delaware)
        return CountryRead(code)
    from ferry.model.postal import postal_country, subdivision_of

    elsewhere = subdivision_of(text) - {code}
    has = any(isinstance(v, str) and v.strip() for v in (region, postcode))
    if elsewhere and has and postal_country(region, postcode).country != code:
        return CountryRead(None, ambiguous=True)
    return CountryRead(code)
