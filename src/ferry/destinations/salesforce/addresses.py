"""Addresses in an org with State and Country/Territory Picklists (docs/connectors/salesforce.md).

With the feature on, describe lists a ``…CountryCode`` picklist (ISO 3166-1 alpha-2 codes)
beside each address's ``…Country`` text field and a ``…StateCode`` picklist dependent on it
(``controllerName``; each state entry's ``validFor`` bitmap names its countries), and the text
fields take only an entry's label or integration value: anything else is refused with
``FIELD_INTEGRITY_EXCEPTION``. The maps write a country as an English name (``South Korea``)
which need not be the org's label (``Korea, Republic of``), so here the row's text country and
state become codes before they are sent:

* the country: ``model.countries.country_code`` of the text, if the org's picklist has it;
* the state: an entry of that country whose code (``CA``, ``NSW``, ``ON``) or label
  (``California``, ``New South Wales``), case and accents aside, is the text;
* neither found: that field is sent empty (the rest of the record is written) and the write
  result lists the record and field (``WriteResult.field_errors``), never the value.

The states are per country, so a state needs its record's country. An export with State and
ZIP columns and no Country gets one from the map: the country its state and postcode name when
they agree (``mapping.transforms_lib.t_address``, flagged as assumed and listed), the same
value every destination is sent; a state whose record still names none is left empty and
listed as such (``NO_STATE_COUNTRY``).

Salesforce fills the text fields from the codes (its field-syncing logic), so a read gives the
org's integration value; ``read`` returns the code under the text field's name instead, and
``stored_form`` turns what the map sent into that code, so the sample diff compares the same
country whatever the org calls it.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass, field
from typing import Any

#: the address prefixes of the standard objects (Contact: Mailing/Other; Account: Billing/
#: Shipping; Lead: none, its fields are Country/State/CountryCode/StateCode)
PREFIXES = ("Mailing", "Other", "Billing", "Shipping", "")
NO_COUNTRY = ("not a country in the org's country picklist (State and Country/Territory"
              " Picklists): left empty")
NO_STATE = ("not a state of the record's country in the org's state picklist (State and"
            " Country/Territory Picklists): left empty")
#: a state whose record has no country: the org's states are per country (the map gives the
#: country its state and postcode name when they agree: ``mapping.transforms_lib.t_address``)
NO_STATE_COUNTRY = ("the record has no country, and its state and postcode name none, so the"
                    " org's state picklist (per country) has no entry for it: left empty")


def _key(text: str) -> str:
    t = unicodedata.normalize("NFKD", " ".join(text.replace(".", "").casefold().split()))
    return "".join(ch for ch in t if not unicodedata.combining(ch))


@dataclass
class Address:
    """One address's fields (``prefix``) and its picklists' entries."""

    prefix: str
    countries: set[str]
    states: dict[str, dict[str, str]] = field(default_factory=dict)  # country → key → code

    @property
    def country(self) -> str:
        return f"{self.prefix}Country"

    @property
    def state(self) -> str:
        return f"{self.prefix}State"

    @property
    def country_code(self) -> str:
        return f"{self.prefix}CountryCode"

    @property
    def state_code(self) -> str:
        return f"{self.prefix}StateCode"

    def code_of_country(self, text: Any) -> str | None:
        from ferry.model.countries import country_code

        code = country_code(text) if isinstance(text, str) else None
        return code if code in self.countries else None

    def code_of_state(self, country: str | None, text: Any) -> str | None:
        if not isinstance(text, str) or not country:
            return None
        return self.states.get(country, {}).get(_key(text))


def _valid_for(entry: dict[str, Any], countries: list[str]) -> list[str]:
    """The countries a dependent entry's ``validFor`` bitmap names (most significant bit
    first); zero bytes skipped: a real org's ~5,000 states each name one of 235 countries."""
    raw = entry.get("validFor")
    if not raw:
        return []
    out = []
    for n, byte in enumerate(base64.b64decode(raw)):
        if byte:
            out += [countries[i] for i in range(n * 8, min(n * 8 + 8, len(countries)))
                    if byte & (0x80 >> (i & 7))]
    return out


def picklists(fields: dict[str, dict[str, Any]]) -> list[Address]:
    """The addresses of an object (describe's fields by lower-case name) whose country is a
    picklist: none when the org has the feature off."""
    out = []
    for p in PREFIXES:
        cc = fields.get(f"{p}countrycode".lower())
        if not cc or cc.get("type") != "picklist" or f"{p}country".lower() not in fields:
            continue
        order = [e["value"] for e in cc.get("picklistValues") or []]
        addr = Address(p, {e["value"] for e in cc.get("picklistValues") or []
                           if e.get("active", True)})
        sc = fields.get(f"{p}statecode".lower())
        for e in (sc or {}).get("picklistValues") or []:
            if not e.get("active", True):
                continue
            for country in _valid_for(e, order):
                keys = addr.states.setdefault(country, {})
                keys.setdefault(_key(e["value"]), e["value"])
                if e.get("label"):
                    keys.setdefault(_key(e["label"]), e["value"])
        out.append(addr)
    return out


def to_codes(addresses: list[Address], row: dict[str, Any]
             ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``row`` with its text countries and states as codes, and the fields left empty
    (field, reason) because the org's picklists have no such country or state."""
    if not addresses or not any(a.country in row or a.state in row for a in addresses):
        return row, []
    out = dict(row)
    emptied: list[tuple[str, str]] = []
    for a in addresses:
        country, named = None, False
        if a.country in out:
            text = out.pop(a.country)
            named = text not in (None, "")
            country = a.code_of_country(text)
            if text not in (None, "") and country is None:
                emptied.append((a.country, NO_COUNTRY))
            out[a.country_code] = country
        elif a.country_code in out:
            country = out[a.country_code]
            named = country not in (None, "")
        if a.state in out:
            text = out.pop(a.state)
            state = a.code_of_state(country, text)
            if text not in (None, "") and state is None:
                emptied.append((a.state, NO_STATE if named else NO_STATE_COUNTRY))
            out[a.state_code] = state
    return out, emptied


def stored_code(addresses: list[Address], key: str, value: Any, row: dict[str, Any]) -> Any:
    """A text country or state the map sent, as the code ``read`` returns for it (the value
    itself when it is neither, or resolves to nothing)."""
    for a in addresses:
        if key == a.country:
            return a.code_of_country(value) or value
        if key == a.state:
            return a.code_of_state(a.code_of_country(row.get(a.country)), value) or value
    return value


def read_fields(addresses: list[Address], fields: list[str]) -> dict[str, str]:
    """Text field asked for → the code field read in its place."""
    low = {f.lower(): f for f in fields}
    out = {}
    for a in addresses:
        for text, code in ((a.country, a.country_code), (a.state, a.state_code)):
            if text.lower() in low:
                out[low[text.lower()]] = code
    return out
