"""The sandbox's platform rules over raw HTTP: sessions, versions, collections and allOrNone,
SOQL paging, Bulk 2.0 job failures and result files, query jobs, tooling, and the admin view."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx


def _job(raw: httpx.Client, spec: dict[str, Any], body: str) -> tuple[str, dict[str, Any]]:
    job = raw.post("jobs/ingest", json={"contentType": "CSV", **spec}).json()
    assert job["state"] == "Open" and job["id"].startswith("750")
    put = raw.put(f"jobs/ingest/{job['id']}/batches", content=body.encode(),
                  headers={"Content-Type": "text/csv"})
    assert put.status_code == 201 and put.content == b""
    raw.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).raise_for_status()
    states = []
    while not states or states[-1] not in {"JobComplete", "Failed", "Aborted"}:
        states.append(raw.get(f"jobs/ingest/{job['id']}").json()["state"])
    assert "InProgress" in states  # clients must really poll
    return job["id"], raw.get(f"jobs/ingest/{job['id']}").json()


def _csv(raw: httpx.Client, path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.get(path).text)))


def test_sessions_versions_and_limit_header(sf: Any) -> None:
    h = sf()
    anon = httpx.get(h.base_url + "/services/data/v62.0/sobjects",
                     verify=h.creds["ca_bundle"], timeout=60)
    assert anon.status_code == 401
    # the documented shape exactly: no ``fields`` key on 401 and 404 bodies
    assert anon.json() == [{"message": "Session expired or invalid",
                            "errorCode": "INVALID_SESSION_ID"}]
    raw = h.raw()
    missing = raw.get("sobjects/Contact/003000000000000AAA")
    assert missing.status_code == 404
    assert missing.json() == [{"message": "The requested resource does not exist",
                               "errorCode": "NOT_FOUND"}]
    assert raw.get(h.base_url + "/services/data/v25.0/sobjects").status_code == 410
    ok = raw.get("sobjects/")  # trailing slash is the same resource
    assert ok.status_code == 200 and ok.headers["Sforce-Limit-Info"].startswith("api-usage=")
    versions = httpx.get(h.base_url + "/services/data", verify=h.creds["ca_bundle"],
                         timeout=60).json()
    assert {"version": "62.0", "label": "v62.0", "url": "/services/data/v62.0"} in versions
    bad = httpx.post(h.base_url + "/services/oauth2/token", verify=h.creds["ca_bundle"],
                     data={"grant_type": "password", "username": "u", "password": "p"}, timeout=60)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_collections_all_or_none_and_size_limit(sf: Any) -> None:
    h = sf()
    raw = h.raw()
    recs = [{"attributes": {"type": "Contact"}, "LastName": "A"},
            {"attributes": {"type": "Contact"}, "FirstName": "no last"},
            {"attributes": {"type": "Account"}, "Name": "Mixed types are fine"}]
    out = raw.post("composite/sobjects", json={"allOrNone": True, "records": recs}).json()
    assert [r["success"] for r in out] == [False, False, False]
    assert out[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert out[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert not h.records("Contact") and not h.records("Account")
    out = raw.post("composite/sobjects", json={"allOrNone": False, "records": recs}).json()
    assert [r["success"] for r in out] == [True, False, True]
    too_many = raw.post("composite/sobjects", json={"records": [recs[0]] * 201})
    assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == \
        "EXCEEDED_ID_LIMIT"


def test_soql_paging_and_errors(sf: Any) -> None:
    h = sf()
    raw = h.raw()
    for start in range(0, 450, 200):
        raw.post("composite/sobjects", json={"records": [
            {"attributes": {"type": "Contact"}, "LastName": f"N{i:03}", "Email":
             f"n{i}@ex.org"} for i in range(start, min(start + 200, 450))]})
    page = raw.get("query", params={"q": "SELECT Id, LastName FROM Contact ORDER BY LastName"},
                   headers={"Sforce-Query-Options": "batchSize=200"}).json()
    seen = [r["LastName"] for r in page["records"]]
    while not page["done"]:
        page = raw.get(h.base_url + page["nextRecordsUrl"]).json()
        seen += [r["LastName"] for r in page["records"]]
    assert seen == sorted(seen) and len(seen) == 450
    q = ("SELECT Id FROM Contact WHERE (LastName LIKE 'n00%' OR Email = 'N400@EX.ORG') AND"
         " LastName NOT IN ('N001') LIMIT 50")
    assert raw.get("query", params={"q": q}).json()["totalSize"] == 10
    assert raw.get("query", params={"q": "SELECT COUNT() FROM Contact"}).json()[
        "totalSize"] == 450
    bad = raw.get("query", params={"q": "SELEC Id FROM Contact"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    nope = raw.get("query", params={"q": "SELECT Id FROM Nope__c"})
    assert nope.json()[0]["errorCode"] == "INVALID_TYPE"


def test_bulk_header_failure_and_line_endings(sf: Any) -> None:
    raw = sf().raw()
    jid, info = _job(raw, {"object": "Contact", "operation": "insert"},
                     "LastName,Nickname__c\nA,x\nB,y\n")
    assert info["state"] == "Failed" and "Field name not found : Nickname__c" in info[
        "errorMessage"]
    assert [r["LastName"] for r in _csv(raw, f"jobs/ingest/{jid}/unprocessedrecords")] == [
        "A", "B"]
    jid, info = _job(raw, {"object": "Contact", "operation": "insert"}, "LastName\r\nA\r\n")
    assert info["state"] == "Failed" and "LineEnding" in info["errorMessage"]
    jid, info = _job(raw, {"object": "Contact", "operation": "insert", "lineEnding": "CRLF",
                           "columnDelimiter": "PIPE"}, "LastName|Email\r\nA|a@x.org\r\n")
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1


def test_bulk_relationships_polymorphic_and_query_job(sf: Any) -> None:
    h = sf()
    raw = h.raw()
    raw.post("tooling/sobjects/CustomField", json={"FullName": "Contact.Ext__c", "Metadata": {
        "label": "Ext", "type": "Text", "length": 20, "externalId": True, "unique": True}})
    dup = raw.post("tooling/sobjects/CustomField", json={"FullName": "Contact.Ext__c",
                                                         "Metadata": {"label": "Ext",
                                                                      "type": "Text",
                                                                      "length": 20}})
    assert dup.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    ps = raw.post("sobjects/PermissionSet", json={"Name": "P", "Label": "P"}).json()["id"]
    raw.post("sobjects/FieldPermissions", json={"ParentId": ps, "SobjectType": "Contact",
                                                "Field": "Contact.Ext__c",
                                                "PermissionsRead": True,
                                                "PermissionsEdit": True})
    me = h.state()["integration_user"]
    raw.post("sobjects/PermissionSetAssignment", json={"AssigneeId": me, "PermissionSetId": ps})
    jid, info = _job(raw, {"object": "Contact", "operation": "upsert",
                           "externalIdFieldName": "Ext__c"}, "Ext__c,LastName\nk1,A\nk2,B\n")
    assert info["numberRecordsFailed"] == 0
    body = ("Subject,Contact:Who.Ext__c,Who.Ext__c\nCall,k1,\n")
    jid, info = _job(raw, {"object": "Task", "operation": "insert"}, body)
    failed = _csv(raw, f"jobs/ingest/{jid}/failedResults")
    assert failed and "polymorphic" in failed[0]["sf__Error"]
    jid, info = _job(raw, {"object": "Task", "operation": "insert"},
                     "Subject,Contact:Who.Ext__c\nCall,k1\nCall,k9\n")
    ok = _csv(raw, f"jobs/ingest/{jid}/successfulResults")
    bad = _csv(raw, f"jobs/ingest/{jid}/failedResults")
    assert len(ok) == 1 and bad[0]["sf__Error"].startswith("INVALID_FIELD:")
    task = h.records("Task")[0]
    assert task["WhoId"] == next(c["Id"] for c in h.records("Contact") if c["Ext__c"] == "k1")

    job = raw.post("jobs/query", json={"operation": "query",
                                       "query": "SELECT Id, Ext__c FROM Contact"}).json()
    while raw.get(f"jobs/query/{job['id']}").json()["state"] != "JobComplete":
        time.sleep(0.01)
    page = raw.get(f"jobs/query/{job['id']}/results", params={"maxRecords": 1})
    assert page.headers["Sforce-NumberOfRecords"] == "1" and page.headers["Sforce-Locator"]
    rest = raw.get(f"jobs/query/{job['id']}/results",
                   params={"maxRecords": 1, "locator": page.headers["Sforce-Locator"]})
    assert rest.headers["Sforce-Locator"] == "null"


def test_a_file_links_to_a_record_once(sf: Any) -> None:
    """ContentDocumentLink is unique by (document, record), also in an all-or-none batch
    that rolls back, and a deleted link frees the pair (the check reads an index of the
    pairs kept by every write, delete and roll-back; it read every link per insert)."""
    import base64

    h = sf()
    raw = h.raw()
    acc = raw.post("sobjects/Account", json={"Name": "Clinic"}).json()["id"]
    ver = raw.post("sobjects/ContentVersion", json={
        "PathOnClient": "a.txt", "VersionData": base64.b64encode(b"hi").decode()}).json()["id"]
    doc = next(r["ContentDocumentId"] for r in h.records("ContentVersion") if r["Id"] == ver)
    link = {"ContentDocumentId": doc, "LinkedEntityId": acc, "ShareType": "V"}
    first = raw.post("sobjects/ContentDocumentLink", json=link)
    assert first.status_code == 201
    again = raw.post("sobjects/ContentDocumentLink", json=link)
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert raw.delete(f"sobjects/ContentDocumentLink/{first.json()['id']}").status_code == 204
    batch = [{"attributes": {"type": "ContentDocumentLink"}, **link},
             {"attributes": {"type": "Contact"}, "FirstName": "no last"}]
    out = raw.post("composite/sobjects", json={"allOrNone": True, "records": batch}).json()
    assert [r["success"] for r in out] == [False, False]  # rolled back: the pair is free
    assert raw.post("sobjects/ContentDocumentLink", json=link).status_code == 201
    assert len([r for r in h.records("ContentDocumentLink")
                if r["LinkedEntityId"] == acc]) == 1
