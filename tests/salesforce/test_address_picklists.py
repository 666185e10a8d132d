"""State and Country/Territory Picklists in the sandbox (``address_picklists``), driven by
simple-salesforce: describe shows the code picklists (the state one dependent on the country
one), and writes follow Salesforce Help's field-syncing logic (docs/connectors/salesforce.md)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest
from tests.salesforce.test_simple_salesforce import _login


def _fields(client: Any, obj: str = "Contact") -> dict[str, Any]:
    return {f["name"]: f for f in client.Contact.describe()["fields"]} if obj == "Contact" \
        else {f["name"]: f for f in client.Account.describe()["fields"]}


def test_describe_has_the_code_picklists_only_when_on(sf: Any) -> None:
    off = _fields(_login(sf()))
    assert "MailingCountry" in off and "MailingCountryCode" not in off
    client = _login(sf(address_picklists=True))
    on = _fields(client)
    country = on["MailingCountryCode"]
    assert country["type"] == "picklist" and country["restrictedPicklist"]
    labels = {p["value"]: p["label"] for p in country["picklistValues"]}
    for code in ("US", "CA", "AU", "GB", "IE", "NL", "ES", "DE", "FR", "IT", "IN", "NZ", "KR"):
        assert code in labels
    assert labels["KR"] == "Korea, Republic of" and labels["GB"] == "United Kingdom"
    state = on["MailingStateCode"]
    assert state["controllerName"] == "MailingCountryCode" and state["dependentPicklist"]
    order = [p["value"] for p in country["picklistValues"]]

    def countries_of(code: str) -> set[str]:
        out = set()
        for p in state["picklistValues"]:
            if p["value"] == code:
                bits = base64.b64decode(p["validFor"])
                out |= {order[i] for i in range(len(order)) if bits[i >> 3] & (0x80 >> (i & 7))}
        return out

    assert countries_of("NSW") == {"AU"} and countries_of("ON") == {"CA"}
    assert countries_of("CA") == {"US", "IT"}  # California, and Cagliari
    assert "BillingCountryCode" in _fields(client, "Account")


def test_a_code_fills_the_text_and_a_text_fills_the_code(sf: Any) -> None:
    client = _login(sf(address_picklists=True))
    a = client.Contact.create({"LastName": "A", "MailingCountryCode": "KR"})["id"]
    b = client.Contact.create({"LastName": "B", "MailingCountry": "Canada",
                               "MailingState": "Ontario"})["id"]
    c = client.Contact.create({"LastName": "C", "MailingCountryCode": "US",
                               "MailingStateCode": "CA"})["id"]
    got = {r["Id"]: r for r in client.query(
        "SELECT Id, MailingCountry, MailingCountryCode, MailingState, MailingStateCode"
        " FROM Contact")["records"]}
    assert (got[a]["MailingCountry"], got[a]["MailingCountryCode"]) == ("Korea, Republic of",
                                                                       "KR")
    assert (got[b]["MailingCountryCode"], got[b]["MailingStateCode"]) == ("CA", "ON")
    assert (got[c]["MailingCountry"], got[c]["MailingState"]) == ("United States", "California")
    client.Contact.update(c, {"MailingCountryCode": None})  # the country removed: the state too
    row = client.Contact.get(c)
    assert row["MailingStateCode"] is None and row["MailingState"] is None


@pytest.mark.parametrize("values, code, field", [
    ({"MailingCountry": "South Korea"}, "FIELD_INTEGRITY_EXCEPTION", "MailingCountry"),
    ({"MailingCountry": "USA"}, "FIELD_INTEGRITY_EXCEPTION", "MailingCountry"),
    ({"MailingCountryCode": "XX"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     "MailingCountryCode"),
    ({"MailingCountryCode": "US", "MailingStateCode": "NSW"}, "FIELD_INTEGRITY_EXCEPTION",
     "MailingStateCode"),
    ({"MailingCountryCode": "DE", "MailingState": "Bayern"}, "FIELD_INTEGRITY_EXCEPTION",
     "MailingState"),
])
def test_what_a_picklist_org_refuses(sf: Any, values: dict[str, Any], code: str,
                                     field: str) -> None:
    client = _login(sf(address_picklists=True))
    with pytest.raises(SalesforceMalformedRequest) as e:
        client.Contact.create({"LastName": "X", **values})
    body = e.value.content[0]
    assert body["errorCode"] == code and body["fields"] == [field]
    if values == {"MailingCountry": "South Korea"}:
        assert "There's a problem with this country" in body["message"]


def test_text_countries_are_free_with_picklists_off(sf: Any) -> None:
    client = _login(sf())
    cid = client.Contact.create({"LastName": "X", "MailingCountry": "South Korea"})["id"]
    assert client.Contact.get(cid)["MailingCountry"] == "South Korea"


ROWS = [  # (text country, text state as exported) → (country code, state code) landed
    (("United States", "IL"), ("US", "IL")), (("Canada", "Ontario"), ("CA", "ON")),
    (("Australia", "new south wales"), ("AU", "NSW")), (("Italy", "Cagliari"), ("IT", "CA")),
    (("South Korea", None), ("KR", None)), (("Germany", "Bayern"), ("DE", None)),
    (("Atlantis", None), (None, None)),
]


@pytest.mark.parametrize("bulk", [False, True], ids=["collections", "bulk"])
def test_the_destination_writes_codes_and_lists_what_the_org_lacks(sf: Any, bulk: bool) -> None:
    """Through sObject collections and Bulk API 2.0 alike: text countries and states become
    the codes of the org's picklists; a state or country it lacks is sent empty and listed
    (record and field, never the value); reads and ``stored_form`` compare codes."""
    from ferry.connectors.base import SchemaItem
    from ferry.model.fields import Kind

    h = sf(address_picklists=True)
    dest = h.dest(bulk_threshold=2 if bulk else 10_000)
    dest.ensure([SchemaItem("custom_field", "Contact", "ferry_source_id", "Ferry Source Id",
                            Kind.TEXT, external_id=True)])
    rows = [{"Ferry_Source_Id__c": f"p{i}", "LastName": f"P{i}", "MailingCountry": c,
             "MailingState": s} for i, ((c, s), _) in enumerate(ROWS)]
    res = dest.create("Contact", rows)
    assert all(r.ok for r in res), [r.error for r in res]
    listed = {(e.ref, e.field) for r in res for e in r.field_errors}
    assert listed == {("salesforce:Contact:p5", "MailingState"),
                      ("salesforce:Contact:p6", "MailingCountry")}
    assert "Bayern" not in str([e.reason for r in res for e in r.field_errors])
    ids = [r.dest_id for r in res]
    got = dest.read("Contact", ids, ["MailingCountry", "MailingState", "MailingCountryCode"])
    for rid, row, (_, want) in zip(ids, rows, ROWS, strict=True):
        assert (got[rid]["MailingCountry"], got[rid]["MailingState"]) == want
        assert got[rid]["MailingCountryCode"] == want[0]
        if want[0]:  # what the sample compares: the sent text as its code
            assert dest.stored_form("Contact", "MailingCountry", row["MailingCountry"],
                                    row) == want[0]
    stored = {r["Ferry_Source_Id__c"]: r for r in h.records("Contact")}
    assert stored["p4"]["MailingCountry"] == "Korea, Republic of"  # the org's own label
    # an update moves a patient to another country and state
    (upd,) = dest.update("Contact", [(ids[0], {"MailingCountry": "Ireland",
                                               "MailingState": "Dublin"})])
    assert upd.ok and not upd.field_errors
    assert dest.read("Contact", [ids[0]], ["MailingState"])[ids[0]]["MailingState"] == "D"


def test_the_destination_writes_text_with_picklists_off(sf: Any) -> None:
    dest = sf().dest()
    (res,) = dest.create("Contact", [{"LastName": "X", "MailingCountry": "South Korea",
                                      "MailingState": "Seoul"}])
    assert res.ok and not res.field_errors
    got = dest.read("Contact", [res.dest_id], ["MailingCountry", "MailingState"])
    assert got[res.dest_id] == {"MailingCountry": "South Korea", "MailingState": "Seoul"}
    assert dest.stored_form("Contact", "MailingCountry", "South Korea", {}) == "South Korea"


@pytest.mark.parametrize("on", [True, False])
def test_check_says_whether_the_org_has_address_picklists(sf: Any, on: bool) -> None:
    items = {i.name: i for i in sf(address_picklists=on).dest().check()}
    item = items["State and Country/Territory Picklists"]
    assert item.ok and item.detail.startswith("on:" if on else "off:")
