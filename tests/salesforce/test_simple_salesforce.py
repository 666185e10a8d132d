"""The sandbox driven by simple-salesforce, the real client (not our code): if a widely used
client works against it unchanged — URLs, envelopes, error bodies, Bulk 2.0 lifecycle — the
sandbox speaks the platform's protocol rather than one tailored to our connector."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

WAIT = 0.05  # simple-salesforce sleeps this long before its first poll (default 5 s)


def _session(h: Any) -> requests.Session:
    """Trust the sandbox's CA. ``trust_env`` off: requests lets REQUESTS_CA_BUNDLE override
    ``session.verify``, which would swap our CA for the system store."""
    session = requests.Session()
    session.trust_env = False
    session.verify = h.creds["ca_bundle"]
    h.opened.append(session)
    return session


def _login(h: Any) -> Salesforce:
    session = _session(h)
    token = session.post(h.base_url + "/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": h.creds["client_id"],
        "client_secret": h.creds["client_secret"]}).json()
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                      session=session, version="62.0")


def _external_id_field(sf: Salesforce, obj: str = "Contact") -> None:
    """Create Ferry_Source_Id__c and grant it, as an admin would with any client."""
    sf.toolingexecute("sobjects/CustomField", method="POST", json={
        "FullName": f"{obj}.Ferry_Source_Id__c", "Metadata": {
            "label": "Ferry Source Id", "type": "Text", "length": 80, "externalId": True,
            "unique": True}})
    ps = sf.PermissionSet.create({"Name": "Loader", "Label": "Loader"})
    sf.FieldPermissions.create({"ParentId": ps["id"], "SobjectType": obj,
                                "Field": f"{obj}.Ferry_Source_Id__c", "PermissionsRead": True,
                                "PermissionsEdit": True})
    me = sf.query("SELECT Id FROM User WHERE Email = 'integration@ferry-sandbox.example'")
    sf.PermissionSetAssignment.create({"AssigneeId": me["records"][0]["Id"],
                                       "PermissionSetId": ps["id"]})


def test_login_describe_create_query(sf: Any) -> None:
    h = sf()
    client = _login(h)
    names = {o["name"] for o in client.describe()["sobjects"]}
    assert {"Account", "Contact", "Task", "Event", "User", "ContentVersion"} <= names
    contact = client.Contact.describe()
    last = next(f for f in contact["fields"] if f["name"] == "LastName")
    assert (last["type"], last["length"], last["nillable"], last["createable"]) == (
        "string", 80, False, True)
    status = next(f for f in client.Task.describe()["fields"] if f["name"] == "Status")
    assert "Completed" in [p["value"] for p in status["picklistValues"]]

    acc = client.Account.create({"Name": "Harbor Physio"})
    assert acc["success"] and acc["id"].startswith("001") and len(acc["id"]) == 18
    res = client.Contact.create({"LastName": "Okafor", "FirstName": "Ada",
                                 "AccountId": acc["id"], "Email": "ada@example.org"})
    assert client.Contact.get(res["id"])["Name"] == "Ada Okafor"
    assert client.Contact.update(res["id"], {"Phone": "+15551230000"}) == 204
    rows = client.query("SELECT Id, Name, Account.Name FROM Contact WHERE Email LIKE"
                        " '%@example.org' AND LastName = 'okafor'")
    assert rows["totalSize"] == 1 and rows["records"][0]["Account"]["Name"] == "Harbor Physio"
    assert client.api_usage["api-usage"].used > 0  # parsed from Sforce-Limit-Info
    assert client.limits()["DailyApiRequests"]["Max"] == 100_000

    with pytest.raises(SalesforceMalformedRequest) as bad:
        client.Contact.create({"FirstName": "NoLast"})
    assert bad.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceMalformedRequest) as hidden:
        client.query("SELECT Id, Secret__c FROM Contact")
    assert hidden.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        client.Contact.get("003000000000000AAA")
    assert client.Contact.delete(res["id"]) == 204


def test_event_rules_and_bad_session(sf: Any) -> None:
    h = sf()
    client = _login(h)
    with pytest.raises(SalesforceMalformedRequest) as e:
        client.Event.create({"Subject": "Visit", "StartDateTime": "2025-03-01T09:00:00Z"})
    assert e.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    ok = client.Event.create({"Subject": "Visit", "StartDateTime": "2025-03-01T09:00:00Z",
                              "DurationInMinutes": 45})
    ev = client.Event.get(ok["id"])
    assert ev["EndDateTime"].startswith("2025-03-01T09:45") and ev["ActivityDate"] == "2025-03-01"
    stale = Salesforce(instance_url=h.base_url, session_id="00Dbogus!token", session=_session(h),
                       version="62.0")
    with pytest.raises(SalesforceExpiredSession):
        stale.query("SELECT Id FROM Contact")


def test_query_all_follows_next_records_url(sf: Any) -> None:
    client = _login(sf())
    result = client.bulk2.Contact.insert(records=[{"LastName": f"L{i:04}"} for i in range(2300)],
                                         wait=WAIT)
    assert result[0]["numberRecordsProcessed"] == 2300
    first = client.query("SELECT Id FROM Contact")
    assert not first["done"] and first["nextRecordsUrl"] and len(first["records"]) == 2000
    assert len(client.query_all("SELECT Id, LastName FROM Contact")["records"]) == 2300


def test_bulk2_insert_with_failed_records(sf: Any) -> None:
    client = _login(sf())
    records = [{"LastName": f"Good{i}", "Email": f"p{i}@example.org"} for i in range(40)]
    records += [{"LastName": "", "Email": "nolast@example.org"},
                {"LastName": "X" * 81, "Email": "long@example.org"},
                {"LastName": "BadMail", "Email": "not-an-email"}]
    out = client.bulk2.Contact.insert(records=records, wait=WAIT)
    assert out[0]["numberRecordsProcessed"] == 43 and out[0]["numberRecordsFailed"] == 3
    failed = list(csv.DictReader(io.StringIO(
        client.bulk2.Contact.get_failed_records(out[0]["job_id"]))))
    codes = sorted(r["sf__Error"].split(":")[0] for r in failed)
    assert codes == ["INVALID_EMAIL_ADDRESS", "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG"]
    ok = list(csv.DictReader(io.StringIO(
        client.bulk2.Contact.get_successful_records(out[0]["job_id"]))))
    assert len(ok) == 40 and all(r["sf__Created"] == "true" and r["sf__Id"] for r in ok)


def test_bulk2_upsert_on_external_id_and_query(sf: Any) -> None:
    client = _login(sf())
    _external_id_field(client)
    rows = [{"Ferry_Source_Id__c": f"pat-{i}", "LastName": f"V1-{i}"} for i in range(30)]
    first = client.bulk2.Contact.upsert(records=rows, external_id_field="Ferry_Source_Id__c",
                                         wait=WAIT)
    assert first[0]["numberRecordsFailed"] == 0
    rows = [{**r, "LastName": r["LastName"].replace("V1", "V2")} for r in rows]
    rows.append({"Ferry_Source_Id__c": "pat-new", "LastName": "Fresh"})
    second = client.bulk2.Contact.upsert(records=rows, external_id_field="Ferry_Source_Id__c",
                                         wait=WAIT)
    ok = list(csv.DictReader(io.StringIO(
        client.bulk2.Contact.get_successful_records(second[0]["job_id"]))))
    created = {r["Ferry_Source_Id__c"] for r in ok if r["sf__Created"] == "true"}
    assert created == {"pat-new"} and len(ok) == 31
    assert client.query("SELECT COUNT() FROM Contact")["totalSize"] == 31
    got = client.bulk2.Contact.query("SELECT Id, Ferry_Source_Id__c, LastName FROM Contact"
                                     " WHERE LastName LIKE 'V2%'", max_records=10,
                                     wait=WAIT)
    lines = [line for page in got for line in page.splitlines()[1:]]
    assert len(lines) == 30
    assert client.Contact.get_by_custom_id("Ferry_Source_Id__c", "pat-3")["LastName"] == "V2-3"
