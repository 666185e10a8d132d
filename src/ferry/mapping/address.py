"""A small single-line address parser: street, street2, city, region, postcode, country.

Practice systems often export an address as one string ("12 High St, Flat 2, Leeds LS1 4AB, UK"
or "123 Main St\\nSpringfield, IL 62704"). ``usaddress``/``libpostal`` are heavy; the shapes seen
in clinic exports (US, UK, IE, CA, AU, NZ, EU) are few, so a comma/line splitter with postcode and
region patterns does the job, and what it cannot place stays in the street lines, never dropped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
}
AU_STATES = {"NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"}
CA_PROVINCES = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}

COUNTRIES = {
    "us": "United States", "usa": "United States", "united states": "United States",
    "united states of america": "United States", "u.s.a.": "United States", "u.s.": "United States",
    "uk": "United Kingdom", "u.k.": "United Kingdom", "gb": "United Kingdom",
    "great britain": "United Kingdom", "united kingdom": "United Kingdom", "england": "United Kingdom",
    "scotland": "United Kingdom", "wales": "United Kingdom", "northern ireland": "United Kingdom",
    "ie": "Ireland", "ireland": "Ireland", "ca": "Canada", "canada": "Canada",
    "au": "Australia", "australia": "Australia", "nz": "New Zealand", "new zealand": "New Zealand",
    "in": "India", "india": "India", "nl": "Netherlands", "netherlands": "Netherlands",
    "the netherlands": "Netherlands", "es": "Spain", "spain": "Spain", "de": "Germany",
    "germany": "Germany", "fr": "France", "france": "France",
}


@functools.cache
def _postcodes() -> tuple[list[tuple[str, re.Pattern[str]]], re.Pattern[str]]:
    """The postcode patterns by country, and a postcode written first ("28013 Madrid", "1012 AB
    Amsterdam"): compiled at the first address read (~1.5 ms of every verb's start otherwise)."""
    return [
        ("US", re.compile(r"\b(\d{5}(?:-\d{4})?)\s*$")),
        ("GB", re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\s*$", re.I)),
        ("CA", re.compile(r"\b([A-Z]\d[A-Z]\s?\d[A-Z]\d)\s*$", re.I)),
        ("IE", re.compile(r"\b([AC-FHKNPRTV-Y]\d{2}\s?[AC-FHKNPRTV-Y\d]{4})\s*$", re.I)),
        ("NL", re.compile(r"\b(\d{4}\s?[A-Z]{2})\s*$", re.I)),
        ("IN", re.compile(r"\b(\d{6})\s*$")),
        ("ANY", re.compile(r"\b(\d{4})\s*$")),
    ], re.compile(r"^(\d{4,5})\s+(.+)$")


@dataclass
class Address:
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None

    def part(self, name: str) -> str | None:
        if name == "street_lines":
            return "\n".join(p for p in (self.street, self.street2) if p) or None
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)


def _country(token: str) -> str | None:
    """The English name of the country that ends a one-line address (``ferry.model.countries``:
    ``UK``, ``Deutschland``...), never a state's code (``Chicago, IL``: not Israel) or a
    country's name that is also a state's (``Atlanta, Georgia``)."""
    text = token.strip()
    if (known := COUNTRIES.get(text.lower().rstrip("."))):
        return known
    if text.upper().strip(".") in US_STATES | AU_STATES | CA_PROVINCES:
        return None
    from ferry.model.countries import country_code, country_name
    from ferry.model.postal import subdivision_of

    code = country_code(text)
    return country_name(code) if code and not subdivision_of(text) - {code} else None


def _split_postcode(seg: str) -> tuple[str, str | None]:
    postcodes, postcode_first = _postcodes()
    for _, rx in postcodes:
        m = rx.search(seg)
        if m and m.start(1) > 0 or (m and seg.strip() == m.group(1)):
            return seg[: m.start(1)].strip(" ,"), m.group(1).upper()
    m = postcode_first.match(seg)
    if m:
        return m.group(2).strip(), m.group(1)
    return seg, None


def _split_region(seg: str) -> tuple[str, str | None]:
    words = seg.split()
    if len(words) >= 2 and words[-1].upper().strip(".") in US_STATES | AU_STATES | CA_PROVINCES:
        return " ".join(words[:-1]), words[-1].upper().strip(".")
    if len(words) == 1 and words[0].upper() in US_STATES | AU_STATES | CA_PROVINCES:
        return "", words[0].upper()
    return seg, None


@functools.cache
def _street_words() -> re.Pattern[str]:
    return re.compile(
        r"\b(st|street|rd|road|ave|avenue|lane|ln|drive|dr|way|blvd|boulevard|court|ct|place|pl|"
        r"close|crescent|terrace|flat|apt|apartment|suite|unit|floor|house|cottage|po box)\b\.?",
        re.I)


def _streetish(seg: str) -> bool:
    return any(ch.isdigit() for ch in seg) or bool(_street_words().search(seg))


def parse_address(text: str | None) -> Address:
    """Split one address string into parts; unknown pieces stay in the street lines."""
    addr = Address()
    if not text or not text.strip():
        return addr
    segs = [s.strip() for s in re.split(r"[,\n;]+", text) if s.strip()]
    if len(segs) > 1 and (c := _country(segs[-1])):
        addr.country = c
        segs.pop()
    if not segs:
        return addr
    # the last segment usually carries postcode and/or region ("IL 62704", "Leeds LS1 4AB")
    tail, post = _split_postcode(segs[-1])
    if post:
        addr.postcode = post
        rest, region = _split_region(tail)
        if region:
            addr.region = region
            tail = rest
        if tail:
            segs[-1] = tail
        else:
            segs.pop()
    else:
        rest, region = _split_region(segs[-1])
        if region:
            addr.region = region
            if rest:
                segs[-1] = rest
            else:
                segs.pop()
    if (len(segs) >= 3 and not addr.region and not _streetish(segs[-1])
            and not _streetish(segs[-2])):
        # "..., Leeds, West Yorkshire" → city, county-as-region
        addr.region = segs.pop()
    if len(segs) >= 2:
        addr.city = segs.pop()
    if segs:
        addr.street = segs[0]
        if len(segs) > 1:
            addr.street2 = ", ".join(segs[1:])
    return addr
