"""The real connector against the sandbox: login, provisioning (idempotent, FLS-aware), a
create/read round trip per seam object, find, update, delete, files, users, budget."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ferry.connectors.base import SchemaItem
from ferry.destinations.salesforce.provision import api_name
from ferry.errors import FatalError, RecordError
from ferry.model.fields import Kind

from .conftest import seed_items


def test_naming_rule() -> None:
    assert api_name("ferry_source_id") == "Ferry_Source_Id__c"
    assert api_name("date of birth") == "Date_Of_Birth__c"
    assert api_name("Member_ID") == "Member_ID__c"
    assert api_name("Patient__c") == "Patient__c"
    assert api_name("1st visit") == "F_1st_Visit__c"
    assert len(api_name("x" * 80)) == 43


def test_check_users_and_budget(sf: Any) -> None:
    dest = sf().dest()
    assert all(c.ok for c in dest.check())
    emails = {u.email for u in dest.users()}
    assert {"dr.ada@clinic.example", "frontdesk@clinic.example"} <= emails
    budget = dest.budget()
    assert budget.limit == 100_000 and 0 < budget.remaining < 100_000
    assert dest.cost("create", "Contact", 450).calls == 3
    assert dest.cost("create", "Contact", 250_000).calls == 27  # 3 bulk jobs


def test_jwt_bearer_login(sf: Any) -> None:
    h = sf()
    dest = h.dest(auth="jwt", username=h.creds["username"])
    assert dest.client.connect().user_id.startswith("005")
    bad = h.dest(auth="jwt", username="nobody@nowhere.example")
    with pytest.raises(FatalError, match="login refused"):
        bad.client.connect()


def test_provision_is_idempotent_and_grants_visibility(sf: Any) -> None:
    h = sf()
    dest = h.dest()
    raw = h.raw()
    items = seed_items()
    first = dest.ensure(items)
    assert all(p.created for p in first)
    assert {p.key for p in first if p.item.kind == "custom_object"} == {
        "Treatment_Record__c", "Insurance_Record__c", "Invoice__c",
        "Practitioner_Patient_Relationship__c"}
    by = {(p.item.object, p.item.name): p.key for p in first}
    assert by[("Contact", "ferry_source_id")] == "Ferry_Source_Id__c"
    assert by[("Invoice__c", "source_treatment")] == "Source_Treatment__c"
    calls = dest.client.calls
    second = dest.ensure(items)
    assert not any(p.created for p in second) and [p.key for p in second] == [
        p.key for p in first]
    assert dest.client.calls - calls < 15  # a few lookups, nothing created
    state = h.state()
    assert len(state["permissions"]["permission_sets"]) == 1
    assert len(state["permissions"]["assignments"]) == 1
    fields = {f["Field"] for f in state["permissions"]["field_permissions"]}
    assert "Invoice__c.Amount__c" in fields and "Contact.Ferry_Source_Id__c" in fields
    contact = {f.key: f for o in dest.describe() if o.name == "Contact" for f in o.fields}
    assert contact["Ferry_Source_Id__c"].external_id
    assert contact["Compliance_Documents__c"].options == ["HIPAA", "OSHA"]
    # a field created outside the permission set stays invisible, as on the platform
    raw.post("tooling/sobjects/CustomField", json={"FullName": "Contact.Hidden__c", "Metadata": {
        "label": "Hidden", "type": "Text", "length": 10}}).raise_for_status()
    r = raw.get("query", params={"q": "SELECT Hidden__c FROM Contact"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD"
    late = dest.ensure([SchemaItem("custom_field", "Contact", "hidden", "Hidden", Kind.TEXT)])
    assert late[0].key == "Hidden__c" and not late[0].created
    assert raw.get("query", params={"q": "SELECT Hidden__c FROM Contact"}).status_code == 200


def test_soql_text_reaches_the_platform_as_written(sf: Any) -> None:
    """Queries go out as one form-encoded URL (spaces as ``+``, SOQL's quotes and commas
    left as they are): what the URL could misread (``&``, ``=``, ``+``, ``%``, ``#``, a quote,
    a backslash, non-ASCII) must reach the query as written."""
    dest = sf().dest()
    dest.ensure(seed_items())
    odd = ["a&q=b", "x+y z", "50%25", "o'neil", "#h?", "back\\slash", "zoë,(1)"]
    res = dest.create("Contact", [{"Ferry_Source_Id__c": s, "LastName": "Odd"} for s in odd])
    assert all(r.ok for r in res)
    assert dest.find("Contact", "custom:ferry_source_id", [*odd, "x y"]) == {
        s: r.dest_id for s, r in zip(odd, res, strict=True)}
    ids = [r.dest_id for r in res]
    got = dest.read("Contact", ids, ["Ferry_Source_Id__c"])
    assert [got[i]["Ferry_Source_Id__c"] for i in ids] == odd
    assert dest.client.count("SELECT COUNT() FROM Contact WHERE LastName = 'Odd'") == len(odd)


def test_round_trip_every_object(sf: Any, tmp_path: Path) -> None:
    h = sf()
    dest = h.dest()
    dest.ensure(seed_items())
    owner = next(u.id for u in dest.users() if u.email == "dr.ada@clinic.example")
    acc = dest.create("Account", [{"Name": "Harbor Physio", "Ferry_Source_Id__c": "cl-1"}])
    assert acc[0].ok and acc[0].created
    people = [
        {"Ferry_Source_Id__c": "pr-1", "FirstName": "Grace", "LastName": "Hopper",
         "Npi__c": "1234567890", "AccountId": acc[0].dest_id, "OwnerId": owner},
        {"Ferry_Source_Id__c": "pa-1", "FirstName": "Alan", "LastName": "Turing",
         "Email": "alan@example.org", "Birthdate": dt.date(1990, 6, 23), "Mrn__c": "MRN-1",
         "Source_Created_At__c": dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
         "Compliance_Documents__c": ["HIPAA", "OSHA"], "MailingCity": "Leeds"}]
    res = dest.create("Contact", people)
    pr, pa = (r.dest_id for r in res)
    assert all(r.ok for r in res)
    start = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
    writes: dict[str, list[dict[str, Any]]] = {
        "Task": [{"Ferry_Source_Id__c": "ap-1", "Subject": "Billing call", "Status": "Completed",
                  "ActivityDate": dt.date(2025, 3, 2), "WhoId": pa, "OwnerId": owner,
                  "Appointment_Type__c": "admin", "Visit_Notes__c": "n" * 2000}],
        "Event": [{"Ferry_Source_Id__c": "ap-2", "Subject": "Initial assessment",
                   "StartDateTime": start, "EndDateTime": start + dt.timedelta(minutes=45),
                   "WhoId": pa, "OwnerId": owner, "Location": "Room 2"}],
        "Treatment_Record__c": [{"Ferry_Source_Id__c": "tr-1", "Diagnosis_Code__c": "M54.5",
                                 "Treatment_Date__c": dt.date(2025, 3, 1), "Patient__c": pa,
                                 "Practitioner__c": pr}],
        "Insurance_Record__c": [{"Ferry_Source_Id__c": "in-1", "Carrier_Name__c": "Acme",
                                 "Active__c": True, "Coverage_Type__c": "PPO",
                                 "Patient__c": pa}],
        "Practitioner_Patient_Relationship__c": [{"Ferry_Source_Id__c": "pp-1",
                                                  "Patient_Contact__c": pa,
                                                  "Practitioner_Contact__c": pr}],
    }
    ids: dict[str, str] = {}
    for obj, rows in writes.items():
        out = dest.create(obj, rows)
        assert out[0].ok, (obj, out[0].error)
        ids[obj] = out[0].dest_id
        back = dest.read(obj, [out[0].dest_id], list(rows[0]))[out[0].dest_id]
        assert back == rows[0], obj
    inv = {"Ferry_Source_Id__c": "iv-1", "Invoice_Number__c": "INV-1",
           "Amount__c": Decimal("120.50"), "Status__c": "Paid", "Patient__c": pa,
           "Source_Treatment__c": ids["Treatment_Record__c"],
           "Invoice_Date__c": dt.date(2025, 3, 3)}
    iv = dest.create("Invoice__c", [inv])[0]
    assert dest.read("Invoice__c", [iv.dest_id], list(inv))[iv.dest_id] == inv
    back = dest.read("Contact", [pa], list(people[1]))[pa]
    assert back == people[1]
    assert dest.read("Event", [ids["Event"]], ["DurationInMinutes"])[ids["Event"]] == {
        "DurationInMinutes": 45}

    assert dest.find("Contact", "custom:ferry_source_id", ["pa-1", "PR-1", "zz"]) == {
        "pa-1": pa, "PR-1": pr}
    upd = dest.update("Contact", [(pa, {"MailingCity": "York", "Mrn__c": None})])
    assert upd[0].ok and dest.read("Contact", [pa], ["MailingCity", "Mrn__c"])[pa] == {
        "MailingCity": "York", "Mrn__c": None}
    assert set(dest.iter_ids("Contact")) == {pa, pr}

    doc = tmp_path / "referral.pdf"
    doc.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 40)
    up = dest.upload("Invoice__c", iv.dest_id, doc, "referral.pdf", "application/pdf")
    assert up.ok and up.dest_id.startswith("068")
    state = h.state()["objects"]
    link = [r for r in state["ContentDocumentLink"] if r["LinkedEntityId"] == iv.dest_id]
    version = next(r for r in state["ContentVersion"] if r["Id"] == up.dest_id)
    assert len(link) == 1 and version["ContentSize"] == doc.stat().st_size
    assert dest.delete("ContentVersion", [up.dest_id])[0].ok
    assert not h.records("ContentDocument") and not h.records("ContentDocumentLink")

    gone = dest.delete("Task", [ids["Task"], ids["Task"]])
    assert gone[0].ok and gone[1].ok  # already deleted: the goal of the delete is met
    assert not h.records("Task")


def test_upload_limits_and_row_errors(sf: Any, tmp_path: Path) -> None:
    h = sf(max_file_bytes=1000)
    dest = h.dest(max_file_bytes=5000)
    acc = dest.create("Account", [{"Name": "Clinic"}])[0].dest_id
    small, mid, big = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    small.write_bytes(b"x" * 10)
    mid.write_bytes(b"x" * 2000)
    big.write_bytes(b"x" * 6000)
    assert dest.upload("Account", acc, small, "a.txt", "text/plain").ok
    over_sandbox = dest.upload("Account", acc, mid, "b.txt", None)
    over_setting = dest.upload("Account", acc, big, "c.txt", None)
    assert isinstance(over_sandbox.error, RecordError) and "STORAGE_LIMIT" in str(
        over_sandbox.error)
    assert isinstance(over_setting.error, RecordError)
    res = dest.create("Contact", [{"LastName": "Ok"}, {"FirstName": "NoLast"},
                                  {"LastName": "Y", "AccountId": "001000000000000AAA"}])
    assert res[0].ok
    assert res[1].error.field == "LastName" and "REQUIRED_FIELD_MISSING" in str(res[1].error)
    assert "INVALID_CROSS_REFERENCE_KEY" in str(res[2].error)


def test_remove_created_schema(sf: Any) -> None:
    h = sf()
    dest = h.dest()
    made = dest.ensure(seed_items()[:6])  # four custom objects and two source-id fields
    fields = [p for p in made if p.item.kind == "custom_field"]
    for p in reversed(made):
        dest.remove(p)
    meta = h.state()["custom_metadata"]
    assert not meta, meta
    assert not h.state()["permissions"]["field_permissions"]
    dest.remove(fields[0])  # already gone: no error


def test_expired_session_is_renewed_transparently(sf: Any) -> None:
    # an hour's session, timed out by moving the sandbox's clock past it (not by a wall-clock
    # wait: on a loaded machine a session of half a real second lapsed again mid-renewal)
    h = sf(session_ttl_s=3600)
    dest = h.dest()
    first = dest.create("Account", [{"Name": "Before"}])[0]
    token = dest.client.token.access_token
    h.sb.clock.advance(3601)
    again = dest.create("Account", [{"Name": "After"}])[0]
    assert first.ok and again.ok and dest.client.token.access_token != token


def test_query_reads_on_keepalive_sockets_renew_the_session_and_retry(sf: Any) -> None:
    """SOQL reads go through the keep-alive client (reconcile's hot path): an expired
    session is renewed there too, and transient 503s are retried."""
    h = sf(session_ttl_s=3600, faults="503=0.3")
    dest = h.dest()
    dest.client._sleep = lambda s: time.sleep(min(s, 0.01))  # the client's injectable sleep
    made = [r.dest_id for r in dest.create("Account", [{"Name": f"A{i}"} for i in range(5)])]
    assert dest.client._lean is not None  # the sandbox speaks TLS with its own CA bundle
    token = dest.client.token.access_token
    h.sb.clock.advance(3601)  # the session times out
    got = dest.read("Account", made, ["Name"])
    assert [got[i]["Name"] for i in made] == [f"A{i}" for i in range(5)]
    assert dest.client.token.access_token != token
    assert set(made) <= set(dest.iter_ids("Account"))


def test_design_rules_name_what_salesforce_does_on_purpose(sf: Any, tmp_path: Path) -> None:
    """A file's Title is its name without the extension, and an unsent checkbox reads false:
    both are Salesforce's design, named as such; any other difference is not (issue 15)."""
    dest = sf().dest()
    acc = dest.create("Account", [{"Name": "Clinic"}])[0].dest_id
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.4 x")
    cv = dest.upload("Account", acc, path, "referral scan.v2.pdf", "application/pdf").dest_id
    title = dest.read("ContentVersion", [cv], ["Title"])[cv]["Title"]
    assert title == "referral scan.v2"
    assert "without its extension" in str(dest.design_rule("ContentVersion", "file_name",
                                                           "referral scan.v2.pdf", title))
    assert dest.design_rule("ContentVersion", "file_name", "other.pdf", title) is None
    contact = dest.create("Contact", [{"LastName": "Ok"}])[0].dest_id
    stored = dest.read("Contact", [contact], ["HasOptedOutOfEmail", "Title"])[contact]
    assert stored["HasOptedOutOfEmail"] is False
    assert "checkbox" in str(dest.design_rule("Contact", "HasOptedOutOfEmail", None, False))
    assert dest.design_rule("Contact", "Title", None, "Dr") is None
    assert dest.design_rule("Contact", "HasOptedOutOfEmail", True, False) is None


def test_a_stored_file_uploads_decrypted_as_read_without_a_plain_copy(
        sf: Any, tmp_path: Path, sealed_file: Any) -> None:
    """The engine hands Salesforce an encrypted stored file as a ``PlainView`` (decrypted as
    the multipart body is written): the ContentVersion holds the plain content and no plain
    file is written anywhere. Before, the engine wrote a decrypted copy for each upload."""
    from ferry.model.crypto import FILE_CHUNK, PlainView

    h = sf()
    dest = h.dest()
    assert dest.capabilities.upload_reads_view  # the load passes views, not plain copies
    acc = dest.create("Account", [{"Name": "Clinic"}])[0].dest_id
    content, stored, codec = sealed_file(2 * FILE_CHUNK + 2**20 + 11)  # past 1 MiB blocks
    before = set(tmp_path.rglob("*"))
    up = dest.upload("Account", acc, PlainView.of_file(stored, codec), "scan.pdf",
                     "application/pdf", {"_source_id": "F1"})
    assert up.ok, up.error
    assert h.sb.org.blobs[up.dest_id] == content
    text = dest.upload("Account", acc, PlainView.of_bytes(b"a rendered note", "n.txt"),
                       "n.txt", "text/plain")
    assert text.ok and h.sb.org.blobs[text.dest_id] == b"a rendered note"
    assert dest.find_upload("ContentVersion", "Account", acc, "F1", None, None) == up.dest_id
    # nothing but the connector's own Bulk work folder appeared (no plain copy)
    assert all(content[:64] not in p.read_bytes() for p in set(tmp_path.rglob("*")) - before
               if p.is_file())
