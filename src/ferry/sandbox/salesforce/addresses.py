"""State and Country/Territory Picklists: an org option (``extra["address_picklists"]``).

With it on, each address of Account (``Billing``) and Contact (``Mailing``) also has a
``…CountryCode`` picklist (ISO 3166-1 alpha-2 codes) and a ``…StateCode`` picklist dependent on
it (``controllerName``, each entry's ``validFor`` bitmap over the country entries), and the
text fields ``…Country``/``…State`` take only a value that is an entry's label or integration
value. What a write does, as Salesforce Help documents it ("State and Country/Territory
Picklist Field-Syncing Logic"; docs/connectors/salesforce.md cites the pages):

* a valid code fills the text field with the entry's integration value; a valid text (label or
  integration value) fills the code field; a code not in the picklist is refused like any
  restricted picklist value (``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``);
* a text country matching no entry is refused: ``FIELD_INTEGRITY_EXCEPTION`` "There's a problem
  with this country, even though it may appear correct. Please select a country/territory from
  the list of valid countries." (likewise a state);
* a state not in the record's country is refused (``FIELD_INTEGRITY_EXCEPTION``, "The existing
  country/territory doesn't recognize the state value for field: …"), nothing is saved;
* code and text that disagree: on create the code wins (the text follows it); on update the
  write is refused;
* a country code removed without its state: the state code and both texts go too.

The values here are a subset of Salesforce's standard list (235 countries; states for AU, BR,
CA, CN, IE, IN, IT, MX, US and a few more): the countries a practice here lives in and a few
more, with Salesforce's labels (``Korea, Republic of``, ``United Kingdom``); states for US,
CA, AU, IE, IN and IT. The state names are ISO 3166-2's (pycountry), which Salesforce's
standard state lists follow: [assumption] a state's exact label in a real org may differ in
a detail (an accent, a province's local name). Integration values are the labels (the
documented default). Matching text is exact (case included): [assumption] a real org may be
more lenient; Ferry writes codes.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from ferry.sandbox.salesforce.effects import Invalid, err
from ferry.sandbox.salesforce.schema import FieldDef, ObjectDef

#: ISO code → Salesforce's standard label (Help, "Standard Countries and Territories for
#: Address Picklists"); a subset of its 235
COUNTRIES = {
    "AR": "Argentina", "AT": "Austria", "AU": "Australia", "BE": "Belgium", "BR": "Brazil",
    "CA": "Canada", "CH": "Switzerland", "CN": "China", "DE": "Germany", "DK": "Denmark",
    "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom", "GR": "Greece",
    "IE": "Ireland", "IN": "India", "IT": "Italy", "JP": "Japan", "KR": "Korea, Republic of",
    "MX": "Mexico", "NL": "Netherlands", "NO": "Norway", "NZ": "New Zealand", "PL": "Poland",
    "PT": "Portugal", "SE": "Sweden", "SG": "Singapore", "US": "United States",
    "VN": "Viet Nam", "ZA": "South Africa",
}
#: which ISO 3166-2 subdivision types are a country's states in its picklist
STATE_TYPES = {
    "US": {"State", "District"}, "CA": {"Province", "Territory"}, "AU": {"State", "Territory"},
    "IE": {"County"}, "IN": {"State", "Union territory"},
    "IT": {"Province", "Metropolitan city", "Free municipal consortium", "Autonomous province",
           "Decentralized regional entity"},
}
PREFIXES = {"Account": ("Billing",), "Contact": ("Mailing",)}


@functools.cache
def states() -> dict[str, dict[str, str]]:
    """Country code → state code → label."""
    import pycountry

    out: dict[str, dict[str, str]] = {}
    for country, kinds in STATE_TYPES.items():
        got = {s.code.split("-", 1)[1]: s.name
               for s in pycountry.subdivisions.get(country_code=country) if s.type in kinds}
        out[country] = dict(sorted(got.items()))
    return out


def _valid_for(index: int) -> str:
    """A dependent entry's ``validFor``: base64 of a bitmap over the controlling entries,
    most significant bit first ([doc] REST/SOAP describe, PicklistEntry.validFor)."""
    bits = bytearray(len(COUNTRIES) // 8 + 1)
    bits[index >> 3] |= 0x80 >> (index & 7)
    return base64.b64encode(bytes(bits)).decode()


def add_fields(objects: dict[str, ObjectDef]) -> None:
    """The code picklists on the objects' addresses (the org option on). A state's entry value
    is its code alone, so one code can be two entries (Cagliari, IT; California, US): its
    ``validFor`` says which country each is."""
    order = list(COUNTRIES)
    country_entries = tuple((code, label, None) for code, label in COUNTRIES.items())
    state_entries = tuple((code, name, _valid_for(order.index(country)))
                          for country, entries in states().items()
                          for code, name in entries.items())
    for obj, prefixes in PREFIXES.items():
        od = objects[obj]
        for p in prefixes:
            od.add(FieldDef(f"{p}CountryCode", "picklist", f"{p} Country Code", 10,
                            picklist=tuple(order), restricted=True, entries=country_entries))
            od.add(FieldDef(f"{p}StateCode", "picklist", f"{p} State/Province Code", 10,
                            picklist=tuple(dict.fromkeys(e[0] for e in state_entries)),
                            restricted=True, entries=state_entries,
                            controller=f"{p}CountryCode"))


def _country_of_text(text: str) -> str | None:
    return next((c for c, label in COUNTRIES.items() if label == text), None)


def _state_of_text(country: str | None, text: str) -> str | None:
    entries = states().get(country or "", {})
    return next((c for c, label in entries.items() if label == text), None)


def _integrity(message: str, field: str) -> Invalid:
    return Invalid(err("FIELD_INTEGRITY_EXCEPTION", message, field))


def sync(od: ObjectDef, old: dict[str, Any] | None, changes: dict[str, Any],
         rec: dict[str, Any]) -> None:
    """Apply the documented field-syncing logic to ``rec`` (the record after ``changes``);
    raise ``Invalid`` where the platform refuses the write."""
    for p in PREFIXES.get(od.name, ()):
        cc, c, sc, s = (f"{p}CountryCode", f"{p}Country", f"{p}StateCode", f"{p}State")
        if cc not in od.fields or not any(k in changes for k in (cc, c, sc, s)):
            continue
        insert = old is None
        country_msg = ("There's a problem with this country, even though it may appear"
                       " correct. Please select a country/territory from the list of valid"
                       f" countries.: {p} Country")
        if cc in changes:
            code = changes[cc]
            text = changes.get(c)
            if code and text not in (None, "") and _country_of_text(str(text)) != code \
                    and not insert:
                raise _integrity(country_msg, c)
            rec[c] = COUNTRIES[code] if code else None
        elif c in changes:
            text = changes[c]
            code = _country_of_text(str(text)) if text not in (None, "") else None
            if text not in (None, "") and code is None:
                raise _integrity(country_msg, c)
            rec[cc] = code
            rec[c] = COUNTRIES[code] if code else None
        country = rec.get(cc)
        state_msg = ("There's a problem with this state, even though it may appear correct."
                     f" Please select a state from the list of valid states.: {p} State")
        if sc in changes or s in changes:
            if sc in changes:
                raw = changes[sc]
                scode = None if raw in (None, "") else str(raw)
                text = changes.get(s)
                if scode and text not in (None, "") and not insert \
                        and _state_of_text(country, str(text)) != scode:
                    raise _integrity(state_msg, s)
            else:
                text = changes[s]
                scode = None if text in (None, "") else _state_of_text(country, str(text))
                if text not in (None, "") and scode is None:
                    raise _integrity(state_msg, s)
            if scode and scode not in states().get(country or "", {}):
                raise _integrity("The existing country/territory doesn't recognize the state"
                                 f" value for field: {p} State/Province Code", sc)
            rec[sc] = scode
            rec[s] = states()[country][scode] if scode and country else None
        elif rec.get(sc) and rec.get(sc) not in states().get(country or "", {}):
            if country is None:  # the country removed: its state goes too
                rec[sc] = rec[s] = None
            else:
                raise _integrity("The existing country/territory doesn't recognize the state"
                                 f" value for field: {p} State/Province Code", sc)
