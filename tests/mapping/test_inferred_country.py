"""An address with a state and postcode and no country is given the country they name together
(``model.postal``, as phones are read), by the map, so every destination is sent it and the
sample and reconcile expect what the writer sends: Odoo's ``country_id``, Salesforce's
``MailingCountry`` (a picklist org then codes the state), Pipedrive's address line. Flagged as
assumed: the load lists the record and field (skip file, stage ``transform-assumed``)."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.mapping.test_recipes import with_keys

from ferry.mapping.compile import compile_mapping
from ferry.mapping.model import MappingDoc
from ferry.mapping.recipes import load_recipe
from ferry.mapping.transforms import ASSUMED, TRANSFORMS, Ctx
from ferry.mapping.transforms_lib import INFERRED
from ferry.model.entities import Patient


class _Lookup:
    def dest_id(self, src_object, source_id, dest_object=None):  # noqa: ANN001, ANN201
        return f"{src_object}#{source_id}"

    def owner(self, practitioner_source_id):  # noqa: ANN001, ANN201
        return "user#1"

    def label(self, obj, sid):  # noqa: ANN001, ANN201
        return f"{obj} {sid}"


def _patient(**address: object) -> Patient:
    return Patient(source_id="p1", first_name="Ann", last_name="Lee",  # type: ignore[arg-type]
                   date_of_birth=dt.date(1980, 1, 2), **address)


def _ctx(rec: Patient) -> Ctx:
    return Ctx(record=rec, lookup=_Lookup(), doc=MappingDoc(  # type: ignore[arg-type]
        source="x", destination="y", objects=[]), key="k")


@pytest.mark.parametrize(("address", "country"), [
    ({"region": "WA", "postcode": "98101"}, "United States"),  # Washington
    ({"region": "WA", "postcode": "6000"}, "Australia"),  # Western Australia
    ({"region": "ON", "postcode": "K1A 0B1"}, "Canada"),
    ({"region": "Queensland"}, "Australia"),  # a state of one country alone
    ({"address": "1 Main St, Springfield, IL 62704"}, "United States"),  # one-line address
])
def test_the_country_state_and_postcode_name(address: dict[str, str], country: str) -> None:
    ctx = _ctx(_patient(**address))
    value = [None, address.get("address")] if "address" in address else None
    assert TRANSFORMS["address"].fn(value, {"part": "country"}, ctx) == country
    assert ctx.flags == [INFERRED] and INFERRED.startswith(ASSUMED)


@pytest.mark.parametrize("address", [
    {"region": "NSW", "postcode": "94110"},  # they conflict
    {"region": "CA", "postcode": None},  # California, or Cagliari
    {"postcode": "12345"},  # five digits fit dozens of countries
    {},
])
def test_no_country_is_guessed(address: dict[str, str]) -> None:
    ctx = _ctx(_patient(**address))
    assert TRANSFORMS["address"].fn(None, {"part": "country"}, ctx) is None
    assert ctx.flags == []


def test_a_written_country_is_never_replaced() -> None:
    ctx = _ctx(_patient(country="Deutschland", region="WA", postcode="98101"))
    assert TRANSFORMS["address"].fn(["Deutschland", None], {"part": "country"}, ctx) == "Germany"
    assert ctx.flags == []


@pytest.mark.parametrize(("destination", "key", "sent"), [
    ("odoo", "country_id", "United States"),
    ("salesforce", "MailingCountry", "United States"),
    ("pipedrive", "postal_address", "1 Pike St, Seattle, WA, 98101, United States"),
])
def test_every_destination_is_sent_the_same_country(destination: str, key: str,
                                                    sent: str) -> None:
    doc = load_recipe("clinic_csv", destination, "no_accounting" if destination == "odoo"
                      else None)
    with_keys(doc)
    cm = next(c for c in compile_mapping(doc)
              if c.om.source == "patient" and c.om.mode == "record")
    rec = _patient(street="1 Pike St", city="Seattle", region="WA", postcode="98101")
    built = cm.build(rec, _Lookup())
    assert built.payload[key] == sent
    label = next(f.label for f in cm.fields if f.key == key)
    assert [(e.field, e.reason) for e in built.assumed] == [(label, INFERRED)]
    # a record that names its country is sent it, and nothing is assumed
    named = cm.build(_patient(street="1 Pike St", city="Seattle", region="WA",
                              postcode="98101", country="USA"), _Lookup())
    assert named.payload[key] == sent and not named.assumed
