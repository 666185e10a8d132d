"""Contact sync off (the common account): no birthday, postal_address, job_title, notes, im.

The v2 spec says these person fields exist "only if contact sync is enabled". The sandbox
refuses them by default; the connector leaves them out of ``describe`` and the mapping draft
keeps DOB, address and job title in custom fields instead, so nothing vanishes on read-back.
"""

from __future__ import annotations

from ferry.mapping.draft import draft_mapping
from ferry.model.fields import Kind

GONE = {"birthday", "postal_address", "job_title", "notes", "im"}


def test_sandbox_without_contact_sync_refuses_the_fields(pd):
    h = pd(contact_sync=False)
    with h.raw() as c:
        codes = {f["field_code"] for f in c.get("/api/v2/personFields").json()["data"]}
        assert not codes & GONE and "name" in codes
        r = c.post("/api/v2/persons", json={"name": "A Person", "birthday": "1980-02-03"})
        assert r.status_code == 400 and "birthday" in r.text
        assert c.post("/api/v2/persons", json={"name": "A Person"}).status_code == 200
    on = pd(contact_sync=True)
    with on.raw() as c:
        r = c.post("/api/v2/persons", json={"name": "A Person", "birthday": "1980-02-03"})
        assert r.status_code == 200 and r.json()["data"]["birthday"] == "1980-02-03"


def test_connector_detects_the_fields_and_the_draft_keeps_them_in_custom_fields(pd):
    off = pd(contact_sync=False).dest()
    person = next(o for o in off.describe() if o.name == "person")
    assert not {f.name for f in person.fields} & GONE
    doc = draft_mapping("practicehub", "pipedrive", None, off.describe())
    pm = next(om for om in doc.objects if om.source == "patient" and om.target == "person")
    targets = {fm.target for fm in pm.fields}
    assert {"custom:birthday", "custom:postal_address"} <= targets
    assert not targets & GONE
    custom = {cf.name: cf.kind for cf in doc.custom_fields["person"]}
    assert custom["birthday"] == Kind.DATE and custom["postal_address"] == Kind.TEXT
    on = pd(contact_sync=True).dest()
    person_on = next(o for o in on.describe() if o.name == "person")
    assert GONE - {"im"} <= {f.name for f in person_on.fields}
    doc_on = draft_mapping("practicehub", "pipedrive", None, on.describe())
    pm_on = next(om for om in doc_on.objects if om.source == "patient" and om.target == "person")
    assert "birthday" in {fm.target for fm in pm_on.fields}
